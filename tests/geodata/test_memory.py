"""The memory guard: figures from the system, refusal with the estimate and the fix."""
from __future__ import annotations

import pytest

from geodata.errors import DataError
from geodata.memory import available_memory, check_memory, format_bytes


def test_available_memory_matches_proc_meminfo():
    try:
        with open("/proc/meminfo") as f:
            kib = next(int(line.split()[1]) for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration):
        pytest.skip("no /proc/meminfo here")
    assert available_memory() == pytest.approx(kib * 1024, rel=0.25)   # memory moves meanwhile


def test_check_memory_refuses_over_the_share():
    check_memory(499, "a grid", "shrink it", available=1000)
    with pytest.raises(DataError) as err:
        check_memory(501, "a grid", "shrink it", file="dem.tif", available=1000)
    assert str(err.value) == ("dem.tif: a grid would take about 501 B, more than 50% of the "
                              "1000 B available. Fix: shrink it")


@pytest.mark.parametrize("n, text", [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"),
                                     (5 * 2**20, "5.0 MiB"), (3 * 2**40, "3.0 TiB")])
def test_format_bytes(n, text):
    assert format_bytes(n) == text

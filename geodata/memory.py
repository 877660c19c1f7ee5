"""Memory guards: refuse inputs that would not fit in memory, before allocating them."""
from __future__ import annotations

from geodata.errors import DataError

__all__ = ["available_memory", "check_memory", "format_bytes"]


def available_memory() -> float:
    """Bytes of memory available now (psutil, else /proc/meminfo, else 4 GiB).

    Examples
    --------
    >>> available_memory() > 0
    True
    """
    try:
        import psutil
        return float(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return 4.0 * 2**30


def check_memory(need: float, what: str, fix: str, *, file=None,
                 available: float | None = None, fraction: float = 0.5) -> None:
    """Raise :class:`DataError` when ``need`` bytes exceed ``fraction`` of what is available.

    Examples
    --------
    >>> check_memory(1e6, "readings", "read fewer", available=1e9)
    >>> check_memory(1e9, "readings", "read fewer", available=1e9)
    Traceback (most recent call last):
    ...
    geodata.errors.DataError: readings would take about 953.7 MiB, more than 50% of the 953.7 MiB available. Fix: read fewer
    """
    if available is None:
        available = available_memory()
    if need > fraction * available:
        raise DataError(f"{what} would take about {format_bytes(need)}, more than {fraction:.0%} of "
                        f"the {format_bytes(available)} available", file=file, fix=fix)


def format_bytes(n: float) -> str:
    """``1536 -> '1.5 KiB'``.

    Examples
    --------
    >>> format_bytes(1536), format_bytes(12)
    ('1.5 KiB', '12 B')
    """
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"

"""The engine contract's shared run loop."""
import numpy as np
import pytest
import xarray as xr

from simulations.engine import Engine, frame_times


class Tracer(Engine):
    """A toy engine: a tracer that counts time on a 2 x 2 grid."""

    def __init__(self):
        self._t, self._steps = 0.0, 0

    @property
    def time_s(self):
        return self._t

    def advance(self, until_s):
        until = self._check_until(until_s)
        while self._t < until:
            self._t = min(self._t + 3.0, until)
            self._steps += 1

    def state(self):
        return xr.Dataset({"age": (("y", "x"), np.full((2, 2), self._t))})

    def result(self):
        return xr.Dataset({"steps": ((), self._steps)})

    def balance(self):
        return {"error": 0.0}

    def stats(self):
        return {"steps": self._steps}


def test_frame_times_end_exactly_at_until():
    assert frame_times(0, 10, 4).tolist() == [4, 8, 10]
    assert frame_times(4, 8, 4).tolist() == [8]
    assert frame_times(4.5, 9, 4).tolist() == [8, 9]


def test_run_stacks_states_and_merges_result():
    ds = Tracer().run(10.0, 5.0)
    assert ds["time"].values.tolist() == [5.0, 10.0]
    np.testing.assert_array_equal(ds["age"].isel(x=0, y=0), [5.0, 10.0])
    assert int(ds["steps"]) == 4          # 3, 5 | 8, 10


@pytest.mark.parametrize("until, every", [(float("nan"), 1.0), (0.0, 1.0), (5.0, 0.0),
                                          (5.0, -1.0)])
def test_run_rejects_bad_times(until, every):
    with pytest.raises(ValueError, match="until_s|output_every_s"):
        Tracer().run(until, every)


def test_advance_backwards_is_an_error():
    e = Tracer()
    e.advance(6.0)
    with pytest.raises(ValueError, match="not before the model time"):
        e.advance(5.0)

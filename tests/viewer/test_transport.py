"""The vectorised array encoder gives the same bytes as Panel's loop."""
import numpy as np
import pyvista as pv
import pytest
from panel.pane.vtk import synchronizable_serializer as rws

from viewer.transport import encode_array, install


def panel_bytes(array) -> bytes:
    """Panel's own encoder (the reference), bypassing the installed one."""
    context = rws.SynchronizationContext(id_root="t")
    context.cacheDataArray("k", {"array": array, "mTime": array.GetMTime(), "ts": 0})
    original = getattr(rws.SynchronizationContext.getCachedDataArray, "__wrapped__", None)
    encode = original or rws.SynchronizationContext.getCachedDataArray
    return encode(context, "k", binary=True, compression=False)


@pytest.mark.parametrize("make", [
    lambda: pv.Sphere(theta_resolution=40).GetPolys().GetData(),           # int64 ids
    lambda: pv.convert_array(np.array([3, -5, 2**31 - 1, 7], np.int64)),   # negative id
    lambda: pv.convert_array(np.random.default_rng(0).random((50, 3)).astype(np.float32)),
    lambda: pv.convert_array(np.arange(30, dtype=np.uint8).reshape(10, 3)),
])
def test_same_bytes_as_panel(make):
    array = make()
    assert encode_array(array) == panel_bytes(array)


def test_install_is_idempotent_and_keeps_the_reference():
    install()
    install()
    assert rws.SynchronizationContext.getCachedDataArray._vectorised
    assert rws.SynchronizationContext.getCachedDataArray.__wrapped__ is not None

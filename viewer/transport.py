"""How mesh arrays travel to the browser: a vectorised array encoder for Panel's
synchronised VTK pane.

Panel's serializer converts every 64-bit id array (cell connectivity) to
32-bit for vtk.js with a Python loop over its values: 13 million calls for a
city-scale scene, several seconds per page and per replay frame. The encoder
here does the same conversion with numpy (negative ids become -1 ->
0xFFFFFFFF as before, via the same clip-and-cast rule) and returns identical
bytes. :func:`install` swaps it in once; everything else in Panel is unchanged.
"""
from __future__ import annotations

import numpy as np
from vtk.util.numpy_support import vtk_to_numpy

__all__ = ["install", "encode_array"]

_ID_TYPES = (12, 16, 17)   # vtkIdType, long long, unsigned long long


def encode_array(array) -> bytes:
    """Bytes of a VTK data array as vtk.js reads them (64-bit ints -> 32-bit).

    Examples
    --------
    >>> from vtk import vtkIdTypeArray
    >>> a = vtkIdTypeArray(); _ = [a.InsertNextValue(v) for v in (3, 0, 1, 2)]
    >>> np.frombuffer(encode_array(a), np.uint32).tolist()
    [3, 0, 1, 2]
    """
    values = vtk_to_numpy(array)
    if array.GetDataType() in _ID_TYPES:
        target = np.uint32 if array.GetDataType() in (12, 17) else np.int32
        values = np.where(values < 0, -1, values).astype(np.int64).astype(target)
    return np.ascontiguousarray(values).tobytes()


def install() -> None:
    """Use :func:`encode_array` in Panel's VTK synchronisation (idempotent)."""
    from panel.pane.vtk import synchronizable_serializer as rws

    cls = rws.SynchronizationContext
    if getattr(cls.getCachedDataArray, "_vectorised", False):
        return
    original = cls.getCachedDataArray

    def getCachedDataArray(self, pMd5, binary=False, compression=False):
        if not binary or compression:
            return original(self, pMd5, binary=binary, compression=compression)
        return encode_array(self.dataArrayCache[pMd5]["array"])

    getCachedDataArray._vectorised = True
    getCachedDataArray.__wrapped__ = original
    cls.getCachedDataArray = getCachedDataArray

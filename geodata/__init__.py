"""Reading, validating and reprojecting the outside data a city has.

Rasters (GeoTIFF), vector layers (any OGR format), CityJSON, BIM (IFC, glTF,
OBJ) and sensor tables. Bad input raises :class:`DataError` naming the file,
layer, feature and the fix.
"""
from geodata.errors import DataError, DataWarning

__all__ = ["DataError", "DataWarning"]

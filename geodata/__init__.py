"""Reading, validating and reprojecting the outside data a city has.

Rasters (GeoTIFF) on one grid concept (:class:`GridSpec`), vector layers (any
OGR format: buildings, roads, water, land use), OpenStreetMap extracts,
CityJSON, BIM (IFC, glTF, OBJ) and sensor tables. Bad input raises
:class:`DataError` naming the file, layer, feature and the fix; repairs emit a
:class:`DataWarning` listing ids.

Examples
--------
>>> from geodata import read_raster, read_buildings
>>> dem = read_raster("data_samples/ezhou/terrain.tif")                 # doctest: +SKIP
>>> b = read_buildings("data_samples/ezhou/buildings.gpkg", crs=dem.crs, dtm=dem)  # doctest: +SKIP
"""
from geodata.bim import BimModel, Placement, read_bim, read_ifc, read_mesh_model
from geodata.buildings import read_buildings
from geodata.cityjson import CityJSONLayers, read_cityjson
from geodata.crs import check_coordinates, parse_crs
from geodata.errors import DataError, DataWarning
from geodata.landcover import read_landuse, read_water
from geodata.osm import read_osm_buildings, read_osm_roads
from geodata.raster import GridSpec, Raster, check_grid_memory, read_raster
from geodata.roads import read_roads
from geodata.sensors import SENSOR_KINDS, SensorTable, read_sensors
from geodata.vector import check_overlap, read_layer

__all__ = ["DataError", "DataWarning", "GridSpec", "Raster", "check_grid_memory", "read_raster",
           "SENSOR_KINDS", "SensorTable", "read_sensors", "check_overlap", "read_buildings",
           "read_landuse", "read_layer", "read_roads", "read_water", "BimModel", "Placement",
           "read_bim", "read_ifc", "read_mesh_model", "CityJSONLayers", "read_cityjson",
           "read_osm_buildings", "read_osm_roads", "check_coordinates", "parse_crs"]

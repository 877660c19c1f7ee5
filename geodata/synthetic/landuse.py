"""Land use of the district: polygons covering it, with Manning's n per class."""
from __future__ import annotations

import geopandas as gpd
import shapely

from geodata.synthetic.frame import Frame
from geodata.synthetic.parameters import MANNING, ROAD_WIDTH

__all__ = ["make_landuse"]

_ZONE_CLASS = {"residential_high": "residential", "residential_mid": "residential",
               "residential_low": "residential", "commercial": "commercial",
               "industrial": "industrial", "park": "park", "campus": "public"}


def make_landuse(f: Frame, w: dict, hill, roads: gpd.GeoDataFrame,
             blocks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Polygons covering the district: water, roads, forest, zoned blocks and park."""
    water = shapely.union_all([w["river"], w["lake"], w["canal"]])
    road = shapely.difference(shapely.intersection(shapely.union_all(shapely.buffer(
        roads.geometry.values, roads["class"].map(ROAD_WIDTH).values / 2, quad_segs=2)),
        f.box()), water)
    forest = shapely.difference(hill, shapely.union_all([water, road]))
    block_geoms = shapely.difference(blocks.geometry.values, shapely.union_all([road, forest]))
    covered = shapely.union_all([water, road, forest, *block_geoms])
    rest = shapely.difference(f.box(), covered)
    pieces = ([("water", water), ("road", road), ("forest", forest), ("park", rest)]
              + [(_ZONE_CLASS[z], g) for z, g in zip(blocks["zone"], block_geoms)])
    cls, geoms = [], []
    for c, g in pieces:
        parts = shapely.get_parts(shapely.get_parts(g))
        parts = parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 1.0)]
        cls += [c] * len(parts)
        geoms += list(parts)
    return gpd.GeoDataFrame({"class": cls, "manning": [MANNING[c] for c in cls]},
                            geometry=geoms)

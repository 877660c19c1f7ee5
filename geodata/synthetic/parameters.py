"""Fixed parameters of the sample district: place, CRS, clock, levels, road classes."""
from __future__ import annotations

import pandas as pd

__all__ = ["DEFAULT_SEED", "CENTRE_LONLAT", "CRS_EPSG", "CELL", "THETA_DEG", "START", "HOURS",
           "STEP_S", "STORM_START_H", "STORM_RETURN_PERIOD", "STORM_DURATION_S", "CONCERT_H",
           "FILE_DATE", "RIVER_LEVEL", "LAKE_LEVEL", "CANAL_LEVEL", "LEVEE_CREST", "ROAD_WIDTH",
           "ROAD_RANK", "ROAD_LANES", "ROAD_SPEED", "LANE_CAPACITY", "MANNING", "ARTERIAL_NAMES",
           "STREET_STEMS", "ART_U", "ART_V", "LOC_U", "LOC_V"]

DEFAULT_SEED = 20240705
CENTRE_LONLAT = (114.89, 30.39)
"""Longitude and latitude of the district centre (central Ezhou)."""
CRS_EPSG = 4547
"""CGCS2000 / 3-degree Gauss-Kruger CM 114E."""

CELL = 4.0
THETA_DEG = 12.0
"""Rotation of the street grid, counter-clockwise from east."""
START = pd.Timestamp("2024-07-04T00:00:00+08:00")
HOURS = 72
STEP_S = 300
STORM_START_H = 37.0
STORM_RETURN_PERIOD = 50.0
STORM_DURATION_S = 3 * 3600
CONCERT_H = (43.5, 46.5)
FILE_DATE = "2024-07-01T00:00:00Z"

RIVER_LEVEL = 16.0
LAKE_LEVEL = 18.5
CANAL_LEVEL = 17.0
LEVEE_CREST = 29.5
ROAD_WIDTH = {"arterial": 30.0, "collector": 20.0, "local": 12.0}
ROAD_RANK = {"arterial": 0, "collector": 1, "local": 2}
ROAD_LANES = {"arterial": 6, "collector": 4, "local": 2}
ROAD_SPEED = {"arterial": 60.0, "collector": 50.0, "local": 30.0}
LANE_CAPACITY = {"arterial": 1800, "collector": 1500, "local": 900}
MANNING = {"road": 0.015, "residential": 0.06, "commercial": 0.05, "industrial": 0.05,
           "public": 0.05, "park": 0.035, "forest": 0.10, "water": 0.025}

ARTERIAL_NAMES = ["Wuchang Avenue", "Fenghuang Road", "Nanpu Road", "Guanyin Road",
                  "Shouchang Road", "Jiangnan Avenue", "Minxin Road", "Kaifa Road",
                  "Qingping Road", "Wudu Road", "Huarong Avenue", "Liangzi Road",
                  "Gedian Avenue", "Tongjiang Road", "Wenchang Road", "Jiangcheng Avenue",
                  "Yuwang Road", "Hongqi Road", "Changgang Road", "Huahu Avenue"]
STREET_STEMS = ["Lianhua", "Taoyuan", "Yuanlin", "Shiji", "Heping", "Xinmin", "Gulou",
                "Jinhu", "Baiyun", "Qinglong", "Dongfang", "Chunhui", "Yangguang", "Nanhu",
                "Hexie", "Mingzhu", "Fuqiang", "Wenhua", "Xingfu", "Jianshe", "Tiyu",
                "Huayuan", "Lingyun", "Shuguang"]

# street-grid spacing (m) along u and v: arterials and local streets
ART_U, ART_V = 600.0, 480.0
LOC_U, LOC_V = 150.0, 120.0

"""A small hand-made city for the scenes tests: sloping terrain with a nodata
hole, a courtyard building, a concave building, a two-part building, roads as
a line and as a polygon, a lake, a park, two sensors and one BIM box."""
from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
import shapely
import trimesh
from affine import Affine

from geodata.raster import Raster
from twin.city import City

X0, Y0 = 585000.0, 3363000.0
CELL = 5.0


def _at(geom):
    return shapely.affinity.translate(geom, X0, Y0)


@pytest.fixture
def terrain() -> Raster:
    """80 x 60 cells of 5 m; z = 20 + 0.01 * x_local (a plane rising east), one NaN hole."""
    rows, cols = 60, 80
    x = (np.arange(cols) + 0.5) * CELL
    z = np.tile(20 + 0.01 * x, (rows, 1)).astype("float32")
    z[5:8, 5:9] = np.nan
    return Raster(z, Affine(CELL, 0, X0, 0, -CELL, Y0 + rows * CELL), 4547)


@pytest.fixture
def buildings() -> gpd.GeoDataFrame:
    courtyard = shapely.Polygon([(0, 0), (30, 0), (30, 30), (0, 30)],
                                [[(10, 10), (10, 20), (20, 20), (20, 10)]])
    concave = shapely.Polygon([(50, 0), (80, 0), (80, 30), (65, 10), (50, 30)])
    two_part = shapely.MultiPolygon([shapely.box(100, 0, 110, 10), shapely.box(120, 0, 130, 20)])
    geoms = [_at(shapely.affinity.translate(g, 100, 100)) for g in (courtyard, concave, two_part)]
    return gpd.GeoDataFrame({"id": ["court", "vee", "pair"], "height": [30.0, 15.0, 6.0],
                             "base": [22.0, 23.0, 24.0],
                             "use": ["office", "residential", "industrial"]},
                            geometry=geoms, crs=4547)


@pytest.fixture
def city(terrain, buildings) -> City:
    roads = gpd.GeoDataFrame(
        {"id": ["r1", "r2"], "class": ["primary", "residential"], "lanes": [4, 2]},
        geometry=[shapely.LineString([(X0 + 10, Y0 + 80), (X0 + 390, Y0 + 80)]),
                  shapely.box(X0 + 200, Y0 + 150, X0 + 210, Y0 + 290)], crs=4547)
    water = gpd.GeoDataFrame({"id": ["lake"], "kind": ["lake"]},
                             geometry=[shapely.Point(X0 + 300, Y0 + 220).buffer(40)], crs=4547)
    landuse = gpd.GeoDataFrame({"id": ["park"], "class": ["park"], "manning": [0.05]},
                               geometry=[shapely.box(X0 + 20, Y0 + 200, X0 + 120, Y0 + 280)],
                               crs=4547)
    stations = gpd.GeoDataFrame({"id": ["cam1", "wl1"], "kind": ["camera", "water_level"]},
                                geometry=[shapely.Point(X0 + 150, Y0 + 60),
                                          shapely.Point(X0 + 300, Y0 + 170)], crs=4547)
    box = trimesh.creation.box((10, 10, 10))
    box.apply_translation((X0 + 60, Y0 + 250, 25))
    return City("tiny", 4547, terrain, buildings, roads, water, landuse,
                sensors=SimpleNamespace(stations=stations), bim={"court": box})


_VALIDATE_MANY_JS = """
const validator = require(process.argv[2]);
const fs = require('fs');
(async () => {
  const out = {};
  for (const path of process.argv.slice(3)) {
    const report = await validator.validateBytes(new Uint8Array(fs.readFileSync(path)));
    out[path] = report.issues;
  }
  console.log(JSON.stringify(out));
})().catch((error) => { console.error(error); process.exit(1); });
"""


@pytest.fixture(scope="session")
def validate_glbs(validate_glb, tmp_path_factory):
    """Return a function that runs the Khronos glTF validator on many GLB files in one
    node process and returns ``{path: issues}`` (the ``validate_glb`` fixture installs it)."""
    import json
    import os
    import subprocess
    from pathlib import Path
    cache = Path(os.environ.get("CITYTWIN_NPM_CACHE",
                                Path.home() / ".cache" / "citytwin" / "npm"))
    script = tmp_path_factory.mktemp("gltf-many") / "validate_many.js"
    script.write_text(_VALIDATE_MANY_JS)

    def check(paths) -> dict:
        paths = [str(p) for p in paths]
        out = subprocess.run(["node", str(script), str(cache / "node_modules" / "gltf-validator"),
                              *paths], capture_output=True, text=True, check=True, timeout=900)
        return json.loads(out.stdout)
    return check

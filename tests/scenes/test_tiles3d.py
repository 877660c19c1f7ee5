"""3D Tiles 1.1 export checked by outside judges and by geometry:

* every tile passes the Khronos glTF validator with no error;
* the tileset JSON validates against the official 3D Tiles 1.1 schema;
* CesiumJS (npm ``cesium``) loads the tileset offline in headless Chromium,
  without errors, and puts its bounding sphere on the city;
* the vertices of a tile, taken through glTF y-up -> z-up and the root
  transform into ECEF and back with pyproj, land on the footprints; each
  vertex's feature id leads to the property row of the building it belongs to.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer

from geodata.errors import DataError
from scenes.frame import LocalFrame
from scenes.tiles3d import building_tree, write_tileset
from scenes.writers import write_scene

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "3d-tiles-schema"
NPM = Path(os.environ.get("CITYTWIN_NPM_CACHE", Path.home() / ".cache" / "citytwin" / "npm"))
CESIUM = NPM / "node_modules" / "cesium" / "Build" / "Cesium"
CHROMIUM = Path("/usr/bin/chromium")
SAMPLE_CITY = Path(__file__).resolve().parents[2] / "data_samples" / "ezhou" / "city.toml"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "scenes"


# -- reading what was written ------------------------------------------------------------
def read_glb(path: Path) -> tuple[dict, bytes]:
    data = path.read_bytes()
    magic, version, total = struct.unpack_from("<4sII", data)
    assert magic == b"glTF" and version == 2 and total == len(data)
    n = struct.unpack_from("<I", data, 12)[0]
    tree = json.loads(data[20:20 + n])
    m = struct.unpack_from("<I", data, 20 + n)[0]
    return tree, data[28 + n:28 + n + m]


def accessor(tree: dict, binary: bytes, index: int) -> np.ndarray:
    acc = tree["accessors"][index]
    view = tree["bufferViews"][acc["bufferView"]]
    dtype = {5126: np.float32, 5125: np.uint32, 5121: np.uint8}[acc["componentType"]]
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[acc["type"]]
    arr = np.frombuffer(binary, dtype, acc["count"] * width, view["byteOffset"])
    return arr.reshape(-1, width) if width > 1 else arr


def property_column(tree: dict, binary: bytes, name: str) -> list:
    meta = tree["extensions"]["EXT_structural_metadata"]
    table = meta["propertyTables"][0]
    prop = table["properties"][name]
    kind = meta["schema"]["classes"][table["class"]]["properties"][name]
    views = tree["bufferViews"]
    values = views[prop["values"]]
    raw = binary[values["byteOffset"]:values["byteOffset"] + values["byteLength"]]
    if kind["type"] == "STRING":
        off = views[prop["stringOffsets"]]
        offsets = np.frombuffer(binary, np.uint32, table["count"] + 1, off["byteOffset"])
        return [raw[a:b].decode() for a, b in zip(offsets[:-1], offsets[1:])]
    return np.frombuffer(raw, np.float64).tolist()


def tiles(node: dict):
    yield node
    for child in node.get("children", []):
        yield from tiles(child)


def to_city_crs(tileset: dict, enu_z_up: np.ndarray, crs) -> np.ndarray:
    """ENU (z up) content points -> ECEF with the root transform -> City CRS with pyproj."""
    m = np.asarray(tileset["root"]["transform"], float).reshape(4, 4).T
    ecef = enu_z_up @ m[:3, :3].T + m[:3, 3]
    back = Transformer.from_crs(CRS.from_epsg(4978), CRS.from_user_input(crs).to_3d(),
                                always_xy=True)
    return np.column_stack(back.transform(*ecef.T))


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture
def tiny_tiles(city, tmp_path):
    """The hand-made city with one building per tile: a root with boxes and three leaves."""
    return write_scene(city, tmp_path / "tiny", "3dtiles", max_features=1)


@pytest.fixture(scope="module")
def sample_tiles(tmp_path_factory):
    if not SAMPLE_CITY.exists():
        pytest.skip("data_samples/ezhou has not been generated")
    import twin
    city = twin.load_city(SAMPLE_CITY)
    out = write_scene(city, tmp_path_factory.mktemp("ezhou") / "ezhou-3dtiles", "3dtiles")
    return city, out


@pytest.fixture(scope="module")
def tileset_validator():
    if not SCHEMA_DIR.exists():
        pytest.skip(f"the 3D Tiles 1.1 schema folder {SCHEMA_DIR} is absent")
    import jsonschema
    from referencing import Registry, Resource
    resources = []
    for file in SCHEMA_DIR.rglob("*.schema.json"):
        doc = json.loads(file.read_text())
        doc["$id"] = file.resolve().as_uri()
        resources.append((doc["$id"], Resource.from_contents(doc)))
    registry = Registry().with_resources(resources)
    root = registry.contents((SCHEMA_DIR / "tileset.schema.json").resolve().as_uri())
    return jsonschema.Draft202012Validator(root, registry=registry)


# -- the Khronos validator and the official schema -------------------------------------------
def test_every_tiny_tile_passes_the_khronos_validator(tiny_tiles, validate_glbs):
    files = sorted(tiny_tiles.rglob("*.glb"))
    assert len(files) >= 4 + 1          # buildings: root + 3 leaves; terrain: at least one
    for path, issues in validate_glbs(files).items():
        assert issues["numErrors"] == 0, (path, issues["messages"][:5])


def test_every_sample_tile_passes_the_khronos_validator(sample_tiles, validate_glbs):
    files = sorted(sample_tiles[1].rglob("*.glb"))
    for path, issues in validate_glbs(files).items():
        assert issues["numErrors"] == 0, (path, issues["messages"][:5])


def test_tilesets_validate_against_the_3d_tiles_schema(tiny_tiles, sample_tiles,
                                                       tileset_validator):
    docs = [tiny_tiles / "tileset.json", tiny_tiles / "terrain" / "tileset.json",
            sample_tiles[1] / "tileset.json", sample_tiles[1] / "terrain" / "tileset.json"]
    for doc in docs:
        errors = list(tileset_validator.iter_errors(json.loads(doc.read_text())))
        assert not errors, (doc, [e.message for e in errors[:5]])
    bad = json.loads(docs[0].read_text())
    bad["root"]["children"][0]["geometricError"] = -1.0     # the tile schema is really applied
    assert list(tileset_validator.iter_errors(bad))
    del bad["asset"]
    assert len(list(tileset_validator.iter_errors(bad))) == 2


# -- geometry, features and HLOD --------------------------------------------------------------
def test_leaf_vertices_land_on_their_footprints_through_ecef(city, tiny_tiles):
    tileset = json.loads((tiny_tiles / "tileset.json").read_text())
    leaves = [t for t in tiles(tileset["root"]) if "children" not in t]
    seen = []
    for leaf in leaves:
        tree, binary = read_glb(tiny_tiles / leaf["content"]["uri"])
        prim = tree["meshes"][0]["primitives"][0]
        y_up = accessor(tree, binary, prim["attributes"]["POSITION"]).astype(float)
        z_up = np.column_stack([y_up[:, 0], -y_up[:, 2], y_up[:, 1]])   # glTF y-up -> z-up
        world = to_city_crs(tileset, z_up, city.crs)
        ids = property_column(tree, binary, "id")
        fid = accessor(tree, binary, prim["attributes"]["_FEATURE_ID_0"]).astype(int)
        assert prim["extensions"]["EXT_mesh_features"]["featureIds"][0]["featureCount"] == len(ids)
        for k, bid in enumerate(ids):
            b = city.buildings.set_index("id").loc[bid]
            pts = world[fid == k]
            dist = shapely.distance(b.geometry, shapely.points(pts[:, :2]))
            assert dist.max() < 0.01                                   # within 1 cm
            assert pts[:, 2].min() == pytest.approx(b.base, abs=0.01)
            assert pts[:, 2].max() == pytest.approx(b.base + b.height, abs=0.01)
            assert property_column(tree, binary, "height")[k] == b.height
            assert property_column(tree, binary, "use")[k] == b.use
        seen += ids
    assert sorted(seen) == sorted(city.buildings["id"])           # each building in one leaf


def test_hlod_parents_are_coarser_and_enclose_their_children(tiny_tiles):
    tileset = json.loads((tiny_tiles / "tileset.json").read_text())
    root = tileset["root"]
    assert root["refine"] == "REPLACE" and tileset["geometricError"] >= root["geometricError"]
    for tile in tiles(root):
        box = np.asarray(tile["boundingVolume"]["box"]).reshape(4, 3)
        lo, hi = box[0] - np.abs(box[1:]).sum(0), box[0] + np.abs(box[1:]).sum(0)
        for child in tile.get("children", []):
            assert child["geometricError"] <= tile["geometricError"]
            cb = np.asarray(child["boundingVolume"]["box"]).reshape(4, 3)
            assert (cb[0] - np.abs(cb[1:]).sum(0) >= lo - 1e-6).all()
            assert (cb[0] + np.abs(cb[1:]).sum(0) <= hi + 1e-6).all()
    # the root shows one box (10 triangles) for the largest building (the courtyard, whose
    # box walls stray 10 m from the courtyard walls); the left-out vee is 15 m tall
    tree, _ = read_glb(tiny_tiles / root["content"]["uri"])
    count = tree["accessors"][tree["meshes"][0]["primitives"][0]["indices"]]["count"]
    assert count == 10 * 3
    assert root["geometricError"] == pytest.approx(15.0)
    assert all(t["geometricError"] == 0 for t in tiles(root) if "children" not in t)


def test_quadtree_splits_until_tiles_are_small_enough():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 1000, (5000, 2))
    root = building_tree(xy, rng.uniform(1, 2, 5000), max_features=100)
    leaves, stack = [], [root]
    while stack:
        node = stack.pop()
        assert len(node.content_rows) <= 100
        stack += node.children
        leaves += [node] if node.leaf else []
    rows = np.concatenate([leaf.rows for leaf in leaves])
    assert np.array_equal(np.sort(rows), np.arange(5000))               # each once
    with pytest.raises(DataError, match="max_features"):
        building_tree(xy, np.ones(5000), max_features=0)


def test_root_transform_is_the_east_north_up_frame_at_the_origin():
    f = LocalFrame.at(4547, (585000.0, 3363000.0, 20.0))
    m = np.asarray(f.transform).reshape(4, 4).T
    assert np.allclose(m[:3, :3].T @ m[:3, :3], np.eye(3))
    east = f.to_ecef([[585100.0, 3363000.0, 20.0]])[0] - f.origin_ecef
    up = f.to_ecef([[585000.0, 3363000.0, 120.0]])[0] - f.origin_ecef
    assert np.dot(up / 100, m[:3, 2]) == pytest.approx(1.0, abs=1e-9)
    # grid north differs from true north by the meridian convergence (~0.4 deg here)
    assert np.degrees(np.arccos(np.dot(east, m[:3, 0]) / np.linalg.norm(east))) < 1.0


def test_run_max_depth_becomes_a_flood_tileset(city, tmp_path, validate_glbs, tileset_validator):
    import xarray as xr
    depth = np.zeros(city.terrain.shape)
    depth[20:30, 30:50] = 1.5
    out = write_tileset(city, tmp_path / "t", run=xr.Dataset({"max_depth": (("y", "x"), depth)}))
    doc = json.loads((out / "flood" / "tileset.json").read_text())
    assert not list(tileset_validator.iter_errors(doc))
    files = [out / "flood" / doc["root"]["content"]["uri"]]
    # the same flood on a grid of its own, 2 x 2 terrain cells each, with x, y coordinates
    t = city.terrain
    coarse = depth[::2, ::2]
    ds = xr.Dataset({"max_depth": (("y", "x"), coarse), "elevation": (("y", "x"), t.data[::2, ::2])},
                    coords={"x": t.x[::2] + t.cell_size / 2, "y": t.y[::2] - t.cell_size / 2})
    again = write_tileset(city, tmp_path / "u", run=ds, terrain=False)
    files.append(again / "flood" / "tiles" / "0-0-0.glb")
    for issues in validate_glbs(files).values():
        assert issues["numErrors"] == 0
    tree, binary = read_glb(files[1])
    y_up = accessor(tree, binary, tree["meshes"][0]["primitives"][0]["attributes"]["POSITION"])
    world = to_city_crs(doc, np.column_stack([y_up[:, 0], -y_up[:, 2], y_up[:, 1]]), city.crs)
    wet = shapely.box(t.x[30] - 2.5, t.y[29] - 2.5, t.x[49] + 2.5, t.y[20] + 2.5)
    # the water may reach into the next flood cell (up to its centre, then one terrain cell)
    reach = wet.buffer(2 * t.cell_size + 1e-3, join_style="mitre")
    assert shapely.contains_xy(reach, world[:, 0], world[:, 1]).all()
    assert shapely.distance(shapely.points(world[:, :2]), wet.centroid).min() < t.cell_size


# -- CesiumJS, offline, in headless Chromium ---------------------------------------------------
PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script>window.CESIUM_BASE_URL = '/cesium/';</script>
<script src="/cesium/Cesium.js"></script>
<link rel="stylesheet" href="/cesium/Widgets/widgets.css"></head>
<body style="margin:0"><div id="c" style="width:800px;height:600px"></div>
<script>
window.errors = []; window.result = null;
window.addEventListener('error', (e) => window.errors.push(String(e.message)));
(async () => {
  try {
    Cesium.Ion.defaultAccessToken = undefined;
    const widget = new Cesium.CesiumWidget('c', {baseLayer: false, skyBox: false,
      skyAtmosphere: false, terrainProvider: new Cesium.EllipsoidTerrainProvider()});
    const scene = widget.scene;
    const load = async (url) => {
      const ts = await Cesium.Cesium3DTileset.fromUrl(url);
      ts.tileFailed.addEventListener((e) => window.errors.push('tile ' + e.url + ': ' + e.message));
      scene.primitives.add(ts);
      return ts;
    };
    const ts = await load('/tiles/tileset.json');
    const terrain = await load('/tiles/terrain/tileset.json');
    ts.style = new Cesium.Cesium3DTileStyle({color: "${height} > 20 ? color('red') : color('white')"});
    widget.camera.viewBoundingSphere(ts.boundingSphere,
      new Cesium.HeadingPitchRange(0, -Cesium.Math.PI_OVER_TWO, ts.boundingSphere.radius * 1.5));
    await new Promise((resolve) => {
      const done = () => ts.tilesLoaded && terrain.tilesLoaded;
      const tick = () => { scene.render(); done() ? resolve() : setTimeout(tick, 100); };
      tick();
    });
    scene.render();
    // pick the roof of the building whose ECEF roof point the test passes in ?target=x,y,z
    const t = new URLSearchParams(location.search).get('target').split(',').map(Number);
    const at = Cesium.SceneTransforms.worldToWindowCoordinates(scene, new Cesium.Cartesian3(...t));
    let picked = null;
    for (const [dx, dy] of [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]]) {
      const f = at && scene.pick(new Cesium.Cartesian2(at.x + dx, at.y + dy));
      if (f instanceof Cesium.Cesium3DTileFeature) {
        picked = {id: f.getProperty('id'), height: f.getProperty('height')}; break;
      }
    }
    const c = ts.boundingSphere.center;
    window.result = {center: [c.x, c.y, c.z], radius: ts.boundingSphere.radius,
                     terrainRadius: terrain.boundingSphere.radius, picked: picked,
                     tiles: ts.statistics.numberOfTilesWithContentReady};
  } catch (e) { window.errors.push(String(e && e.stack || e)); window.result = {failed: true}; }
})();
</script></body></html>"""


@pytest.fixture
def cesium_server(sample_tiles, tmp_path):
    if not CESIUM.exists():
        pytest.skip(f"the npm package cesium is not installed in {NPM} "
                    "(npm install --prefix ~/.cache/citytwin/npm cesium)")
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_text(PAGE)
    (root / "cesium").symlink_to(CESIUM)
    (root / "tiles").symlink_to(sample_tiles[1])
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
            "--disable-background-networking", "--disable-component-update", "--no-first-run"])
        yield b
        b.close()


def test_cesium_loads_the_tileset_offline_on_the_city(sample_tiles, cesium_server, browser):
    city, _ = sample_tiles
    page = browser.new_page(viewport={"width": 800, "height": 600})
    outside, console = [], []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(str(e)))

    def route(r):
        if r.request.url.startswith(cesium_server):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()
    page.route("**/*", route)
    b = city.buildings
    tallest = b.loc[(b["base"] + b["height"]).idxmax()]
    roof = shapely.point_on_surface(tallest.geometry)
    to_ecef = Transformer.from_crs(CRS.from_user_input(city.crs).to_3d(), CRS.from_epsg(4978),
                                   always_xy=True)
    target = to_ecef.transform(roof.x, roof.y, tallest.base + tallest.height - 0.01)
    page.goto(cesium_server + "/index.html?target=" + ",".join(f"{v:.3f}" for v in target))
    page.wait_for_function("window.result !== null", timeout=240_000, polling=500)
    result = page.evaluate("window.result")
    errors = page.evaluate("window.errors")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = page.locator("canvas").screenshot(path=str(ARTIFACTS / "cesium_ezhou.png"))
    page.close()
    assert not errors and not console, (errors, console)
    assert not outside, outside                      # nothing asked of Ion or the internet
    xmin, ymin, xmax, ymax = b.total_bounds
    z = (b["base"].min() + (b["base"] + b["height"]).max()) / 2
    expected = np.array(to_ecef.transform((xmin + xmax) / 2, (ymin + ymax) / 2, z))
    assert np.linalg.norm(np.array(result["center"]) - expected) < 50.0
    assert result["tiles"] >= 1
    assert result["picked"] == {"id": tallest.id, "height": pytest.approx(tallest.height)}
    # the picture shows the city: many colours, not one background
    from PIL import Image
    import io
    rgb = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).reshape(-1, 3)
    assert len(np.unique(rgb // 16, axis=0)) > 20


def test_3dtiles_needs_a_folder_name(city, tmp_path):
    with pytest.raises(DataError, match="folder"):
        write_scene(city, tmp_path / "tiles.json", "3dtiles")

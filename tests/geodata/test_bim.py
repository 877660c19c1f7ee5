"""Tests for geodata.bim: the real FZK-Haus IFC, tiny generated IFCs, glTF/OBJ round trips."""
from __future__ import annotations

import math

import ifcopenshell
import ifcopenshell.api.aggregate
import ifcopenshell.api.context
import ifcopenshell.api.geometry
import ifcopenshell.api.georeference
import ifcopenshell.api.root
import ifcopenshell.api.spatial
import ifcopenshell.api.unit
import ifcopenshell.util.placement
import numpy as np
import pytest
import shapely
import trimesh
from pyproj import Transformer

from geodata.bim import BimModel, Placement, read_bim, read_ifc, read_mesh_model
from geodata.errors import DataError

api = ifcopenshell.api


def _rotate(xy: np.ndarray, degrees: float) -> np.ndarray:
    a = math.radians(degrees)
    return xy @ np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])


def _dms(angle) -> float:
    d, m, s, *us = angle
    return d + m / 60 + (s + (us[0] if us else 0) / 1e6) / 3600


# -- FZK-Haus ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fzk_file(fzk_haus_ifc):
    return ifcopenshell.open(str(fzk_haus_ifc))


@pytest.fixture(scope="module")
def fzk(fzk_haus_ifc):
    return read_ifc(fzk_haus_ifc, crs="EPSG:25832")


@pytest.fixture(scope="module")
def fzk_placed(fzk_haus_ifc):
    return read_bim(fzk_haus_ifc, crs="EPSG:25832",
                    placement=Placement(x=1000.0, y=2000.0, z=0.0, rotation_deg=90.0))


def test_fzk_lies_at_its_site_latitude_longitude(fzk, fzk_file):
    site = fzk_file.by_type("IfcSite")[0]
    lon, lat = _dms(site.RefLongitude), _dms(site.RefLatitude)
    e, n = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True).transform(lon, lat)
    centre = fzk.bounds.mean(axis=0)
    assert math.hypot(centre[0] - e, centre[1] - n) < 500
    assert 455_000 < e < 462_000 and 5_430_000 < n < 5_445_000        # Karlsruhe in UTM 32N
    assert fzk.bounds[0, 2] == pytest.approx(site.RefElevation, abs=0.5)


def test_fzk_mesh_size_storeys_and_types(fzk, fzk_file):
    assert isinstance(fzk, BimModel)
    assert len(fzk.mesh.faces) > 1000
    assert 6 <= np.ptp(fzk.mesh.vertices[:, 2]) <= 12
    assert fzk.mesh.vertices.dtype == np.float64
    assert len(fzk.face_element) == len(fzk.mesh.faces)
    assert fzk.face_element.min() == 0 and fzk.face_element.max() == len(fzk.elements) - 1
    storeys = fzk_file.by_type("IfcBuildingStorey")
    assert len(storeys) == 2 and len(fzk.storeys) == 2
    ref = fzk_file.by_type("IfcSite")[0].RefElevation
    expected = sorted((s.Elevation + ref, s.Name) for s in storeys)
    assert list(fzk.storeys["name"]) == [name for _, name in expected]
    np.testing.assert_allclose(fzk.storeys["elevation"], [z for z, _ in expected])
    types = set(fzk.elements["ifc_type"])
    assert {"IfcWallStandardCase", "IfcSlab", "IfcWindow", "IfcDoor"} <= types
    assert "IfcRoof" in types or not fzk_file.by_type("IfcRoof")   # FZK roofs are IfcSlab ROOF
    assert not types & {"IfcSpace", "IfcOpeningElement"}
    guids = {e.GlobalId for e in fzk_file.by_type("IfcWindow")}
    assert guids == set(fzk.elements.loc[fzk.elements["ifc_type"] == "IfcWindow", "guid"])
    assert set(fzk.elements["storey"]) <= {s.Name for s in storeys}


def test_fzk_placement_and_true_north(fzk, fzk_placed, fzk_file):
    # With the placement, local = R(-90 deg)(world - (1000, 2000)). The house is 12 m x 10 m.
    local = np.asarray(fzk_placed.mesh.vertices, float).copy()
    local[:, :2] = _rotate(local[:, :2] - [1000.0, 2000.0], -90.0)
    walls = np.isin(fzk_placed.face_element,
                    np.flatnonzero(fzk_placed.elements["ifc_type"] == "IfcWallStandardCase"))
    wall_xy = local[np.unique(fzk_placed.mesh.faces[walls])][:, :2]
    assert np.ptp(wall_xy[:, 0]) == pytest.approx(12.0, abs=0.6)
    assert np.ptp(wall_xy[:, 1]) == pytest.approx(10.0, abs=0.6)
    # Georeferenced: the site origin goes to the projected lat/lon, model TrueNorth to
    # geographic north, which in UTM is grid north turned by the meridian convergence
    # gamma = (lon - lon0) sin(lat) (first order; lon0 = 9 deg E for zone 32).
    site = fzk_file.by_type("IfcSite")[0]
    np.testing.assert_allclose(ifcopenshell.util.placement.get_local_placement(
        site.ObjectPlacement), np.eye(4))
    lon, lat = _dms(site.RefLongitude), _dms(site.RefLatitude)
    e, n = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True).transform(lon, lat)
    context = next(c for c in fzk_file.by_type("IfcGeometricRepresentationContext")
                   if c.ContextType == "Model" and not c.is_a("IfcGeometricRepresentationSubContext"))
    tx, ty = context.TrueNorth.DirectionRatios[:2]
    gamma = (lon - 9.0) * math.sin(math.radians(lat))
    theta = 90.0 + gamma - math.degrees(math.atan2(ty, tx))
    expected = _rotate(local[:, :2], theta) + [e, n]
    np.testing.assert_allclose(fzk.mesh.vertices[:, :2], expected, atol=0.02)
    np.testing.assert_allclose(fzk.mesh.vertices[:, 2], local[:, 2] + site.RefElevation,
                               atol=1e-6)


def test_fzk_footprint(fzk):
    fp = fzk.footprint()
    assert isinstance(fp, shapely.Polygon) and fp.is_valid
    assert 120 <= fp.area <= 160          # 12 m x 10 m house plus the roof overhang
    x0, y0, x1, y1 = fp.bounds
    b = fzk.bounds
    assert (x0, y0, x1, y1) == pytest.approx((b[0, 0], b[0, 1], b[1, 0], b[1, 1]))


# -- tiny generated IFC --------------------------------------------------------------------
def _tiny_ifc(path, georeference=None):
    """A millimetre IFC4 project with one 5 m x 0.2 m x 3 m wall at the origin."""
    f = ifcopenshell.file(schema="IFC4")
    project = api.root.create_entity(f, ifc_class="IfcProject", name="tiny")
    api.unit.assign_unit(f, units=[api.unit.add_si_unit(f, unit_type="LENGTHUNIT",
                                                         prefix="MILLI")])
    model = api.context.add_context(f, context_type="Model")
    body = api.context.add_context(f, context_type="Model", context_identifier="Body",
                                   target_view="MODEL_VIEW", parent=model)
    site = api.root.create_entity(f, ifc_class="IfcSite", name="site")
    building = api.root.create_entity(f, ifc_class="IfcBuilding", name="building")
    storey = api.root.create_entity(f, ifc_class="IfcBuildingStorey", name="EG")
    api.aggregate.assign_object(f, relating_object=project, products=[site])
    api.aggregate.assign_object(f, relating_object=site, products=[building])
    api.aggregate.assign_object(f, relating_object=building, products=[storey])
    api.geometry.edit_object_placement(f, product=storey)
    wall = api.root.create_entity(f, ifc_class="IfcWall", name="wall")
    rep = api.geometry.add_wall_representation(f, context=body, length=5.0, height=3.0,
                                               thickness=0.2)      # metres, written in mm
    api.geometry.assign_representation(f, product=wall, representation=rep)
    api.geometry.edit_object_placement(f, product=wall)
    api.spatial.assign_container(f, relating_structure=storey, products=[wall])
    if georeference is not None:
        api.georeference.add_georeferencing(f)
        api.georeference.edit_georeferencing(f, **georeference)
    f.write(str(path))
    return path


def test_tiny_ifc_without_georeference_needs_a_placement(tmp_path):
    path = _tiny_ifc(tmp_path / "tiny.ifc")
    with pytest.raises(DataError, match="placement = ") as err:
        read_ifc(path, crs="EPSG:25832")
    assert "tiny.ifc" in str(err.value) and "georeference" in str(err.value)


def test_tiny_ifc_placement_transform_in_metres(tmp_path):
    path = _tiny_ifc(tmp_path / "tiny.ifc")
    model = read_ifc(path, crs="EPSG:25832", placement=Placement(1000.0, 2000.0, 5.0, 90.0))
    # local box [0, 5] x [0, 0.2] x [0, 3] turned 90 deg: x -> +y, y -> -x.
    np.testing.assert_allclose(model.bounds, [[999.8, 2000.0, 5.0], [1000.0, 2005.0, 8.0]],
                               atol=1e-9)
    assert list(model.elements["ifc_type"]) == ["IfcWall"]
    assert list(model.elements["storey"]) == ["EG"]
    assert list(model.storeys["name"]) == ["EG"] and model.storeys["elevation"][0] == 5.0
    assert model.footprint().area == pytest.approx(1.0)


def test_tiny_ifc_map_conversion(tmp_path):
    rot = 30.0
    geo = {"projected_crs": {"Name": "EPSG:25832"},
           "coordinate_operation": {"Eastings": 450000.0, "Northings": 5400000.0,
                                    "OrthogonalHeight": 100.0,
                                    "XAxisAbscissa": math.cos(math.radians(rot)),
                                    "XAxisOrdinate": math.sin(math.radians(rot)),
                                    "Scale": 0.001}}            # mm -> m
    path = _tiny_ifc(tmp_path / "geo.ifc", geo)
    model = read_ifc(path, crs="EPSG:25832")
    corners = np.array([[0, 0], [5, 0], [5, 0.2], [0, 0.2]])
    expected = _rotate(corners, rot) + [450000.0, 5400000.0]
    np.testing.assert_allclose(model.bounds[:, :2], [expected.min(0), expected.max(0)],
                               atol=1e-6)
    np.testing.assert_allclose(model.bounds[:, 2], [100.0, 103.0], atol=1e-9)
    # another City CRS: the map coordinates are reprojected
    utm = read_ifc(path, crs="EPSG:32632")
    x, y = Transformer.from_crs(25832, 32632, always_xy=True).transform(*expected.T)
    np.testing.assert_allclose(utm.bounds[:, :2], [[x.min(), y.min()], [x.max(), y.max()]],
                               atol=1e-3)
    # an explicit placement wins over the georeference
    placed = read_ifc(path, crs="EPSG:25832", placement=Placement(0.0, 0.0))
    np.testing.assert_allclose(placed.bounds, [[0, 0, 0], [5, 0.2, 3]], atol=1e-9)


def test_corrupt_and_missing_ifc(tmp_path):
    bad = tmp_path / "bad.ifc"
    bad.write_text("ISO-10303-21;\nHEADER;\nthis is not a STEP file\n")
    with pytest.raises(DataError, match="not a readable IFC") as err:
        read_ifc(bad, crs="EPSG:25832")
    assert "bad.ifc" in str(err.value)
    with pytest.raises(DataError, match="not found"):
        read_bim(tmp_path / "missing.ifc", crs="EPSG:25832")


def test_bad_crs_and_suffix(tmp_path):
    path = _tiny_ifc(tmp_path / "tiny.ifc")
    with pytest.raises(DataError, match="not projected"):
        read_ifc(path, crs="EPSG:4326", placement=Placement(0, 0))
    with pytest.raises(DataError, match="unknown BIM file type"):
        read_bim(tmp_path / "model.fbx", crs="EPSG:25832")


# -- glTF / GLB / OBJ --------------------------------------------------------------------
def test_glb_round_trip_is_turned_z_up_and_placed(tmp_path):
    # In glTF, +y is up: a box 4 (x) by 3 (y, up) by 2 (z, south), moved 1 m along x.
    box = trimesh.creation.box(extents=(4.0, 3.0, 2.0))
    box.apply_translation((1.0, 0.0, 0.0))
    path = tmp_path / "box.glb"
    trimesh.Scene({"box": box}).export(path)
    model = read_mesh_model(path, crs="EPSG:25832",
                            placement=Placement(500.0, 600.0, 10.0, rotation_deg=90.0))
    # z-up local: x in [-1, 3], y in [-1, 1], z in [-1.5, 1.5]; turned 90 deg: (x, y) -> (-y, x)
    np.testing.assert_allclose(model.bounds, [[499.0, 599.0, 8.5], [501.0, 603.0, 11.5]],
                               atol=1e-6)
    assert len(model.elements) == 1 and len(model.face_element) == 12
    assert model.footprint().area == pytest.approx(8.0)
    assert model.storeys.empty


def test_nodes_are_elements_and_obj_stays_z_up(tmp_path):
    a = trimesh.creation.box(extents=(2.0, 2.0, 6.0))
    b = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    b.apply_translation((10.0, 0.0, 0.0))
    path = tmp_path / "two.glb"
    trimesh.Scene({"tower": a, "kiosk": b}).export(path)
    glb = read_bim(path, crs="EPSG:25832", placement=Placement(0.0, 0.0))
    assert sorted(glb.elements["name"]) == ["kiosk", "tower"]
    tower = glb.elements.index[glb.elements["name"] == "tower"][0]
    xyz = glb.mesh.vertices[glb.mesh.faces[glb.face_element == tower]].reshape(-1, 3)
    np.testing.assert_allclose(np.ptp(xyz, axis=0), [2.0, 6.0, 2.0])   # glTF z -> -y, y -> z
    obj = tmp_path / "tower.obj"
    a.export(obj)
    model = read_bim(obj, crs="EPSG:25832", placement=Placement(0.0, 0.0, 2.0))
    np.testing.assert_allclose(model.bounds[:, 2], [-1.0, 5.0], atol=1e-6)


def test_mesh_model_needs_a_placement(tmp_path):
    path = tmp_path / "box.glb"
    trimesh.creation.box().export(path)
    with pytest.raises(DataError, match="placement"):
        read_mesh_model(path, crs="EPSG:25832", placement=None)
    bad = tmp_path / "bad.glb"
    bad.write_bytes(b"glTF this is not a binary glTF")
    with pytest.raises(DataError, match="not a readable mesh"):
        read_mesh_model(bad, crs="EPSG:25832", placement=Placement(0, 0))


# -- truncated and partly broken IFC files -------------------------------------------------

@pytest.fixture(scope="module")
def school_ifc(sample_city_path):
    return sample_city_path.parent / "bim" / "school.ifc"


def test_truncated_ifc_warns_naming_what_was_read(school_ifc, tmp_path):
    from geodata.errors import DataWarning
    whole = read_ifc(school_ifc, crs=4547)
    text = school_ifc.read_bytes()
    cut = tmp_path / "cut.ifc"
    cut.write_bytes(text[: len(text) // 5])
    last = int(text[: len(text) // 5].decode().rsplit("\n#", 2)[-2].split("=")[0])
    with pytest.warns(DataWarning, match=rf"truncated.*the last is #{last}\b.*lost"):
        part = read_ifc(cut, crs=4547)
    assert 0 < len(part.elements) < len(whole.elements)
    assert set(part.elements["guid"]) <= set(whole.elements["guid"])


def test_ifc_cut_before_any_geometry_is_an_error(school_ifc, tmp_path):
    from geodata.errors import DataWarning
    cut = tmp_path / "head.ifc"
    text = school_ifc.read_bytes()
    cut.write_bytes(text[:text.index(b"IFCEXTRUDEDAREASOLID")])
    with pytest.warns(DataWarning, match="truncated"):
        with pytest.raises(DataError, match="head.ifc"):
            read_ifc(cut, crs=4547)


def test_element_whose_geometry_cannot_be_built_is_named(school_ifc, tmp_path):
    import re
    from geodata.errors import DataWarning
    text = school_ifc.read_text()
    solid = re.search(r"IFCEXTRUDEDAREASOLID\((#\d+),(#\d+),(#\d+),[^)]*\)", text)
    flat = f"IFCEXTRUDEDAREASOLID({solid[1]},{solid[2]},{solid[3]},0.)"   # zero depth
    broken = tmp_path / "broken.ifc"
    broken.write_text(text.replace(solid[0], flat, 1))
    owner = ifcopenshell.open(str(school_ifc)).by_type("IfcWall")[0]
    with pytest.warns(DataWarning, match=rf"1 elements have a representation.*IfcWall #{owner.id()}"):
        model = read_ifc(broken, crs=4547)
    assert owner.GlobalId not in set(model.elements["guid"])

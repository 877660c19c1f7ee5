"""The district's BIM model: an IFC4 school written with ifcopenshell.api."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from geodata.synthetic.parameters import CRS_EPSG, FILE_DATE

__all__ = ["write_school_ifc"]


def write_school_ifc(path: Path, school: dict, placement: dict, seed: int) -> None:
    """A two-or-more storey school block: walls, slabs, roof, windows and doors.

    The model's origin is the centre of the footprint at ground level; the
    site carries an IfcMapConversion to EPSG:4547 matching ``placement``.
    """
    import ifcopenshell.api.aggregate
    import ifcopenshell.api.context
    import ifcopenshell.api.feature
    import ifcopenshell.api.geometry
    import ifcopenshell.api.georeference
    import ifcopenshell.api.root
    import ifcopenshell.api.spatial
    import ifcopenshell.api.unit
    import ifcopenshell.guid

    api = ifcopenshell.api

    model = ifcopenshell.file(schema="IFC4")
    project = api.root.create_entity(model, ifc_class="IfcProject",
                                     name="Ezhou sample district: school")
    units = [api.unit.add_si_unit(model, unit_type=kind)
             for kind in ("LENGTHUNIT", "AREAUNIT", "VOLUMEUNIT")]
    assignment = api.unit.assign_unit(model, units=units)
    assignment.Units = units          # a SET in IFC: fix its order so files are reproducible
    model3d = api.context.add_context(model, context_type="Model")
    body = api.context.add_context(model, context_type="Model", context_identifier="Body",
                                   target_view="MODEL_VIEW", parent=model3d)
    site = api.root.create_entity(model, ifc_class="IfcSite", name="School site")
    building = api.root.create_entity(model, ifc_class="IfcBuilding",
                                      name="Xishan Road Primary School")
    api.aggregate.assign_object(model, relating_object=project, products=[site])
    api.aggregate.assign_object(model, relating_object=site, products=[building])
    api.georeference.add_georeferencing(model, name=f"EPSG:{CRS_EPSG}")
    rot = math.radians(placement["rotation_deg"])
    api.georeference.edit_georeferencing(
        model, projected_crs={"Name": f"EPSG:{CRS_EPSG}",
                              "Description": "CGCS2000 / 3-degree Gauss-Kruger CM 114E"},
        coordinate_operation={"Eastings": placement["x"], "Northings": placement["y"],
                              "OrthogonalHeight": placement["z"],
                              "XAxisAbscissa": math.cos(rot), "XAxisOrdinate": math.sin(rot),
                              "Scale": 1.0})

    w, d, h = school["width"], school["depth"], school["storey_height"]
    t = 0.3
    for level in range(school["storeys"]):
        z = level * h
        storey = api.root.create_entity(model, ifc_class="IfcBuildingStorey",
                                        name=f"Level {level}")
        api.geometry.edit_object_placement(model, product=storey, matrix=_matrix(0, 0, z))
        storey.Elevation = z
        api.aggregate.assign_object(model, relating_object=building, products=[storey])
        _slab(api, model, body, storey, w, d, z, t, f"Floor slab L{level}", "FLOOR")
        walls = [(-w / 2, -d / 2, 0.0, w), (w / 2, -d / 2, 90.0, d),
                 (w / 2, d / 2, 180.0, w), (-w / 2, d / 2, 270.0, d)]
        for k, (x, y, angle, length) in enumerate(walls):
            wall = api.root.create_entity(model, ifc_class="IfcWall", name=f"Wall L{level}-{k}")
            rep = api.geometry.add_wall_representation(model, context=body, length=length,
                                                       height=h, thickness=t)
            api.geometry.assign_representation(model, product=wall, representation=rep)
            api.geometry.edit_object_placement(model, product=wall,
                                               matrix=_matrix(x, y, z, angle))
            api.spatial.assign_container(model, relating_structure=storey, products=[wall])
            if k % 2 == 0:              # the long walls: windows, and a door on the ground
                n_win = int(length // 4.0) - 1
                for j in range(n_win):
                    along = 2.0 + 4.0 * j
                    door = level == 0 and j in (n_win // 2,) and k == 0
                    _opening(api, model, body, storey, wall, along, z, angle, x, y, t, door)
    roof_z = school["storeys"] * h
    _slab(api, model, body, storey, w, d, roof_z, t, "Roof", "ROOF", ifc_class="IfcRoof")
    for rel in model.by_type("IfcRelAggregates"):         # sets come back in any order
        rel.RelatedObjects = sorted(rel.RelatedObjects, key=lambda e: e.id())
    for rel in model.by_type("IfcRelContainedInSpatialStructure"):
        rel.RelatedElements = sorted(rel.RelatedElements, key=lambda e: e.id())
    rng = np.random.default_rng(seed)
    for entity in model.by_type("IfcRoot"):
        entity.GlobalId = ifcopenshell.guid.compress(rng.bytes(16).hex())
    model.header.file_name.time_stamp = FILE_DATE.replace("Z", "")
    tmp = path.with_name(path.name + ".partial")
    model.write(str(tmp))
    os.replace(tmp, path)


def _matrix(x: float, y: float, z: float, angle_deg: float = 0.0) -> np.ndarray:
    m = np.eye(4)
    a = math.radians(angle_deg)
    m[:2, :2] = [[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]
    m[:3, 3] = [x, y, z]
    return m


def _slab(api, model, body, storey, w, d, z, t, name, kind, ifc_class="IfcSlab"):
    slab = api.root.create_entity(model, ifc_class=ifc_class, name=name, predefined_type=kind
                                  if ifc_class == "IfcSlab" else "FLAT_ROOF")
    rep = api.geometry.add_slab_representation(
        model, context=body, depth=t,
        polyline=[(-w / 2, -d / 2), (w / 2, -d / 2), (w / 2, d / 2), (-w / 2, d / 2)])
    api.geometry.assign_representation(model, product=slab, representation=rep)
    api.geometry.edit_object_placement(model, product=slab, matrix=_matrix(0, 0, z))
    api.spatial.assign_container(model, relating_structure=storey, products=[slab])
    return slab


def _opening(api, model, body, storey, wall, along, z, angle, x, y, t, door):
    """Cut an opening in ``wall`` at ``along`` metres and fill it with a window or door."""
    width, height, sill = (1.8, 2.4, 0.0) if door else (2.0, 1.5, 0.9)
    a = math.radians(angle)
    ox, oy = x + math.cos(a) * along, y + math.sin(a) * along
    hole = api.root.create_entity(model, ifc_class="IfcOpeningElement")
    rep = api.geometry.add_wall_representation(model, context=body, length=width,
                                               height=height, thickness=t + 0.1, offset=-0.05)
    api.geometry.assign_representation(model, product=hole, representation=rep)
    api.geometry.edit_object_placement(model, product=hole,
                                       matrix=_matrix(ox, oy, z + sill, angle))
    api.feature.add_feature(model, feature=hole, element=wall)
    cls = "IfcDoor" if door else "IfcWindow"
    fill = api.root.create_entity(model, ifc_class=cls, name="Main door" if door else "Window")
    if door:
        rep = api.geometry.add_door_representation(model, context=body, overall_height=height,
                                                   overall_width=width)
    else:
        rep = api.geometry.add_window_representation(model, context=body,
                                                     overall_height=height,
                                                     overall_width=width)
    api.geometry.assign_representation(model, product=fill, representation=rep)
    api.geometry.edit_object_placement(model, product=fill,
                                       matrix=_matrix(ox, oy, z + sill, angle))
    api.spatial.assign_container(model, relating_structure=storey, products=[fill])
    api.feature.add_filling(model, opening=hole, element=fill)

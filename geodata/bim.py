"""BIM models (IFC, glTF/GLB, OBJ) as one triangle mesh placed in the City CRS.

A :class:`BimModel` is one :class:`trimesh.Trimesh` in world coordinates of
the City CRS (metres, z absolute), with the building element of every face
and the storeys. :func:`read_ifc` reads IFC with IfcOpenShell and
georeferences it from ``IfcMapConversion`` or the ``IfcSite`` latitude and
longitude; :func:`read_mesh_model` reads glTF/GLB/OBJ with trimesh, placed
by an explicit :class:`Placement`; :func:`read_bim` picks by file suffix.
"""
from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import trimesh
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from geodata.errors import DataError, DataWarning, describe_ids

__all__ = ["Placement", "BimModel", "read_bim", "read_ifc", "read_mesh_model",
           "IFC_SKIPPED", "GEOMETRY_LIBRARY", "MESH_SUFFIXES"]

#: IFC classes that carry no built matter and are left out of the mesh.
IFC_SKIPPED = ("IfcSpace", "IfcOpeningElement", "IfcVirtualElement", "IfcAnnotation",
               "IfcSite", "IfcGrid", "IfcSpatialZone")

#: IfcOpenShell geometry kernel: CGAL for simple shapes (half the CPU time of
#: Open CASCADE on FZK-Haus, same triangles), Open CASCADE for the rest.
GEOMETRY_LIBRARY = "hybrid-cgal-simple-opencascade"

#: Suffixes read by :func:`read_mesh_model`.
MESH_SUFFIXES = (".glb", ".gltf", ".obj")

_PLACEMENT_FIX = ("add a placement = {x=..., y=..., z=..., rotation_deg=...} for this model in "
                  "the [[bim]] entry of the city manifest (model origin in the City CRS, metres)")


@dataclass
class Placement:
    """Where a BIM model goes in the City CRS.

    The model's local coordinates (metres) are rotated counter-clockwise by
    ``rotation_deg`` about z (the angle of the model's +x axis from east),
    then moved by ``(x, y, z)``.

    Examples
    --------
    >>> Placement(x=1000.0, y=2000.0, rotation_deg=90.0).apply(np.array([[1.0, 0.0, 0.0]]))
    array([[1000., 2001.,    0.]])
    """

    x: float
    y: float
    z: float = 0.0
    rotation_deg: float = 0.0

    def apply(self, xyz: np.ndarray) -> np.ndarray:
        """Local coordinates ``(n, 3)`` in metres -> City CRS coordinates."""
        return _Similarity(math.radians(self.rotation_deg), 1.0, self.x, self.y,
                           self.z).apply(xyz)


@dataclass
class BimModel:
    """A BIM model as one triangle mesh in the City CRS.

    Attributes
    ----------
    name : str
    mesh : trimesh.Trimesh
        Triangles in world coordinates of the City CRS (float64); z in
        absolute metres.
    face_element : ndarray of int
        Per face, the row of its element in ``elements``.
    elements : DataFrame
        ``guid, ifc_type, name, storey`` (for mesh models ``ifc_type`` is
        ``"mesh"`` and ``guid`` the node name).
    storeys : DataFrame
        ``name, elevation`` (m, absolute), lowest first.
    source : str
        The file read.

    Examples
    --------
    >>> model = read_bim("school.ifc", crs="EPSG:4547")  # doctest: +SKIP
    >>> model.footprint().area, model.bounds[:, 2]      # doctest: +SKIP
    """

    name: str
    mesh: trimesh.Trimesh
    face_element: np.ndarray
    elements: pd.DataFrame
    storeys: pd.DataFrame
    source: str

    @property
    def bounds(self) -> np.ndarray:
        """``[[xmin, ymin, zmin], [xmax, ymax, zmax]]`` in the City CRS."""
        return np.asarray(self.mesh.bounds, dtype=np.float64)

    def footprint(self) -> shapely.Polygon:
        """The 2D outline: the union of all triangles projected to the ground.

        Falls back to the convex hull of the vertices when the union is not
        one polygon (detached parts) or cannot be computed.

        Examples
        --------
        >>> box = trimesh.creation.box((4, 2, 3))
        >>> m = BimModel("box", box, np.zeros(12, int), pd.DataFrame(), pd.DataFrame(), "")
        >>> round(m.footprint().area, 6)
        8.0
        """
        v = np.asarray(self.mesh.vertices, np.float64)
        tri = v[np.asarray(self.mesh.faces)][:, :, :2]
        polys = shapely.polygons(tri)
        polys = polys[shapely.area(polys) > 1e-12]
        hull = shapely.MultiPoint(v[:, :2]).convex_hull
        try:
            outline = shapely.union_all(polys)
        except shapely.errors.GEOSException:
            return hull
        return outline if isinstance(outline, shapely.Polygon) else hull


def read_bim(path: str | os.PathLike, *, crs, placement: Placement | None = None,
             ) -> BimModel:
    """Read a BIM model (``.ifc``, ``.glb``, ``.gltf``, ``.obj``) into the City CRS.

    Parameters
    ----------
    path : path-like
    crs : CRS-like
        The City CRS (projected, metres).
    placement : Placement, optional
        Overrides the IFC georeference; required for mesh formats.

    Examples
    --------
    >>> model = read_bim("bim/school.ifc", crs="EPSG:4547")  # doctest: +SKIP
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".ifc":
        return read_ifc(path, crs=crs, placement=placement)
    if suffix in MESH_SUFFIXES:
        return read_mesh_model(path, crs=crs, placement=placement)
    raise DataError(f"unknown BIM file type '{path.suffix}'", file=path,
                    fix=f"give an .ifc file or one of {', '.join(MESH_SUFFIXES)}")


# -- IFC ---------------------------------------------------------------------------------
def read_ifc(path: str | os.PathLike, *, crs, placement: Placement | None = None,
             threads: int | None = None) -> BimModel:
    """Read an IFC model with IfcOpenShell into one mesh in the City CRS.

    Geometry comes from the ``ifcopenshell.geom`` iterator in world
    coordinates (metres whatever the IFC length unit), leaving out
    :data:`IFC_SKIPPED`. The model is placed by ``placement`` when given;
    otherwise by ``IfcMapConversion`` (Eastings, Northings, OrthogonalHeight,
    XAxisAbscissa/Ordinate, Scale, to the target ``IfcProjectedCRS``; a
    missing Scale is taken as the conversion of the project length unit to
    metres); otherwise by the ``IfcSite`` RefLatitude/RefLongitude/
    RefElevation (WGS 84) of the site origin, turned so that the context's
    ``TrueNorth`` points to geographic north.

    Parameters
    ----------
    path : path-like
    crs : CRS-like
        The City CRS (projected, metres).
    placement : Placement, optional
    threads : int, optional
        Geometry threads (default: all cores).

    Raises
    ------
    DataError
        Missing or unreadable file, no geometry, or no georeference and no
        placement.

    Examples
    --------
    >>> model = read_ifc("AC20-FZK-Haus.ifc", crs="EPSG:25832")  # doctest: +SKIP
    >>> sorted(model.elements["ifc_type"].unique())              # doctest: +SKIP
    """
    import ifcopenshell
    import ifcopenshell.util.unit

    path = Path(path)
    crs = _city_crs(crs, path)
    ifc = _open_ifc(path, ifcopenshell)
    _warn_if_truncated(ifc, path)
    unit = float(ifcopenshell.util.unit.calculate_unit_scale(ifc))
    vertices, faces, face_element, elements = _ifc_geometry(ifc, path, threads)
    _warn_lost_elements(ifc, elements, path)
    if placement is not None:
        transform = _Similarity(math.radians(placement.rotation_deg), 1.0, placement.x,
                                placement.y, placement.z)
    else:
        transform = _map_conversion(ifc, unit, crs, path) or _site_reference(ifc, unit, crs, path)
    if transform is None:
        raise DataError("has no georeference (no IfcMapConversion and no IfcSite "
                        "RefLatitude/RefLongitude) and no placement was given", file=path,
                        fix=_PLACEMENT_FIX)
    world = transform.apply(vertices)
    storeys = _storeys(ifc, unit, transform)
    mesh = trimesh.Trimesh(world, faces, process=False)
    project = ifc.by_type("IfcProject")
    name = (project[0].Name if project and project[0].Name else None) or path.stem
    return BimModel(name=str(name), mesh=mesh, face_element=face_element, elements=elements,
                    storeys=storeys, source=str(path))


def _open_ifc(path: Path, ifcopenshell):
    if not path.exists():
        raise DataError("file not found", file=path, fix="check the path of the IFC file")
    try:
        return ifcopenshell.open(str(path))
    except Exception as exc:   # IfcOpenShell raises its own and RuntimeError for bad files
        raise DataError(f"is not a readable IFC file ({type(exc).__name__}: {exc})",
                        file=path, fix="re-export the model as IFC2X3 or IFC4 (STEP .ifc)"
                        ) from None


def _warn_if_truncated(ifc, path: Path) -> None:
    """Warn when a STEP file stops before ``END-ISO-10303-21;`` (a cut copy or download)."""
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - 2048))
        tail = f.read()
    if b"END-ISO-10303-21" in tail:
        return
    ids = [e.id() for e in ifc]
    last = f"#{max(ids)}" if ids else "none"
    warnings.warn(f"{path}: the file is truncated (it does not end with END-ISO-10303-21;): "
                  f"{len(ids)} entities were read, the last is {last}; everything after it is "
                  "lost. Fix: copy or export the IFC file again", DataWarning, stacklevel=3)


def _warn_lost_elements(ifc, elements: pd.DataFrame, path: Path) -> None:
    """Warn naming the elements with a representation whose geometry could not be built."""
    built = set(elements["guid"])
    lost = [e for e in ifc.by_type("IfcProduct")
            if e.Representation is not None and not any(e.is_a(t) for t in IFC_SKIPPED)
            and getattr(e, "GlobalId", None) not in built]
    if lost:
        names = [f"{e.is_a()} #{e.id()} {e.Name or ''}".strip() for e in lost]
        warnings.warn(f"{path}: {len(lost)} elements have a representation whose geometry "
                      f"could not be built and are left out: {describe_ids(names)}",
                      DataWarning, stacklevel=3)


def _ifc_geometry(ifc, path: Path, threads: int | None):
    """Vertices (world, metres), faces, per-face element row and the element table."""
    import ifcopenshell.geom

    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    iterator = ifcopenshell.geom.iterator(settings, ifc, threads or os.cpu_count() or 1,
                                          exclude=list(IFC_SKIPPED),
                                          geometry_library=GEOMETRY_LIBRARY)
    shapes = []
    if iterator.initialize():
        while True:
            shape = iterator.get()
            shapes.append((shape.id, np.asarray(shape.geometry.verts, np.float64).reshape(-1, 3),
                           np.asarray(shape.geometry.faces, np.int64).reshape(-1, 3)))
            if not iterator.next():
                break
    shapes.sort(key=lambda s: s[0])            # threads finish in any order: file order
    verts = [v for _, v, _ in shapes]
    tris = [t for _, _, t in shapes]
    rows = [ifc.by_id(i) for i, _, _ in shapes]
    if not tris or not sum(len(t) for t in tris):
        raise DataError("has no building element with a 3D body representation", file=path,
                        fix="export the model with body geometry (not only spaces or plans)")
    offsets = np.cumsum([0] + [len(v) for v in verts[:-1]])
    faces = np.concatenate([t + o for t, o in zip(tris, offsets)])
    counts = np.fromiter((len(t) for t in tris), np.int64, len(tris))
    face_element = np.repeat(np.arange(len(tris)), counts)
    elements = pd.DataFrame({"guid": [e.GlobalId for e in rows],
                             "ifc_type": [e.is_a() for e in rows],
                             "name": [e.Name or "" for e in rows],
                             "storey": [_storey_of(e) for e in rows]})
    return np.concatenate(verts), faces, face_element, elements


def _storey_of(element) -> str:
    """The name of the storey holding ``element`` (through containers and aggregates)."""
    import ifcopenshell.util.element as util

    for _ in range(16):
        if element is None:
            return ""
        if element.is_a("IfcBuildingStorey"):
            return element.Name or ""
        element = util.get_container(element) or util.get_aggregate(element)
    return ""


def _storeys(ifc, unit: float, transform: _Similarity) -> pd.DataFrame:
    import ifcopenshell.util.placement

    names, local_z = [], []
    for storey in ifc.by_type("IfcBuildingStorey"):
        if storey.ObjectPlacement is not None:
            z = ifcopenshell.util.placement.get_local_placement(storey.ObjectPlacement)[2, 3]
        else:
            z = storey.Elevation or 0.0
        names.append(storey.Name or "")
        local_z.append(float(z) * unit)
    xyz = np.zeros((len(local_z), 3))
    xyz[:, 2] = local_z
    table = pd.DataFrame({"name": names, "elevation": transform.apply(xyz)[:, 2]})
    return table.sort_values("elevation", kind="stable").reset_index(drop=True)


def _map_conversion(ifc, unit: float, crs: CRS, path: Path) -> _Similarity | None:
    if ifc.schema == "IFC2X3":
        return None
    conversions = ifc.by_type("IfcMapConversion")
    if not conversions:
        return None
    mc = conversions[0]
    target = _target_crs(mc.TargetCRS, path)
    scale = mc.Scale / unit if mc.Scale else 1.0
    theta = math.atan2(mc.XAxisOrdinate or 0.0, 1.0 if mc.XAxisAbscissa is None
                       else mc.XAxisAbscissa)
    similarity = _Similarity(theta, scale, mc.Eastings, mc.Northings, mc.OrthogonalHeight or 0.0)
    if target is not None and not target.equals(crs):
        similarity.reproject = Transformer.from_crs(target, crs, always_xy=True)
    return similarity


def _target_crs(projected_crs, path: Path) -> CRS | None:
    name = getattr(projected_crs, "Name", None)
    if not name:
        return None
    match = re.search(r"EPSG\D*(\d+)", name, re.IGNORECASE)
    try:
        return CRS.from_epsg(int(match[1])) if match else CRS.from_user_input(name)
    except CRSError:
        raise DataError(f"IfcProjectedCRS name {name!r} is not a known CRS", file=path,
                        fix="name the target CRS like 'EPSG:25832', or give a placement"
                        ) from None


def _site_reference(ifc, unit: float, crs: CRS, path: Path) -> _Similarity | None:
    import ifcopenshell.util.placement

    sites = [s for s in ifc.by_type("IfcSite") if s.RefLatitude and s.RefLongitude]
    if not sites:
        return None
    site = sites[0]
    lat, lon = _degrees(site.RefLatitude), _degrees(site.RefLongitude)
    origin = np.zeros(3)
    if site.ObjectPlacement is not None:
        origin = ifcopenshell.util.placement.get_local_placement(
            site.ObjectPlacement)[:3, 3] * unit
    to_city = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    (e0, e1), (n0, n1) = to_city.transform([lon, lon], [lat, lat + 1e-4])
    grid_north = math.atan2(n1 - n0, e1 - e0)
    model_north = math.atan2(*_true_north(ifc)[::-1])
    theta = grid_north - model_north
    c, s = math.cos(theta), math.sin(theta)
    x0, y0 = c * origin[0] - s * origin[1], s * origin[0] + c * origin[1]
    return _Similarity(theta, 1.0, e0 - x0, n0 - y0,
                       float(site.RefElevation or 0.0) * unit - origin[2])


def _degrees(dms) -> float:
    """IFC compound plane angle (degrees, minutes, seconds[, millionths]) -> degrees."""
    parts = list(dms) + [0] * (4 - len(dms))
    return parts[0] + parts[1] / 60 + (parts[2] + parts[3] / 1e6) / 3600


def _true_north(ifc) -> tuple[float, float]:
    """The direction of true north in model x, y (default +y)."""
    for context in ifc.by_type("IfcGeometricRepresentationContext"):
        if context.is_a("IfcGeometricRepresentationSubContext"):
            continue
        north = getattr(context, "TrueNorth", None)
        if north is not None and context.ContextType == "Model":
            x, y = north.DirectionRatios[:2]
            if x or y:
                return float(x), float(y)
    return 0.0, 1.0


# -- glTF / GLB / OBJ --------------------------------------------------------------------
def read_mesh_model(path: str | os.PathLike, *, crs, placement: Placement) -> BimModel:
    """Read a glTF/GLB/OBJ model with trimesh, placed by ``placement``.

    The scene is flattened with every node's transform; glTF is y-up and is
    turned to z-up (glTF -z, the model's north, becomes +y). Each scene node
    becomes one element. Units are taken as metres.

    Parameters
    ----------
    path : path-like
    crs : CRS-like
        The City CRS (projected, metres).
    placement : Placement
        Where the model origin goes; mesh formats carry no georeference.

    Examples
    --------
    >>> model = read_mesh_model("kiosk.glb", crs="EPSG:4547",
    ...                         placement=Placement(584000.0, 3363000.0, 21.0))  # doctest: +SKIP
    """
    path = Path(path)
    _city_crs(crs, path)
    if not path.exists():
        raise DataError("file not found", file=path, fix="check the path of the model file")
    if placement is None:
        raise DataError("a mesh model carries no georeference and no placement was given",
                        file=path, fix=_PLACEMENT_FIX)
    try:
        scene = trimesh.load(str(path), force="scene")
    except Exception as exc:   # trimesh raises many types for bad files
        raise DataError(f"is not a readable mesh ({type(exc).__name__}: {exc})", file=path,
                        fix="export the model as GLB, glTF 2.0 or OBJ") from None
    parts = []
    for node in scene.graph.nodes_geometry:
        transform, geometry_name = scene.graph[node]
        geometry = scene.geometry.get(geometry_name)
        if isinstance(geometry, trimesh.Trimesh) and len(geometry.faces):
            parts.append((node, geometry, transform))
    if not parts:
        raise DataError("has no triangle geometry", file=path,
                        fix="export the model with its meshes (not only points or lines)")
    verts = [trimesh.transform_points(g.vertices, t) for _, g, t in parts]
    offsets = np.cumsum([0] + [len(v) for v in verts[:-1]])
    faces = np.concatenate([np.asarray(g.faces, np.int64) + o
                            for (_, g, _), o in zip(parts, offsets)])
    local = np.concatenate(verts).astype(np.float64)
    if path.suffix.lower() in (".glb", ".gltf"):
        local = local[:, [0, 2, 1]] * [1.0, -1.0, 1.0]       # y-up -> z-up
    counts = [len(g.faces) for _, g, _ in parts]
    elements = pd.DataFrame({"guid": [str(n) for n, _, _ in parts], "ifc_type": "mesh",
                             "name": [str(n) for n, _, _ in parts], "storey": ""})
    return BimModel(name=path.stem, mesh=trimesh.Trimesh(placement.apply(local), faces,
                                                         process=False),
                    face_element=np.repeat(np.arange(len(parts)), counts), elements=elements,
                    storeys=pd.DataFrame({"name": pd.Series(dtype=str),
                                          "elevation": pd.Series(dtype=float)}),
                    source=str(path))


# -- shared ------------------------------------------------------------------------------
def _city_crs(crs, path: Path) -> CRS:
    try:
        crs = CRS.from_user_input(crs)
    except CRSError as exc:
        raise DataError(f"City CRS {crs!r} is not understood ({exc})", file=path,
                        fix="give a projected CRS such as 'EPSG:25832'") from None
    if not crs.is_projected:
        raise DataError(f"City CRS {crs.name} is not projected", file=path,
                        fix="give a projected CRS in metres")
    return crs


@dataclass
class _Similarity:
    """Rotate by ``theta`` about z, scale x, y, z by ``scale``, then translate;
    optionally reproject x, y from the map CRS to the City CRS."""

    theta: float
    scale: float
    dx: float
    dy: float
    dz: float
    reproject: Transformer | None = None

    def apply(self, xyz: np.ndarray) -> np.ndarray:
        c, s = math.cos(self.theta), math.sin(self.theta)
        x, y, z = np.asarray(xyz, np.float64).T
        out = np.column_stack([self.scale * (c * x - s * y) + self.dx,
                               self.scale * (s * x + c * y) + self.dy,
                               self.scale * z + self.dz])
        if self.reproject is not None:
            out[:, 0], out[:, 1] = self.reproject.transform(out[:, 0], out[:, 1])
        return out

"""Scenes: the city as 3D meshes, and its exports.

Build the meshes of a :class:`twin.City` once with :func:`city_scene`, then
write them as GLB (:func:`write_glb`), a VTK multiblock (:func:`write_vtm`)
or a picture (:func:`render_png`; :func:`render_run` draws a run's layers
with legends and its clock); :func:`write_cityjson` writes the city
itself as CityJSON 2.0 and :func:`write_tileset` as 3D Tiles 1.1. Every
export format is an entry of the writer registry: :func:`write_scene`
(``city, path, fmt``) and :func:`formats`. :func:`water_surface` and
:func:`draped_surface` draw grid layers (flood depth, crowd density) as
smooth surfaces on the terrain. Submodules are imported on first use, so
``import scenes`` stays light.

Examples
--------
>>> import twin, scenes
>>> city = twin.load_city("data_samples/ezhou/city.toml")     # doctest: +SKIP
>>> scene = scenes.city_scene(city)                          # doctest: +SKIP
>>> scenes.write_glb(scene, "out/ezhou.glb")                 # doctest: +SKIP
>>> scenes.render_png(scene, "out/ezhou.png")                # doctest: +SKIP
>>> scenes.write_scene(city, "out/ezhou-3dtiles", "3dtiles")  # doctest: +SKIP
"""
from __future__ import annotations

import importlib
import os

# Without a display, VTK would first try X11 (and print a warning) before
# falling back to EGL; ask for the headless EGL window directly.
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

__all__ = ["Scene", "city_scene", "scene_bounds", "terrain_mesh", "buildings_mesh",
           "roads_mesh", "water_mesh", "sensors_mesh", "bim_mesh", "write_glb", "write_vtm",
           "read_vtm", "write_cityjson", "render_png", "colors_for", "write_scene", "formats",
           "write_tileset", "water_surface", "draped_surface", "render_run"]

_WHERE = {"Scene": "scenes.meshes", "city_scene": "scenes.meshes",
          "scene_bounds": "scenes.meshes", "terrain_mesh": "scenes.meshes",
          "buildings_mesh": "scenes.meshes", "roads_mesh": "scenes.meshes",
          "water_mesh": "scenes.meshes", "sensors_mesh": "scenes.meshes",
          "bim_mesh": "scenes.meshes", "write_glb": "scenes.gltf", "write_vtm": "scenes.vtk",
          "read_vtm": "scenes.vtk", "write_cityjson": "scenes.cityjson",
          "render_png": "scenes.snapshot", "colors_for": "scenes.style",
          "write_scene": "scenes.writers", "formats": "scenes.writers",
          "write_tileset": "scenes.tiles3d", "water_surface": "scenes.water",
          "draped_surface": "scenes.water", "render_run": "scenes.snapshot"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'scenes' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

"""Small in-place updates of the 3D scene in the browser, without re-synchronising it.

Panel's synchronised VTK pane rebuilds the whole vtk.js render window (new
WebGL context, every shader and buffer) whenever its scene changes: seconds per
replay frame in software WebGL. A :class:`SceneStream` sits next to the pane and
carries only what a frame changes; its browser side writes the values into the
existing vtk.js arrays and renders once:

* ``visible``: actor visibility;
* ``colors``: runs of changed cells of a per-cell uint8 RGB array;
* ``surfaces``: for each :meth:`viewer.water.WaterSurface.grid` mesh described
  in :attr:`SceneStream.grids` (flood water, crowd density), which of its cells
  are shown (bits), the heights of the corners they touch (uint16 centimetres
  above the grid's ``floor``, row-major corner order) and their colours (a
  uint8 index per shown cell into a small ``palette`` of RGB);
* ``frame``: the replay frame the update belongs to, written on the stream's
  element as ``data-frame`` of its ``div.scene-stream-state`` once the browser has drawn it (``data-seq`` counts
  the updates drawn) and reported back to :attr:`SceneStream.on_drawn`.

Updates that arrive while the browser is still drawing are drawn together:
every colour run and visibility in order, only the newest grid of each actor,
and one render.

A click (not a drag) on the stream's 3D pane comes back to
:attr:`SceneStream.on_click` as a ray: camera position, focal point, view-up,
view angle and the clicked point in normalised view coordinates (see
:func:`click_ray`).

The stream also stops the pane redrawing the scene on every page layout (Panel's
VTK view renders twice per layout, e.g. on a tab switch): it redraws only when
its size changed. It counts the view's draws in ``data-renders``.

Actors are named by their VTK pointer (``actor.__this__``), which the pane also
uses as the id of the actor in the browser. Every update is absolute (values,
not differences), so applying one twice is harmless.
"""
from __future__ import annotations

import base64

from typing import Callable

import numpy as np
import panel as pn
import param

from viewer.doclock import locked

__all__ = ["SceneStream", "color_runs", "encode", "click_ray", "pack_surface"]


def encode(array: np.ndarray) -> str:
    """Base64 of the bytes of ``array`` (little-endian, C order).

    Examples
    --------
    >>> encode(np.array([1, 2], np.uint8))
    'AQI='
    """
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def color_runs(old: np.ndarray, new: np.ndarray) -> dict[str, str] | None:
    """The cells whose colour changed from ``old`` to ``new`` (uint8 ``(n, 3)``) as
    runs: ``start`` and ``length`` (uint32) and the new ``rgb`` of the run cells;
    None when nothing changed.

    Examples
    --------
    >>> old = np.zeros((5, 3), np.uint8); new = old.copy(); new[[1, 2, 4]] = 9
    >>> runs = color_runs(old, new)
    >>> np.frombuffer(base64.b64decode(runs["start"]), np.uint32).tolist()
    [1, 4]
    """
    changed = np.flatnonzero((old != new).any(axis=1))
    if changed.size == 0:
        return None
    breaks = np.flatnonzero(np.diff(changed) > 1) + 1
    starts = changed[np.r_[0, breaks]]
    lengths = np.diff(np.r_[np.r_[0, breaks], changed.size])
    return {"start": encode(starts.astype("<u4")), "length": encode(lengths.astype("<u4")),
            "rgb": encode(new[changed].astype(np.uint8))}


def pack_surface(shown: np.ndarray, level: np.ndarray, rgb: np.ndarray,
                 floor: float) -> dict[str, str]:
    """The ``surfaces`` entry of one grid frame: ``wet`` bits of the shown cells,
    ``level`` of their corners (uint16 cm above ``floor``) and ``cls``/``palette``
    colours (an index per shown cell into at most 256 RGB colours).

    Parameters
    ----------
    shown : numpy.ndarray
        bool, one per grid cell.
    level : numpy.ndarray
        Local heights of the corners the shown cells touch (finite values only,
        row-major corner order).
    rgb : numpy.ndarray
        uint8 ``(n_shown, 3)``.
    floor : float
        The grid's lowest height.

    Examples
    --------
    >>> p = pack_surface(np.array([True, False]), np.array([1.0, 1.25]),
    ...                  np.array([[9, 9, 9]], np.uint8), 1.0)
    >>> np.frombuffer(base64.b64decode(p["level"]), "<u2").tolist()
    [0, 25]
    """
    rgb = np.asarray(rgb, np.uint8).reshape(-1, 3)
    key = (rgb[:, 0].astype(np.uint32) << 16) | (rgb[:, 1].astype(np.uint32) << 8) | rgb[:, 2]
    keys, cls = np.unique(key, return_inverse=True)
    palette = np.column_stack([keys >> 16, (keys >> 8) & 255, keys & 255]).astype(np.uint8)
    if len(palette) > 256:
        raise ValueError(f"rgb: at most 256 colours per grid frame, got {len(palette)}")
    cm = np.clip(np.rint((np.asarray(level, float) - floor) * 100.0), 0, 65535)
    return {"wet": encode(np.packbits(shown)), "level": encode(cm.astype("<u2")),
            "cls": encode(cls.ravel().astype(np.uint8)), "palette": encode(palette)}


def click_ray(click: dict) -> tuple[np.ndarray, np.ndarray]:
    """Origin and unit direction of the ray through a clicked point of a view.

    Parameters
    ----------
    click : dict
        ``position``, ``focal`` and ``up`` of the camera, its vertical ``angle``
        (degrees), ``aspect`` (width / height) and the point ``x``, ``y`` in
        normalised view coordinates (-1 left / bottom, +1 right / top).

    Examples
    --------
    >>> o, d = click_ray({"position": [0, 0, 10], "focal": [0, 0, 0], "up": [0, 1, 0],
    ...                   "angle": 90, "aspect": 1, "x": 0, "y": 0})
    >>> d.round(6).tolist()
    [0.0, 0.0, -1.0]
    """
    o = np.asarray(click["position"], float)
    f = np.asarray(click["focal"], float) - o
    f /= np.linalg.norm(f)
    right = np.cross(f, np.asarray(click["up"], float))
    right /= np.linalg.norm(right)
    up = np.cross(right, f)
    t = np.tan(np.radians(float(click["angle"])) / 2)
    d = f + float(click["x"]) * t * float(click["aspect"]) * right + float(click["y"]) * t * up
    return o, d / np.linalg.norm(d)


class SceneStream(pn.custom.JSComponent):
    """The browser side of in-place scene updates (an invisible element).

    Examples
    --------
    >>> stream = SceneStream()
    >>> stream.send({"visible": {"_0000_p_vtkActor": False}})
    >>> stream.delta["seq"]
    1
    """

    delta = param.Dict(default={}, doc="The latest update (see the module docstring).")

    grids = param.Dict(default={}, doc="""
        Actor -> its water grid: ``rows``, ``cols`` of the flood grid, ``cells`` (uint32
        row-major flood cell of each mesh cell), corner coordinates ``cx`` (cols + 1)
        and ``cy`` (rows + 1) (float64) and ``floor``, the height of dry points.""")

    pane_class = param.String(default="", doc="""
        CSS class of the VTK pane this stream updates and listens to for clicks.""")

    _esm = """
function bytes(b64) {
  const s = atob(b64); const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
function findActor(doc, ptr) {
  const models = doc.all_models ?? doc._all_models;
  for (const m of (models.values ? models.values() : models)) {
    if (!m.renderer_el || typeof m.getActors !== "function") continue;
    let found;
    try { found = m.getActors(ptr); } catch (e) { continue; }
    if (found && found.length) return [m, found[0]];
  }
  return [null, null];
}
function cellRgb(actor) {
  const poly = actor.getMapper().getInputData();
  const cd = poly.getCellData();
  return [poly, cd.getArrayByName("rgb") || cd.getScalars()];
}
function applyColors(actor, c) {
  const [poly, arr] = cellRgb(actor); const data = arr.getData();
  const start = new Uint32Array(bytes(c.start).buffer), length = new Uint32Array(bytes(c.length).buffer);
  const rgb = bytes(c.rgb);
  let p = 0;
  for (let i = 0; i < start.length; i++) {
    data.set(rgb.subarray(3 * p, 3 * (p + length[i])), 3 * start[i]); p += length[i];
  }
  arr.modified(); poly.modified();
}
const gridCache = new Map();
function decodeGrid(g) {
  if (!gridCache.has(g.cells)) {
    gridCache.set(g.cells, {cells: new Uint32Array(bytes(g.cells).buffer),
                            cx: new Float64Array(bytes(g.cx).buffer),
                            cy: new Float64Array(bytes(g.cy).buffer)});
  }
  return gridCache.get(g.cells);
}
function applyWater(actor, w, g) {
  const {cells, cx, cy} = decodeGrid(g);
  const cols = g.cols, C = cols + 1;
  const wet = bytes(w.wet), lev16 = new Uint16Array(bytes(w.level).buffer);
  const cls = bytes(w.cls), pal = bytes(w.palette);
  const isWet = (k) => (wet[k >> 3] >> (7 - (k & 7))) & 1;
  const used = new Uint8Array((g.rows + 1) * C);
  for (let k = 0; k < cells.length; k++) {
    if (!isWet(k)) continue;
    const q = Math.floor(cells[k] / cols) * C + (cells[k] % cols);
    used[q] = used[q + 1] = used[q + C] = used[q + C + 1] = 1;
  }
  const level = new Float32Array(used.length);
  for (let q = 0, n = 0; q < level.length; q++) if (used[q]) level[q] = g.floor + lev16[n++] / 100;
  const [poly, arr] = cellRgb(actor); const rgb = arr.getData();
  const pts = poly.getPoints().getData();
  for (let k = 0, n = 0; k < cells.length; k++) {
    const r = Math.floor(cells[k] / cols), c = cells[k] % cols, b = 12 * k;
    if (isWet(k)) {
      const ij = [[r + 1, c], [r + 1, c + 1], [r, c + 1], [r, c]];
      for (let v = 0; v < 4; v++) {
        const [i, j] = ij[v];
        pts[b + 3 * v] = cx[j]; pts[b + 3 * v + 1] = cy[i]; pts[b + 3 * v + 2] = level[i * C + j];
      }
      const p = 3 * cls[n];
      rgb[3 * k] = pal[p]; rgb[3 * k + 1] = pal[p + 1]; rgb[3 * k + 2] = pal[p + 2];
      n++;
    } else {
      for (let v = 0; v < 4; v++) {
        pts[b + 3 * v] = cx[c]; pts[b + 3 * v + 1] = cy[r]; pts[b + 3 * v + 2] = g.floor;
      }
    }
  }
  poly.getPoints().modified(); arr.modified(); poly.modified();
}
function apply(doc, batch, grids) {
  const ptrs = new Set();
  for (const d of batch) {
    Object.keys(d.visible || {}).forEach(p => ptrs.add(p));
    (d.colors || []).forEach(c => ptrs.add(c.actor));
    (d.surfaces || []).forEach(w => ptrs.add(w.actor));
  }
  const actors = {}; let owner = null;
  for (const ptr of ptrs) {
    const [m, a] = findActor(doc, ptr);
    if (!a) return false;
    actors[ptr] = a; owner = m;
  }
  const newest = new Map();
  for (const d of batch) {
    for (const [ptr, v] of Object.entries(d.visible || {})) actors[ptr].setVisibility(v);
    for (const c of d.colors || []) applyColors(actors[c.actor], c);
    for (const w of d.surfaces || []) newest.set(w.actor, w);
  }
  for (const [ptr, w] of newest) applyWater(actors[ptr], w, grids[ptr]);
  if (owner) {
    owner.renderer_el.getRenderer().resetCameraClippingRange();
    owner.renderer_el.getRenderWindow().render();
  }
  return true;
}
function findViews(root, cls) {
  const out = []; const stack = [root];
  while (stack.length) {
    const v = stack.pop();
    if (!v) continue;
    if (v.model && v.model.renderer_el !== undefined && typeof v.model.getActors === "function" &&
        (!cls || (v.model.css_classes || []).includes(cls))) out.push(v);
    for (const c of (v.child_views || [])) stack.push(c);
  }
  return out;
}
function guardLayout(v) {
  // the VTK view redraws the scene on every page layout (twice); redraw only when its size changed
  if (v._layoutGuard) return;
  v._layoutGuard = true;
  const original = v.after_layout.bind(v);
  let size = null;
  v.after_layout = () => {
    const r = v.el.getBoundingClientRect(), now = `${r.width}x${r.height}`;
    if (now === size && v._renderable) return;
    size = now; original();
  };
}
const counted = new WeakSet();
function countRenders(v, el) {
  // how often the view draws (a draw clears its colour buffers within one task): a frame
  // change must draw it once, never twice
  const root = v.shadow_el || v.el.shadowRoot || v.el;
  const canvas = root.querySelector("canvas") || v.el.querySelector("canvas");
  if (!canvas) return false;
  const gl = canvas.getContext("webgl2") || canvas.getContext("webgl");
  if (!gl || counted.has(gl)) return true;
  counted.add(gl);
  const clear = gl.clear.bind(gl);
  let n = 0, inDraw = false;
  gl.clear = (mask) => {
    // one draw clears several buffers in one task: count tasks that clear
    if ((mask & gl.COLOR_BUFFER_BIT) && !inDraw) {
      inDraw = true; el.dataset.renders = String(++n);
      setTimeout(() => { inDraw = false; }, 0);
    }
    return clear(mask);
  };
  return true;
}
function bindClicks(v, model) {
  // a click (not a drag that turns the camera) is sent back as the camera and the point
  if (v._clickBound) return;
  v._clickBound = true;
  let down = null;
  v.el.addEventListener("pointerdown", (e) => { down = [e.clientX, e.clientY, Date.now()]; }, true);
  v.el.addEventListener("pointerup", (e) => {
    if (!down) return;
    const [x0, y0, t0] = down; down = null;
    if (Math.hypot(e.clientX - x0, e.clientY - y0) > 4 || Date.now() - t0 > 700) return;
    const r = v.el.getBoundingClientRect();
    const cam = v.model.renderer_el.getRenderer().getActiveCamera();
    model.send_msg({click: {position: cam.getPosition(), focal: cam.getFocalPoint(),
      up: cam.getViewUp(), angle: cam.getViewAngle(), aspect: r.width / r.height,
      x: 2 * (e.clientX - r.left) / r.width - 1, y: 1 - 2 * (e.clientY - r.top) / r.height}});
  }, true);
}
export function render({ model, view }) {
  const el = document.createElement("div"); el.className = "scene-stream-state";
  let guardTries = 0;
  const guard = setInterval(() => {
    const views = findViews(view.root, model.pane_class);
    views.forEach(guardLayout);
    views.forEach(v => bindClicks(v, model));
    const ready = views.length && views.every(v => countRenders(v, el));
    if (ready || ++guardTries > 300) clearInterval(guard);
  }, 100);
  let queue = []; let timer = null; let tries = 0;
  const doc = view.model.document;
  function drain() {
    timer = null;
    if (!queue.length) return;
    const batch = queue;
    if (!apply(doc, batch, model.grids)) {
      if (++tries < 120) timer = setTimeout(drain, 250);   // scene not built yet
      return;
    }
    queue = queue.slice(batch.length); tries = 0;
    const last = batch[batch.length - 1];
    if (last.frame !== undefined) el.dataset.frame = String(last.frame);
    el.dataset.seq = String(last.seq);
    if (last.frame !== undefined) model.send_msg({drawn: last.frame});
    if (queue.length && !timer) timer = setTimeout(drain, 0);
  }
  function push() {
    // after the next paint: the numbers that came in the same message show first
    if (model.delta && model.delta.seq) {
      queue.push(model.delta);
      if (!timer) timer = requestAnimationFrame(() => setTimeout(drain, 0));
    }
  }
  model.on("delta", push);
  push();
  return el;
}
"""

    def __init__(self, on_click: Callable[[dict], None] | None = None,
                 on_drawn: Callable[[int], None] | None = None, **params) -> None:
        params.setdefault("width", 0)
        params.setdefault("height", 0)
        params.setdefault("margin", 0)
        super().__init__(**params)
        self.on_click = on_click
        self.on_drawn = on_drawn

    def _handle_msg(self, data) -> None:
        """Browser messages: a ``click`` in the view, a ``drawn`` frame."""
        if not isinstance(data, dict):
            return
        if "click" in data and self.on_click is not None:
            locked(self.on_click, data["click"])
        if "drawn" in data and self.on_drawn is not None:
            locked(self.on_drawn, int(data["drawn"]))

    def send(self, delta: dict) -> None:
        """Send one update (keys ``visible``, ``colors``, ``surfaces``, ``frame``)."""
        self.delta = {**delta, "seq": int(self.delta.get("seq", 0)) + 1}

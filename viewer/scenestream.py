"""Small in-place updates of the 3D scene in the browser, without re-synchronising it.

Panel's synchronised VTK pane rebuilds the whole vtk.js render window (new
WebGL context, every shader and buffer) whenever its scene changes: seconds per
replay frame in software WebGL. A :class:`SceneStream` sits next to the pane and
carries only what a frame changes; its browser side writes the values into the
existing vtk.js arrays and renders once:

* ``visible``: actor visibility;
* ``colors``: runs of changed cells of a per-cell uint8 RGB array;
* ``water``: for a :meth:`viewer.water.WaterSurface.grid` mesh described in
  :attr:`SceneStream.grids`, which of its cells are wet (bits), the levels of
  the corners they touch (float32, row-major corner order) and their colours
  (uint8).

The stream also stops the pane redrawing the scene on every page layout (Panel's
VTK view renders twice per layout, e.g. on a tab switch): it redraws only when
its size changed.

Actors are named by their VTK pointer (``actor.__this__``), which the pane also
uses as the id of the actor in the browser. Every update is absolute (values,
not differences), so applying one twice is harmless.
"""
from __future__ import annotations

import base64

import numpy as np
import panel as pn
import param

__all__ = ["SceneStream", "color_runs", "encode"]


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
  const wet = bytes(w.wet), lev = new Float32Array(bytes(w.level).buffer), wrgb = bytes(w.rgb);
  const isWet = (k) => (wet[k >> 3] >> (7 - (k & 7))) & 1;
  const used = new Uint8Array((g.rows + 1) * C);
  for (let k = 0; k < cells.length; k++) {
    if (!isWet(k)) continue;
    const q = Math.floor(cells[k] / cols) * C + (cells[k] % cols);
    used[q] = used[q + 1] = used[q + C] = used[q + C + 1] = 1;
  }
  const level = new Float32Array(used.length);
  for (let q = 0, n = 0; q < level.length; q++) if (used[q]) level[q] = lev[n++];
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
      rgb[3 * k] = wrgb[3 * n]; rgb[3 * k + 1] = wrgb[3 * n + 1]; rgb[3 * k + 2] = wrgb[3 * n + 2];
      n++;
    } else {
      for (let v = 0; v < 4; v++) {
        pts[b + 3 * v] = cx[c]; pts[b + 3 * v + 1] = cy[r]; pts[b + 3 * v + 2] = g.floor;
      }
    }
  }
  poly.getPoints().modified(); arr.modified(); poly.modified();
}
function apply(doc, d, grids) {
  const ptrs = [...Object.keys(d.visible || {}), ...(d.colors || []).map(c => c.actor),
                ...(d.water ? [d.water.actor] : [])];
  const actors = {}; let owner = null;
  for (const ptr of ptrs) {
    const [m, a] = findActor(doc, ptr);
    if (!a) return false;
    actors[ptr] = a; owner = m;
  }
  for (const [ptr, v] of Object.entries(d.visible || {})) actors[ptr].setVisibility(v);
  for (const c of d.colors || []) applyColors(actors[c.actor], c);
  if (d.water) applyWater(actors[d.water.actor], d.water, grids[d.water.actor]);
  if (owner) {
    owner.renderer_el.getRenderer().resetCameraClippingRange();
    owner.renderer_el.getRenderWindow().render();
  }
  return true;
}
function findViews(root, owner) {
  const out = []; const stack = [root];
  while (stack.length) {
    const v = stack.pop();
    if (!v) continue;
    if (v.model && v.model.renderer_el !== undefined && typeof v.model.getActors === "function") out.push(v);
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
export function render({ model, view }) {
  let guardTries = 0;
  const guard = setInterval(() => {
    const views = findViews(view.root);
    views.forEach(guardLayout);
    if (views.length || ++guardTries > 100) clearInterval(guard);
  }, 100);
  const queue = []; let timer = null; let tries = 0;
  const doc = view.model.document;
  function drain() {
    timer = null;
    while (queue.length) {
      if (!apply(doc, queue[0], model.grids)) {
        if (++tries < 120) timer = setTimeout(drain, 250);   // scene not built yet
        return;
      }
      queue.shift(); tries = 0;
    }
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
  const el = document.createElement("div"); el.className = "scene-stream";
  return el;
}
"""

    def __init__(self, **params) -> None:
        params.setdefault("width", 0)
        params.setdefault("height", 0)
        params.setdefault("margin", 0)
        super().__init__(**params)

    def send(self, delta: dict) -> None:
        """Send one update (keys ``visible``, ``colors``, ``water``) to the browser."""
        self.delta = {**delta, "seq": int(self.delta.get("seq", 0)) + 1}

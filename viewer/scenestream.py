"""Small in-place updates of the 3D scene in the browser, without re-synchronising it.

Panel's synchronised VTK pane rebuilds the whole vtk.js render window (new
WebGL context, every shader and buffer) whenever its scene changes: seconds per
replay frame in software WebGL. A :class:`SceneStream` sits next to the pane and
carries only what a frame changes; its browser side writes the values into the
existing vtk.js arrays and renders once:

* ``visible``: actor visibility;
* ``colors``: runs of changed cells of a per-cell uint8 RGB array;
* ``surfaces``: for each :class:`viewer.water.TerrainDrape` mesh described in
  :attr:`SceneStream.grids` (flood water, crowd density), in order, the
  vertices whose height or colour class changed since the update numbered
  ``base`` (bits), their heights (uint16 steps of ``scale`` metres above the
  grid's ``floor``) and classes (uint8 indices into the grid's ``palette``),
  each zlib-compressed; or, with ``full``, every vertex; and which vertices
  are above the ground (``up`` bits): only the triangles with one are drawn.
  A browser that has not drawn update ``base`` of that mesh asks for a full
  one (``resync``) instead of drawing a wrong surface (see
  :func:`vertex_update`);
* ``frame``: the replay frame the update belongs to, written on the stream's
  element (``div.scene-stream-state``) as ``data-frame`` once the browser has
  drawn it (``data-seq`` counts the updates drawn) and reported back to
  :attr:`SceneStream.on_drawn`; ``data-timing`` says where the time of the last
  update went (ms: ``wait`` from its arrival to drawing, ``apply`` into the
  arrays, the ``render`` call).

Updates that arrive while the browser is still drawing are drawn together:
every colour run, visibility and surface in order, and one render.

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
import zlib
from typing import Callable

import numpy as np
import panel as pn
import param

from viewer.doclock import locked

__all__ = ["SceneStream", "color_runs", "encode", "click_ray", "vertex_update", "quantize"]


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


def quantize(z: np.ndarray, floor: float, scale: float) -> np.ndarray:
    """Heights as uint16 steps of ``scale`` above ``floor`` (clipped to the range).

    Examples
    --------
    >>> quantize(np.array([1.0, 1.254, -5.0]), 1.0, 0.01).tolist()
    [0, 25, 0]
    """
    return np.clip(np.rint((np.asarray(z, float) - floor) / scale), 0, 65535).astype(np.uint16)


def vertex_update(old: tuple[np.ndarray, np.ndarray] | None,
                  new: tuple[np.ndarray, np.ndarray],
                  up: np.ndarray | None = None) -> dict[str, str | bool]:
    """The ``surfaces`` entry taking a mesh from vertex state ``old`` to ``new``.

    Parameters
    ----------
    old : tuple of numpy.ndarray or None
        ``(z, cls)`` the browser has: uint16 heights and uint8 classes per
        vertex; None for a full update.
    new : tuple of numpy.ndarray
        ``(z, cls)`` to show.
    up : numpy.ndarray, optional
        bool per vertex: above the ground. The browser then draws only the
        triangles with such a vertex (the others lie under the ground).

    Returns
    -------
    dict
        ``changed`` (bits, one per vertex, most significant first), ``z``
        (``<u2``) and ``cls`` (uint8) of the changed vertices; for a full
        update ``full: True`` and every vertex's ``z`` and ``cls``; with
        ``up``, its bits (all vertices). Each is zlib-compressed, then base64
        (a frame's changes shrink about 3.5 times: classes and bits come in
        long runs).

    Examples
    --------
    >>> z, c = np.array([5, 5, 5], np.uint16), np.zeros(3, np.uint8)
    >>> u = vertex_update((z, c), (np.array([5, 7, 5], np.uint16), c))
    >>> np.frombuffer(zlib.decompress(base64.b64decode(u["z"])), "<u2").tolist()
    [7]
    """
    z, cls = np.asarray(new[0], np.uint16), np.asarray(new[1], np.uint8)
    extra = {} if up is None else {"up": _deflated(np.packbits(np.asarray(up, bool)))}
    if old is None:
        return {"full": True, "z": _deflated(z.astype("<u2")), "cls": _deflated(cls), **extra}
    changed = (z != old[0]) | (cls != old[1])
    return {"changed": _deflated(np.packbits(changed)), "z": _deflated(z[changed].astype("<u2")),
            "cls": _deflated(cls[changed]), **extra}


def _deflated(array: np.ndarray) -> str:
    """Base64 of the zlib stream of the bytes of ``array`` (the browser inflates it
    with ``DecompressionStream("deflate")``)."""
    return base64.b64encode(zlib.compress(np.ascontiguousarray(array).tobytes(), 6)).decode()


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
        Actor -> its surface: ``n`` vertices, ``floor`` and ``scale`` of its heights
        (m: height = floor + value * scale) and ``palette`` (uint8 RGB, base64).""")

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
function pointRgb(actor) {
  const poly = actor.getMapper().getInputData();
  const pd = poly.getPointData();
  return [poly, pd.getArrayByName("rgb") || pd.getScalars()];
}
const palettes = new Map();
async function inflate(b64) {
  const stream = new Blob([bytes(b64)]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
async function decode(delta) {
  // a copy of the update with its surfaces inflated (in the order they came)
  const d = {...delta, surfaces: (delta.surfaces || []).map(w => ({...w}))};
  for (const w of d.surfaces) {
    const [z, cls, changed, up] = await Promise.all([inflate(w.z), inflate(w.cls),
      w.full ? null : inflate(w.changed), w.up ? inflate(w.up) : null]);
    w.z = new Uint16Array(z.buffer); w.cls = cls; w.changed = changed; w.up = up;
  }
  return d;
}
function applySurface(actor, w, g) {
  // heights and colours of the changed vertices (all of them for a full update)
  if (!palettes.has(g.palette)) palettes.set(g.palette, bytes(g.palette));
  const pal = palettes.get(g.palette);
  const z = w.z, cls = w.cls;
  const [poly, arr] = pointRgb(actor); const rgb = arr.getData();
  const pts = poly.getPoints().getData();
  const set = (v, n) => {
    pts[3 * v + 2] = g.floor + z[n] * g.scale;
    const p = 3 * cls[n];
    rgb[3 * v] = pal[p]; rgb[3 * v + 1] = pal[p + 1]; rgb[3 * v + 2] = pal[p + 2];
  };
  if (w.full) {
    for (let v = 0; v < g.n; v++) set(v, v);
  } else {
    const bits = w.changed;
    for (let v = 0, n = 0; v < g.n; v++) if ((bits[v >> 3] >> (7 - (v & 7))) & 1) set(v, n++);
  }
  if (w.up) drawOnly(poly, w.up);
  poly.getPoints().modified(); arr.modified(); poly.modified();
}
const allTriangles = new WeakMap();   // mesh -> its whole triangle list, as first received
function drawOnly(poly, up) {
  // keep the triangles with a vertex above the ground: the others are under it, and
  // drawing them would cost software WebGL as much as the water itself
  const polys = poly.getPolys();
  if (!allTriangles.has(poly)) allTriangles.set(poly, polys.getData().slice());
  const all = allTriangles.get(poly);
  const isUp = (v) => (up[v >> 3] >> (7 - (v & 7))) & 1;
  const out = new all.constructor(all.length);
  let k = 0;
  for (let i = 0; i < all.length; i += 4) {
    const a = all[i + 1], b = all[i + 2], c = all[i + 3];
    if (isUp(a) || isUp(b) || isUp(c)) { out[k++] = 3; out[k++] = a; out[k++] = b; out[k++] = c; }
  }
  polys.setData(out.slice(0, k)); polys.modified();
}
function apply(doc, batch, grids, model, state) {
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
  for (const d of batch) {
    for (const [ptr, v] of Object.entries(d.visible || {})) actors[ptr].setVisibility(v);
    for (const c of d.colors || []) applyColors(actors[c.actor], c);
    for (const w of d.surfaces || []) {
      const have = state.drawn.get(w.actor);
      if (!w.full && have !== undefined && have !== w.base) {
        // an update in between was missed: ask for the whole surface once
        if (!state.asked.has(w.actor)) {
          state.asked.add(w.actor); model.send_msg({resync: w.actor});
        }
        continue;
      }
      if (w.full) state.asked.delete(w.actor);
      applySurface(actors[w.actor], w, grids[w.actor]);
      state.drawn.set(w.actor, w.id);
    }
  }
  if (owner) {
    const t = performance.now();
    owner.renderer_el.getRenderer().resetCameraClippingRange();
    owner.renderer_el.getRenderWindow().render();
    state.renderMs = performance.now() - t;
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
  // per surface: the number of the last update drawn, and whether a full one was asked for
  const state = {drawn: new Map(), asked: new Set()};
  const doc = view.model.document;
  function drain() {
    timer = null;
    if (!queue.length) return;
    const batch = queue, started = performance.now();
    if (!apply(doc, batch, model.grids, model, state)) {
      if (++tries < 120) timer = setTimeout(drain, 250);   // scene not built yet
      return;
    }
    queue = queue.slice(batch.length); tries = 0;
    const last = batch[batch.length - 1];
    // where the time went (ms): from the update's arrival to the start of drawing it,
    // writing it into the arrays, and the draw call
    el.dataset.timing = JSON.stringify({wait: Math.round(started - batch[0].arrived),
      apply: Math.round(performance.now() - started - (state.renderMs || 0)),
      render: Math.round(state.renderMs || 0)});
    if (last.frame !== undefined) el.dataset.frame = String(last.frame);
    el.dataset.seq = String(last.seq);
    if (last.frame !== undefined) model.send_msg({drawn: last.frame});
    if (queue.length && !timer) timer = setTimeout(drain, 0);
  }
  let inflating = Promise.resolve();
  function push() {
    // after the next paint: the numbers that came in the same message show first
    if (model.delta && model.delta.seq) {
      const delta = model.delta, arrived = performance.now();
      inflating = inflating.then(() => decode(delta)).then((d) => {
        d.arrived = arrived;
        queue.push(d);
        if (!timer) timer = requestAnimationFrame(() => setTimeout(drain, 0));
      }).catch((e) => console.error("scene stream: an update could not be read", e));
    }
  }
  model.on("delta", push);
  push();
  return el;
}
"""

    def __init__(self, on_click: Callable[[dict], None] | None = None,
                 on_drawn: Callable[[int], None] | None = None,
                 on_resync: Callable[[str], None] | None = None, **params) -> None:
        params.setdefault("width", 0)
        params.setdefault("height", 0)
        params.setdefault("margin", 0)
        super().__init__(**params)
        self.on_click = on_click
        self.on_drawn = on_drawn
        self.on_resync = on_resync

    def _handle_msg(self, data) -> None:
        """Browser messages: a ``click`` in the view, a ``drawn`` frame, a surface
        to ``resync`` (send whole)."""
        if not isinstance(data, dict):
            return
        if "click" in data and self.on_click is not None:
            locked(self.on_click, data["click"])
        if "drawn" in data and self.on_drawn is not None:
            locked(self.on_drawn, int(data["drawn"]))
        if "resync" in data and self.on_resync is not None:
            locked(self.on_resync, str(data["resync"]))

    def send(self, delta: dict) -> None:
        """Send one update (keys ``visible``, ``colors``, ``surfaces``, ``frame``)."""
        self.delta = {**delta, "seq": int(self.delta.get("seq", 0)) + 1}

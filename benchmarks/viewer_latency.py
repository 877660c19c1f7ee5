"""Viewer speed: time to first picture, bytes of the scene, cost of a frame change.

Run by hand (not CI)::

    python benchmarks/viewer_latency.py [CITY_OR_RUN] [--browser]

Measures, on the server side (no browser):

* the serialized scene of the synchronised VTK pane (scene JSON + data arrays);
* per replay frame change: time to compute and serialize, and the bytes that
  travel (arrays the browser does not have yet + the scene JSON, when the pane
  re-synchronises, + the in-place update of the scene stream);

and with ``--browser`` (Debian Chromium, software WebGL through SwiftShader):

* seconds from starting ``twin serve`` until the 3D canvas shows the city;
* seconds from pressing "last frame" until the KPIs change, until the browser
  has drawn the new water (the 3D view reports the frame it drew), and until the
  pixels of the canvas change; and how many times the view drew for it;
* in the browser, where the 3D update's time went (the stream's ``data-timing``):
  from its arrival to drawing it (the page busy with other work), writing it
  into the arrays, and the render call.

``--repeat N`` repeats the frame change N times (last / first frame) and
reports the median.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def scene_sizes(target: str, frames: int = 6) -> dict:
    """Serialized scene size and per-frame update cost of one session on ``target``."""
    from bokeh.document import Document

    from viewer.app import OperationsScreen
    from viewer.workspace import open_workspace

    t0 = time.perf_counter()
    ws = open_workspace(target)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    screen = OperationsScreen(ws)
    model = screen.view.pane.get_root(Document())
    t_session = time.perf_counter() - t0
    seen = set(model.arrays)
    scene = json.dumps(model.scene)
    out = {"load_city_and_run_s": t_load, "build_session_s": t_session,
           "scene_json_bytes": len(json.dumps(model.scene)),
           "scene_array_bytes": sum(len(v) for v in model.arrays.values()),
           "frames": []}
    n = screen.model.n_frames
    for i in np.linspace(0, n - 1, min(frames, n)).astype(int)[1:]:
        t0 = time.perf_counter()
        screen.show_frame(int(i))
        took = time.perf_counter() - t0
        new = {k: v for k, v in model.arrays.items() if k not in seen}
        seen |= set(new)
        now = json.dumps(model.scene)
        out["frames"].append({"frame": int(i), "server_s": took,
                              "water_cells": int(screen.view.water_cells),
                              "new_array_bytes": sum(len(v) for v in new.values()),
                              "scene_json_bytes": 0 if now == scene else len(now),
                              "stream_bytes": len(json.dumps(screen.view.stream.delta))
                              if hasattr(screen.view, "stream") else 0,
                              "map_bytes": _map_bytes(screen)})
        scene = now
    return out


def _map_bytes(screen) -> int:
    """Bytes of the map's per-frame columns (road colours and states, water image)."""
    m = getattr(screen, "map", None)
    if m is None or getattr(m, "road_source", None) is None:
        return 0
    data = m.road_source.data
    out = sum(len(json.dumps(list(data[k]))) for k in ("color", "state") if k in data)
    if hasattr(m, "flood_source"):
        out += sum(np.asarray(a).nbytes for a in m.flood_source.data["image"])
    return out


def browser_times(target: str, repeat: int = 3) -> dict:
    """Start ``twin serve`` and time the page and a frame change in Chromium."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t_start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "twin.cli", "serve", target, "--port",
                             str(port), "--no-browser"], cwd=REPO, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--headless", "--no-sandbox", "--use-angle=swiftshader",
                "--enable-unsafe-swiftshader"])
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            while True:
                try:
                    page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
                    break
                except Exception:  # noqa: BLE001 - server not listening yet
                    time.sleep(0.2)
            view = page.locator(".scene3d").first

            def pixels():   # of the pane: a re-synchronised pane replaces its canvas
                img = Image.open(io.BytesIO(view.screenshot())).convert("RGB")
                return np.asarray(img).astype(int)

            background = np.array([15, 20, 31])
            while (np.abs(pixels() - background).sum(axis=2) > 30).mean() < 0.2:
                time.sleep(0.1)
            first_picture = time.perf_counter() - t_start
            time.sleep(2)
            kpi = page.locator(".kpi-board .kpi-max_depth_m .kpi-value").first
            state = page.locator(".scene-stream-state").first
            frames = int(page.locator(".frame-text").inner_text().split("/")[1].split()[0])
            runs = []
            for k in range(repeat):
                button, frame = ("last", frames - 1) if k % 2 == 0 else ("first", 0)
                before_kpi, before = kpi.inner_text(), pixels()
                draws = int(state.get_attribute("data-renders") or 0)
                t0 = time.perf_counter()
                page.locator(f".playback-{button} button").click()
                while kpi.inner_text() == before_kpi:
                    time.sleep(0.01)
                t_kpi = time.perf_counter() - t0
                while state.get_attribute("data-frame") != str(frame):
                    time.sleep(0.01)
                t_drawn = time.perf_counter() - t0
                while True:
                    now = pixels()
                    h, w = min(now.shape[0], before.shape[0]), min(now.shape[1], before.shape[1])
                    if (np.abs(now[:h, :w] - before[:h, :w]).sum(axis=2) > 30).mean() > 0.001:
                        break
                    time.sleep(0.02)
                t_water = time.perf_counter() - t0
                time.sleep(1.0)
                timing = json.loads(state.get_attribute("data-timing") or "{}")
                runs.append((t_kpi, t_drawn, t_water,
                             int(state.get_attribute("data-renders") or 0) - draws,
                             timing.get("wait", np.nan) / 1e3, timing.get("apply", np.nan) / 1e3,
                             timing.get("render", np.nan) / 1e3))
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    med = np.median(np.array(runs, float), axis=0)
    return {"serve_to_city_on_screen_s": first_picture, "frame_change_kpis_s": med[0],
            "frame_change_3d_drawn_s": med[1], "frame_change_new_water_on_screen_s": med[2],
            "draws_per_frame_change": med[3], "browser_wait_to_draw_s": med[4],
            "browser_apply_s": med[5], "browser_render_call_s": med[6]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("target", nargs="?", default=str(REPO / "out" / "demo" / "demo.zarr"))
    p.add_argument("--browser", action="store_true")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    print("load average (1, 5, 15 min):", " ".join(f"{v:.2f}" for v in os.getloadavg()))
    sizes = scene_sizes(args.target)
    print(f"load city + run {sizes['load_city_and_run_s']:.2f} s, "
          f"build session {sizes['build_session_s']:.2f} s")
    print(f"serialized scene: {sizes['scene_json_bytes'] / 1e3:.0f} kB JSON + "
          f"{sizes['scene_array_bytes'] / 1e6:.2f} MB arrays")
    for f in sizes["frames"]:
        print(f"frame {f['frame']:4d}: {f['server_s'] * 1e3:6.0f} ms server, "
              f"{f['water_cells']:7d} wet cells, {f['new_array_bytes'] / 1e3:8.1f} kB new arrays "
              f"+ {f['scene_json_bytes'] / 1e3:.0f} kB scene JSON "
              f"+ {f['stream_bytes'] / 1e3:.1f} kB stream update "
              f"+ {f.get('map_bytes', 0) / 1e3:.1f} kB map columns")
    if args.browser:
        for k, v in browser_times(args.target, args.repeat).items():
            print(f"{k}: {v:.2f}" + (" s" if k.endswith("_s") else ""))
        print("load average (1, 5, 15 min):", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()

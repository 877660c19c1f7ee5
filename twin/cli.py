"""The ``twin`` command line.

::

    twin demo [--out DIR] [--serve]        the sample city: summary, exports, picture, flood run
    twin info CITY                         summary of a city (manifest, CityJSON or folder)
    twin export CITY --format glb -o PATH  3D export: glb | vtm | cityjson | 3dtiles (-o DIR)
    twin export CITY --format 3dtiles -o DIR --run RUN.zarr   ... with the run's flood layer
    twin render CITY -o city.png           offscreen picture
    twin render RUN --frame N|last|max -o run.png   a run's layers, legends and clock
    twin run SCENARIO [-o RUN.zarr]        run a scenario into a replay store
    twin serve [CITY_OR_RUN]               the operations-centre viewer
    twin sample [--out DIR]                regenerate the synthetic sample district
    twin live CITY --broker HOST:PORT --store PATH   live MQTT sensor feed into a sensor store
    twin nowcast CITY --store PATH --hours 3          forecast run from the live store
    twin ensemble SCENARIO --members N --vary NAME=LOW:HIGH -o OUT.zarr   ensembles on dask

Bad input prints one line naming the file and the fix, and exits with 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

from geodata.errors import DataError
from twin.lifecycle import RunInterrupted

__all__ = ["main", "SAMPLE_CITY"]

SAMPLE_CITY = Path(__file__).resolve().parents[1] / "data_samples" / "ezhou" / "city.toml"


def main(argv: list[str] | None = None) -> int:
    """Run the ``twin`` command; returns the exit code.

    0 done; 2 bad input (one line naming the file and the fix); 1 an internal
    error (one line and the path of a log file with the details; ``--debug``
    shows the traceback); 130 interrupted (the partial run's place is printed).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    args = _parser().parse_args([a for a in argv if a != "--debug"])
    args.debug = debug
    warnings.showwarning = _one_line_warning
    try:
        return args.func(args) or 0
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(str(exc) if isinstance(exc, RunInterrupted) else "interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        if args.debug:
            raise
        where = exc.filename or "the output"
        print(f"error: {where}: {exc.strerror or exc}. Fix: check the path exists and that "
              "you may write there, and that the disk is not full", file=sys.stderr)
        return 2
    except Exception as exc:                               # noqa: BLE001 - the last resort
        if args.debug:
            raise
        log = _log_traceback(exc)
        print(f"error: internal error ({type(exc).__name__}: {exc}). The details are in "
              f"{log}; rerun with --debug to see them here, and please report it",
              file=sys.stderr)
        return 1


def _log_traceback(exc: BaseException) -> Path:
    """Write the traceback of ``exc`` to a log file and return its path."""
    import tempfile
    import traceback
    folder = Path(tempfile.gettempdir()) / "citytwin-logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"twin-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    return path


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="twin", description="City digital twin engine")
    p.epilog = "--debug (anywhere on the line) shows the traceback of an internal error"
    sub = p.add_subparsers(required=True, metavar="COMMAND")

    c = sub.add_parser("demo", help="show the embedded sample city end to end")
    c.add_argument("--out", default="out/demo", help="folder for exports (default out/demo)")
    c.add_argument("--serve", action="store_true", help="then start the viewer")
    c.add_argument("--port", type=int, default=5006)
    c.add_argument("--no-browser", action="store_true")
    c.add_argument("--no-run", action="store_true", help="skip the flood run")
    c.set_defaults(func=_demo)

    c = sub.add_parser("info", help="print a city's summary")
    c.add_argument("city")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=_info)

    c = sub.add_parser("export", help="write the 3D city to a file")
    c.add_argument("city")
    from scenes.writers import formats   # the registry of export formats (light import)
    c.add_argument("--format", choices=sorted(formats()), required=True)
    c.add_argument("-o", "--output", required=True)
    c.add_argument("--run", help="a run (RUN.zarr) whose maximum flood depth the 3dtiles "
                                 "export adds as DIR/flood/tileset.json")
    c.set_defaults(func=_export)

    c = sub.add_parser("render", help="render an offscreen picture of a city or of a run")
    c.add_argument("city", metavar="CITY_OR_RUN", help="city manifest, or a run folder (*.zarr)")
    c.add_argument("-o", "--output", default="city.png")
    c.add_argument("--size", default="1600x1000", help="WIDTHxHEIGHT")
    c.add_argument("--frame", help="of a run: a frame number 0..n-1, 'last', or 'max' for the "
                                   "maxima (default max)")
    c.add_argument("--view", default="oblique", choices=["oblique", "top", "north"])
    c.add_argument("--run-city", help="of a run: its city manifest (default: the city its "
                                      "scenario names)")
    c.set_defaults(func=_render)

    c = sub.add_parser("run", help="run a scenario into a replay store (Zarr)")
    c.add_argument("scenario")
    c.add_argument("-o", "--output", help="run folder (default runs/<scenario>.zarr)")
    c.set_defaults(func=_run)

    c = sub.add_parser("ensemble", help="run many variants of a scenario on dask.distributed")
    c.add_argument("scenario")
    c.add_argument("--members", type=int, required=True, help="number of members")
    c.add_argument("--vary", action="append", default=[], metavar="NAME=LOW:HIGH",
                   help="a varied setting: a range (Latin hypercube) or V1,V2,... (repeatable)")
    c.add_argument("-o", "--output", help="ensemble store (default runs/<scenario>-ens.zarr)")
    c.add_argument("--scheduler", help="address of a running dask scheduler (default: a local "
                                       "cluster)")
    c.add_argument("--workers", type=int, default=2, help="local cluster size (default 2)")
    c.add_argument("--seed", type=int, default=0)
    c.set_defaults(func=_ensemble)

    c = sub.add_parser("nowcast", help="run the next hours from the live sensor store")
    c.add_argument("city")
    c.add_argument("--store", required=True, help="sensor store written by `twin live`")
    c.add_argument("--hours", type=float, default=3.0, help="forecast length (default 3)")
    c.add_argument("--template", help="scenario whose engine tables the nowcast uses")
    c.add_argument("--rain-scale", type=float, default=1.0,
                   help="factor on the persisted rain of the last hour (default 1)")
    c.add_argument("-o", "--output", help="run folder (default STORE/../runs/nowcast-<time>.zarr)")
    c.set_defaults(func=_nowcast)

    c = sub.add_parser("serve", help="start the operations-centre viewer")
    c.add_argument("target", nargs="?", help="city manifest, run or ensemble (default: the "
                                             "sample city)")
    c.add_argument("--port", type=int, default=5006)
    c.add_argument("--no-browser", action="store_true")
    c.add_argument("--basic-auth", help="password, or a JSON file of user: password")
    c.add_argument("--runs", help="folder for what-if runs (default: beside the run, or "
                                  "runs/ beside the city)")
    c.add_argument("--live", metavar="STORE", help="a sensor store written by `twin live`: "
                                                   "show its sensors, alerts and nowcasts live")
    c.set_defaults(func=_serve)

    c = sub.add_parser("sample", help="regenerate the synthetic sample district")
    c.add_argument("--out", default=str(SAMPLE_CITY.parent))
    c.add_argument("--seed", type=int, default=None)
    c.set_defaults(func=_sample)

    c = sub.add_parser("live", help="store live sensor readings from an MQTT broker")
    c.add_argument("city", help="city manifest (its sensors are the ones accepted)")
    c.add_argument("--broker", default="127.0.0.1:1883", help="HOST:PORT (default 127.0.0.1:1883)")
    c.add_argument("--store", required=True, help="sensor store folder (created when missing)")
    c.add_argument("--client-id", default="twin-live", help="fixed MQTT client id of the session")
    c.add_argument("--username")
    c.add_argument("--password", help="or set TWIN_MQTT_PASSWORD")
    c.add_argument("--tls-ca", help="CA certificate file: connect with TLS")
    c.add_argument("--tls", action="store_true", help="connect with TLS using the system CAs")
    c.add_argument("--protocol", choices=["5", "3.1.1"], default="5",
                   help="MQTT version (default 5: the feed sets its own in-flight window; 3.1.1 "
                        "decodes single readings about twice as fast but needs the broker's "
                        "max_inflight_messages raised)")
    c.set_defaults(func=_live)
    return p


# -- commands ------------------------------------------------------------------

def _info(args) -> int:
    from twin.manifest import load_city
    summary = load_city(args.city).summary()
    print(json.dumps(summary, indent=2, default=str) if args.json else format_summary(summary))
    return 0


def _export(args) -> int:
    from twin.manifest import load_city
    if args.run is None:
        path = export_city(load_city(args.city), args.format, Path(args.output))
        print(f"wrote {path}")
        return 0
    if args.format != "3dtiles":
        raise DataError(f"--run is not supported by the {args.format} format",
                        file=args.run, fix="use --format 3dtiles for a run's flood layer, or "
                                           "leave out --run")
    from scenes.writers import write_scene
    from twin.replay import open_run
    run = open_run(args.run)
    if run.flood is None:
        raise DataError(f"the run has no flood (engines: {', '.join(run.engines)}); the 3D Tiles "
                        "export carries the flood's maximum depth", file=args.run,
                        fix="give a run with a [flood] table, or leave out --run")
    city = load_city(args.city)
    if not city.crs.equals(run.crs):
        raise DataError(f"the run's CRS ({run.crs.to_string()}) is not the city's "
                        f"({city.crs.to_string()})", file=args.run,
                        fix="give the run of this city")
    path = write_scene(city, Path(args.output), "3dtiles", run=run)
    print(f"wrote {path}")
    flood = path / "flood" / "tileset.json"
    print(f"  flood layer: {flood}" if flood.exists()
          else "  no flood layer: the run's water is nowhere deeper than 5 cm")
    return 0


def _render(args) -> int:
    from twin.manifest import load_city
    from twin.replay import open_run, run_status
    size = _size(args.size)
    if run_status(args.city) is None:
        if args.frame is not None or args.run_city is not None:
            raise DataError("is not a run, and --frame / --run-city apply to runs only",
                            file=args.city, fix="give a run folder (*.zarr) or leave out "
                                                "--frame and --run-city")
        from scenes.meshes import city_scene
        from scenes.snapshot import render_png
        path = render_png(city_scene(load_city(args.city)), Path(args.output),
                          window_size=size, view=args.view)
        print(f"wrote {path}")
        return 0
    from scenes.runlayers import frame_index
    from scenes.snapshot import render_run
    run = open_run(args.city)
    frame = "max" if args.frame is None else args.frame
    frame_index(run, frame)                                  # a bad frame fails before loading
    try:
        city_path = args.run_city or run.scenario.city
    except DataError as exc:                                 # the scenario's city moved
        raise DataError(f"the run's city is not where its scenario says ({exc.problem})",
                        file=args.city, fix="give the city with --run-city CITY") from None
    city = load_city(city_path)
    if not city.crs.equals(run.crs):
        raise DataError(f"the run's CRS ({run.crs.to_string()}) is not its city's "
                        f"({city.crs.to_string()})", file=args.city,
                        fix="give the run's own city with --run-city CITY")
    pic = render_run(city, run, Path(args.output), frame=frame, window_size=size, view=args.view)
    when = "maxima" if pic.time is None else f"frame {pic.frame}, {pic.time:%Y-%m-%d %H:%M %z}"
    print(f"wrote {pic.path} ({when}; layers: {', '.join(pic.layers) or 'none'})")
    return 0


def _run(args) -> int:
    from twin.runner import run_scenario
    from twin.scenario import load_scenario
    scenario = load_scenario(args.scenario)
    out = Path(args.output or Path("runs") / f"{Path(args.scenario).stem}.zarr")
    t0 = time.perf_counter()
    run = run_scenario(scenario, out=out, progress=True)
    print(run.summary())
    print(f"wrote {out} in {time.perf_counter() - t0:.1f} s")
    return 0


def _ensemble(args) -> int:
    from twin.ensemble import run_ensemble
    if not args.vary:
        raise DataError("no --vary given", fix="vary at least one setting, e.g. "
                                                "--vary rain_scale=0.5:1.5")
    out = Path(args.output or Path("runs") / f"{Path(args.scenario).stem}-ens.zarr")
    t0 = time.perf_counter()
    ens = run_ensemble(args.scenario, members=args.members, vary=args.vary, out=out,
                       scheduler=args.scheduler, workers=args.workers, seed=args.seed,
                       progress=True)
    m = ens.members
    print(f"Ensemble: {ens.attrs['name']}: {ens.attrs['members_ok']} of {len(m)} members ran")
    failed = m[m["status"] != "ok"]
    for i, row in failed.iterrows():
        print(f"  member {i} failed: {row['error']}")
    if ens.buildings is not None:
        print(f"  buildings flooded with p >= 0.5: {int((ens.buildings >= 0.5).sum())}")
    print(f"wrote {out} in {time.perf_counter() - t0:.1f} s")
    return 0


def _nowcast(args) -> int:
    from twin.nowcast import nowcast
    t0 = time.perf_counter()
    run = nowcast(args.city, args.store, hours=args.hours, out=args.output,
                  template=args.template, rain_scale=args.rain_scale, progress=True)
    print(run.summary())
    print(f"wrote {run.path} in {time.perf_counter() - t0:.1f} s")
    return 0


def _serve(args) -> int:
    from twin.ensemble import is_ensemble
    if args.target and is_ensemble(args.target):
        from viewer.ensemble import serve_ensemble
        serve_ensemble(args.target, port=args.port, show=not args.no_browser,
                       basic_auth=args.basic_auth)
        return 0
    from viewer.app import serve
    serve(args.target or str(SAMPLE_CITY), port=args.port, show=not args.no_browser,
          basic_auth=args.basic_auth, runs=args.runs, live=args.live)
    return 0


def _sample(args) -> int:
    from geodata.synthetic import generate_district
    kw = {} if args.seed is None else {"seed": args.seed}
    generate_district(Path(args.out), **kw)
    print(f"wrote the sample district to {args.out}")
    return 0


def _live(args) -> int:
    from twin.sensors.feed import run_live
    run_live(args.city, args.store, args.broker, client_id=args.client_id,
             username=args.username, password=args.password or os.environ.get("TWIN_MQTT_PASSWORD"),
             tls_ca=args.tls_ca, tls=args.tls, protocol=args.protocol)
    return 0


def _demo(args) -> int:
    from scenes.meshes import city_scene
    from scenes.snapshot import render_png
    from twin.manifest import load_city
    out = Path(args.out)
    t0 = time.perf_counter()
    city = load_city(SAMPLE_CITY)
    print(f"Loaded {SAMPLE_CITY.relative_to(Path.cwd()) if SAMPLE_CITY.is_relative_to(Path.cwd()) else SAMPLE_CITY}"
          f" in {time.perf_counter() - t0:.1f} s\n")
    print(format_summary(city.summary()))
    print()
    from scenes.writers import default_path, formats
    written = [export_city(city, fmt, default_path(fmt, out, "ezhou"))
               for fmt, suffixes in formats().items() if suffixes]   # files; not 3D Tiles folders
    written.append(render_png(city_scene(city), out / "ezhou.png"))
    if not args.no_run:
        written.append(_demo_run(out))
        from scenes.snapshot import render_run
        from twin.replay import open_run
        written.append(render_run(city, open_run(out / "demo.zarr"), out / "demo-flood.png").path)
    print("\nWrote:")
    for path in written:
        print(f"  {path}")
    if args.serve:
        from viewer.app import serve
        serve(str(out / "demo.zarr") if not args.no_run else str(SAMPLE_CITY), port=args.port,
              show=not args.no_browser)
    else:
        print("\nNext: `twin serve` opens the operations-centre viewer on this city and run.")
    return 0


def _demo_run(out: Path) -> Path:
    from twin.runner import run_scenario
    from twin.scenario import load_scenario
    scenario = load_scenario(SAMPLE_CITY.parent / "scenarios" / "demo.toml")
    print(f"\nRunning flood scenario '{scenario.name}' ...")
    t0 = time.perf_counter()
    run = run_scenario(scenario, out=out / "demo.zarr", progress=True)
    print(run.summary())
    print(f"(run took {time.perf_counter() - t0:.1f} s)")
    return out / "demo.zarr"


# -- shared by commands -------------------------------------------------------------

def export_city(city, fmt: str, path: Path) -> Path:
    """Write ``city`` as ``fmt`` (a name of :func:`scenes.writers.formats`) to ``path``."""
    from scenes.writers import write_scene
    return write_scene(city, path, fmt)


def format_summary(s: dict) -> str:
    """Readable text of :meth:`twin.City.summary`."""
    e = s["extent_m"]
    lines = [f"City: {s['name']}", f"  CRS:       {s['crs']}",
             f"  Extent:    {e['width'] / 1000:.2f} km x {e['height'] / 1000:.2f} km "
             f"(x {e['xmin']:.0f}..{e['xmax']:.0f}, y {e['ymin']:.0f}..{e['ymax']:.0f})"]
    if "terrain" in s:
        t = s["terrain"]
        lines.append(f"  Terrain:   {t['shape'][1]} x {t['shape'][0]} cells of {t['cell_size_m']:g} m, "
                     f"{t['min_m']:.1f} to {t['max_m']:.1f} m")
    b = s["buildings"]
    if b["count"]:
        h = b["height_m"]
        lines.append(f"  Buildings: {b['count']} ({b['footprint_km2']:.2f} km2 footprint), height "
                     f"{h['min']:.1f} / {h['median']:.1f} / {h['max']:.1f} m (min/median/max)")
        if "by_use" in b:
            lines.append("             " + ", ".join(f"{k} {v}" for k, v in b["by_use"].items()))
        if "population" in b:
            lines.append(f"             population {b['population']:,}")
    r = s["roads"]
    lines.append(f"  Roads:     {r['count']} links, {r['length_km']:.1f} km"
                 + ("  (" + ", ".join(f"{k} {v}" for k, v in r.get("by_class", {}).items()) + ")"
                    if r.get("by_class") else ""))
    lines.append(f"  Water:     {s['water']['count']} bodies, {s['water']['area_km2']:.2f} km2")
    lines.append(f"  Land use:  {s['landuse']['count']} parcels")
    sen = s["sensors"]
    if sen["count"]:
        kinds = ", ".join(f"{k} {v}" for k, v in sen["by_kind"].items())
        lines.append(f"  Sensors:   {sen['count']} ({kinds}); {sen['readings']:,} readings")
        if "time_span" in sen:
            lines.append(f"             {sen['time_span'][0]} to {sen['time_span'][1]}")
    for bid, m in s["bim"].items():
        lines.append(f"  BIM:       building {bid}: {m['faces']:,} triangles, {m['storeys']} storeys")
    if s["places"]:
        lines.append(f"  Places:    {', '.join(s['places'])}")
    return "\n".join(lines)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise DataError(f"--size {text!r} is not WIDTHxHEIGHT", fix="e.g. --size 1600x1000") from None
    return w, h


if __name__ == "__main__":
    sys.exit(main())

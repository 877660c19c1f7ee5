"""Sensor tables: where the city's sensors stand and what they have measured.

A :class:`SensorTable` pairs the stations (points with a kind, a unit and
warning/alarm thresholds) with their readings in long format (one row per
sensor and time, times in UTC). :func:`read_sensors` builds one from a
vector file or CSV of stations and a CSV or Parquet file of readings,
checking every row.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from geodata.crs import check_coordinates, parse_crs
from geodata.errors import DataError, describe_ids
from geodata.memory import check_memory
from geodata.vector import read_layer

__all__ = ["SENSOR_KINDS", "SEVERITIES", "SensorTable", "sensor_level", "read_sensors",
           "write_sensors"]

SEVERITIES = ("ok", "warning", "alarm")
"""Status of a reading by its level (:func:`sensor_level`)."""


def sensor_level(value, warning, alarm) -> np.ndarray:
    """The one threshold rule: 0 below ``warning``, 1 at or above it, 2 at or above ``alarm``.

    NaN thresholds never trigger; NaN values are level 0 (callers say "no data").

    Examples
    --------
    >>> sensor_level([1.0, 5.0, 9.0], 5.0, 8.0).tolist()
    [0, 1, 2]
    """
    v = np.asarray(value, dtype=float)
    with np.errstate(invalid="ignore"):
        over_alarm = v >= np.asarray(alarm, dtype=float)
        over_warning = v >= np.asarray(warning, dtype=float)
    return np.where(over_alarm, 2, np.where(over_warning, 1, 0))

#: Sensor kinds and the unit their readings are in. A weather station's
#: reading is its rainfall intensity; a camera's is the people it counts.
SENSOR_KINDS: dict[str, str] = {
    "rain_gauge": "mm/h",
    "weather_station": "mm/h",
    "water_level": "m",
    "flow_gauge": "m3/s",
    "traffic_counter": "veh/h",
    "crowd_counter": "persons",
    "camera": "persons",
}

_STATION_COLUMNS = ["id", "name", "kind", "unit", "warning", "alarm"]
_READING_COLUMNS = ["sensor_id", "time", "value"]
#: Bytes one reading takes while a file is read and checked (columns, hashing for duplicates).
_BYTES_PER_READING = 120
# ISO 8601 date-time ending in a zone: Z, +08, +0800 or +08:00
_ZONED = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|z|[+-]\d{2}(?::?\d{2})?)$"


@dataclass
class SensorTable:
    """Sensor stations and their readings.

    Parameters
    ----------
    stations : geopandas.GeoDataFrame
        ``id, name, kind, unit, warning, alarm, geometry`` (Point). Thresholds
        are in the sensor's unit; NaN when the sensor has none.
    readings : pandas.DataFrame
        ``sensor_id, time, value``; ``time`` is ``datetime64[ns, UTC]``.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import Point
    >>> stations = gpd.GeoDataFrame({"id": ["g1"], "name": ["Gauge 1"], "kind": ["water_level"],
    ...     "unit": ["m"], "warning": [18.0], "alarm": [19.5]}, geometry=[Point(0, 0)], crs=4547)
    >>> readings = pd.DataFrame({"sensor_id": ["g1", "g1"],
    ...     "time": pd.to_datetime(["2024-07-01T08:00+08:00", "2024-07-01T09:00+08:00"], utc=True),
    ...     "value": [17.2, 18.4]})
    >>> table = SensorTable(stations, readings)
    >>> table.status("2024-07-01T01:30Z").tolist()
    ['warning']
    """

    stations: gpd.GeoDataFrame
    readings: pd.DataFrame

    def __post_init__(self) -> None:
        readings = self.readings[_READING_COLUMNS].copy()
        readings["time"] = readings["time"].astype("datetime64[ns, UTC]")
        readings["value"] = readings["value"].astype(float)
        self.readings = readings.sort_values(["sensor_id", "time"], kind="stable",
                                             ignore_index=True)
        self.stations = self.stations.reset_index(drop=True)

    @property
    def crs(self) -> CRS:
        """CRS of the station points."""
        return self.stations.crs

    @property
    def time_span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """``(first, last)`` reading time in UTC; ``(NaT, NaT)`` without readings."""
        times = self.readings["time"]
        return (times.min(), times.max()) if len(times) else (pd.NaT, pd.NaT)

    def series(self, sensor_id: str) -> pd.Series:
        """Readings of one sensor as a Series indexed by time (UTC).

        Examples
        --------
        >>> table.series("g1").iloc[-1]  # doctest: +SKIP
        18.4
        """
        if sensor_id not in set(self.stations["id"]):
            raise KeyError(f"no sensor '{sensor_id}'; known: {describe_ids(self.stations['id'])}")
        rows = self.readings[self.readings["sensor_id"] == sensor_id]
        return pd.Series(rows["value"].to_numpy(), index=pd.DatetimeIndex(rows["time"], name="time"),
                         name=sensor_id)

    def of_kind(self, kind: str) -> "SensorTable":
        """The stations of one kind and their readings.

        Examples
        --------
        >>> table.of_kind("rain_gauge").stations.empty  # doctest: +SKIP
        True
        """
        if kind not in SENSOR_KINDS:
            raise ValueError(f"unknown sensor kind '{kind}'; use one of {', '.join(SENSOR_KINDS)}")
        stations = self.stations[self.stations["kind"] == kind]
        readings = self.readings[self.readings["sensor_id"].isin(stations["id"])]
        return SensorTable(stations, readings)

    def at(self, time, *, max_age: pd.Timedelta | str | None = None) -> pd.DataFrame:
        """Latest reading at or before ``time`` of every station, with its status.

        Parameters
        ----------
        time : str or pandas.Timestamp
            Moment with a zone, e.g. ``"2024-07-01T09:00+08:00"``.
        max_age : Timedelta or str, optional
            Readings older than this count as "no data".

        Returns
        -------
        pandas.DataFrame
            Indexed by station id: ``kind, unit, time, value, status``;
            ``time`` and ``value`` are NaT/NaN where there is no reading.
        """
        moment = _moment(time)
        past = self.readings[self.readings["time"] <= moment]
        latest = past.groupby("sensor_id", sort=False).tail(1).set_index("sensor_id")
        table = self.stations.set_index("id")[["kind", "unit", "warning", "alarm"]]
        table = table.join(latest[["time", "value"]])
        if max_age is not None:
            stale = (table["time"] < moment - pd.Timedelta(max_age)).to_numpy()
            table.loc[stale, "value"] = np.nan
        value = table["value"].to_numpy(dtype=float)
        level = sensor_level(value, table["warning"], table["alarm"])
        status = np.where(np.isnan(value), "no data", np.asarray(SEVERITIES)[level])
        table["status"] = status
        table.index.name = "id"
        return table[["kind", "unit", "time", "value", "status"]]

    def status(self, time, *, max_age: pd.Timedelta | str | None = None) -> pd.Series:
        """``"ok"``, ``"warning"``, ``"alarm"`` or ``"no data"`` per station at ``time``.

        A station is in alarm when its latest value is ``>= alarm``, in
        warning when ``>= warning``.
        """
        return self.at(time, max_age=max_age)["status"]

    def to_crs(self, crs) -> "SensorTable":
        """The same table with station points in another CRS."""
        return SensorTable(self.stations.to_crs(crs), self.readings)


def _moment(time) -> pd.Timestamp:
    moment = pd.Timestamp(time)
    if moment.tzinfo is None:
        raise ValueError(f"time {time!r} has no zone; write it like 2024-07-01T09:00+08:00")
    return moment.tz_convert("UTC")


# -- reading -------------------------------------------------------------------

def read_sensors(stations: str | os.PathLike, readings: str | os.PathLike, *, crs,
                 stations_crs=None) -> SensorTable:
    """Read sensor stations and readings, checking every row.

    Parameters
    ----------
    stations : path-like
        Any OGR vector layer of points with ``id`` and ``kind`` columns, or a
        CSV with ``id, kind`` and ``x, y`` (in ``stations_crs``) or
        ``lon, lat`` (EPSG:4326); optional ``name, unit, warning, alarm``.
    readings : path-like
        CSV or Parquet in long format: ``sensor_id, time, value``; times in
        ISO 8601 with a zone (``Z`` or ``+08:00``).
    crs : anything :class:`pyproj.CRS` accepts
        The city's CRS, for the station points.
    stations_crs : optional
        CRS of ``x, y`` in a stations CSV.

    Raises
    ------
    DataError
        Missing files or columns, unknown kinds or units, duplicate station
        ids, readings of unknown sensors, non-numeric values, times without
        a zone, duplicate (sensor_id, time) rows; naming the row and the fix.

    Examples
    --------
    >>> table = read_sensors("sensors/stations.csv", "sensors/readings.csv",
    ...                      crs=4547, stations_crs=4547)  # doctest: +SKIP
    """
    table = _read_stations(Path(stations), parse_crs(crs), stations_crs)
    values = _read_readings(Path(readings), set(table["id"]))
    return SensorTable(table, values)


def _read_stations(path: Path, crs: CRS, stations_crs) -> gpd.GeoDataFrame:
    if path.suffix.lower() == ".csv":
        frame = _read_table(path, "stations",
                            dtype={"id": str, "name": str, "kind": str, "unit": str})
        gdf = _station_points(frame, path, stations_crs).to_crs(crs)
        line = pd.Series(np.arange(len(gdf)) + 2)
    else:
        gdf = read_layer(path, crs=crs, kind="stations", geometry=("Point",), id_prefix="s")
        if "id" not in pyogrio.read_info(path)["fields"]:
            raise DataError("stations have no id column", file=path,
                            fix="add an id column: readings refer to stations by id")
        line = None
    _require(gdf, ["id", "kind"], path)
    gdf["id"] = gdf["id"].astype(str).str.strip()
    duplicated = gdf["id"][gdf["id"].duplicated()]
    if len(duplicated):
        raise DataError(f"duplicate station ids: {describe_ids(duplicated.unique())}", file=path,
                        fix="give every station its own id")
    where = _rows(gdf["id"], line)
    kind = gdf["kind"].astype("string").str.strip().str.lower()
    unknown = ~kind.isin(list(SENSOR_KINDS)).to_numpy()
    if unknown.any():
        raise DataError(f"unknown sensor kind '{gdf['kind'][unknown].iloc[0]}'", file=path,
                        feature=where(unknown), fix=f"use one of {', '.join(SENSOR_KINDS)}")
    gdf["kind"] = kind.astype(str)
    _units(gdf, path, where)
    gdf["name"] = gdf["name"].fillna(gdf["id"]).astype(str) if "name" in gdf else gdf["id"]
    for column in ("warning", "alarm"):
        gdf[column] = _numbers(gdf, column, path, where) if column in gdf else np.nan
    crossed = (gdf["warning"] > gdf["alarm"]).to_numpy()
    if crossed.any():
        raise DataError("warning threshold is above the alarm threshold", file=path,
                        feature=where(crossed), fix="swap them: alarm is the higher level")
    return gdf[[*_STATION_COLUMNS, *[c for c in gdf.columns if c not in _STATION_COLUMNS
                                     and c != gdf.geometry.name], gdf.geometry.name]]


def _station_points(frame: pd.DataFrame, path: Path, stations_crs) -> gpd.GeoDataFrame:
    if {"x", "y"} <= set(frame.columns):
        if stations_crs is None:
            raise DataError("stations have x, y but no CRS was given", file=path,
                            fix="pass stations_crs (e.g. 4547), or give lon, lat columns")
        columns, source = ("x", "y"), parse_crs(stations_crs, file=path, key="stations_crs")
    elif {"lon", "lat"} <= set(frame.columns):
        columns, source = ("lon", "lat"), CRS.from_epsg(4326)
    else:
        raise DataError(f"stations need x, y or lon, lat columns; found "
                        f"{', '.join(frame.columns)}", file=path,
                        fix="add the coordinates of each station")
    where = _rows(frame.get("id", pd.Series(dtype=str)), pd.Series(np.arange(len(frame)) + 2))
    x, y = (_numbers(frame, c, path, where) for c in columns)
    missing = np.isnan(x) | np.isnan(y)
    if missing.any():
        raise DataError(f"stations without {columns[0]}, {columns[1]}", file=path,
                        feature=where(missing), fix="give every station its coordinates")
    check_coordinates((x.min(), y.min(), x.max(), y.max()), source, file=path)
    rest = frame.drop(columns=list(columns))
    return gpd.GeoDataFrame(rest, geometry=gpd.points_from_xy(x, y), crs=source)


def _units(gdf: gpd.GeoDataFrame, path: Path, where) -> None:
    expected = gdf["kind"].map(SENSOR_KINDS)
    if "unit" not in gdf:
        gdf["unit"] = expected
        return
    unit = gdf["unit"].astype("string").str.strip()
    given = unit.notna() & unit.ne("")
    wrong = (given & unit.ne(expected)).to_numpy()
    if wrong.any():
        first = np.flatnonzero(wrong)[0]
        raise DataError(f"unit '{unit.iloc[first]}' for a {gdf['kind'].iloc[first]} sensor, "
                        f"expected '{expected.iloc[first]}'", file=path, feature=where(wrong),
                        fix="convert the readings to the expected unit")
    gdf["unit"] = expected


def _read_readings(path: Path, known: set[str], *, chunk_rows: int = 500_000,
                   available: float | None = None) -> pd.DataFrame:
    """Read and check readings chunk by chunk, after checking they fit in memory."""
    rows = _estimate_rows(path)
    check_memory(rows * _BYTES_PER_READING, f"about {rows:,} readings", file=path,
                 available=available,
                 fix="split the readings into shorter periods (e.g. one file per month) "
                     "and load only the period you need")
    label = "row" if path.suffix.lower() == ".parquet" else "line"
    parts = [_check_readings(chunk, first, label, known, path)
             for chunk, first in _chunks(path, chunk_rows)]
    readings = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        {"sensor_id": pd.Series([], dtype=object), "line": pd.Series([], dtype=np.int64),
         "time": pd.Series([], dtype="datetime64[ns, UTC]"), "value": pd.Series([], dtype=float)})
    twice = readings.duplicated(["sensor_id", "time"], keep=False).to_numpy()
    if twice.any():
        where = _reading_rows(readings["line"], readings["sensor_id"], label)
        raise DataError("duplicate readings of the same sensor at the same time", file=path,
                        feature=where(twice), fix="keep one reading per sensor and time")
    return readings.drop(columns="line")


def _estimate_rows(path: Path) -> int:
    """Number of readings in a file, from Parquet metadata or the CSV's first lines."""
    if not path.exists():
        raise DataError("file not found", file=path, fix="check the path of the sensor readings")
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as pq
            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception as exc:    # noqa: BLE001 - pyarrow raises several kinds on bad files
            raise DataError(f"cannot be read ({exc})", file=path,
                            fix="write the readings as CSV or Parquet") from None
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    lines = max(head.count(b"\n"), 1)
    return int(size / (len(head) / lines)) if head else 0


def _chunks(path: Path, chunk_rows: int):
    """``(frame, number of its first line or row)`` pieces of a readings file."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq
        first = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            frame = batch.to_pandas()
            yield frame, first
            first += len(frame)
        return
    if path.suffix.lower() != ".csv":
        raise DataError(f"unknown readings format '{path.suffix}'", file=path,
                        fix="write the readings as CSV or Parquet")
    try:
        reader = pd.read_csv(path, skipinitialspace=True, dtype=str, chunksize=chunk_rows)
        first = 2
        for frame in reader:
            yield frame, first
            first += len(frame)
    except (ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot be read ({exc})", file=path,
                        fix="write the readings as CSV or Parquet") from None


def _check_readings(frame: pd.DataFrame, first: int, label: str, known: set[str],
                    path: Path) -> pd.DataFrame:
    _require(frame, _READING_COLUMNS, path)
    frame = frame.reset_index(drop=True)
    sensor = frame["sensor_id"].astype("string").str.strip().fillna("")
    line = pd.Series(np.arange(len(frame), dtype=np.int64) + first)
    where = _reading_rows(line, sensor, label)
    unknown = ~sensor.isin(known).to_numpy()
    if unknown.any():
        raise DataError(f"readings of unknown sensors {describe_ids(sensor[unknown].unique())}",
                        file=path, feature=where(unknown),
                        fix="add these stations to the stations file or correct the sensor_id")
    time = _utc_times(frame["time"], path, where)
    value = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(value)
    if bad.any():
        raise DataError(f"value is not a number ('{frame['value'][bad].iloc[0]}')", file=path,
                        feature=where(bad), fix="write each value as a plain number")
    sensor = pd.Categorical(sensor.astype(str))     # one string object per sensor, not per row
    return pd.DataFrame({"sensor_id": np.asarray(sensor.astype(object)), "line": line,
                         "time": time, "value": value})


def _reading_rows(line: pd.Series, sensor: pd.Series, label: str):
    """A function turning a row mask into 'line 3 (RG01), ...'."""
    def where(mask: np.ndarray) -> str:
        rows = [f"{label} {n} ({s})" for n, s in zip(line[mask][:5], sensor[mask][:5])]
        more = f" and {mask.sum() - 5} more" if mask.sum() > 5 else ""
        return ", ".join(rows) + more
    return where


def _utc_times(raw: pd.Series, path: Path, where) -> pd.Series:
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return raw.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    if pd.api.types.is_datetime64_dtype(raw):
        raise DataError("times have no zone", file=path, feature=where(np.ones(len(raw), bool)),
                        fix="store zone-aware times (UTC) in the Parquet file")
    text = raw.astype("string").str.strip()
    naive = ~text.str.contains(_ZONED, regex=True).fillna(False).to_numpy(dtype=bool)
    if naive.any():
        raise DataError(f"time '{raw[naive].iloc[0]}' has no zone", file=path,
                        feature=where(naive),
                        fix="write ISO 8601 times with a zone, e.g. 2024-07-01T09:00+08:00 or ...Z")
    times = pd.to_datetime(text.astype(object), utc=True, format="ISO8601", errors="coerce")
    bad = times.isna().to_numpy()
    if bad.any():
        raise DataError(f"time '{raw[bad].iloc[0]}' is not an ISO 8601 date-time", file=path,
                        feature=where(bad), fix="write times like 2024-07-01T09:00+08:00")
    return times.astype("datetime64[ns, UTC]")


# -- shared checks ---------------------------------------------------------------

def _read_table(path: Path, what: str, **options) -> pd.DataFrame:
    if not path.exists():
        raise DataError("file not found", file=path, fix=f"check the path of the sensor {what}")
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, skipinitialspace=True, **options)
    except (ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot be read ({exc})", file=path,
                        fix=f"write the {what} as CSV or Parquet") from None
    raise DataError(f"unknown {what} format '{path.suffix}'", file=path,
                    fix=f"write the {what} as CSV or Parquet")


def _require(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found = ", ".join(c for c in frame.columns if c != "geometry")
        raise DataError(f"missing columns {', '.join(missing)} (found: {found})", file=path,
                        fix=f"add the columns {', '.join(columns)}")


def _rows(ids: pd.Series, line: pd.Series | None):
    """A function turning a row mask into 'line 3 (id g1), ...' (or just ids)."""
    def where(mask: np.ndarray) -> str:
        if line is None:
            return describe_ids(ids[mask])
        return ", ".join(f"line {n} ({i})" for n, i in zip(line[mask][:5], ids[mask][:5])) + \
            (f" and {mask.sum() - 5} more" if mask.sum() > 5 else "")
    return where


def _numbers(frame: pd.DataFrame, column: str, path: Path, where) -> np.ndarray:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, copy=True)
    text = np.isnan(values) & raw.notna().to_numpy() & \
        raw.astype("string").str.strip().ne("").fillna(False).to_numpy(dtype=bool)
    if text.any():
        raise DataError(f"{column} is not a number ('{raw[text].iloc[0]}')", file=path,
                        feature=where(text), fix=f"write {column} as a number")
    return values


# -- writing ---------------------------------------------------------------------

def write_sensors(table: SensorTable, folder: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``stations.csv`` (x, y in the table's CRS) and ``readings.csv``.

    Times are written as ISO 8601 in UTC (``...Z``). Files are written to a
    temporary name and renamed. Read them back with
    ``read_sensors(folder / "stations.csv", folder / "readings.csv", crs=...,
    stations_crs=table.crs)``.

    Examples
    --------
    >>> write_sensors(city.sensors, "out/sensors")  # doctest: +SKIP
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stations = pd.DataFrame(table.stations.drop(columns=table.stations.geometry.name))
    stations["x"] = table.stations.geometry.x.to_numpy()
    stations["y"] = table.stations.geometry.y.to_numpy()
    readings = table.readings.assign(
        time=table.readings["time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    paths = []
    for name, frame in (("stations.csv", stations), ("readings.csv", readings)):
        path = folder / name
        tmp = path.with_name(name + ".partial")
        frame.to_csv(tmp, index=False, float_format="%.17g")
        os.replace(tmp, path)
        paths.append(path)
    return paths[0], paths[1]

"""The sensor store: every reading the live feed accepted, its quarantine and its events.

One SQLite database in write-ahead-log mode (``PATH/sensors.sqlite``). SQLite
gives what the feed needs without a server: a transaction per batch that is
either wholly on disk or not at all (``synchronous=FULL``: a commit is on the
disk before the feed acknowledges a message, so a ``kill -9`` or a power cut
loses nothing acknowledged); the primary key ``(sensor_id, time)`` drops a
redelivered reading inside the same transaction; readers in other processes
see the last committed batch while the feed writes (WAL), and range queries
use an index on time. Parquet part files would need their own index, their
own de-duplication and a compaction step to do the same.

Tables: ``readings`` (sensor_id, time as int64 ns UTC, value, received as
int64 ns), ``quarantine`` (received, topic, payload, reason) and ``events``
(the columns of :data:`twin.alerts.EVENT_COLUMNS`).
"""
from __future__ import annotations

import os
import sqlite3
import time as _time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pandas as pd

from geodata.errors import DataError
from twin.alerts import EVENT_COLUMNS

__all__ = ["SensorStore", "open_store", "STORE_FILE"]

STORE_FILE = "sensors.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    sensor_id TEXT NOT NULL, time INTEGER NOT NULL, value REAL NOT NULL, received INTEGER NOT NULL,
    PRIMARY KEY (sensor_id, time)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS readings_by_time ON readings (time);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY, received INTEGER NOT NULL, topic TEXT NOT NULL,
    payload BLOB NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, time INTEGER NOT NULL, kind TEXT NOT NULL, severity TEXT NOT NULL,
    "where" TEXT NOT NULL, x REAL, y REAL, message TEXT NOT NULL, engine TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS readings_by_received ON readings (received);
"""
_FIX_WRITE = "give the store a folder you can write to, on a disk with free space"


def open_store(path: str | os.PathLike, *, create: bool = False,
               max_bytes: int | None = None) -> "SensorStore":
    """Open a sensor store folder.

    Parameters
    ----------
    path : path-like
        The store folder (it holds ``sensors.sqlite``).
    create : bool
        Create the folder and tables when missing and open for writing;
        without it the store must exist and is opened read-only (safe while
        ``twin live`` writes to it).
    max_bytes : int, optional
        A quota: writes that would grow the database past it fail with a
        :class:`DataError`, as on a full disk.

    Raises
    ------
    DataError
        No store at ``path``, a folder that cannot be written, a full disk.

    Examples
    --------
    >>> store = open_store("live/ezhou")          # doctest: +SKIP
    >>> store.latest()                             # doctest: +SKIP
    """
    return SensorStore(path, create=create, max_bytes=max_bytes)


class SensorStore:
    """Readings, quarantine and events of a live city; see :func:`open_store`.

    Examples
    --------
    >>> store = SensorStore("live/ezhou", create=True)   # doctest: +SKIP
    >>> with store.transaction():                        # doctest: +SKIP
    ...     new = store.add_readings(frame)
    >>> store.readings.tail()                            # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, *, create: bool = False,
                 max_bytes: int | None = None) -> None:
        self.path = Path(path)
        self.file = self.path / STORE_FILE
        self.writable = create
        self._con = self._connect_writer(max_bytes) if create else self._connect_reader()

    # -- opening -------------------------------------------------------------------

    def _connect_reader(self) -> sqlite3.Connection:
        if not self.file.exists():
            raise DataError("no sensor store here", file=self.path,
                            fix="start `twin live CITY --store PATH` first, or check the path")
        try:
            con = sqlite3.connect(f"{self.file.resolve().as_uri()}?mode=ro", uri=True,
                                  check_same_thread=False)
            con.execute("PRAGMA query_only = 1")
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise DataError(f"cannot read the sensor store ({exc})", file=self.file,
                            fix="check that it is a sensor store written by `twin live`") from None
        return con

    def _connect_writer(self, max_bytes: int | None) -> sqlite3.Connection:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            _probe_writable(self.path)
            con = sqlite3.connect(self.file, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = FULL")
            con.execute("PRAGMA temp_store = MEMORY")
            con.executescript(_SCHEMA)
            con.execute("CREATE TEMP TABLE IF NOT EXISTS incoming (sensor_id TEXT, time INTEGER,"
                        " value REAL, PRIMARY KEY (sensor_id, time)) WITHOUT ROWID")
            if max_bytes is not None:
                page = con.execute("PRAGMA page_size").fetchone()[0]
                con.execute(f"PRAGMA max_page_count = {max(int(max_bytes) // page, 1)}")
        except (OSError, sqlite3.Error) as exc:
            raise DataError(f"cannot write the sensor store ({_reason(exc)})", file=self.path,
                            fix=_FIX_WRITE) from None
        return con

    def close(self) -> None:
        """Close the database connection."""
        self._con.close()

    def __enter__(self) -> "SensorStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator["SensorStore"]:
        """All writes inside are on disk together when the block ends, or none is.

        Raises
        ------
        DataError
            The disk is full, the folder became read-only, an I/O error.
        """
        self._require_writable()
        try:
            self._con.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise DataError(f"cannot write the sensor store ({_reason(exc)})", file=self.file,
                            fix=_FIX_WRITE) from None
        try:
            yield self
            self._con.execute("COMMIT")
        except BaseException as exc:
            if self._con.in_transaction:
                self._con.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise DataError(f"cannot write the sensor store ({_reason(exc)}); nothing of "
                                "this batch was stored", file=self.file, fix=_FIX_WRITE) from None
            raise

    def add_readings(self, readings: pd.DataFrame) -> pd.DataFrame:
        """Store readings not stored before; returns those (duplicates by sensor and time
        dropped), with a ``received`` column (commit time, int64 ns).

        Parameters
        ----------
        readings : pandas.DataFrame
            ``sensor_id``, ``time`` (int64 ns since the epoch, UTC, or zone-aware
            datetimes), ``value``. Call inside :meth:`transaction`.
        """
        frame = _as_ns(readings)
        con = self._con
        con.execute("DELETE FROM incoming")
        con.executemany("INSERT OR IGNORE INTO incoming VALUES (?, ?, ?)",
                        zip(frame["sensor_id"].tolist(), frame["time"].tolist(),
                            frame["value"].tolist()))
        rows = con.execute("SELECT sensor_id, time, value FROM incoming AS i WHERE NOT EXISTS "
                           "(SELECT 1 FROM readings AS r WHERE r.sensor_id = i.sensor_id "
                           "AND r.time = i.time)").fetchall()
        received = _time.time_ns()
        con.execute("INSERT OR IGNORE INTO readings SELECT sensor_id, time, value, ? FROM incoming",
                    (received,))
        return _readings_frame(rows).assign(received=np.int64(received))

    def set_meta(self, key: str, value: str) -> None:
        """Keep a small setting with the data (inside :meth:`transaction`)."""
        self._con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))

    def meta(self, key: str, default: str | None = None) -> str | None:
        """A setting kept by :meth:`set_meta`."""
        row = self._con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    def add_quarantine(self, rows: Sequence[tuple[int, str, bytes, str]]) -> None:
        """Store rejected messages: ``(received_ns, topic, payload, reason)`` each."""
        if rows:
            self._con.executemany("INSERT INTO quarantine (received, topic, payload, reason) "
                                  "VALUES (?, ?, ?, ?)", rows)

    def add_events(self, events: pd.DataFrame) -> None:
        """Append events (:data:`twin.alerts.EVENT_COLUMNS`)."""
        if events is None or len(events) == 0:
            return
        t = pd.to_datetime(events["time"], utc=True).astype("datetime64[ns, UTC]")
        engine = events["engine"] if "engine" in events else pd.Series("sensors", events.index)
        self._con.executemany(
            'INSERT INTO events (time, kind, severity, "where", x, y, message, engine) '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            zip(t.astype("int64").tolist(), *(events[c].astype(str).tolist()
                                             for c in ("kind", "severity", "where")),
                events["x"].astype(float).tolist(), events["y"].astype(float).tolist(),
                events["message"].astype(str).tolist(), engine.astype(str).tolist()))

    def _require_writable(self) -> None:
        if not self.writable:
            raise DataError("the sensor store is open read-only", file=self.path,
                            fix="open it with open_store(path, create=True) to write")

    # -- reading ---------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of readings stored."""
        return int(self._con.execute("SELECT count(*) FROM readings").fetchone()[0])

    @property
    def readings(self) -> pd.DataFrame:
        """All readings: ``sensor_id, time (datetime64[ns, UTC]), value``, sorted by sensor and time."""
        return self._query_readings("SELECT sensor_id, time, value FROM readings "
                                    "ORDER BY sensor_id, time", ())

    def between(self, start, end) -> pd.DataFrame:
        """Readings with ``start <= time <= end`` (zone-aware), sorted by sensor and time.

        Examples
        --------
        >>> store.between("2024-07-04T08:00+08:00", "2024-07-04T09:00+08:00")  # doctest: +SKIP
        """
        lo, hi = _ns(start, "start"), _ns(end, "end")
        return self._query_readings("SELECT sensor_id, time, value FROM readings WHERE time "
                                    "BETWEEN ? AND ? ORDER BY sensor_id, time", (lo, hi))

    def latest(self) -> pd.DataFrame:
        """The latest reading of every sensor: ``sensor_id, time, value``."""
        return self._query_readings("SELECT sensor_id, max(time), value FROM readings "
                                    "GROUP BY sensor_id ORDER BY sensor_id", ())

    def recent(self, per_sensor: int, *, received_until: int | None = None) -> pd.DataFrame:
        """The last ``per_sensor`` readings of every sensor (to resume alerts after a restart),
        among those committed at or before ``received_until`` (ns) when given."""
        until = np.iinfo(np.int64).max if received_until is None else int(received_until)
        return self._query_readings(
            "SELECT sensor_id, time, value FROM (SELECT sensor_id, time, value, row_number() "
            "OVER (PARTITION BY sensor_id ORDER BY time DESC) AS n FROM readings "
            "WHERE received <= ?) WHERE n <= ? ORDER BY sensor_id, time", (until, int(per_sensor)))

    def received_after(self, received: int) -> pd.DataFrame:
        """Readings committed after ``received`` (ns), with their ``received`` column."""
        rows = self._con.execute("SELECT sensor_id, time, value, received FROM readings WHERE "
                                 "received > ? ORDER BY received", (int(received),)).fetchall()
        frame = _readings_frame([r[:3] for r in rows])
        frame["received"] = np.array([r[3] for r in rows], dtype=np.int64)
        return frame

    def received(self) -> pd.DataFrame:
        """``sensor_id, time, received``: when each reading was committed (for latency figures)."""
        rows = self._con.execute("SELECT sensor_id, time, received FROM readings").fetchall()
        frame = _readings_frame([(s, t, 0.0) for s, t, _ in rows])
        frame["received"] = pd.to_datetime(np.array([r for *_, r in rows], dtype=np.int64),
                                           utc=True)
        return frame.drop(columns="value")

    @property
    def quarantine(self) -> pd.DataFrame:
        """Rejected messages: ``received (UTC), topic, payload (text), reason``."""
        rows = self._con.execute("SELECT received, topic, payload, reason FROM quarantine "
                                 "ORDER BY id").fetchall()
        return pd.DataFrame({
            "received": pd.to_datetime(np.array([r[0] for r in rows], dtype=np.int64), utc=True),
            "topic": pd.Series([r[1] for r in rows], dtype=str),
            "payload": pd.Series([bytes(r[2]).decode("utf-8", "backslashreplace") for r in rows],
                                 dtype=str),
            "reason": pd.Series([r[3] for r in rows], dtype=str)})

    @property
    def events(self) -> pd.DataFrame:
        """Alerts raised while the feed ran, in the order raised (:data:`twin.alerts.EVENT_COLUMNS`)."""
        names = ["time", "kind", "severity", "where", "x", "y", "message", "engine"]
        rows = self._con.execute("SELECT " + ", ".join(f'"{c}"' for c in names) +
                                 " FROM events ORDER BY id").fetchall()
        columns = list(zip(*rows)) if rows else [()] * len(names)
        frame = pd.DataFrame({c: pd.Series(list(v), dtype=object) for c, v in zip(names, columns)})
        frame["time"] = pd.to_datetime(np.array(columns[0], dtype=np.int64), utc=True)
        for c in ("kind", "severity", "where", "message", "engine"):
            frame[c] = frame[c].astype(str)
        for c in ("x", "y"):
            frame[c] = frame[c].astype(float)
        return frame[EVENT_COLUMNS]

    def sensor_table(self, stations):
        """A :class:`geodata.SensorTable` of ``stations`` and the stored readings.

        Examples
        --------
        >>> store.sensor_table(city.sensors.stations).status("2024-07-04T09:00+08:00")  # doctest: +SKIP
        """
        from geodata.sensors import SensorTable
        return SensorTable(stations, self.readings)

    def _query_readings(self, sql: str, params: tuple) -> pd.DataFrame:
        try:
            rows = self._con.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise DataError(f"cannot read the sensor store ({exc})", file=self.file,
                            fix="check the store folder") from None
        return _readings_frame(rows)


def _readings_frame(rows: list) -> pd.DataFrame:
    if rows:
        sensor, t, value = zip(*rows)
    else:
        sensor, t, value = (), (), ()
    return pd.DataFrame({
        "sensor_id": pd.Series(list(sensor), dtype=str),
        "time": pd.to_datetime(np.asarray(t, dtype=np.int64), utc=True).astype("datetime64[ns, UTC]"),
        "value": np.asarray(value, dtype=float)})


def _as_ns(readings: pd.DataFrame) -> pd.DataFrame:
    t = readings["time"]
    if not pd.api.types.is_integer_dtype(t):
        t = pd.to_datetime(t, utc=True).astype("datetime64[ns, UTC]").astype("int64")
    return pd.DataFrame({"sensor_id": readings["sensor_id"].astype(str).to_numpy(object),
                         "time": np.asarray(t, dtype=np.int64),
                         "value": np.asarray(readings["value"], dtype=float)})


def _ns(moment, name: str) -> int:
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is None:
        raise DataError(f"{name} time {moment!r} has no zone",
                        fix="write it like 2024-07-04T09:00+08:00")
    return int(stamp.tz_convert("UTC").as_unit("ns").value)


def _probe_writable(folder: Path) -> None:
    probe = folder / f".write-test-{os.getpid()}"
    with open(probe, "wb") as f:
        f.write(b"x")
        f.flush()
        os.fsync(f.fileno())
    probe.unlink()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)

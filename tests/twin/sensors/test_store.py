"""The sensor store: once per sensor and time, all-or-nothing batches, readable while written."""
from __future__ import annotations

import pandas as pd
import pytest

from geodata.errors import DataError
from twin.sensors import open_store


def frame(rows):
    out = pd.DataFrame(rows, columns=["sensor_id", "time", "value"])
    out["time"] = pd.to_datetime(out["time"], utc=True)
    return out


ROWS = [("WL01", "2024-07-04T08:00+08:00", 18.0), ("WL01", "2024-07-04T08:05+08:00", 18.2),
        ("RG01", "2024-07-04T08:00+08:00", 3.5), ("RG01", "2024-07-04T08:10+08:00", 7.0)]


def test_readings_are_stored_once_with_the_city_dtypes(tmp_path, sample_city):
    store = open_store(tmp_path / "s", create=True)
    with store.transaction():
        first = store.add_readings(frame(ROWS[:3]))
    with store.transaction():   # a redelivery of two, one new, one repeated inside the batch
        second = store.add_readings(frame([ROWS[1], ROWS[2], ROWS[3], ROWS[3]]))
    assert len(first) == 3 and second[["sensor_id", "value"]].values.tolist() == [["RG01", 7.0]]
    got = open_store(tmp_path / "s").readings
    assert got.dtypes.to_dict() == sample_city.sensors.readings.dtypes.to_dict()
    assert got["sensor_id"].tolist() == ["RG01", "RG01", "WL01", "WL01"]
    assert got["value"].tolist() == [3.5, 7.0, 18.0, 18.2]
    assert got["time"].iloc[0] == pd.Timestamp("2024-07-04T00:00Z")


def test_latest_between_and_the_sensor_table(tmp_path, sample_city):
    store = open_store(tmp_path / "s", create=True)
    with store.transaction():
        store.add_readings(frame(ROWS))
    latest = store.latest().set_index("sensor_id")
    assert latest.loc["WL01", "value"] == 18.2 and latest.loc["RG01", "value"] == 7.0
    assert latest.loc["RG01", "time"] == pd.Timestamp("2024-07-04T00:10Z")
    window = store.between("2024-07-04T08:05+08:00", "2024-07-04T00:10Z")
    assert window["value"].tolist() == [7.0, 18.2]
    with pytest.raises(DataError, match="no zone"):
        store.between("2024-07-04T08:00", "2024-07-04T09:00")
    table = store.sensor_table(sample_city.sensors.stations)
    status = table.status("2024-07-04T08:30+08:00")
    assert status["WL01"] == "ok" and status["TC01"] == "no data"


def test_a_failed_batch_leaves_nothing(tmp_path):
    store = open_store(tmp_path / "s", create=True)
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.add_readings(frame(ROWS))
            store.add_quarantine([(1, "twin/sensors/X", b"x", "unknown sensor")])
            raise RuntimeError("crash inside the batch")
    reader = open_store(tmp_path / "s")
    assert len(reader.readings) == 0 and len(reader.quarantine) == 0


def test_a_reader_sees_committed_batches_only(tmp_path):
    writer = open_store(tmp_path / "s", create=True)
    reader = open_store(tmp_path / "s")
    with writer.transaction():
        writer.add_readings(frame(ROWS[:2]))
        assert len(reader.readings) == 0
    assert len(reader.readings) == 2
    with pytest.raises(DataError, match="read-only"):
        with reader.transaction():
            pass


def test_a_full_store_raises_and_keeps_the_last_good_batch(tmp_path):
    store = open_store(tmp_path / "s", create=True, max_bytes=48 * 1024)
    with store.transaction():
        store.add_readings(frame(ROWS))
    many = pd.DataFrame({"sensor_id": "WL01", "time": pd.date_range("2025-01-01", periods=20000,
                                                                     freq="s", tz="UTC"),
                         "value": 18.0})
    with pytest.raises(DataError, match="full.*nothing of this batch was stored"):
        with store.transaction():
            store.add_readings(many)
    assert len(open_store(tmp_path / "s").readings) == len(ROWS)


def test_quarantine_and_events_round_trip(tmp_path):
    store = open_store(tmp_path / "s", create=True)
    events = pd.DataFrame({"time": pd.to_datetime(["2024-07-04T00:05Z"]), "kind": ["sensor"],
                           "severity": ["alarm"], "where": ["WL05"], "x": [1.5], "y": [2.5],
                           "message": ["WL05 at 20.4 m"]})
    with store.transaction():
        store.add_quarantine([(pd.Timestamp("2024-07-04T00:00Z").value, "twin/sensors/X",
                               b"\xff not text", "not JSON")])
        store.add_events(events)
    q = store.quarantine
    assert q["payload"].tolist() == ["\\xff not text"] and q["reason"].tolist() == ["not JSON"]
    assert q["received"].iloc[0] == pd.Timestamp("2024-07-04T00:00Z")
    got = store.events
    assert got[["kind", "severity", "where", "message"]].values.tolist() == \
        [["sensor", "alarm", "WL05", "WL05 at 20.4 m"]]
    assert got["time"].iloc[0] == pd.Timestamp("2024-07-04T00:05Z") and got["x"].iloc[0] == 1.5


def test_missing_store_and_unwritable_place(tmp_path):
    with pytest.raises(DataError, match="no sensor store here"):
        open_store(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="cannot write the sensor store"):
        open_store(tmp_path / "file" / "store", create=True)

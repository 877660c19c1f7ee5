"""Tests for geodata.sensors: reading, checking and querying sensor tables."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from geodata.errors import DataError
from geodata.sensors import SENSOR_KINDS, SensorTable, read_sensors, write_sensors

X0, Y0 = 500_000.0, 3_360_000.0  # EPSG:4547 near Ezhou

STATIONS = """id,name,kind,unit,x,y,warning,alarm
g1,Yanglan gauge,water_level,m,500100,3360100,18.0,19.5
r1,Rain North,rain_gauge,mm/h,500200,3360300,20,50
t1,Bridge counter,traffic_counter,,500300,3360050,,
"""

READINGS = """sensor_id,time,value
g1,2024-07-01T08:00:00+08:00,17.2
g1,2024-07-01T09:00:00+08:00,18.4
g1,2024-07-01T10:00:00+08:00,19.6
r1,2024-07-01T00:30:00Z,12.0
r1,2024-07-01T01:30:00Z,62.5
t1,2024-07-01T01:00:00.5+0000,1480
"""


def files(tmp_path, stations=STATIONS, readings=READINGS, ext="csv"):
    s = tmp_path / "stations.csv"
    s.write_text(stations)
    r = tmp_path / f"readings.{ext}"
    if ext == "csv":
        r.write_text(readings)
    return s, r


@pytest.fixture
def table(tmp_path):
    s, r = files(tmp_path)
    return read_sensors(s, r, crs=4547, stations_crs=4547)


# -- reading -------------------------------------------------------------------

def test_read_csv(table):
    st = table.stations
    assert st.columns.tolist()[:6] == ["id", "name", "kind", "unit", "warning", "alarm"]
    assert st["id"].tolist() == ["g1", "r1", "t1"]
    assert st["unit"].tolist() == ["m", "mm/h", "veh/h"]  # blank unit filled from the kind
    assert st.crs.to_epsg() == 4547
    assert (st.geometry.x.tolist(), st.geometry.y.tolist()) == (
        [500100.0, 500200.0, 500300.0], [3360100.0, 3360300.0, 3360050.0])
    assert np.isnan(st["alarm"].iloc[2])
    rd = table.readings
    assert str(rd["time"].dtype) == "datetime64[ns, UTC]"
    assert len(rd) == 6


def test_times_normalised_to_utc(table):
    g1 = table.series("g1")
    assert g1.index[0] == pd.Timestamp("2024-07-01T00:00:00Z")  # 08:00 +08:00
    assert g1.tolist() == [17.2, 18.4, 19.6]
    assert table.series("t1").index[0] == pd.Timestamp("2024-07-01T01:00:00.5Z")
    assert table.time_span == (pd.Timestamp("2024-07-01T00:00Z"), pd.Timestamp("2024-07-01T02:00Z"))


def test_stations_lon_lat_reprojected(tmp_path):
    s, r = files(tmp_path, stations="id,kind,lon,lat\ng1,water_level,114.89,30.39\n",
                 readings="sensor_id,time,value\ng1,2024-07-01T00:00Z,1.0\n")
    table = read_sensors(s, r, crs=4547)
    x, y = Transformer.from_crs(4326, 4547, always_xy=True).transform(114.89, 30.39)
    point = table.stations.geometry.iloc[0]
    assert (point.x, point.y) == pytest.approx((x, y), abs=1e-3)
    assert table.stations["name"].tolist() == ["g1"]


def test_stations_from_a_vector_layer(tmp_path):
    path = tmp_path / "stations.geojson"
    gpd.GeoDataFrame({"id": ["c1"], "kind": ["Crowd_Counter"], "alarm": [4.0]},
                     geometry=[shapely.Point(114.89, 30.39)], crs=4326).to_file(path)
    r = tmp_path / "readings.csv"
    r.write_text("sensor_id,time,value\nc1,2024-07-01T12:00+08:00,5\n")
    table = read_sensors(path, r, crs=4547)
    assert table.stations["kind"].tolist() == ["crowd_counter"]
    assert table.stations["unit"].tolist() == ["persons"]
    assert table.stations.geometry.x.iloc[0] == pytest.approx(
        Transformer.from_crs(4326, 4547, always_xy=True).transform(114.89, 30.39)[0], abs=1e-3)
    assert table.status("2024-07-01T05:00Z").tolist() == ["alarm"]


def test_parquet_readings_with_zone(tmp_path):
    s, r = files(tmp_path, ext="parquet")
    pd.DataFrame({"sensor_id": ["g1", "g1"],
                  "time": pd.to_datetime(["2024-07-01T08:00", "2024-07-01T09:00"])
                  .tz_localize("Asia/Shanghai"),
                  "value": [1.0, 2.0]}).to_parquet(r)
    table = read_sensors(s, r, crs=4547, stations_crs=4547)
    assert table.series("g1").index[0] == pd.Timestamp("2024-07-01T00:00Z")


def test_parquet_naive_times(tmp_path):
    s, r = files(tmp_path, ext="parquet")
    pd.DataFrame({"sensor_id": ["g1"], "time": pd.to_datetime(["2024-07-01T08:00"]),
                  "value": [1.0]}).to_parquet(r)
    with pytest.raises(DataError, match="readings.parquet: feature row 0 \\(g1\\): times have no zone"):
        read_sensors(s, r, crs=4547, stations_crs=4547)


# -- bad input -----------------------------------------------------------------

def test_unknown_kind(tmp_path):
    s, r = files(tmp_path, stations=STATIONS.replace("rain_gauge", "thermometer"))
    with pytest.raises(DataError, match="stations.csv: feature line 3 \\(r1\\): unknown sensor "
                                        "kind 'thermometer'. Fix: use one of rain_gauge"):
        read_sensors(s, r, crs=4547, stations_crs=4547)


def test_wrong_unit(tmp_path):
    s, r = files(tmp_path, stations=STATIONS.replace("water_level,m,", "water_level,cm,"))
    with pytest.raises(DataError, match="line 2 \\(g1\\): unit 'cm' for a water_level sensor, "
                                        "expected 'm'"):
        read_sensors(s, r, crs=4547, stations_crs=4547)


def test_duplicate_station_ids(tmp_path):
    s, r = files(tmp_path, stations=STATIONS.replace("r1,", "g1,", 1))
    with pytest.raises(DataError, match="duplicate station ids: g1"):
        read_sensors(s, r, crs=4547, stations_crs=4547)


def test_thresholds_in_wrong_order(tmp_path):
    s, r = files(tmp_path, stations=STATIONS.replace("18.0,19.5", "20.0,19.5"))
    with pytest.raises(DataError, match="line 2 \\(g1\\): warning threshold is above the alarm"):
        read_sensors(s, r, crs=4547, stations_crs=4547)


def test_text_threshold(tmp_path):
    s, r = files(tmp_path, stations=STATIONS.replace("20,50", "20,high"))
    with pytest.raises(DataError, match="line 3 \\(r1\\): alarm is not a number \\('high'\\)"):
        read_sensors(s, r, crs=4547, stations_crs=4547)


def test_xy_without_crs(tmp_path):
    s, r = files(tmp_path)
    with pytest.raises(DataError, match="stations have x, y but no CRS was given"):
        read_sensors(s, r, crs=4547)


def test_station_without_coordinates(tmp_path):
    s, r = files(tmp_path, stations="id,kind,x,y\ng1,water_level,,3360000\n",
                 readings="sensor_id,time,value\n")
    with pytest.raises(DataError, match="line 2 \\(g1\\): stations without x, y"):
        read_sensors(s, r, crs=4547, stations_crs=4547)


def test_missing_station_columns(tmp_path):
    s, r = files(tmp_path, stations="id,kind,east,north\ng1,water_level,1,2\n")
    with pytest.raises(DataError, match="stations need x, y or lon, lat columns"):
        read_sensors(s, r, crs=4547, stations_crs=4547)
    s.write_text("id,x,y\ng1,585000,3363000\n")
    with pytest.raises(DataError, match="missing columns kind"):
        read_sensors(s, r, crs=4547, stations_crs=4547)


def test_missing_reading_columns(tmp_path):
    s, r = files(tmp_path, readings="sensor,time,value\ng1,2024-07-01T00:00Z,1\n")
    with pytest.raises(DataError, match="readings.csv: missing columns sensor_id \\(found: "
                                        "sensor, time, value\\)"):
        read_sensors(s, r, crs=4547, stations_crs=4547)


def test_unknown_sensor_in_readings(tmp_path):
    s, r = files(tmp_path, readings=READINGS + "zz9,2024-07-01T00:00Z,1\n")
    with pytest.raises(DataError, match="feature line 8 \\(zz9\\): readings of unknown sensors "
                                        "zz9. Fix: add these stations"):
        read_sensors(s, r, crs=4547, stations_crs=4547)


@pytest.mark.parametrize("value", ["high", "", "1,5"])
def test_non_numeric_value(tmp_path, value):
    s, r = files(tmp_path, readings=READINGS + f'r1,2024-07-01T03:00Z,"{value}"\n')
    with pytest.raises(DataError, match="line 8 \\(r1\\): value is not a number"):
        read_sensors(s, r, crs=4547, stations_crs=4547)


@pytest.mark.parametrize("time", ["2024-07-01T03:00:00", "2024-07-01 03:00", "2024-07-01"])
def test_naive_times(tmp_path, time):
    s, r = files(tmp_path, readings=READINGS + f"r1,{time},1\n")
    with pytest.raises(DataError, match=f"line 8 \\(r1\\): time '{time}' has no zone"):
        read_sensors(s, r, crs=4547, stations_crs=4547)


def test_unparseable_time(tmp_path):
    s, r = files(tmp_path, readings=READINGS + "r1,2024-13-45T03:00Z,1\n")
    with pytest.raises(DataError, match="line 8 \\(r1\\): time '2024-13-45T03:00Z' is not"):
        read_sensors(s, r, crs=4547, stations_crs=4547)


def test_duplicate_readings_same_instant_other_zone(tmp_path):
    # 08:30+08:00 is the same instant as 00:30Z, already in the file for r1
    s, r = files(tmp_path, readings=READINGS + "r1,2024-07-01T08:30+08:00,3\n")
    with pytest.raises(DataError, match="line 5 \\(r1\\), line 8 \\(r1\\): duplicate readings"):
        read_sensors(s, r, crs=4547, stations_crs=4547)


def test_missing_and_unknown_files(tmp_path):
    s, r = files(tmp_path)
    with pytest.raises(DataError, match="nope.csv: file not found"):
        read_sensors(s, tmp_path / "nope.csv", crs=4547, stations_crs=4547)
    xlsx = tmp_path / "readings.xlsx"
    xlsx.write_bytes(b"PK")
    with pytest.raises(DataError, match="unknown readings format '.xlsx'"):
        read_sensors(s, xlsx, crs=4547, stations_crs=4547)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty.csv: cannot be read"):
        read_sensors(s, empty, crs=4547, stations_crs=4547)


# -- queries ---------------------------------------------------------------------

def test_status_by_thresholds(table):
    # before any reading
    assert table.status("2024-06-30T23:00Z").tolist() == ["no data"] * 3
    # 00:45Z: g1 17.2 (< 18 warning), r1 12 (< 20), t1 no reading yet
    assert table.status("2024-07-01T00:45Z").tolist() == ["ok", "ok", "no data"]
    # 09:00+08:00 = 01:00Z: g1 18.4 >= warning; exactly on the reading time counts
    assert table.status("2024-07-01T09:00+08:00")["g1"] == "warning"
    # 02:00Z: g1 19.6 >= 19.5 alarm, r1 62.5 >= 50 alarm, t1 has no thresholds
    assert table.status("2024-07-01T02:00Z").to_dict() == {"g1": "alarm", "r1": "alarm", "t1": "ok"}


def test_threshold_is_inclusive(table):
    stations = table.stations.copy()
    stations.loc[stations["id"] == "g1", "alarm"] = 19.6
    assert SensorTable(stations, table.readings).status("2024-07-01T02:00Z")["g1"] == "alarm"


def test_at_gives_latest_reading(table):
    at = table.at("2024-07-01T01:59Z")
    assert at.loc["g1", "value"] == 18.4
    assert at.loc["g1", "time"] == pd.Timestamp("2024-07-01T01:00Z")
    assert at.loc["r1", "value"] == 62.5
    assert at.columns.tolist() == ["kind", "unit", "time", "value", "status"]


def test_max_age_makes_stale_readings_no_data(table):
    status = table.status("2024-07-01T03:00Z", max_age="90min")
    assert status.to_dict() == {"g1": "alarm", "r1": "alarm", "t1": "no data"}


def test_naive_query_time_is_rejected(table):
    with pytest.raises(ValueError, match="has no zone"):
        table.status("2024-07-01T02:00")


def test_of_kind_and_series(table):
    rain = table.of_kind("rain_gauge")
    assert rain.stations["id"].tolist() == ["r1"]
    assert set(rain.readings["sensor_id"]) == {"r1"}
    assert table.of_kind("camera").time_span[0] is pd.NaT
    with pytest.raises(ValueError, match="unknown sensor kind"):
        table.of_kind("radar")
    with pytest.raises(KeyError, match="no sensor 'x'"):
        table.series("x")


def test_to_crs(table):
    geo = table.to_crs(4326)
    lon, lat = Transformer.from_crs(4547, 4326, always_xy=True).transform(500100.0, 3360100.0)
    assert (geo.stations.geometry.x.iloc[0], geo.stations.geometry.y.iloc[0]) == \
        pytest.approx((lon, lat), abs=1e-9)
    assert len(geo.readings) == len(table.readings)


def test_write_and_read_back(table, tmp_path):
    s, r = write_sensors(table, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["readings.csv", "stations.csv"]
    back = read_sensors(s, r, crs=4547, stations_crs=4547)
    pd.testing.assert_frame_equal(back.readings, table.readings)
    assert back.stations.drop(columns="geometry").equals(table.stations.drop(columns="geometry"))
    assert back.stations.geometry.geom_equals(table.stations.geometry).all()


def test_units_table():
    assert SENSOR_KINDS["rain_gauge"] == "mm/h" and SENSOR_KINDS["water_level"] == "m"
    assert SENSOR_KINDS["traffic_counter"] == "veh/h" and SENSOR_KINDS["crowd_counter"] == "persons"


# -- large files: chunks and the memory guard ------------------------------------------

def _many_readings(path, n: int, sensor: str = "g1") -> None:
    times = pd.date_range("2024-07-01", periods=n, freq="s", tz="UTC")
    pd.DataFrame({"sensor_id": sensor, "time": times.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "value": np.arange(n) * 0.5}).to_csv(path, index=False)


def test_readings_read_in_chunks_match_one_read_and_name_global_lines(tmp_path):
    from geodata.sensors import _read_readings
    path = tmp_path / "readings.csv"
    _many_readings(path, 2500)
    whole = _read_readings(path, {"g1"}, chunk_rows=10_000)
    pieces = _read_readings(path, {"g1"}, chunk_rows=300)
    pd.testing.assert_frame_equal(whole, pieces)
    assert len(whole) == 2500 and whole["value"].iloc[-1] == 2499 * 0.5
    # a bad value in the ninth chunk is named by its line in the file, not in the chunk
    lines = path.read_text().splitlines()
    lines[2400] = lines[2400].rsplit(",", 1)[0] + ",oops"          # file line 2401
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 2401 \(g1\)"):
        _read_readings(path, {"g1"}, chunk_rows=300)
    # duplicates in different chunks are found
    lines[2400] = lines[10]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="duplicate readings") as err:
        _read_readings(path, {"g1"}, chunk_rows=300)
    assert "line 11 (g1), line 2401 (g1)" in str(err.value)


def test_readings_too_large_for_memory_are_refused_before_reading(tmp_path):
    from geodata.sensors import _read_readings
    path = tmp_path / "readings.csv"
    _many_readings(path, 20_000)
    with pytest.raises(DataError) as err:
        _read_readings(path, {"g1"}, available=1e6)
    msg = str(err.value)
    import re
    estimate = int(re.search(r"about ([\d,]+) readings", msg)[1].replace(",", ""))
    assert abs(estimate - 20_000) < 0.1 * 20_000          # from the size of the first lines
    assert "readings.csv" in msg and "would take about 2." in msg and "MiB" in msg
    assert "split the readings into shorter periods" in msg and "\n" not in msg
    parquet = tmp_path / "readings.parquet"
    pd.read_csv(path).to_parquet(parquet)
    with pytest.raises(DataError, match="about 20,000 readings would take"):
        _read_readings(parquet, {"g1"}, available=1e6)
    assert len(_read_readings(parquet, {"g1"}, chunk_rows=7000)) == 20_000

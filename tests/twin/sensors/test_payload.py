"""Decoding sensor messages: good readings kept, every kind of bad one quarantined with its reason."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from twin.sensors.payload import PLAUSIBLE_RANGES, Message, decode_messages

KINDS = {"RG01": "rain_gauge", "WL01": "water_level", "TC01": "traffic_counter",
         "CC01": "crowd_counter"}


def msg(sensor: str, body, received: int = 7) -> Message:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Message(f"twin/sensors/{sensor}", data, mid=1, qos=1, received=received)


def decode(*messages):
    return decode_messages(messages, KINDS, now_ns=pd.Timestamp("2026-01-01T00:00Z").value)


def test_one_reading_and_a_list_in_utc_nanoseconds():
    out = decode(msg("WL01", {"time": "2024-07-04T08:00:00+08:00", "value": 18.25}),
                 msg("RG01", [{"time": "2024-07-04T00:05:00Z", "value": 3},
                              {"time": "2024-07-04T00:10:00.5+00:00", "value": 4.5}]))
    assert out.quarantine == []
    assert out.readings["sensor_id"].tolist() == ["WL01", "RG01", "RG01"]
    expected = pd.to_datetime(["2024-07-04T00:00:00Z", "2024-07-04T00:05:00Z",
                               "2024-07-04T00:10:00.5Z"], format="ISO8601").as_unit("ns").asi8
    assert out.readings["time"].tolist() == expected.tolist()
    assert out.readings["value"].tolist() == [18.25, 3.0, 4.5]


@pytest.mark.parametrize("sensor, body, reason", [
    ("RG01", b"{not json", "not JSON"),
    ("RG01", b"\xff\xfe", "not JSON"),
    ("XX99", {"time": "2024-07-04T08:00+08:00", "value": 1}, "unknown sensor 'XX99'"),
    ("RG01", {"time": "2024-07-04T08:00+08:00", "value": "12"}, "value is not a number"),
    ("RG01", {"time": "2024-07-04T08:00+08:00", "value": True}, "value is not a number"),
    ("RG01", {"time": "2024-07-04T08:00+08:00", "value": None}, "value is not a number"),
    ("RG01", b'{"time": "2024-07-04T08:00+08:00", "value": NaN}', "not finite"),
    ("RG01", {"time": "2024-07-04T08:00:00", "value": 1}, "has no zone"),
    ("RG01", {"time": "yesterday", "value": 1}, "not ISO 8601"),
    ("RG01", {"time": 1720051200, "value": 1}, "not an ISO 8601 string"),
    ("RG01", {"time": "2030-01-01T00:00Z", "value": 1}, "in the future"),
    ("RG01", {"value": 1}, "missing 'time'"),
    ("RG01", [], "empty list"),
    ("RG01", "12.5", "must be an object"),
    ("RG01", {"time": "2024-07-04T08:00+08:00", "value": -1}, "plausible range 0..500 of a rain_gauge"),
    ("WL01", {"time": "2024-07-04T08:00+08:00", "value": 250}, "plausible range -50..200"),
    ("TC01", {"time": "2024-07-04T08:00+08:00", "value": 20001}, "plausible range 0..20000"),
    ("CC01", {"time": "2024-07-04T08:00+08:00", "value": 2e6}, "plausible range"),
])
def test_bad_message_is_quarantined_with_its_reason(sensor, body, reason):
    m = msg(sensor, body)
    out = decode(m)
    assert len(out.readings) == 0
    assert len(out.quarantine) == 1
    received, topic, payload, why = out.quarantine[0]
    assert (received, topic, payload) == (7, m.topic, m.payload)
    assert reason in why


def test_a_list_keeps_its_good_readings_and_names_the_bad_item():
    out = decode(msg("WL01", [{"time": "2024-07-04T08:00+08:00", "value": 18.0},
                              {"time": "2024-07-04T08:05+08:00", "value": 999},
                              {"time": "2024-07-04T08:10+08:00", "value": 18.1}]))
    assert out.readings["value"].tolist() == [18.0, 18.1]
    (_, _, payload, why), = out.quarantine
    assert why.startswith("item 1: value 999 is outside")
    assert json.loads(payload) == {"time": "2024-07-04T08:05+08:00", "value": 999}


def test_every_sensor_kind_has_a_plausible_range():
    from geodata.sensors import SENSOR_KINDS
    assert set(SENSOR_KINDS) <= set(PLAUSIBLE_RANGES)
    assert all(low < high for low, high in PLAUSIBLE_RANGES.values())

"""Sensor messages: turning MQTT payloads into readings, or into quarantine rows with a reason.

A message on ``twin/sensors/<sensor_id>`` carries one reading
``{"time": "<ISO 8601 with zone>", "value": <number>}`` or a list of them.
A message is checked item by item: the good readings of a list are kept,
each bad one is quarantined with its reason. Nothing here raises: a bad
message never stops the feed.
"""
from __future__ import annotations

import json
import math
import time as _time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable

import numpy as np
import pandas as pd

__all__ = ["PLAUSIBLE_RANGES", "Message", "Decoded", "decode_messages"]

#: Plausible reading range per sensor kind, in the kind's unit
#: (:data:`geodata.sensors.SENSOR_KINDS`); a value outside is quarantined.
PLAUSIBLE_RANGES: dict[str, tuple[float, float]] = {
    "rain_gauge": (0.0, 500.0),            # mm/h; the world's 1-minute record is ~ 2000 mm/h
    "weather_station": (0.0, 500.0),       # mm/h
    "water_level": (-50.0, 200.0),         # m above datum
    "flow_gauge": (-1.0e5, 1.0e5),         # m3/s; the Yangtze peaks near 8e4 m3/s, tides reverse flow
    "traffic_counter": (0.0, 20000.0),     # veh/h across a counter's lanes
    "crowd_counter": (0.0, 1.0e6),         # persons
    "camera": (0.0, 1.0e6),                # persons
}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_FUTURE = timedelta(days=1)


@dataclass(frozen=True)
class Message:
    """One MQTT message as received: ``topic``, ``payload`` bytes, broker ``mid``, ``qos``, ``received`` ns."""

    topic: str
    payload: bytes
    mid: int = 0
    qos: int = 1
    received: int = 0


@dataclass
class Decoded:
    """Readings (``sensor_id``, ``time`` int64 ns UTC, ``value``) and quarantine rows
    ``(received_ns, topic, payload, reason)``."""

    readings: pd.DataFrame
    quarantine: list[tuple[int, str, bytes, str]]


def decode_messages(messages: Iterable[Message], kinds: dict[str, str], *,
                    prefix: str = "twin/sensors/", now_ns: int | None = None) -> Decoded:
    """Check and decode a batch of messages.

    Parameters
    ----------
    messages : iterable of Message
    kinds : dict
        Sensor id -> kind (``rain_gauge``, ``water_level``, ...) of the city's stations.
    prefix : str
        Topic before the sensor id.
    now_ns : int, optional
        Clock for the "time in the future" check (default: now).

    Examples
    --------
    >>> out = decode_messages([Message("twin/sensors/g1", b'{"time": "2024-07-04T08:00+08:00",'
    ...                                b' "value": 18.2}')], {"g1": "water_level"})
    >>> out.readings["value"].tolist(), out.quarantine
    ([18.2], [])
    """
    limit = datetime.fromtimestamp((now_ns or _time.time_ns()) / 1e9, timezone.utc) + _FUTURE
    sensors, times, values, bad = [], [], [], []
    for m in messages:
        sensor = m.topic[len(prefix):] if m.topic.startswith(prefix) else ""
        items, problem = _items(m, sensor, kinds)
        if problem:
            bad.append((m.received, m.topic, m.payload, problem))
            continue
        low, high = PLAUSIBLE_RANGES.get(kinds[sensor], (-math.inf, math.inf))
        for i, item in enumerate(items):
            ns, problem = _reading(item, low, high, kinds[sensor], limit)
            if problem:
                where = f"item {i}: " if len(items) > 1 else ""
                raw = json.dumps(item).encode() if len(items) > 1 else m.payload
                bad.append((m.received, m.topic, raw, where + problem))
            else:
                sensors.append(sensor)
                times.append(ns)
                values.append(float(item["value"]))
    readings = pd.DataFrame({"sensor_id": pd.Series(sensors, dtype=str),
                             "time": np.asarray(times, dtype=np.int64),
                             "value": np.asarray(values, dtype=float)})
    return Decoded(readings, bad)


def _items(m: Message, sensor: str, kinds: dict[str, str]) -> tuple[list, str]:
    if sensor not in kinds:
        return [], f"unknown sensor '{sensor}' (topic {m.topic})"
    try:
        body = json.loads(m.payload)
    except (ValueError, UnicodeDecodeError) as exc:
        return [], f"not JSON ({exc})"
    items = body if isinstance(body, list) else [body]
    if not items:
        return [], "empty list"
    return items, ""


def _reading(item, low: float, high: float, kind: str, limit: datetime) -> tuple[int, str]:
    if not isinstance(item, dict):
        return 0, f"a reading must be an object with time and value, not {type(item).__name__}"
    for key in ("time", "value"):
        if key not in item:
            return 0, f"missing '{key}'"
    value = item["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0, f"value is not a number ({value!r})"
    if not math.isfinite(value):
        return 0, f"value is not finite ({value!r})"
    if not low <= value <= high:
        return 0, f"value {value:g} is outside the plausible range {low:g}..{high:g} of a {kind}"
    text = item["time"]
    if not isinstance(text, str):
        return 0, f"time is not an ISO 8601 string ({text!r})"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return 0, f"time '{text}' is not ISO 8601"
    if moment.tzinfo is None or moment.utcoffset() is None:
        return 0, f"time '{text}' has no zone (add Z or +08:00)"
    if moment > limit:
        return 0, f"time '{text}' is more than a day in the future"
    return (moment - _EPOCH) // _MICROSECOND * 1000, ""

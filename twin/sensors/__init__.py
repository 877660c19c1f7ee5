"""Live sensors: the MQTT feed, the sensor store and live alerts.

Examples
--------
>>> from twin.sensors import LiveFeed, open_store
>>> feed = LiveFeed(city, "live/ezhou", "127.0.0.1:1883").start()   # doctest: +SKIP
>>> open_store("live/ezhou").latest()                                 # doctest: +SKIP
>>> feed.stop()                                                       # doctest: +SKIP
"""
from __future__ import annotations

from twin.sensors.feed import FeedStats, LiveFeed, parse_broker, run_live
from twin.sensors.payload import PLAUSIBLE_RANGES, Message, decode_messages
from twin.sensors.store import SensorStore, open_store
from twin.sensors.watch import Watch

__all__ = ["LiveFeed", "FeedStats", "parse_broker", "run_live", "SensorStore", "open_store", "Watch",
           "PLAUSIBLE_RANGES", "Message", "decode_messages"]

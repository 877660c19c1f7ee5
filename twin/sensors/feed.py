"""The live feed: sensor readings from an MQTT broker into the sensor store, exactly once.

:class:`LiveFeed` subscribes to ``twin/sensors/+`` at QoS 1 in a persistent
MQTT 5 session (a fixed client id, ``clean_start`` off, a session expiry), so
the broker keeps every reading not yet acknowledged while the feed is away.
Messages are gathered into batches (``batch_size`` messages or
``batch_seconds``, whichever comes first, or as soon as the broker pauses),
checked (:mod:`twin.sensors.payload`), written in one store transaction with
their quarantine rows, and only then acknowledged (PUBACK). A crash before the
commit loses nothing: the broker redelivers; a crash between commit and PUBACK
redelivers readings already stored, which the store's ``(sensor_id, time)`` key
drops.

Alerts (:class:`twin.sensors.watch.Watch`) run on the readings stored since
their last run, every ``watch_seconds``, off the acknowledgement path; their
events are stored with a watermark (the commit time of the last reading
watched) in one transaction, so after a crash the readings not yet watched are
watched on restart: every event is raised once.

When the broker goes away the feed reconnects with a doubling back-off
(0.5 s to 30 s) and carries on. A store that cannot be written (read-only
folder, full disk) stops the feed with a :class:`DataError`: nothing of the
failed batch is acknowledged.

For a broker to ride out an outage of the feed, give it persistence and a
queue long enough (mosquitto: ``persistence true``, ``max_queued_messages``
above the readings expected during the outage; the default is 1000).
"""
from __future__ import annotations

import logging
import select
import signal
import sys
import threading
import time as _time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from geodata.errors import DataError
from twin.sensors.payload import Message, decode_messages
from twin.sensors.store import SensorStore
from twin.sensors.watch import Watch

__all__ = ["LiveFeed", "FeedStats", "parse_broker", "run_live"]

log = logging.getLogger("twin.live")
_WATERMARK = "watched_until_received_ns"
_FATAL_REFUSALS = ("Bad user name or password", "Not authorized", "Client identifier not valid",
                   "Banned", "Bad authentication method")


@dataclass
class FeedStats:
    """Counters since the feed started."""

    messages: int = 0        #: messages received (redeliveries included)
    stored: int = 0          #: readings newly stored
    duplicates: int = 0      #: readings dropped as already stored
    quarantined: int = 0     #: quarantine rows written
    events: int = 0          #: alerts raised
    batches: int = 0         #: store transactions
    connects: int = 0        #: successful connections (1 + reconnects)
    started: float = field(default_factory=_time.time)


def parse_broker(text: str) -> tuple[str, int]:
    """``"HOST:PORT"`` (or ``"HOST"``, port 1883) -> ``(host, port)``.

    Examples
    --------
    >>> parse_broker("127.0.0.1:1884")
    ('127.0.0.1', 1884)
    """
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "1883")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise DataError(f"broker '{text}' is not HOST:PORT", fix="e.g. --broker 127.0.0.1:1883")
    return host, int(port)


class LiveFeed:
    """Sensor readings from MQTT into a sensor store.

    Parameters
    ----------
    sensors : twin.City or geodata.SensorTable
        The city (or its sensor table): which sensor ids exist, their kind,
        thresholds and position.
    store : path-like
        Store folder (created when missing); read it with :func:`twin.sensors.open_store`.
    broker : str
        ``HOST:PORT``.
    client_id : str
        Fixed MQTT client id: the broker keeps the session under it.
    username, password : str, optional
    tls_ca : path-like, optional
        CA certificate file: connect with TLS (``tls=True`` uses the system CAs).
    protocol : {"5", "3.1.1"}
        MQTT 5 (default) asks the broker for up to ``batch_size`` messages in
        flight (Receive Maximum) and keeps the session ``session_expiry_s``.
        MQTT 3.1.1 (``clean_session`` off) decodes messages about a third
        faster in paho, but then the broker's own in-flight limit applies
        (mosquitto: ``max_inflight_messages``, default 20; raise it, e.g. to
        0 for no limit, or batches stay tiny).
    batch_size, batch_seconds : int, float
        A batch is written when it has this many messages or is this old.
    watch_seconds : float
        How often the alert rules run on the readings stored since their last run.
    on_event, on_alarm : callable, optional
        Called (in the feed's thread, within ``watch_seconds`` of the readings
        being stored) with a DataFrame of events once they are stored;
        ``on_alarm`` only with events of severity ``alarm`` or ``critical``.
        Keep them short (start a thread to run a nowcast); an exception in a
        hook is logged and the feed goes on.
    watch : Watch or False, optional
        The alert rules (default ``Watch(stations)``); False for none.

    Examples
    --------
    >>> feed = LiveFeed(city, "live/ezhou", "127.0.0.1:1883",
    ...                 on_alarm=lambda ev: print(ev["message"].tolist()))   # doctest: +SKIP
    >>> feed.start()          # in a thread; feed.run() blocks instead       # doctest: +SKIP
    >>> feed.stop()                                                          # doctest: +SKIP
    """

    def __init__(self, sensors, store, broker: str = "127.0.0.1:1883", *,
                 client_id: str = "twin-live", username: str | None = None,
                 password: str | None = None, tls_ca=None, tls: bool = False,
                 topic_prefix: str = "twin/sensors", batch_size: int = 5000,
                 batch_seconds: float = 0.2, watch_seconds: float = 1.0, session_expiry_s: int = 7 * 86400,
                 keepalive_s: int = 30, protocol: str = "5", on_event: Callable | None = None,
                 on_alarm: Callable | None = None, watch: Watch | bool | None = None,
                 max_bytes: int | None = None) -> None:
        table = getattr(sensors, "sensors", sensors)
        if table is None or not hasattr(table, "stations"):
            raise DataError("the city has no sensors", fix="add a [sensors] table to the city manifest")
        self.stations = table.stations
        self._kinds = dict(zip(self.stations["id"].astype(str), self.stations["kind"].astype(str)))
        self.store_path = Path(store)
        self.host, self.port = parse_broker(broker)
        self.client_id, self.username, self.password = client_id, username, password
        self.tls_ca, self.tls = tls_ca, bool(tls or tls_ca)
        self.prefix = topic_prefix.rstrip("/") + "/"
        self.batch_size, self.batch_seconds = int(batch_size), float(batch_seconds)
        self.watch_seconds = float(watch_seconds)
        self._unwatched: list[pd.DataFrame] = []
        self.session_expiry_s, self.keepalive_s = int(session_expiry_s), int(keepalive_s)
        if str(protocol) not in ("5", "3.1.1"):
            raise DataError(f"MQTT protocol '{protocol}' is not supported", fix="use 5 or 3.1.1")
        self.protocol = str(protocol)
        self.on_event, self.on_alarm = on_event, on_alarm
        self.watch = Watch(self.stations) if watch is None or watch is True else (watch or None)
        self.max_bytes = max_bytes
        self.stats = FeedStats()
        self._pending: list[Message] = []
        self._first_pending = 0.0
        self._connected = False
        self._refused: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.ready = threading.Event()   #: set once the store is open and the first connection made

    # -- running ----------------------------------------------------------------------

    def start(self) -> "LiveFeed":
        """Run the feed in a background thread; :meth:`stop` ends it (and raises its error)."""
        self._thread = threading.Thread(target=self._run_catching, name="twin-live", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> FeedStats:
        """Write and acknowledge what was received, disconnect, and return the counters."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._error is not None:
            raise self._error
        return self.stats

    def run(self, stop: threading.Event | None = None) -> FeedStats:
        """Run until ``stop`` is set (or :meth:`stop` is called); blocks.

        Raises
        ------
        DataError
            The store cannot be written, the broker refuses the credentials,
            the TLS files cannot be read.
        """
        if stop is not None:
            self._stop = stop
        store = SensorStore(self.store_path, create=True, max_bytes=self.max_bytes)
        try:
            if self.watch is not None:
                mark = int(store.meta(_WATERMARK, "0"))
                self.watch.prime(store.recent(self.watch.history, received_until=mark))
                self._unwatched = [store.received_after(mark)]
            client = self._client()
            self._loop(client, store)
            self._flush(client, store, ack=self._connected)
            self._run_watch(store)
            if self._connected:
                client.disconnect()
                client.loop_write()
        finally:
            store.close()
        return self.stats

    def _run_catching(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # handed to stop()
            self._error = exc
            self.ready.set()
            log.error("live feed stopped: %s", exc)

    def _loop(self, client, store: SensorStore) -> None:
        delay, next_watch = 0.5, _time.monotonic()
        while not self._stop.is_set():
            if client.socket() is None and not self._reconnect(client):
                self._stop.wait(delay)
                delay = min(delay * 2, 30.0)
                continue
            read = self._pump(client)
            if self._refused:
                raise DataError(f"broker {self.host}:{self.port} refused the connection "
                                f"({self._refused})", fix="check --username, --password and the "
                                "broker's access control for this client id")
            if read is None:                       # connection lost: store, do not acknowledge
                self._flush(client, store, ack=False)
                if self._connected:
                    log.warning("lost the broker %s:%s; reconnecting", self.host, self.port)
                else:
                    self._stop.wait(delay)
                    delay = min(delay * 2, 30.0)
                self._connected = False
                continue
            delay = 0.5 if self._connected else delay
            if self._pending and (read == 0 or len(self._pending) >= self.batch_size or
                                  _time.monotonic() - self._first_pending >= self.batch_seconds):
                self._flush(client, store, ack=True)
            if self.watch is not None and _time.monotonic() >= next_watch:
                self._run_watch(store)
                next_watch = _time.monotonic() + self.watch_seconds

    # -- MQTT -------------------------------------------------------------------------

    def _client(self):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        v5 = self.protocol == "5"
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311, manual_ack=True,
                             **({} if v5 else {"clean_session": False}))
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            try:
                client.tls_set(ca_certs=None if self.tls_ca is None else str(self.tls_ca))
            except (OSError, ValueError) as exc:
                raise DataError(f"cannot use the TLS CA file ({exc})", file=self.tls_ca,
                                fix="give --tls-ca a readable PEM certificate file") from None
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties
        if not v5:
            client.connect_async(self.host, self.port, keepalive=self.keepalive_s)
            return client
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry_s
        props.ReceiveMaximum = max(min(self.batch_size, 65535), 1)
        client.connect_async(self.host, self.port, keepalive=self.keepalive_s, clean_start=False,
                             properties=props)
        return client

    def _reconnect(self, client) -> bool:
        try:
            client.reconnect()
        except OSError as exc:
            log.warning("broker %s:%s unreachable (%s); retrying", self.host, self.port, exc)
            return False
        return True

    def _pump(self, client) -> int | None:
        """Read what the broker sent; the number of messages, or None when the connection is gone."""
        sock = client.socket()
        if sock is None:
            return None
        wait = 0.0 if getattr(sock, "pending", lambda: 0)() else 0.05
        if self._pending:
            wait = min(wait, max(self.batch_seconds - (_time.monotonic() - self._first_pending), 0))
        try:
            readable, _, _ = select.select([sock], [], [], wait)
        except (OSError, ValueError):
            return None
        before = self.stats.messages
        if readable:
            for _ in range(512):
                n = self.stats.messages
                if client.loop_read() != 0 or client.socket() is None:
                    return None
                if self.stats.messages == n:
                    break
        if client.want_write() and client.loop_write() != 0:
            return None
        if client.loop_misc() != 0 or client.socket() is None:
            return None
        return self.stats.messages - before

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            if str(reason_code) in _FATAL_REFUSALS:
                self._refused = str(reason_code)
            log.warning("broker refused the connection: %s", reason_code)
            return
        self._connected = True
        self.stats.connects += 1
        client.subscribe(self.prefix + "+", qos=1)
        log.info("connected to %s:%s as %s (session %s)", self.host, self.port, self.client_id,
                 "resumed" if flags.session_present else "new")
        self.ready.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected = False

    def _on_message(self, client, userdata, message) -> None:
        if not self._pending:
            self._first_pending = _time.monotonic()
        self._pending.append(Message(message.topic, message.payload, message.mid, message.qos,
                                     _time.time_ns()))
        self.stats.messages += 1

    # -- storing ----------------------------------------------------------------------

    def _flush(self, client, store: SensorStore, *, ack: bool) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        decoded = decode_messages(batch, self._kinds, prefix=self.prefix)
        with store.transaction():
            new = store.add_readings(decoded.readings)
            store.add_quarantine(decoded.quarantine)
        if self.watch is not None and len(new):
            self._unwatched.append(new)
        if ack:
            for m in batch:
                if m.qos > 0:
                    client.ack(m.mid, m.qos)
        self.stats.batches += 1
        self.stats.stored += len(new)
        self.stats.duplicates += len(decoded.readings) - len(new)
        self.stats.quarantined += len(decoded.quarantine)

    def _run_watch(self, store: SensorStore) -> None:
        """Alerts on the readings stored since the last run, and stale sensors."""
        if self.watch is None:
            return
        new = [f for f in self._unwatched if len(f)]
        self._unwatched = []
        batch = pd.concat(new, ignore_index=True) if new else None
        events = [self.watch.update(batch)] if batch is not None else []
        events.append(self.watch.tick())
        events = pd.concat([e for e in events if len(e)] or events[:1], ignore_index=True)
        if len(events) or batch is not None:
            with store.transaction():
                store.add_events(events)
                if batch is not None:
                    store.set_meta(_WATERMARK, str(int(batch["received"].max())))
        self._emit(events)

    def _emit(self, events: pd.DataFrame | None) -> None:
        if events is None or len(events) == 0:
            return
        self.stats.events += len(events)
        for ev in events.itertuples():
            log.info("%s %s %s: %s", ev.time, ev.severity, ev.kind, ev.message)
        alarms = events[events["severity"].isin(["alarm", "critical"])]
        for hook, table in ((self.on_event, events), (self.on_alarm, alarms)):
            if hook is not None and len(table):
                try:
                    hook(table.reset_index(drop=True))
                except Exception:
                    log.exception("alert hook %r failed", hook)


def run_live(city, store, broker: str = "127.0.0.1:1883", **options) -> FeedStats:
    """``twin live``: load ``city``, run a :class:`LiveFeed` until SIGTERM or Ctrl-C, print a summary.

    Progress and alerts are logged to stderr, one line each.

    Examples
    --------
    >>> run_live("data_samples/ezhou/city.toml", "live/ezhou", "127.0.0.1:1883")  # doctest: +SKIP
    """
    from twin.manifest import load_city
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(message)s")
    parse_broker(broker)
    SensorStore(store, create=True).close()       # a store that cannot be written fails first
    feed = LiveFeed(load_city(city), store, broker, **options)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("live feed: %s -> %s", broker, store)
    stats = feed.run(stop)
    print(f"stored {stats.stored} readings ({stats.duplicates} duplicates dropped, "
          f"{stats.quarantined} quarantined, {stats.events} alerts) from {stats.messages} "
          f"messages in {_time.time() - stats.started:.0f} s")
    return stats

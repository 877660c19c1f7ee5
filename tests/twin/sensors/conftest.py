"""A real mosquitto broker on a free 127.0.0.1 port, with persistence, and a paho publisher."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SAMPLE_CITY = REPO / "data_samples" / "ezhou" / "city.toml"
MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists()
                                          else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """mosquitto with persistence in ``folder``; ``stop()`` (SIGTERM saves its state) and ``start()``."""

    def __init__(self, folder: Path, extra: str = "", anonymous: bool = True) -> None:
        self.folder = folder
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        user = "user root\n" if os.geteuid() == 0 else ""
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous {str(anonymous).lower()}\n"
            f"persistence true\npersistence_location {folder}/\nmax_queued_messages 1000000\n"
            f"{user}{extra}")
        self.proc = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "Broker":
        log = open(self.folder / "mosquitto.log", "ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not start: {(self.folder / 'mosquitto.log').read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


def _need_broker() -> None:
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    pytest.importorskip("paho.mqtt", reason="paho-mqtt is not installed")


@pytest.fixture
def broker(tmp_path):
    _need_broker()
    folder = tmp_path / "broker"
    folder.mkdir()
    b = Broker(folder).start()
    yield b
    b.stop()


@pytest.fixture
def start_broker(tmp_path):
    """Start a broker with extra configuration lines; stopped at the end."""
    _need_broker()
    started = []

    def start(extra: str = "", anonymous: bool = True) -> Broker:
        folder = tmp_path / f"broker{len(started)}"
        folder.mkdir()
        started.append(Broker(folder, extra, anonymous).start())
        return started[-1]
    yield start
    for b in started:
        b.stop()


class Publisher:
    """A paho client publishing at QoS 1 and waiting for the broker's PUBACKs."""

    def __init__(self, broker: Broker, username=None, password=None, tls_ca=None) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        if username:
            self.client.username_pw_set(username, password)
        if tls_ca:
            self.client.tls_set(ca_certs=str(tls_ca))
        self.client.max_inflight_messages_set(500)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(0.1, 1)
        self._acked: set[int] = set()
        self.client.on_publish = lambda client, userdata, mid, reason, props: self._acked.add(mid)
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()

    def send(self, topic: str, payload, timeout: float = 60.0) -> None:
        self.send_many([(topic, payload)], timeout)

    def send_many(self, messages, timeout: float = 120.0) -> None:
        """Publish and wait for every PUBACK (paho's ``on_publish``).

        A message published while the broker is away comes back with ``rc`` "not
        connected", yet paho keeps it and sends it when it reconnects, so the wait is on
        the acknowledgement, never on ``rc``.
        """
        deadline = time.monotonic() + timeout
        while not self.client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.05)
        mids = []
        for topic, payload in messages:
            data = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
            mids.append(self.client.publish(topic, data, qos=1).mid)
        for mid in mids:
            while mid not in self._acked and time.monotonic() < deadline:
                time.sleep(0.01)
            assert mid in self._acked, "the broker did not acknowledge a publish"
        self._acked.difference_update(mids)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(broker):
    p = Publisher(broker)
    yield p
    p.close()


@pytest.fixture
def connect_publisher():
    """Make a new publisher (after a broker restart); all are closed at the end."""
    made = []

    def make(broker, **options):
        made.append(Publisher(broker, **options))
        return made[-1]
    yield make
    for p in made:
        p.close()


@pytest.fixture(scope="session")
def sample_city():
    import twin
    return twin.load_city(SAMPLE_CITY)


@pytest.fixture
def wait():
    return wait_for


def readings_for(stations, n: int, *, start="2024-07-04T00:00:00+08:00"):
    """``n`` plausible readings spread over the stations, below their warning levels:
    a list of ``(sensor_id, iso_time, value)``, one a minute per sensor."""
    import pandas as pd
    ids = stations["id"].tolist()
    level = {"rain_gauge": 5.0, "water_level": 18.0, "traffic_counter": 1500.0,
             "crowd_counter": 300.0}
    kind = dict(zip(ids, stations["kind"]))
    t0 = pd.Timestamp(start)
    out = []
    for k in range(n):
        sensor = ids[k % len(ids)]
        minute = k // len(ids)
        value = level.get(kind[sensor], 1.0) + (k % 7) * 0.125
        out.append((sensor, (t0 + pd.Timedelta(minutes=minute)).isoformat(), value))
    return out


@pytest.fixture(scope="session")
def make_readings():
    return readings_for


def wait_for(predicate, timeout: float = 60.0, every: float = 0.1):
    """Poll until ``predicate()`` is truthy; returns its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(every)
        value = predicate()
    return value

"""The live feed against a real mosquitto: exactly once through broker restarts and kill -9,
quarantine of bad messages, alarms, and one-line errors for a store that cannot be written."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from geodata.errors import DataError
from twin.sensors import LiveFeed, open_store, parse_broker

SAMPLE_CITY = Path(__file__).resolve().parents[3] / "data_samples" / "ezhou" / "city.toml"


def _count(path) -> int:
    try:
        with open_store(path) as store:
            return len(store)
    except DataError:
        return 0


def _expected(readings) -> pd.DataFrame:
    frame = pd.DataFrame(readings, columns=["sensor_id", "time", "value"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True, format="ISO8601")
    return frame.sort_values(["sensor_id", "time"], ignore_index=True)


def _assert_exactly(store_path, readings) -> None:
    with open_store(store_path) as store:
        got = store.readings
    want = _expected(readings)
    assert len(got) == len(want)
    pd.testing.assert_frame_equal(got, want.astype(got.dtypes.to_dict()), check_exact=True)


def _messages(readings):
    return [(f"twin/sensors/{s}", {"time": t, "value": v}) for s, t, v in readings]


def test_readings_land_once_and_bad_messages_are_quarantined(broker, publisher, sample_city,
                                                            make_readings, wait, tmp_path):
    store = tmp_path / "store"
    alarms = []
    feed = LiveFeed(sample_city, store, broker.address, client_id="t-basic",
                    on_alarm=alarms.append).start()
    assert feed.ready.wait(20)
    readings = make_readings(sample_city.sensors.stations, 300)
    publisher.send_many(_messages(readings[:200]))
    # a list message, and the same readings again (a publisher retrying): stored once
    publisher.send("twin/sensors/WL02", [{"time": t, "value": v} for s, t, v in readings[200:]
                                         if s == "WL02"])
    rest = [r for r in readings[200:] if r[0] != "WL02"]
    publisher.send_many(_messages(rest) + _messages(readings[:50]))
    bad = [("twin/sensors/RG01", b"not json {"),
           ("twin/sensors/NOPE", {"time": "2024-07-04T08:00+08:00", "value": 1.0}),
           ("twin/sensors/RG01", {"time": "2024-07-04T08:00+08:00", "value": "12"}),
           ("twin/sensors/RG01", {"time": "2024-07-04T08:00:00", "value": 1.0}),
           ("twin/sensors/TC01", {"time": "2024-07-04T08:00+08:00", "value": 1e9}),
           ("twin/sensors/WL01", {"time": "2024-07-04T08:00+08:00"})]
    publisher.send_many(bad)
    # WL05 (alarm 20.0 m) goes into alarm: the hook hears it once it is stored
    alarm = [("WL05", "2024-07-05T00:00:00+08:00", 19.0), ("WL05", "2024-07-05T00:05:00+08:00", 20.4)]
    publisher.send_many(_messages(alarm))
    assert wait(lambda: _count(store) == len(readings) + 2 and len(alarms) > 0, 30)
    assert wait(lambda: len(open_store(store).quarantine) == len(bad), 10)
    stats = feed.stop()
    _assert_exactly(store, readings + alarm)
    with open_store(store) as s:
        q = s.quarantine
        events = s.events
    reasons = dict(zip(q["payload"], q["reason"]))
    assert "not JSON" in reasons["not json {"]
    assert any("unknown sensor 'NOPE'" in r for r in q["reason"])
    assert any("value is not a number" in r for r in q["reason"])
    assert any("has no zone" in r for r in q["reason"])
    assert any("outside the plausible range" in r and "traffic_counter" in r for r in q["reason"])
    assert any("missing 'value'" in r for r in q["reason"])
    assert set(q["topic"]) >= {"twin/sensors/NOPE", "twin/sensors/RG01"}
    assert stats.duplicates >= 50
    raised = events[(events["kind"] == "sensor") & (events["where"] == "WL05")]
    assert raised["severity"].tolist() == ["alarm"]
    assert raised["time"].iloc[0] == pd.Timestamp("2024-07-05T00:05:00+08:00")
    assert alarms[0]["where"].tolist() == ["WL05"]


def _publish_in_background(publisher, messages, batch: int = 250):
    """Publish ``messages`` in batches from a thread; returns it and a list its error lands in."""
    failed = []

    def publish_all():
        try:
            for k in range(0, len(messages), batch):
                publisher.send_many(messages[k:k + batch])
        except Exception as error:                  # surfaced by the caller, not lost
            failed.append(error)
    sent = threading.Thread(target=publish_all)
    sent.start()
    return sent, failed


def test_broker_restart_mid_stream_loses_nothing(broker, publisher, sample_city, make_readings,
                                                 wait, tmp_path):
    store = tmp_path / "store"
    feed = LiveFeed(sample_city, store, broker.address, client_id="t-restart", watch=False).start()
    assert feed.ready.wait(20)
    readings = make_readings(sample_city.sensors.stations, 10_000)
    messages = _messages(readings)
    sent, failed = _publish_in_background(publisher, messages)   # on through the restart
    assert wait(lambda: _count(store) >= 2000, 60, every=0.02)
    broker.stop()                                   # SIGTERM: mosquitto saves its queue
    at_restart = _count(store)
    time.sleep(1.0)
    broker.start()
    sent.join(120)
    assert not sent.is_alive()
    assert not failed, f"the publisher failed: {failed[0]!r}"
    assert wait(lambda: _count(store) >= len(readings), 90), _count(store)
    stats = feed.stop()
    _assert_exactly(store, readings)
    assert at_restart < len(readings), "the stream ended before the restart: nothing was tested"
    assert stats.connects >= 2, "the feed should have reconnected"
    print(f"stored {at_restart} of {len(readings)} before the restart; "
          f"{stats.duplicates} redelivered")


@pytest.fixture
def sensors_city(tmp_path):
    """A city manifest with the sample's sensors only: `twin live` starts faster."""
    sensors = SAMPLE_CITY.parent / "sensors"
    path = tmp_path / "sensors-city.toml"
    path.write_text(f'name = "sensors only"\ncrs = "EPSG:4547"\n[sensors]\n'
                    f'stations = "{sensors / "stations.csv"}"\nstations_crs = "EPSG:4547"\n'
                    f'readings = "{sensors / "readings.csv"}"\n')
    return path


def _live(city, store, broker, log, client_id="t-kill", protocol="5"):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "twin.cli", "live", str(city),
                             "--broker", broker.address, "--store", str(store),
                             "--client-id", client_id, "--protocol", protocol],
                            stdout=log, stderr=log, env=env)


@pytest.mark.parametrize("stop, protocol", [(signal.SIGKILL, "5"), (signal.SIGTERM, "3.1.1")],
                         ids=["kill-9", "sigterm-mqtt-3.1.1"])
def test_feed_stopped_mid_stream_then_restarted_is_exactly_once(stop, protocol, broker, publisher,
                                                                sample_city, sensors_city,
                                                                make_readings, wait, tmp_path):
    """kill -9 loses the unacknowledged messages, which the broker redelivers; SIGTERM
    stores and acknowledges what it holds and exits 0. Either way: every reading once
    (the second case speaks MQTT 3.1.1 under the broker's default in-flight window)."""
    store, logfile = tmp_path / "store", tmp_path / "live.log"
    readings = make_readings(sample_city.sensors.stations, 5000)
    with open(logfile, "ab") as log:
        proc = _live(sensors_city, store, broker, log, protocol=protocol)
        assert wait(lambda: "connected to" in logfile.read_text(), 60), logfile.read_text()
        sent, failed = _publish_in_background(publisher, _messages(readings))
        wait(lambda: _count(store) >= 1000, 60, every=0.02)     # stop while the stream flows
        proc.send_signal(stop)
        first = proc.wait(30)
        at_kill = _count(store)
        assert at_kill < len(readings), "the feed finished before the kill: nothing was tested"
        proc = _live(sensors_city, store, broker, log, protocol=protocol)
        try:
            sent.join(120)
            assert not sent.is_alive() and not failed, failed
            assert wait(lambda: _count(store) >= len(readings), 90), _count(store)
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
    assert code == 0, logfile.read_text()
    assert first == (0 if stop == signal.SIGTERM else -signal.SIGKILL), logfile.read_text()
    _assert_exactly(store, readings)
    assert "Traceback" not in logfile.read_text()
    print(f"stopped with {at_kill} of {len(readings)} stored")


def _without_override(cmd):
    """Run as root without CAP_DAC_OVERRIDE, so that folder permissions apply."""
    if os.geteuid() != 0:
        return cmd
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-all", *cmd]


def test_read_only_store_folder_is_one_line_error(broker, sensors_city, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    cmd = _without_override([sys.executable, "-m", "twin.cli", "live", str(sensors_city),
                             "--broker", broker.address, "--store", str(folder / "store")])
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    finally:
        folder.chmod(0o755)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot write the sensor store" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_full_store_stops_the_feed_and_acknowledges_nothing_lost(broker, publisher, sample_city,
                                                                make_readings, wait, tmp_path):
    store = tmp_path / "store"
    feed = LiveFeed(sample_city, store, broker.address, client_id="t-full", watch=False,
                    max_bytes=64 * 1024, batch_size=200).start()
    assert feed.ready.wait(20)
    readings = make_readings(sample_city.sensors.stations, 3000)
    publisher.send_many(_messages(readings))
    assert wait(lambda: not feed._thread.is_alive(), 60), "the feed should stop on a full store"
    with pytest.raises(DataError, match="full"):
        feed.stop()
    kept = _count(store)
    assert 0 < kept < len(readings)
    # room again: the broker still holds every reading not acknowledged
    feed = LiveFeed(sample_city, store, broker.address, client_id="t-full", watch=False).start()
    assert wait(lambda: _count(store) >= len(readings), 60), _count(store)
    feed.stop()
    _assert_exactly(store, readings)


def test_broker_addresses():
    assert parse_broker("10.0.0.5:8883") == ("10.0.0.5", 8883)
    assert parse_broker("broker.local") == ("broker.local", 1883)
    for bad in ("localhost:notaport", "localhost:0", ":1883", "host:70000"):
        with pytest.raises(DataError, match="is not HOST:PORT"):
            parse_broker(bad)


def test_readings_stored_but_not_yet_watched_raise_their_alarm_once(broker, sample_city,
                                                                   tmp_path):
    """A crash after the readings' commit and before the alert run: the alarm comes on restart,
    and only once however often the feed restarts."""
    store_path = tmp_path / "store"
    store = open_store(store_path, create=True)
    crossing = pd.DataFrame({"sensor_id": ["WL05", "WL05"],
                             "time": pd.to_datetime(["2024-07-05T00:00Z", "2024-07-05T00:05Z"]),
                             "value": [19.0, 20.4]})
    with store.transaction():
        store.add_readings(crossing)
    store.close()
    heard = []
    for _ in range(2):
        feed = LiveFeed(sample_city, store_path, broker.address, client_id="t-mark",
                        on_alarm=heard.append).start()
        assert feed.ready.wait(20)
        feed.stop()
    assert len(heard) == 1 and heard[0]["where"].tolist() == ["WL05"]
    with open_store(store_path) as s:
        events = s.events
    assert events[events["kind"] == "sensor"]["where"].tolist() == ["WL05"]


def test_mqtt_3_1_1_session_with_the_brokers_default_window(broker, publisher, sample_city,
                                                          make_readings, wait, tmp_path):
    """MQTT 3.1.1 (clean_session off) under mosquitto's default 20 messages in flight:
    small batches, still every reading once through a broker restart."""
    store = tmp_path / "store"
    feed = LiveFeed(sample_city, store, broker.address, client_id="t-311", protocol="3.1.1",
                    watch=False).start()
    assert feed.ready.wait(20)
    readings = make_readings(sample_city.sensors.stations, 1500)
    publisher.send_many(_messages(readings[:1000]))
    broker.stop()
    broker.start()
    publisher.send_many(_messages(readings[1000:]))
    assert wait(lambda: _count(store) >= len(readings), 60), _count(store)
    stats = feed.stop()
    _assert_exactly(store, readings)
    assert stats.connects >= 2


def test_username_and_password(start_broker, connect_publisher, sample_city, wait, tmp_path):
    secrets = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(secrets), "twin", "s3cret"], check=True,
                   capture_output=True)
    secrets.chmod(0o600)
    broker = start_broker(f"password_file {secrets}\n", anonymous=False)
    with pytest.raises(DataError, match="refused the connection .*(password|authori[sz]ed)"):
        LiveFeed(sample_city, tmp_path / "s0", broker.address, username="twin", password="wrong",
                 watch=False).run()
    store = tmp_path / "s1"
    feed = LiveFeed(sample_city, store, broker.address, client_id="t-auth", username="twin",
                    password="s3cret", watch=False).start()
    assert feed.ready.wait(20)
    connect_publisher(broker, username="twin", password="s3cret").send(
        "twin/sensors/RG01", {"time": "2024-07-04T08:00+08:00", "value": 2.5})
    assert wait(lambda: _count(store) == 1, 20)
    feed.stop()


def test_tls_with_a_private_ca(start_broker, connect_publisher, sample_city, wait, tmp_path):
    pki = tmp_path / "pki"
    pki.mkdir()

    def ssl(*args):
        subprocess.run(["openssl", *args], cwd=pki, check=True, capture_output=True)
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
        "-days", "2", "-subj", "/CN=twin test CA")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")
    (pki / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext")
    broker = start_broker(f"cafile {pki}/ca.crt\ncertfile {pki}/server.crt\n"
                          f"keyfile {pki}/server.key\n")
    store = tmp_path / "store"
    feed = LiveFeed(sample_city, store, broker.address, client_id="t-tls", tls_ca=pki / "ca.crt",
                    watch=False).start()
    assert feed.ready.wait(20)
    connect_publisher(broker, tls_ca=pki / "ca.crt").send(
        "twin/sensors/WL01", [{"time": "2024-07-04T08:00+08:00", "value": 18.5},
                              {"time": "2024-07-04T08:05+08:00", "value": 18.6}])
    assert wait(lambda: _count(store) == 2, 20)
    feed.stop()
    with pytest.raises(DataError, match="TLS CA file"):
        LiveFeed(sample_city, tmp_path / "s2", broker.address, tls_ca=tmp_path / "none.pem",
                 watch=False).run()

"""The live sensor feed under load: throughput, latency and memory, beside mosquitto's own subscriber.

One real mosquitto (persistence on, a free 127.0.0.1 port), ``twin live`` as a
subprocess (as an operator runs it), a paho publisher in this process:

1. **Throughput**: a backlog of ``--backlog`` QoS 1 messages (one reading each)
   waits in the feed's persistent session; the feed is started and drains it
   into the store. Rate = readings / (last commit - first commit), from the
   store's commit times. Then the same with list messages of 10 readings.
   Reference: ``mosquitto_sub`` (C, QoS 1, same persistent-session set-up,
   output to /dev/null, nothing stored) draining the same backlog: the
   ceiling of the broker and loopback on this machine. The feed's CPU time per
   reading (from /proc) is the figure that does not depend on the load: its
   inverse is the rate one free core would sustain.
2. **Latency**: readings published at each of ``--rates`` per second (one
   reading a message) whose ``time`` is the publish moment; latency = commit
   time - publish time (median, p99). It includes the paho publisher's own
   queue: past the machine's capacity the publisher falls behind first.
3. **Soak**: ``--soak`` seconds at ``--rate``; the feed's resident memory every
   5 s (start, end, max).

    .venv/bin/python -u benchmarks/live_feed.py [--backlog 50000] [--rates 500,1000,2000] [--rate 1000] [--soak 150]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

import twin
from twin.sensors import open_store

REPO = Path(__file__).resolve().parents[1]
CITY = REPO / "data_samples" / "ezhou" / "city.toml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(folder: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                    f"persistence_location {folder}/\nmax_queued_messages 10000000\n"
                    "max_inflight_messages 0\n"
                    + ("user root\n" if os.geteuid() == 0 else ""))
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


class Feed:
    """``twin live`` as a subprocess, logging to a file."""

    def __init__(self, port: int, store: Path, log: Path, protocol: str = "5") -> None:
        self.log = log
        marks = self._connections()
        cmd = ["-m", "twin.cli", "live", str(CITY), "--broker", f"127.0.0.1:{port}",
               "--store", str(store), "--protocol", protocol,
               "--client-id", "bench" if protocol == "5" else "bench311"]
        self.proc = subprocess.Popen([sys.executable, *cmd], stdout=open(log, "ab"),
                                     stderr=subprocess.STDOUT)
        while self._connections() <= marks and self.proc.poll() is None:
            time.sleep(0.1)

    def _connections(self) -> int:
        return self.log.read_text().count("connected to") if self.log.exists() else 0

    def cpu_s(self) -> float:
        """User + system CPU seconds of the feed process so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


class Publisher:
    def __init__(self, port: int) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def send(self, messages) -> None:
        infos = [self.client.publish(t, p, qos=1) for t, p in messages]
        for info in infos:
            info.wait_for_publish(120)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def backlog(ids, n: int, per_message: int, start: pd.Timestamp):
    """``n`` readings as messages of ``per_message`` readings, unique (sensor, time)."""
    out, k = [], 0
    while k < n:
        sensor = ids[(k // per_message) % len(ids)]
        items = [{"time": (start + pd.Timedelta(seconds=k + j)).isoformat(), "value": 1.0 + j % 7}
                 for j in range(min(per_message, n - k))]
        out.append((f"twin/sensors/{sensor}", json.dumps(items if per_message > 1 else items[0])))
        k += per_message
    return out


def count(store: Path) -> int:
    with open_store(store) as s:
        return int(s._con.execute("SELECT count(*) FROM readings").fetchone()[0])


def drain(port: int, folder: Path, store: Path, messages, n: int,
          protocol: str = "5") -> tuple[float, float]:
    """Readings per second the feed commits while draining ``messages`` queued in its session,
    and the feed's CPU time per reading (microseconds)."""
    feed = Feed(port, store, folder / "live.log", protocol)     # makes (or resumes) the session
    feed.stop()
    before = count(store)
    pub = Publisher(port)
    pub.send(messages)
    pub.close()
    feed = Feed(port, store, folder / "live.log", protocol)
    cpu0 = feed.cpu_s()
    while count(store) < before + n:
        time.sleep(0.2)
    cpu = feed.cpu_s() - cpu0
    feed.stop()
    with open_store(store) as s:
        rec = s.received()["received"].sort_values().to_numpy()[before:]
    span = (rec[-1] - rec[0]) / np.timedelta64(1, "s")
    return n / span, cpu / n * 1e6


def mosquitto_sub_drain(port: int, messages) -> float | None:
    if shutil.which("mosquitto_sub") is None:
        return None
    base = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-i", "bench-c", "-c", "-q", "1",
            "-t", "twin/sensors/+"]
    subprocess.run([*base, "-E"], check=True)
    pub = Publisher(port)
    pub.send(messages)
    pub.close()
    t0 = time.perf_counter()
    subprocess.run([*base, "-C", str(len(messages))], check=True, stdout=subprocess.DEVNULL)
    rate = len(messages) / (time.perf_counter() - t0)
    drop_session(port, "bench-c")
    return rate


def drop_session(port: int, client_id: str) -> None:
    """Connect once with a clean session: the broker forgets the persistent one."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv311, clean_session=True)
    client.connect("127.0.0.1", port)
    client.loop_start()
    time.sleep(0.5)
    client.disconnect()
    client.loop_stop()


def paced(port: int, ids, rate: float, seconds: float, feed: Feed | None = None):
    """Publish ``rate`` readings/s stamped with their publish time; sample the feed's memory."""
    pub = Publisher(port)
    tick, sent, memory = 0.02, 0, []
    t0 = time.perf_counter()
    next_mem = t0
    while (now := time.perf_counter()) - t0 < seconds:
        due = int((now - t0) * rate) - sent
        if due > 0:
            stamp = datetime.now(timezone.utc).isoformat()
            for j in range(due):
                sensor = ids[(sent + j) % len(ids)]
                # a unique time per sensor: the publish moment plus j nanoseconds is not
                # representable; use microseconds past the stamp
                t = (pd.Timestamp(stamp) + pd.Timedelta(microseconds=j)).isoformat()
                pub.client.publish(f"twin/sensors/{sensor}", json.dumps({"time": t, "value": 1.0}),
                                   qos=1)
            sent += due
        if feed is not None and now >= next_mem:
            memory.append((now - t0, feed.rss_mb()))
            next_mem += 5.0
        time.sleep(tick)
    pub.close()
    return sent, time.perf_counter() - t0, memory


def latency(store: Path, since: pd.Timestamp) -> np.ndarray:
    with open_store(store) as s:
        r = s.received()
    r = r[r["time"] >= since]
    return ((r["received"] - r["time"]) / pd.Timedelta(milliseconds=1)).to_numpy()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--backlog", type=int, default=50_000)
    p.add_argument("--rates", default="500,1000,2000", help="readings/s of the latency runs")
    p.add_argument("--rate", type=float, default=1000.0, help="readings/s of the soak")
    p.add_argument("--latency-s", type=float, default=10.0, help="seconds of each latency run")
    p.add_argument("--soak", type=float, default=150.0, help="seconds of soak")
    args = p.parse_args()
    ids = twin.load_city(CITY).sensors.stations["id"].tolist()
    print(f"load before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker, port = start_broker(folder)
        try:
            store = folder / "store"
            t = pd.Timestamp("2024-07-04T00:00Z")
            ref = mosquitto_sub_drain(port, backlog(ids, args.backlog, 1, t - pd.Timedelta(days=60)))
            # MQTT 3.1.1 first, its session dropped after, so that no session of one run
            # queues the backlog of another
            v3, cpu = drain(port, folder, folder / "store311", backlog(ids, args.backlog, 1, t),
                            args.backlog, protocol="3.1.1")
            drop_session(port, "bench311")
            print(f"throughput, one reading per message, MQTT 3.1.1: {v3:,.0f} readings/s; feed "
                  f"CPU {cpu:.0f} us/reading = {1e6 / cpu:,.0f} readings per CPU-second "
                  f"(load {os.getloadavg()[0]:.1f})")
            single, cpu = drain(port, folder, store, backlog(ids, args.backlog, 1, t), args.backlog)
            print(f"throughput, one reading per message: {single:,.0f} readings/s; feed CPU "
                  f"{cpu:.0f} us/reading = {1e6 / cpu:,.0f} readings per CPU-second "
                  f"(load {os.getloadavg()[0]:.1f})")
            lists, cpu = drain(port, folder, store, backlog(ids, args.backlog * 4, 10,
                                                             t + pd.Timedelta(days=30)),
                               args.backlog * 4)
            print(f"throughput, 10 readings per message: {lists:,.0f} readings/s; feed CPU "
                  f"{cpu:.0f} us/reading = {1e6 / cpu:,.0f} readings per CPU-second "
                  f"(load {os.getloadavg()[0]:.1f})")
            if ref:
                print(f"reference mosquitto_sub (C, QoS 1, no store): {ref:,.0f} messages/s; "
                      f"feed/reference = {single / ref:.2f}")
            feed = Feed(port, store, folder / "live.log")
            time.sleep(10)          # let the feed's first alert run (over the drained backlog) pass
            for rate in map(float, args.rates.split(",")):
                since = pd.Timestamp.now(tz="UTC")
                sent, wall, _ = paced(port, ids, rate, args.latency_s)
                time.sleep(5)
                ms = latency(store, since)
                print(f"latency at {sent / wall:,.0f} readings/s: median {np.median(ms):.1f} ms, "
                      f"p99 {np.percentile(ms, 99):.1f} ms, max {ms.max():.1f} ms; {len(ms)} of "
                      f"{sent} stored within 5 s of the end (load {os.getloadavg()[0]:.1f})")
            since = pd.Timestamp.now(tz="UTC")
            sent, wall, memory = paced(port, ids, args.rate, args.soak, feed)
            time.sleep(2)
            ms = latency(store, since)
            rss = np.array([m for _, m in memory])
            print(f"soak {wall:.0f} s at {sent / wall:,.0f} readings/s: feed RSS start "
                  f"{rss[0]:.0f} MB, end {rss[-1]:.0f} MB, max {rss.max():.0f} MB; latency median "
                  f"{np.median(ms):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms; store "
                  f"{(store / 'sensors.sqlite').stat().st_size / 1e6:.0f} MB "
                  f"(load {os.getloadavg()[0]:.1f})")
            print("RSS samples (s, MB): " + ", ".join(f"{s:.0f}:{m:.0f}" for s, m in memory))
            feed.stop()
        finally:
            broker.send_signal(signal.SIGTERM)
            broker.wait(30)
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

"""Helpers for tests that run wirewatch services as real processes against a real broker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from wirewatch.broker import free_port
from wirewatch.models import RawStory
from wirewatch.offsets import read_to_end, stop_quietly
from wirewatch.settings import Settings
from wirewatch.topics import Topics

from .conftest import WIREWATCH


class Service:
    """One `wirewatch <command>` process with its own data dir, log and metrics port."""

    def __init__(self, command: str, env: dict[str, str], workdir: Path, name: str) -> None:
        self.name = name
        self.metrics_port = free_port()
        self.log_path = workdir / f"{name}.log"
        e = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
        e.update(env)
        e["WIREWATCH_DATA_DIR"] = str(workdir / f"{name}-data")
        e["WIREWATCH_METRICS_PORT"] = str(self.metrics_port)
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen([str(WIREWATCH), *command.split()], env=e, cwd=workdir, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a metric's samples matching ``labels`` from this process's /metrics."""
        body = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()
        total = 0.0
        for line in body.splitlines():
            if not line.startswith(name):
                continue
            head, _, value = line.rpartition(" ")
            if head != name and not head.startswith(name + "{"):
                continue
            if all(f'{k}="{v}"' in head for k, v in labels.items()):
                total += float(value)
        return total

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def service_env(bootstrap: str, prefix: str, partitions: int = 4, **extra: str) -> dict[str, str]:
    env = {
        "WIREWATCH_KAFKA_BOOTSTRAP": bootstrap,
        "WIREWATCH_TOPIC_PREFIX": prefix,
        "WIREWATCH_APP_ID": prefix,
        "WIREWATCH_TOPIC_PARTITIONS": str(partitions),
        "WIREWATCH_ALLOW_HOSTS": "127.0.0.1",
        # Tansu has no idempotent producer (it drops the connection on InitProducerId).
        "WIREWATCH_KAFKA_IDEMPOTENT": "false",
        # Tansu completes a join only when the rebalance timeout runs out.
        "WIREWATCH_CONSUMER_REBALANCE_TIMEOUT_SECONDS": "3",
        "WIREWATCH_CONSUMER_SESSION_TIMEOUT_SECONDS": "10",
        # A wedged consumer restarts itself after this (processor/stream/watchdog.py); short
        # enough to matter within a test's waits, long above a recovery of test data.
        "WIREWATCH_PROCESSOR_STALL_SECONDS": "30",
    }
    env.update(extra)
    return env


def settings_for(env: dict[str, str]) -> Settings:
    return Settings(**{k[len("WIREWATCH_"):].lower(): v for k, v in env.items()})  # type: ignore[arg-type]


async def produce(bootstrap: str, topic: str, values: Iterable[tuple[bytes | None, bytes | None]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=8 * 1024 * 1024)
    await producer.start()
    try:
        for key, value in values:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def produce_stories(bootstrap: str, topics: Topics, stories: Iterable[RawStory]) -> None:
    await produce(bootstrap, topics.raw.name, ((s.feed_id.encode(), s.to_json_bytes()) for s in stories))


async def read_records(bootstrap: str, topic: str, timeout: float = 5.0) -> list[Any]:
    """Every record now on ``topic`` (tombstones too), read from the beginning to the end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", fetch_max_wait_ms=50)
    await consumer.start()
    out: list[Any] = []
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not tps:
            return out
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        await read_to_end(consumer, tps, out.append, timeout)
    finally:
        await stop_quietly(consumer)
    return out


async def read_topic(bootstrap: str, topic: str, timeout: float = 5.0) -> list[tuple[dict[str, bytes], bytes]]:
    """Every message now on ``topic`` (headers, value), read from the beginning to the end."""
    return [(dict(m.headers or ()), m.value) for m in await read_records(bootstrap, topic, timeout)
            if m.value is not None]


def read_values(bootstrap: str, topic: str) -> list[dict[str, object]]:
    return [orjson.loads(v) for _, v in asyncio.run(read_topic(bootstrap, topic))]


def wait_until(predicate: object, timeout: float, what: str, step: float = 0.5,
               diagnose: Callable[[], str] | None = None) -> None:
    """Poll ``predicate`` until it holds; on timeout fail with ``diagnose()``'s account of the state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(step)
    detail = f"\n{diagnose()}" if diagnose is not None else ""
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")


def log_tails(*services: Service, chars: int = 6000) -> str:
    """The end of each service's log; a running processor first logs where its tasks wait (SIGUSR2)."""
    dumped = False
    for s in services:
        if s.proc.poll() is None and s.name.startswith(("proc", "victim", "restart", "clean")):
            with contextlib.suppress(ProcessLookupError):
                os.kill(s.proc.pid, signal.SIGUSR2)
                dumped = True
    if dumped:
        time.sleep(3)
    return "\n".join(f"--- {s.name} (exit {s.proc.poll()}) log tail:\n{s.log()[-chars:]}" for s in services)


def wait_quiet(bootstrap: str, topic: str, quiet: float = 6.0, timeout: float = 120.0) -> int:
    """Wait until ``topic`` stops growing for ``quiet`` seconds; return its message count."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = len(asyncio.run(read_topic(bootstrap, topic)))
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return n
        time.sleep(1.0)
    raise AssertionError(f"{topic} kept growing for {timeout:.0f}s")


def fault_seed(what: str) -> int:
    """The seed of a fault-injection test: ``WIREWATCH_FAULT_SEED`` if set, else a fresh one.

    It is printed (pytest shows it with a failure) so that a failing run can be
    repeated with ``WIREWATCH_FAULT_SEED=<seed>``.
    """
    given = os.environ.get("WIREWATCH_FAULT_SEED", "").strip()
    seed = int(given) if given else random.SystemRandom().randrange(1 << 32)
    print(f"{what}: WIREWATCH_FAULT_SEED={seed}")
    return seed

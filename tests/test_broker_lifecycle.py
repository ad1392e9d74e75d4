"""Issue 18, defect 4: the embedded broker dies with its parent, and client commands know
when the broker they were told about is gone.

A `wirewatch run` killed with SIGKILL used to leave its broker running, orphaned, with
`.wirewatch/embedded-broker` still pointing at it: `feeds list` showed every feed ok and
`tail` printed old alerts, or, once the broker was gone, logged an ERROR per retry forever.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wirewatch.broker import BrokerFile, EmbeddedBroker

from .conftest import WIREWATCH
from .test_cli_errors import _one_line_error, _run
from .test_e2e_run import _tansu_pids_on

pytestmark = pytest.mark.e2e

_STARTER = """
import sys, time
from wirewatch.broker import EmbeddedBroker
broker = EmbeddedBroker().start()
print(broker.port, flush=True)
time.sleep(600)
"""


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_4_the_embedded_broker_dies_with_its_parent_even_on_kill_9() -> None:
    parent = subprocess.Popen([sys.executable, "-c", _STARTER], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    port = int(parent.stdout.readline())
    try:
        assert _listening(port)
        parent.send_signal(signal.SIGKILL)  # no finally, no atexit: the parent just vanishes
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _listening(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _listening(port), "the embedded broker outlived the process that started it"
    finally:
        for pid in _tansu_pids_on(port):  # never leave an orphan behind, whatever happened
            os.kill(pid, signal.SIGKILL)


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_4_client_commands_refuse_a_broker_file_whose_run_has_exited(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with socket.socket() as listener:  # something still answers on the port, but its run is gone
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        (data / "embedded-broker").write_text(BrokerFile(f"127.0.0.1:{port}", owner=_dead_pid()).render())
        for args in (["feeds", "list"], ["tail", "--timeout", "5"], ["feeds", "pause", "x"]):
            _one_line_error(_run(args, tmp_path, timeout=60), "is gone", "has exited", "wirewatch run")


def test_4_client_commands_refuse_an_old_broker_file_nothing_answers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (data / "embedded-broker").write_text(f"127.0.0.1:{port}\n")  # the format before owners were kept
    _one_line_error(_run(["feeds", "list"], tmp_path, timeout=60), "is gone", "nothing answers")


def test_4_tail_gives_up_with_one_line_when_its_broker_dies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    broker = EmbeddedBroker().start()
    try:
        # the address alone (the first line, as every reader takes it): what answers is checked
        (data / "embedded-broker").write_text(broker.bootstrap + "\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
        env.update({"WIREWATCH_DATA_DIR": str(data), "WIREWATCH_METRICS_PORT": "0",
                    "WIREWATCH_BROKER_TIMEOUT_SECONDS": "3"})
        tail = subprocess.Popen([str(WIREWATCH), "tail", "--timeout", "90"], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(4)  # connected and waiting for alerts
        assert tail.poll() is None
        broker.stop()
        try:
            _out, err = tail.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            tail.kill()
            _out, err = tail.communicate()
            pytest.fail(f"tail did not give up when its broker died:\n{err[-2000:]}")
        proc = subprocess.CompletedProcess(tail.args, tail.returncode, _out, err)
        _one_line_error(proc, broker.bootstrap, "tail stopped")
        assert " ERROR " not in err, err[-2000:]  # not an ERROR per reconnect attempt
    finally:
        broker.stop()

"""SIGKILL the poller between publishing and saving its state; nothing may be lost.

A ledger of what the feed server served is compared with what reached the sink
across a killed run and a clean restart.  Kill points are chosen at random;
the seed is printed so a failure can be replayed (``WIREWATCH_FAULT_SEED=<seed>``).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "poller"))
from feedserver import FeedServer, rss

from .harness import fault_seed

SCRIPT = Path(__file__).parent / "fixtures" / "poller" / "crashpoller.py"
POINTS = ["after_first_publish", "after_publish_before_state", "after_state_save"]


async def _run(state: Path, out: Path, urls: list[str], fault: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "WIREWATCH_FAULT_POINT"}
    if fault:
        env["WIREWATCH_FAULT_POINT"] = fault
    proc = await asyncio.create_subprocess_exec(sys.executable, str(SCRIPT), str(state), str(out), *urls,
                                                env=env, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode in (0, -signal.SIGKILL), err.decode()[-2000:]
    return proc.returncode


def _guids(out: Path) -> list[str]:
    if not out.exists():
        return []
    return [json.loads(line)["guid"] for line in out.read_text().splitlines() if line.strip()]


async def test_kill_between_publish_and_state_save_loses_nothing(tmp_path: Path) -> None:
    seed = fault_seed("poller kill points")
    rng = random.Random(seed)
    server = await FeedServer().start()
    try:
        for round_ in range(3):
            point = rng.choice(POINTS)
            base = tmp_path / f"r{round_}"
            base.mkdir()
            state, out = base / "state.json", base / "out.jsonl"
            n = rng.randint(2, 5)
            for i in range(n):
                server.feeds[f"/r{round_}f{i}.xml"] = rss(f"r{round_}f{i}", rng.randint(3, 12))
            urls = [server.url(f"/r{round_}f{i}.xml") for i in range(n)]
            ledger = {g for i in range(n) for g in _served(server, f"/r{round_}f{i}.xml")}
            code = await _run(state, out, urls, point)
            assert code == -signal.SIGKILL, f"seed {seed}: {point} never reached"
            await _run(state, out, urls, None)  # restart, clean
            got = _guids(out)
            assert ledger <= set(got), f"seed {seed}, {point}: lost {sorted(ledger - set(got))[:5]}"
            if point == "after_state_save":
                assert len(got) == len(ledger)  # state was saved: the restart re-sent nothing
            before = len(got)
            await _run(state, out, urls, None)  # a clean stop then restart re-sends nothing
            assert len(_guids(out)) == before, f"seed {seed}, {point}"
    finally:
        await server.stop()


def _served(server: FeedServer, path: str) -> list[str]:
    body = server.feeds[path].decode()
    return [part.split("</guid>")[0] for part in body.split("<guid>")[1:]]

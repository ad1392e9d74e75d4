"""The documented ways to subscribe to alerts work against a real (Tansu) broker.

`deploy/kcat-subscribe.sh` (Debian's kcat) and the aiokafka program printed in
docs/deployment.md each read a ContradictionAlert that was produced to the
contradiction topic, the way the processor publishes it.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from wirewatch.admin import create_topics
from wirewatch.broker import EmbeddedBroker
from wirewatch.models import Claim, ContradictionAlert, DisputeSide
from wirewatch.settings import Settings
from wirewatch.topics import Topics

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "deploy" / "kcat-subscribe.sh"
GUIDE = ROOT / "docs" / "deployment.md"
_prefixes = count()


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    with EmbeddedBroker() as b:
        yield b.bootstrap


def _claim(claim_id: str, sentence: str, polarity: str) -> Claim:
    now = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    return Claim.model_validate({
        "claim_id": claim_id, "story_id": f"s-{claim_id}", "story_url": f"https://news.example/{claim_id}",
        "source": "Example Wire", "feed_id": "example", "published": now, "sentence": sentence,
        "sentence_start": 0, "sentence_end": len(sentence), "category": "territory_control",
        "location": "Northtown", "location_key": "northtown", "polarity": polarity, "extracted_at": now,
    })


def _alert(n: int) -> ContradictionAlert:
    newer = _claim(f"c{n}b", "The ministry denied that the town had fallen.", "denied")
    older = _claim(f"c{n}a", "Rebels took control of the town, a spokesman said.", "asserted")
    alert_id = ContradictionAlert.make_id(newer.claim_id, older.claim_id, "denial")
    side = DisputeSide(sources=["Example Wire"], num_claims=1, num_articles=1)
    return ContradictionAlert(
        alert_id=alert_id, dispute_id=alert_id, claim_side=side, contradicts_side=side,
        kind="denial", ledger_key="territory_control|northtown", claim=newer, contradicts=older,
        explanation=f"denial #{n}: the ministry denies what rebels claimed",
        raised_at=datetime(2026, 3, 2, 9, 31, tzinfo=UTC),
    )


@pytest.fixture
def alerts(broker: str) -> tuple[str, list[ContradictionAlert]]:
    """A fresh topic prefix with three contradiction alerts on its alert topic."""
    prefix = f"sub{next(_prefixes)}.ww"
    settings = Settings.model_validate({"kafka_bootstrap": broker, "topic_prefix": prefix})
    sent = [_alert(i) for i in range(3)]

    async def produce() -> None:
        await create_topics(settings)
        producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
        await producer.start()
        try:
            for alert in sent:
                await producer.send_and_wait(Topics(prefix).contradiction.name, alert.to_json_bytes(),
                                             key=alert.ledger_key.encode())
        finally:
            await producer.stop()

    asyncio.run(produce())
    return prefix, sent


def _script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                          env={**base, **(env or {})}, stdin=subprocess.DEVNULL, check=False)


def test_kcat_script_prints_the_contradiction_alerts(
    broker: str, alerts: tuple[str, list[ContradictionAlert]]
) -> None:
    prefix, sent = alerts
    result = _script("-b", broker, "-c", "3", "-k", env={"WIREWATCH_TOPIC_PREFIX": prefix})
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [key for _, key, _ in rows] == [a.ledger_key for a in sent]
    # One ledger key, so one partition: in order, and exactly the published models.
    assert [ContradictionAlert.model_validate_json(value) for _, _, value in rows] == sent


def test_kcat_script_finds_the_broker_of_wirewatch_run(
    broker: str, alerts: tuple[str, list[ContradictionAlert]], tmp_path: Path
) -> None:
    prefix, sent = alerts
    (tmp_path / "embedded-broker").write_text(broker + "\n")  # what `wirewatch run` writes
    result = _script("-c", "1", env={"WIREWATCH_DATA_DIR": str(tmp_path), "WIREWATCH_TOPIC_PREFIX": prefix})
    assert result.returncode == 0, result.stderr
    assert ContradictionAlert.model_validate_json(result.stdout) == sent[0]


def test_kcat_script_refuses_what_the_embedded_broker_cannot_do(broker: str, tmp_path: Path) -> None:
    # Groups and "from now on" need ListOffsets, which kcat cannot use on Tansu: say so
    # instead of printing nothing or starting at the wrong offset.
    (tmp_path / "embedded-broker").write_text(broker)
    env = {"WIREWATCH_DATA_DIR": str(tmp_path)}
    for flag, args in (("-g", ("-g", "team")), ("-n", ("-n",))):
        result = _script(*args, "-c", "1", env=env)
        assert result.returncode == 1
        assert f"{flag} needs a real Kafka" in result.stderr


def test_kcat_script_refuses_a_missing_topic_without_creating_it(broker: str, tmp_path: Path) -> None:
    (tmp_path / "embedded-broker").write_text(broker)
    env = {"WIREWATCH_DATA_DIR": str(tmp_path)}
    result = _script("-t", "nobody.alerts.contradiction", "-c", "1", env=env)
    assert result.returncode == 1
    assert "topic nobody.alerts.contradiction does not exist" in result.stderr
    again = _script("-t", "nobody.alerts.contradiction", "-c", "1", env=env)
    assert "does not exist" in again.stderr  # the check itself did not auto-create it


def test_kcat_script_names_an_unreachable_broker() -> None:
    result = _script("-b", "127.0.0.1:1", "-c", "1")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("kcat-subscribe: cannot reach Kafka at 127.0.0.1:1")


def test_kcat_script_rejects_bad_arguments() -> None:
    cases = ((("-c", "0"), "positive count"), (("-x",), "unknown option -x"), (("extra",), "unexpected"))
    for args, message in cases:
        result = _script(*args)
        assert result.returncode == 1 and message in result.stderr, (args, result.stderr)


def _guide_program() -> str:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)
    program = next(b for b in blocks if b.startswith("# subscribe.py"))
    return program


@pytest.mark.timeout(120)  # hang guard: the program runs until killed
def test_the_guides_aiokafka_program_prints_the_alerts(
    broker: str, alerts: tuple[str, list[ContradictionAlert]], tmp_path: Path
) -> None:
    prefix, sent = alerts
    program = tmp_path / "subscribe.py"
    program.write_text(_guide_program())
    env = {**os.environ, "WIREWATCH_KAFKA_BOOTSTRAP": broker, "WIREWATCH_TOPIC_PREFIX": prefix,
           "SUBSCRIBER_GROUP": f"{prefix}-py"}
    proc = subprocess.Popen([sys.executable, str(program)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in sent]
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=30)
    assert [line.split()[:2] for line in lines] == [["denial", a.alert_id] for a in sent], err
    assert lines[0].rstrip("\n").endswith(sent[0].explanation)

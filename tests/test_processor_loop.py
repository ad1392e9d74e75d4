"""The processor shares one event loop between its stages: window sweeps work in bounded
steps, yield between them and never commit a dedup decision still in flight; the ledger
files claims in batches, acknowledged once, and a failure stays with its own claim."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.test_dedup import T0, story
from tests.test_ledger import mk
from wirewatch.processor import app as app_module
from wirewatch.processor.app import StagedStore, WirewatchApp
from wirewatch.processor.dedup import Deduplicator
from wirewatch.processor.ledger import ClaimLedger, LedgerResult
from wirewatch.settings import Settings


def test_dedup_sweep_yields_between_chunks_and_waits_for_a_decision_in_flight(tmp_path: Path) -> None:
    wa = WirewatchApp(Settings(data_dir=tmp_path), "127.0.0.1:1")  # no broker is reached
    table: dict[str, Any] = {}  # the faust table's place: this test is about the loop, not faust
    wa.dedup_store = StagedStore(table)
    wa.pipeline.dedup = Deduplicator(wa.dedup_store, window_seconds=86400)
    expired = 2 * app_module.DEDUP_EVICT_CHUNK + 50
    for i in range(expired):
        wa.pipeline.dedup.check(story(f"g:{i}", [f"Item {i}: the {i}th council met and agreed a road budget."],
                                      guid=str(i), url=f"https://wire.example/{i}"))
    wa.dedup_store.commit()
    assert len([k for k in table if k.startswith("s:")]) == expired

    ticks = 0
    ticks_at_chunk: list[int] = []
    evict = wa.pipeline.dedup.evict

    def counting_evict(*args: Any, **kwargs: Any) -> int:
        ticks_at_chunk.append(ticks)
        return evict(*args, **kwargs)

    wa.pipeline.dedup.evict = counting_evict  # type: ignore[method-assign]

    class UniqueTopic:  # the broker acknowledges the unique story when the test says so
        ack: asyncio.Future[None] | None = None

        async def send(self, **kwargs: Any) -> asyncio.Future[None]:
            self.ack = asyncio.get_running_loop().create_future()
            return self.ack

    unique = UniqueTopic()
    wa.unique_topic = unique  # type: ignore[assignment]
    later = T0 + timedelta(days=2)
    fresh = story("g:new", ["The harbour reopened on Monday after a week of repairs to the quay wall."],
                  guid="new", url="https://wire.example/new", published=later)

    async def scenario() -> tuple[int, bool]:
        nonlocal ticks

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        # a dedup decision waiting for its unique story's ack, when the sweep comes
        held = asyncio.create_task(wa._dedup_one(_Event(fresh.to_json_bytes(), _Msg(0, "wirewatch.stories.raw"))))
        for _ in range(5):
            await asyncio.sleep(0)
        assert unique.ack is not None and not held.done()
        sweep = asyncio.create_task(wa.evict_dedup(later))
        tick = asyncio.create_task(ticker())
        for _ in range(20):
            await asyncio.sleep(0)
        # the sweep waits for the decision: nothing of it is committed yet
        assert not sweep.done() and ticks_at_chunk == []
        assert sum(k.startswith("s:g:") for k in table) == expired
        committed_early = "s:g:new" in table
        unique.ack.set_result(None)
        await held
        n = await sweep
        tick.cancel()
        return n, committed_early

    n, committed_early = asyncio.run(scenario())
    assert not committed_early  # no commit carried the decision before its ack
    assert n == expired
    assert [k for k in table if k.startswith("s:g:")] == ["s:g:new"]  # committed by its own decision
    assert len(ticks_at_chunk) == 3  # 100 + 100 + 50
    assert ticks_at_chunk[0] < ticks_at_chunk[1] < ticks_at_chunk[2]  # other tasks ran between chunks


def test_dedup_sweep_waits_for_the_changelog_buffer_between_chunks(tmp_path: Path) -> None:
    wa = WirewatchApp(Settings(data_dir=tmp_path), "127.0.0.1:1")
    wa.dedup_store = StagedStore({})
    wa.pipeline.dedup = Deduplicator(wa.dedup_store, window_seconds=86400)
    for i in range(app_module.DEDUP_EVICT_CHUNK + 1):
        wa.pipeline.dedup.check(story(f"g:{i}", [f"Item {i}: the {i}th council met and agreed a road budget."],
                                      guid=str(i), url=f"https://wire.example/{i}"))
    wa.dedup_store.commit()

    class Buffer:  # faust's producer buffer, as the sweep sees it
        max_messages = 100
        size = 0

    buffer = Buffer()
    wa.app.producer.buffer = buffer  # type: ignore[assignment]
    sizes_at_chunk: list[int] = []
    evict = wa.pipeline.dedup.evict

    def evict_and_fill(*args: Any, **kwargs: Any) -> int:
        sizes_at_chunk.append(buffer.size)
        n = evict(*args, **kwargs)
        buffer.size += 5 * n  # the chunk's deletions, queued for the changelog
        return n

    wa.pipeline.dedup.evict = evict_and_fill  # type: ignore[method-assign]

    async def scenario() -> int:
        async def producer() -> None:  # sends 50 buffered messages every 10 ms
            while True:
                await asyncio.sleep(0.01)
                buffer.size = max(0, buffer.size - 50)

        task = asyncio.create_task(producer())
        n = await wa.evict_dedup(T0 + timedelta(days=2))
        task.cancel()
        return n

    assert asyncio.run(scenario()) == app_module.DEDUP_EVICT_CHUNK + 1
    # the second chunk started only once the first chunk's 500 deletions were mostly sent
    assert sizes_at_chunk == [0, 100]


def test_a_story_dedup_fails_on_leaves_no_write_for_the_next_commit(tmp_path: Path) -> None:
    wa = WirewatchApp(Settings(data_dir=tmp_path), "127.0.0.1:1")
    table: dict[str, Any] = {}
    wa.dedup_store = StagedStore(table)
    wa.pipeline.dedup = Deduplicator(wa.dedup_store, window_seconds=86400)

    def fails_half_way(raw: Any) -> Any:
        wa.dedup_store["s:" + raw.story_id] = {"x": 0}  # a write made before the failure
        raise RuntimeError("dedup failed")

    wa.pipeline.dedup_stage = fails_half_way  # type: ignore[method-assign]
    event = _Event(story("g:1", ["Some text."]).to_json_bytes(), _Msg(0, "wirewatch.stories.raw"))
    with pytest.raises(RuntimeError, match="dedup failed"):
        asyncio.run(wa._dedup_one(event))  # (_guard dead-letters it)
    assert wa.dedup_store.pending == {}
    wa.dedup_store.commit()  # the next story's, or a sweep step's
    assert table == {}


# ------------------------------------------------------------------ the ledger's batches
class _TP(NamedTuple):
    topic: str
    partition: int


@dataclass
class _Msg:
    offset: int
    topic: str = "wirewatch.claims"
    partition: int = 0
    key: bytes | None = None

    @property
    def tp(self) -> _TP:
        return _TP(self.topic, self.partition)


@dataclass
class _Event:
    value: bytes
    message: _Msg


class _Broker:
    """What the ledger agent sends, and which alerts the broker refuses."""

    def __init__(self, refuse: str | None = None) -> None:
        self.refuse = refuse
        self.sent: list[str] = []
        self.dead: list[int] = []

    async def publish(self, result: LedgerResult) -> list[Awaitable[Any]]:
        futures: list[Awaitable[Any]] = []
        for alert in result.alerts:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self.refuse is not None and self.refuse in alert.claim.sentence:
                fut.set_exception(RuntimeError("MessageSizeTooLargeError"))
            else:
                self.sent.append(f"{alert.type}: {alert.claim.sentence}")
                fut.set_result(None)
            futures.append(fut)
        return futures

    async def dead_letter(self, stage: str, event: Any, exc: BaseException) -> None:
        self.dead.append(event.message.offset)


def _ledger_app(tmp_path: Path, broker: _Broker) -> tuple[WirewatchApp, dict[str, Any]]:
    wa = WirewatchApp(Settings(data_dir=tmp_path), "127.0.0.1:1")
    table: dict[str, Any] = {}
    wa.ledger_store = StagedStore(table)
    wa.pipeline.ledger = ClaimLedger(wa.ledger_store)
    wa._publish = broker.publish  # type: ignore[method-assign]
    wa.dead_letter = broker.dead_letter  # type: ignore[method-assign]
    return wa, table


def _events(values: list[bytes]) -> list[_Event]:
    return [_Event(v, _Msg(offset=i)) for i, v in enumerate(values)]


TOOK = mk("State television said the army took Karsa.", "territory_control", "Karsa", story="s1",
          said_by="State television", actor="the army", trigger="took")
DENIED = mk("Rebels denied that the army had taken Karsa.", "territory_control", "Karsa", story="s2",
            said_by="Rebels", actor="the army", trigger="taken", polarity="denied")
OTHER = mk("Troops shelled Ostra overnight.", "attack", "Ostra", story="s3", actor="Troops", trigger="shelled")


def test_a_ledger_batch_files_every_claim_and_dead_letters_a_bad_one_alone(tmp_path: Path) -> None:
    broker = _Broker()
    wa, table = _ledger_app(tmp_path, broker)
    events = _events([TOOK.to_json_bytes(), b"not json", DENIED.to_json_bytes(), OTHER.to_json_bytes()])
    asyncio.run(wa._ledger_batch(events))
    assert broker.dead == [1]
    assert broker.sent == ["new_claim: " + TOOK.sentence, "new_claim: " + DENIED.sentence,
                           "contradiction: " + DENIED.sentence, "new_claim: " + OTHER.sentence]
    assert wa.ledger_store.pending == {}  # committed once, after the acks
    assert sum("/c/" in k for k in table) == 3


def test_a_refused_alert_rolls_the_batch_back_and_dead_letters_only_its_claim(tmp_path: Path) -> None:
    broker = _Broker(refuse="denied")
    wa, table = _ledger_app(tmp_path, broker)
    events = _events([TOOK.to_json_bytes(), DENIED.to_json_bytes(), OTHER.to_json_bytes()])
    asyncio.run(wa._ledger_batch(events))
    assert broker.dead == [1]  # the claim whose alert the broker refused
    claims = {k.split("/c/")[1] for k in table if "/c/" in k}
    assert claims == {TOOK.claim_id, OTHER.claim_id}  # not remembered without its alerts
    assert wa.ledger_store.pending == {}
    # The others' alerts went out (the first pass's, then the retry's: at least once).
    assert {"new_claim: " + TOOK.sentence, "new_claim: " + OTHER.sentence} <= set(broker.sent)
    assert not any(DENIED.sentence in s for s in broker.sent)
    # The ledger's view matches its store: the denial is new when it comes again.
    again = wa.pipeline.ledger.add(DENIED)
    assert [a.type for a in again.alerts] == ["new_claim", "contradiction"]

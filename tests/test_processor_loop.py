"""The processor shares one event loop between its stages: window sweeps work in bounded
steps, yield between them and never commit a dedup decision still in flight; dedup and
the ledger work in batches, acknowledged once, and a failure stays with its own message."""

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
        held = asyncio.create_task(wa._dedup_batch([_Event(fresh.to_json_bytes(), _Msg(0, "wirewatch.stories.raw"))]))
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


class _DeadLetters:
    """The dead-letter topic: the offsets of the messages sent to it."""

    def __init__(self) -> None:
        self.dead: list[int] = []

    async def dead_letter(self, stage: str, event: Any, exc: BaseException) -> None:
        self.dead.append(event.message.offset)


class _Copies(_DeadLetters):
    """The unique-stories topic: records what dedup sends; acks when the test says, or
    refuses the copy of one story."""

    def __init__(self, refuse: str | None = None, hold: bool = False) -> None:
        super().__init__()
        self.refuse, self.hold = refuse, hold
        self.sent: list[str] = []
        self.acks: list[asyncio.Future[None]] = []

    async def send(self, *, key: bytes, value: bytes) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if key.decode() == self.refuse:
            fut.set_exception(RuntimeError("MessageSizeTooLargeError"))
        else:
            self.sent.append(key.decode())
            if not self.hold:
                fut.set_result(None)
        self.acks.append(fut)
        return fut


def _dedup_app(tmp_path: Path, copies: _Copies) -> tuple[WirewatchApp, dict[str, Any]]:
    wa = WirewatchApp(Settings(data_dir=tmp_path), "127.0.0.1:1")
    table: dict[str, Any] = {}
    wa.dedup_store = StagedStore(table)
    wa.pipeline.dedup = Deduplicator(wa.dedup_store, window_seconds=86400)
    wa.unique_topic = copies  # type: ignore[assignment]
    wa.dead_letter = copies.dead_letter  # type: ignore[method-assign]
    return wa, table


HARBOUR = story("g:a", ["The harbour reopened on Monday after a week of repairs to the quay wall."],
                guid="a", url="https://wire.example/a")
HARBOUR_AGAIN = story("g:a2", ["The harbour reopened on Monday after a week of repairs to the quay wall."],
                      guid="a", url="https://wire.example/a")
COUNCIL = story("g:b", ["The council agreed a road budget after a long debate about the ring road."],
                guid="b", url="https://wire.example/b")
FLOOD = story("g:c", ["Flood water closed the river road and two schools near the old mill."],
              guid="c", url="https://wire.example/c")


def _raw_events(stories: list[bytes]) -> list[_Event]:
    return [_Event(v, _Msg(i, "wirewatch.stories.raw")) for i, v in enumerate(stories)]


def test_a_dedup_batch_commits_after_every_copy_is_acknowledged_and_dead_letters_a_bad_story_alone(
        tmp_path: Path) -> None:
    copies = _Copies(hold=True)
    wa, table = _dedup_app(tmp_path, copies)
    events = _raw_events([HARBOUR.to_json_bytes(), b"not json", HARBOUR_AGAIN.to_json_bytes(),
                          COUNCIL.to_json_bytes()])
    reloads = 0
    reload = wa.pipeline.dedup.reload

    def counting_reload() -> None:
        nonlocal reloads
        reloads += 1
        reload()

    wa.pipeline.dedup.reload = counting_reload  # type: ignore[method-assign]

    async def scenario() -> dict[str, Any]:
        batch = asyncio.create_task(wa._dedup_batch(events))
        for _ in range(10):
            await asyncio.sleep(0)
        assert not batch.done()
        before = dict(table)
        for fut in copies.acks:
            fut.set_result(None)
        await batch
        return before

    before = asyncio.run(scenario())
    assert before == {}  # nothing remembered while a copy waited for its ack
    assert copies.sent == ["g:a", "g:b"]  # decided in order: the re-poll is a duplicate of the first
    assert len(copies.acks) == 2  # both copies in flight at once, not one round trip each
    assert copies.dead == [1]
    assert reloads == 0  # a message that is not a story undoes nothing: no rebuild of the window
    assert {"s:g:a", "s:g:a2", "s:g:b"} <= set(table)  # the duplicate is remembered too, as seen
    assert wa.dedup_store.pending == {}


def test_a_refused_copy_rolls_the_dedup_batch_back_and_dead_letters_only_its_story(tmp_path: Path) -> None:
    copies = _Copies(refuse="g:b")
    wa, table = _dedup_app(tmp_path, copies)
    asyncio.run(wa._dedup_batch(_raw_events([HARBOUR.to_json_bytes(), COUNCIL.to_json_bytes(),
                                             FLOOD.to_json_bytes()])))
    assert copies.dead == [1]  # the story whose copy the broker refused
    assert {"s:g:a", "s:g:c"} <= set(table) and "s:g:b" not in table  # not remembered without its copy
    assert wa.dedup_store.pending == {}
    # The others' copies went out (the first pass's, then the retry's: at least once).
    assert {"g:a", "g:c"} <= set(copies.sent) and "g:b" not in copies.sent
    # Dedup's view matches its store: the refused story is new when it comes again.
    assert wa.pipeline.dedup.check(COUNCIL).status == "unique"


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


class _Broker(_DeadLetters):
    """What the ledger agent sends, and which alerts the broker refuses."""

    def __init__(self, refuse: str | None = None) -> None:
        super().__init__()
        self.refuse = refuse
        self.sent: list[str] = []

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


# ------------------------------------------------------------------ the embedded broker's depth
class _Consumer:
    """faust's consumer as the lag timer reads it: high watermarks and offsets read."""

    def __init__(self, highwaters: dict[_TP, int]) -> None:
        self.highwaters = highwaters
        self._read_offset: dict[_TP, int] = {}

    def assignment(self) -> set[_TP]:
        return set(self.highwaters)

    def highwater(self, tp: _TP) -> int:
        return self.highwaters[tp]


def test_the_lag_timer_warns_once_when_an_embedded_partition_nears_what_a_fetch_can_list(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    wa = WirewatchApp(Settings(data_dir=tmp_path, consumer_fetch_wait_ms=100), "127.0.0.1:1")
    raw, claims = _TP(wa.topics.raw.name, 0), _TP(wa.topics.claims.name, 2)
    consumer = _Consumer({raw: 49_999, claims: 10})
    wa.app.consumer = consumer  # type: ignore[assignment]
    wa.update_consumer_lag()
    assert "embedded broker" not in caplog.text  # under half of 100 ms x 1,000 batches
    consumer.highwaters[raw] = 50_000
    wa.update_consumer_lag()
    wa.update_consumer_lag()
    warnings = [r.getMessage() for r in caplog.records if "embedded broker" in r.getMessage()]
    assert warnings == [f"{raw.topic}[0] holds 50,000 records on the embedded broker, which lists every stored "
                        "batch on each fetch and cannot answer one past about 100,000 batches at "
                        "WIREWATCH_CONSUMER_FETCH_WAIT_MS=100; restart `wirewatch run` (the embedded broker "
                        "keeps nothing) or use a Kafka cluster"]


def test_no_depth_warning_on_a_kafka_cluster(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    wa = WirewatchApp(Settings(data_dir=tmp_path, kafka_bootstrap="kafka:9092"), "kafka:9092")
    wa.app.consumer = _Consumer({_TP(wa.topics.raw.name, 0): 10_000_000})  # type: ignore[assignment]
    wa.update_consumer_lag()
    assert "embedded broker" not in caplog.text

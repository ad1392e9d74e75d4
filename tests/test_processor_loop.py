"""The stage runner's at-least-once protocol, without faust: in-memory stores, a broker that
acknowledges when the test says (or refuses a message), and a dead-letter log.

A batch commits its state only once every message it sends is acknowledged; a failure
stays with its own input; a refused message rolls a stateful batch back and handles it
again one input at a time; cancellation leaves nothing staged; sweeps work in bounded
steps, yield between them and never commit a decision still in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest

from tests.test_dedup import T0, story
from tests.test_ledger import T0 as CLAIMS_T0
from tests.test_ledger import mk
from wirewatch.errors import ExtractFailed
from wirewatch.models import Claim, RawStory, UniqueStory
from wirewatch.processor.ledger import ClaimLedger
from wirewatch.processor.pipeline import LEDGER_EVICT_EVERY, ExtractBatch, Pipeline
from wirewatch.processor.stream.runner import StageRunner
from wirewatch.processor.stream.staged import StagedStore
from wirewatch.processor.stream.stages import DEDUP_EVICT_CHUNK, DedupStage, ExtractStage, LedgerStage
from wirewatch.processor.stream.types import Outbound, Record
from wirewatch.settings import Settings


class Broker:
    """The publisher: records what is sent; refuses the messages ``refuse`` picks; with
    ``hold``, acknowledges only when the test calls :meth:`ack_all`."""

    def __init__(self, refuse: Callable[[Outbound], bool] = lambda m: False, hold: bool = False) -> None:
        self.refuse, self.hold = refuse, hold
        self.sent: list[Outbound] = []
        self.acks: list[asyncio.Future[None]] = []
        self.drain: Callable[[], Awaitable[None]] | None = None

    async def send(self, message: Outbound) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.refuse(message):
            fut.set_exception(RuntimeError("MessageSizeTooLargeError"))
        else:
            self.sent.append(message)
            if not self.hold:
                fut.set_result(None)
        self.acks.append(fut)
        return fut

    async def drained(self) -> None:
        if self.drain is not None:
            await self.drain()

    def ack_all(self) -> None:
        for fut in self.acks:
            if not fut.done():
                fut.set_result(None)

    def keys(self, dest: str) -> list[str]:
        return [m.key for m in self.sent if m.dest == dest]


class DeadLetterLog:
    def __init__(self) -> None:
        self.offsets: list[int | None] = []

    async def dead_letter(self, stage: str, record: Record, exc: BaseException) -> None:
        self.offsets.append(record.offset)


class Dedup:
    """A dedup stage runner over a dict, with the ports above."""

    def __init__(self, broker: Broker, window_days: float = 7.0) -> None:
        self.table: dict[str, Any] = {}
        self.store = StagedStore(self.table)
        self.pipeline = Pipeline(Settings(dedup_window_days=window_days), dedup_store=self.store,
                                 load_extractor=False)
        self.dead = DeadLetterLog()
        self.runner = StageRunner(DedupStage(self.pipeline), store=self.store, publisher=broker,
                                  dead_letters=self.dead)


def _records(values: Sequence[bytes], topic: str) -> list[Record]:
    return [Record(v, topic, 0, i) for i, v in enumerate(values)]


HARBOUR = story("g:a", ["The harbour reopened on Monday after a week of repairs to the quay wall."],
                guid="a", url="https://wire.example/a")
HARBOUR_AGAIN = story("g:a2", ["The harbour reopened on Monday after a week of repairs to the quay wall."],
                      guid="a", url="https://wire.example/a")
COUNCIL = story("g:b", ["The council agreed a road budget after a long debate about the ring road."],
                guid="b", url="https://wire.example/b")
FLOOD = story("g:c", ["Flood water closed the river road and two schools near the old mill."],
              guid="c", url="https://wire.example/c")


def _raw(*stories: RawStory | bytes) -> list[Record]:
    return _records([s if isinstance(s, bytes) else s.to_json_bytes() for s in stories], "wirewatch.stories.raw")


# ------------------------------------------------------------------ a batch with state
def test_a_batch_commits_after_every_message_is_acknowledged_and_dead_letters_a_bad_input_alone() -> None:
    broker = Broker(hold=True)
    d = Dedup(broker)
    reloads = 0
    reload = d.pipeline.dedup.reload

    def counting_reload() -> None:
        nonlocal reloads
        reloads += 1
        reload()

    d.pipeline.dedup.reload = counting_reload  # type: ignore[method-assign]

    async def scenario() -> dict[str, Any]:
        batch = asyncio.create_task(d.runner.run(_raw(HARBOUR, b"not json", HARBOUR_AGAIN, COUNCIL)))
        for _ in range(10):
            await asyncio.sleep(0)
        assert not batch.done()
        before = dict(d.table)
        broker.ack_all()
        await batch
        return before

    before = asyncio.run(scenario())
    assert before == {}  # nothing remembered while a copy waited for its ack
    assert broker.keys("unique") == ["g:a", "g:b"]  # decided in order: the re-poll is a duplicate of the first
    assert len(broker.acks) == 2  # both copies in flight at once, not one round trip each
    assert d.dead.offsets == [1]
    assert reloads == 0  # a message that is not a story undoes nothing: no rebuild of the window
    assert {"s:g:a", "s:g:a2", "s:g:b"} <= set(d.table)  # the duplicate is remembered too, as seen
    assert d.store.pending == {}


def test_an_input_the_stage_fails_on_leaves_no_write_for_the_next_commit() -> None:
    broker = Broker()
    d = Dedup(broker)

    def fails_half_way(raw: RawStory) -> Any:
        if raw.story_id == "g:b":
            d.store["s:" + raw.story_id] = {"x": 0}  # a write made before the failure
            raise RuntimeError("dedup failed")
        return decide(raw)

    decide = d.pipeline.dedup_stage
    d.pipeline.dedup_stage = fails_half_way  # type: ignore[method-assign]
    asyncio.run(d.runner.run(_raw(HARBOUR, COUNCIL, FLOOD)))
    assert d.dead.offsets == [1]
    assert "s:g:b" not in d.table and {"s:g:a", "s:g:c"} <= set(d.table)
    assert broker.keys("unique") == ["g:a", "g:c"]


def test_a_refused_message_rolls_the_batch_back_and_dead_letters_only_its_input() -> None:
    broker = Broker(refuse=lambda m: m.key == "g:b")
    d = Dedup(broker)
    asyncio.run(d.runner.run(_raw(HARBOUR, COUNCIL, FLOOD)))
    assert d.dead.offsets == [1]  # the story whose copy the broker refused
    assert {"s:g:a", "s:g:c"} <= set(d.table) and "s:g:b" not in d.table  # not remembered without its copy
    assert d.store.pending == {}
    # The others' copies went out (the first pass's, then the retry's: at least once).
    assert broker.keys("unique") == ["g:a", "g:c", "g:a", "g:c"]
    # Dedup's view matches its store: the refused story is new when it comes again.
    assert d.pipeline.dedup.check(COUNCIL).status == "unique"


def test_the_retry_one_at_a_time_commits_each_input_once_its_own_messages_are_acknowledged() -> None:
    refused = {"g:b"}
    broker = Broker(refuse=lambda m: m.key in refused)
    d = Dedup(broker)
    commits: list[set[str]] = []
    commit = d.store.commit

    def recording_commit() -> None:
        commit()
        commits.append({k for k in d.table if k.startswith("s:g:")})

    d.store.commit = recording_commit  # type: ignore[method-assign]
    asyncio.run(d.runner.run(_raw(HARBOUR, COUNCIL, FLOOD)))
    # one commit per story that went through, in order; none for the batch as a whole
    assert commits == [{"s:g:a"}, {"s:g:a", "s:g:c"}]


def test_cancelling_a_batch_leaves_nothing_staged_and_dead_letters_nothing() -> None:
    broker = Broker(hold=True)
    d = Dedup(broker)

    async def scenario() -> None:
        batch = asyncio.create_task(d.runner.run(_raw(HARBOUR, COUNCIL)))
        for _ in range(10):
            await asyncio.sleep(0)
        assert len(broker.acks) == 2 and not batch.done()
        batch.cancel()  # a rebalance or a shutdown while the copies wait for their acks
        with pytest.raises(asyncio.CancelledError):
            await batch

    asyncio.run(scenario())
    assert d.table == {} and d.store.pending == {}
    assert d.dead.offsets == []  # the batch is read again after a restart, not dead-lettered
    # Dedup's view matches its store: both stories are new when they come again.
    assert [d.pipeline.dedup.check(s).status for s in (HARBOUR, COUNCIL)] == ["unique", "unique"]


def test_a_failing_dead_letter_sink_stops_the_runner_with_nothing_staged() -> None:
    broker = Broker()
    d = Dedup(broker)

    async def broken(stage: str, record: Record, exc: BaseException) -> None:
        raise ConnectionError("dead-letter topic unreachable")

    d.runner.dead_letters.dead_letter = broken  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        asyncio.run(d.runner.run(_raw(HARBOUR, b"not json", COUNCIL)))
    assert d.table == {} and d.store.pending == {}


# ------------------------------------------------------------------ the ledger's batches
class Ledger:
    def __init__(self, broker: Broker) -> None:
        self.table: dict[str, Any] = {}
        self.store = StagedStore(self.table)
        self.pipeline = Pipeline(Settings(), ledger_store=self.store, load_extractor=False)
        self.dead = DeadLetterLog()
        self.runner = StageRunner(LedgerStage(self.pipeline), store=self.store, publisher=broker,
                                  dead_letters=self.dead)

    def claims(self) -> set[str]:
        return {k.split("/c/")[1] for k in self.table if "/c/" in k}


def _claims(*claims: Claim | bytes) -> list[Record]:
    return _records([c if isinstance(c, bytes) else c.to_json_bytes() for c in claims], "wirewatch.claims")


def _alerts(broker: Broker) -> list[str]:
    return [f"{m.dest}: {m.value.claim.sentence}" for m in broker.sent  # type: ignore[attr-defined]
            if m.dest in ("new_claim", "contradiction")]


TOOK = mk("State television said the army took Karsa.", "territory_control", "Karsa", story="s1",
          said_by="State television", actor="the army", trigger="took")
DENIED = mk("Rebels denied that the army had taken Karsa.", "territory_control", "Karsa", story="s2",
            said_by="Rebels", actor="the army", trigger="taken", polarity="denied")
OTHER = mk("Troops shelled Ostra overnight.", "attack", "Ostra", story="s3", actor="Troops", trigger="shelled")


def test_a_ledger_batch_files_every_claim_and_dead_letters_a_bad_one_alone() -> None:
    broker = Broker()
    led = Ledger(broker)
    asyncio.run(led.runner.run(_claims(TOOK, b"not json", DENIED, OTHER)))
    assert led.dead.offsets == [1]
    assert _alerts(broker) == ["new_claim: " + TOOK.sentence, "new_claim: " + DENIED.sentence,
                               "contradiction: " + DENIED.sentence, "new_claim: " + OTHER.sentence]
    assert broker.sent[2].headers == {"wirewatch-alert-id": broker.sent[2].value.alert_id.encode()}  # type: ignore[attr-defined]
    assert led.store.pending == {}  # committed once, after the acks
    assert led.claims() == {TOOK.claim_id, DENIED.claim_id, OTHER.claim_id}


def test_a_refused_alert_rolls_the_ledger_batch_back_and_dead_letters_only_its_claim() -> None:
    broker = Broker(refuse=lambda m: "denied" in getattr(m.value, "claim", TOOK).sentence)
    led = Ledger(broker)
    asyncio.run(led.runner.run(_claims(TOOK, DENIED, OTHER)))
    assert led.dead.offsets == [1]  # the claim whose alert the broker refused
    assert led.claims() == {TOOK.claim_id, OTHER.claim_id}  # not remembered without its alerts
    assert led.store.pending == {}
    # The others' alerts went out (the first pass's, then the retry's: at least once).
    assert {"new_claim: " + TOOK.sentence, "new_claim: " + OTHER.sentence} <= set(_alerts(broker))
    assert not any(DENIED.sentence in s for s in _alerts(broker))
    # The stream clock went back with the store: three claims seen, not six.
    assert led.pipeline.ledger_clock.seen == 3
    # The ledger's view matches its store: the denial is new when it comes again.
    again = led.pipeline.ledger.add(DENIED)
    assert [a.type for a in again.alerts] == ["new_claim", "contradiction"]


def test_the_ledger_sweeps_places_no_claim_touched_by_the_streams_clock_without_changing_a_decision() -> None:
    # One place's claims, then, three weeks later, claims about other places only: the
    # sweep (every LEDGER_EVICT_EVERY claims) drops the first place, which no claim
    # touches again; filing the same claims without sweeps raises the same alerts.
    old = [mk(f"Troops shelled Karsa on day {i}.", "attack", "Karsa", story=f"k{i}", actor="Troops",
              trigger="shelled") for i in range(3)]
    later = CLAIMS_T0 + timedelta(days=21)
    new = [mk(f"Rebels said they took Velna{i}.", "territory_control", f"Velna{i}", story=f"v{i}", at=later,
              said_by="Rebels", actor="Rebels", trigger="took") for i in range(LEDGER_EVICT_EVERY)]
    broker = Broker()
    led = Ledger(broker)
    asyncio.run(led.runner.run(_claims(*old, *new)))
    assert not any(k.startswith("place:karsa/") for k in led.table)  # swept: out of the window, whole
    plain = ClaimLedger()
    expected = [a.alert_id for c in (*old, *new) for a in plain.add(c).alerts]
    assert [m.value.alert_id for m in broker.sent if m.dest == "new_claim"] == expected  # type: ignore[attr-defined]
    assert any(k.startswith("place:karsa/") for k in plain.store)  # (without the sweep it stays)


# ------------------------------------------------------------------ a stage without state
def test_a_stateless_stage_dead_letters_only_the_input_whose_message_was_refused() -> None:
    uniques = [UniqueStory(story=s, cluster_id="c:1", status="unique") for s in (HARBOUR, COUNCIL, FLOOD)]
    claims = {u.story.story_id: mk(f"Officials said story {u.story.story_id} happened in Ostra.", "attack",
                                   "Ostra", story=u.story.story_id) for u in uniques}
    calls: list[int] = []

    async def extract(stories: Sequence[UniqueStory]) -> ExtractBatch:
        calls.append(len(stories))
        return ExtractBatch([ExtractFailed("spaCy fell over", "internal") if s.story.story_id == "g:c"
                             else [claims[s.story.story_id].model_copy()] for s in stories])

    broker = Broker(refuse=lambda m: getattr(m.value, "story_id", "") == "g:b")
    dead = DeadLetterLog()
    pipeline = Pipeline(Settings(), load_extractor=False)
    runner = StageRunner(ExtractStage(pipeline, extract, 16), publisher=broker, dead_letters=dead)
    asyncio.run(runner.run(_records([b"{}", *(u.to_json_bytes() for u in uniques)], "wirewatch.stories.unique")))
    assert calls == [3]  # one NLP call for the batch; no retry: nothing to roll back
    assert sorted(o for o in dead.offsets if o is not None) == [0, 2, 3]  # not a story, refused, failed in NLP
    assert [m.value.story_id for m in broker.sent] == ["g:a"]  # type: ignore[attr-defined]
    assert broker.sent[0].value.fetched_at == HARBOUR.fetched_at  # type: ignore[attr-defined]


# ------------------------------------------------------------------ sweeps
def _fill_window(d: Dedup, n: int) -> None:
    for i in range(n):
        d.pipeline.dedup.check(story(f"g:{i}", [f"Item {i}: the {i}th council met and agreed a road budget."],
                                     guid=str(i), url=f"https://wire.example/{i}"))
    d.store.commit()


def test_a_sweep_yields_between_steps_and_waits_for_a_decision_in_flight() -> None:
    broker = Broker(hold=True)
    d = Dedup(broker, window_days=1)
    expired = 2 * DEDUP_EVICT_CHUNK + 50
    _fill_window(d, expired)
    assert len([k for k in d.table if k.startswith("s:")]) == expired

    ticks = 0
    ticks_at_step: list[int] = []
    evict = d.pipeline.evict_dedup

    def counting_evict(*args: Any) -> int:
        ticks_at_step.append(ticks)
        return evict(*args)

    d.pipeline.evict_dedup = counting_evict  # type: ignore[method-assign]
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
        held = asyncio.create_task(d.runner.run(_raw(fresh)))
        for _ in range(5):
            await asyncio.sleep(0)
        assert broker.acks and not held.done()
        sweep = asyncio.create_task(d.runner.sweep(lambda limit: d.pipeline.evict_dedup(later, limit),
                                                   DEDUP_EVICT_CHUNK))
        tick = asyncio.create_task(ticker())
        for _ in range(20):
            await asyncio.sleep(0)
        # the sweep waits for the decision: nothing of it is committed yet
        assert not sweep.done() and ticks_at_step == []
        assert sum(k.startswith("s:g:") for k in d.table) == expired
        committed_early = "s:g:new" in d.table
        broker.ack_all()
        await held
        n = await sweep
        tick.cancel()
        return n, committed_early

    n, committed_early = asyncio.run(scenario())
    assert not committed_early  # no commit carried the decision before its ack
    assert n == expired
    assert [k for k in d.table if k.startswith("s:g:")] == ["s:g:new"]  # committed by its own decision
    assert len(ticks_at_step) == 3  # 100 + 100 + 50
    assert ticks_at_step[0] < ticks_at_step[1] < ticks_at_step[2]  # other tasks ran between steps


def test_a_sweep_waits_for_the_publisher_to_drain_between_steps() -> None:
    broker = Broker()
    d = Dedup(broker, window_days=1)
    _fill_window(d, DEDUP_EVICT_CHUNK + 1)
    backlog = 0
    backlog_at_step: list[int] = []

    def evict_and_queue(limit: int) -> int:
        nonlocal backlog
        backlog_at_step.append(backlog)
        n = d.pipeline.evict_dedup(T0 + timedelta(days=2), limit)
        backlog += 5 * n  # the step's deletions, queued for the changelog
        return n

    async def drain() -> None:  # the producer sends 50 queued messages every 10 ms
        nonlocal backlog
        while backlog > 100:
            await asyncio.sleep(0.01)
            backlog = max(0, backlog - 50)

    broker.drain = drain
    assert asyncio.run(d.runner.sweep(evict_and_queue, DEDUP_EVICT_CHUNK)) == DEDUP_EVICT_CHUNK + 1
    # the second step started only once the first step's 500 deletions were mostly sent
    assert backlog_at_step == [0, 100]


# ------------------------------------------------------------------ the staged store
class _Writes(dict[str, Any]):
    """A table that keeps every write it is given (each one a changelog record in the service)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes.append(key)
        super().__setitem__(key, value)


def test_a_byte_identical_copy_commits_no_write_and_a_copy_under_a_new_link_only_its_own_keys() -> None:
    d = Dedup(Broker())
    d.table = _Writes()
    d.store.table = d.table
    moved = story("g:moved", HARBOUR.body.split("\n\n"), guid="moved", url="https://wire.example/moved")
    asyncio.run(d.runner.run(_raw(HARBOUR)))
    written = list(d.table.writes)
    assert "s:g:a" in written
    d.table.writes.clear()
    # a burst of re-sends of the same bytes, larger than a batch: nothing to remember again
    asyncio.run(d.runner.run(_raw(*[HARBOUR] * (DedupStage.batch_size + 3))))
    assert d.table.writes == []
    asyncio.run(d.runner.run(_raw(moved)))
    # the copy's own record and the lookup of its link; the body it shares keeps its first owner
    assert sorted(d.table.writes) == ["s:g:moved", "u:" + moved.canonical_url]


def test_a_savepoint_undoes_only_the_writes_after_it_and_get_reads_through_the_staging() -> None:
    table = {"kept": 1, "gone": 2}
    store = StagedStore(table)
    store["new"] = "a"
    first = store.savepoint()
    store["new"] = "b"  # a key staged before the savepoint, staged again after it
    store["later"] = "c"
    del store["gone"]
    second = store.savepoint()
    store["kept"] = 9
    assert store.get("gone", "none") == "none" and store.get("kept") == 9 and store.get("nowhere") is None
    store.rollback_to(second)
    assert dict(store) == {"kept": 1, "new": "b", "later": "c"}
    store.rollback_to(first)
    assert dict(store) == {"kept": 1, "gone": 2, "new": "a"}
    store.commit()
    assert table == {"kept": 1, "gone": 2, "new": "a"}
    after_commit = store.savepoint()
    store["x"] = 1
    store.rollback_to(after_commit)
    assert "x" not in store and table == {"kept": 1, "gone": 2, "new": "a"}


def test_setdefault_stages_a_write_only_for_a_key_it_does_not_hold() -> None:
    table: dict[str, Any] = {"held": "first", "none": None, "gone": 2}
    store = StagedStore(table)
    del store["gone"]
    store["staged"] = "s"
    mark = store.savepoint()
    # what the table (or the staging) holds wins, a None included; a deleted key is missing
    assert [store.setdefault(k, "new") for k in ("held", "none", "staged", "gone", "missing")] == [
        "first", None, "s", "new", "new"]
    assert store.pending == {"staged": "s", "gone": "new", "missing": "new"}  # (a deletion, then the default)
    store.rollback_to(mark)  # the defaults were staged like any write
    assert "missing" not in store and "gone" not in store
    store.setdefault("missing", "again")
    store.commit()
    assert table == {"held": "first", "none": None, "staged": "s", "missing": "again"}

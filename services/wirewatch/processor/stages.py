"""The processor's three stages as the stage runner drives them, and their in-memory run.

Each stage adapts one :class:`~wirewatch.processor.pipeline.Pipeline` method to
:class:`~wirewatch.processor.types.Stage`: it decodes its input model, calls the
pipeline and names what to send where.  The faust shell runs them on topics and tables
(:mod:`wirewatch.processor.app`); :func:`replay_stories` runs them over in-memory ports,
stage after stage, for `wirewatch replay`: the same runner, the same steps, the same
window sweeps.  Nothing here knows about faust.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from .. import limits, metrics
from ..errors import ExtractFailed, MessageTooLarge, NotJSON, SchemaInvalid, error_code
from ..models import (
    Claim,
    ClaimUpdate,
    ContradictionAlert,
    DeadLetter,
    DedupVerdict,
    NewClaimAlert,
    RawStory,
    UniqueStory,
    utcnow,
)
from ..settings import Settings
from .extract import Extractor
from .pipeline import ExtractBatch, LedgerClock, Pipeline, extract_batch
from .runner import MemoryPublisher, StageRunner, StopOnFailure, records_of
from .staged import StagedStore
from .types import Outbound, Publisher, Record, Stage, Staged

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = limits.MAX_MESSAGE_BYTES  # decode cap = what the producers may send
DEADLETTER_PAYLOAD_CAP = 64 * 1024
# Raw stories decided and claims filed at a time: a batch's messages are sent together
# and acknowledged once, instead of one broker round trip per input in an event loop
# shared with every other stage (one at a time, a slow broker capped dedup at 1/RTT).
DEDUP_BATCH = 64
LEDGER_BATCH = 64
DEDUP_EVICT_CHUNK = 100  # stories one step of a dedup sweep forgets, between two yields to the event loop


def decode(model: type[BaseModel], value: bytes | BaseModel | None) -> Any:
    """bytes -> model, with the stable error classes the dead-letter topic records.  A
    model handed over in memory (replay) was validated where it was made."""
    if isinstance(value, model):
        return value
    if not isinstance(value, bytes | bytearray):
        raise NotJSON("empty message")
    if len(value) > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(f"message of {len(value)} bytes is over the {MAX_MESSAGE_BYTES} byte cap")
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise NotJSON(f"not JSON: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "(root)"
        raise SchemaInvalid(f"invalid {model.__name__}: {where}: {first.get('msg')}") from None


class DedupStage(Stage):
    """Raw story -> dedup's verdict (the note) and, unless a duplicate, its unique copy."""

    name = "dedup"
    batch_size = DEDUP_BATCH

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def decode(self, value: bytes | BaseModel | None) -> RawStory:
        return decode(RawStory, value)

    def step(self, item: RawStory) -> Staged:
        verdict, unique = self.pipeline.dedup_stage(item)
        out = [Outbound("unique", item.story_id, unique)] if unique is not None else []
        return Staged(out, verdict)

    def reload(self) -> None:
        self.pipeline.reload_dedup()


ExtractFn = Callable[[Sequence[UniqueStory]], Awaitable[ExtractBatch]]


class ExtractStage(Stage):
    """Unique story -> its claims.  Stateless; a batch's stories go through NLP at once
    (``extract``: the NLP worker pool in the service, in-line in replay)."""

    name = "extract"

    def __init__(self, pipeline: Pipeline, extract: ExtractFn, batch_size: int) -> None:
        self.pipeline = pipeline
        self.extract = extract
        self.batch_size = batch_size

    def decode(self, value: bytes | BaseModel | None) -> UniqueStory:
        return decode(UniqueStory, value)

    async def prepare(self, items: Sequence[UniqueStory]) -> list[tuple[UniqueStory, list[Claim] | ExtractFailed]]:
        batch = await self.extract(items)
        self.pipeline.record_extract(batch)
        return list(zip(items, batch.results, strict=True))

    def step(self, item: tuple[UniqueStory, list[Claim] | ExtractFailed]) -> Staged:
        unique, result = item
        if isinstance(result, ExtractFailed):
            raise result
        out = []
        for claim in result:
            claim.fetched_at = unique.story.fetched_at
            out.append(Outbound("claims", self.pipeline.key_of(claim), claim))
        return Staged(out)


class LedgerStage(Stage):
    """Claim -> the corroboration updates and alerts it raises."""

    name = "ledger"
    batch_size = LEDGER_BATCH

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def decode(self, value: bytes | BaseModel | None) -> Claim:
        return decode(Claim, value)

    def step(self, item: Claim) -> Staged:
        result = self.pipeline.ledger_stage(item)
        out = [Outbound("claim_updates", u.ledger_key, u) for u in result.updates]
        out += [Outbound(a.type, a.ledger_key, a, {"wirewatch-alert-id": a.alert_id.encode()})
                for a in result.alerts]
        return Staged(out)

    def reload(self) -> None:
        self.pipeline.reload_ledger()

    def checkpoint(self) -> LedgerClock:
        return self.pipeline.ledger_checkpoint()

    def restore(self, checkpoint: LedgerClock) -> None:
        self.pipeline.ledger_restore(checkpoint)


def trace_decision(record: Record, staged: Staged) -> None:
    """A per-story DEBUG trail of dedup's committed decisions, for tracing a story through restarts."""
    verdict: DedupVerdict = staged.note
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s[%s]@%s: %s %s%s", record.topic, record.partition, record.offset, verdict.story_id,
                  verdict.status,
                  f" of {verdict.duplicate_of_id} ({verdict.kind})" if verdict.duplicate_of_id else "")


class DeadLetterTopic:
    """Dead letters as messages: the failed input with its origin and error, logged and
    sent to the ``deadletter`` destination (its acknowledgement is not awaited)."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher

    async def dead_letter(self, stage: str, record: Record, exc: BaseException) -> None:
        code = error_code(exc)
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        if code == "internal" and not isinstance(exc, ExtractFailed):
            log.exception("%s: %s failed", where, stage, exc_info=exc)
        else:
            log.warning("%s: %s: %s", where, code, exc)
        value = record.value
        raw = bytes(value) if isinstance(value, bytes | bytearray) else repr(value).encode()
        letter = DeadLetter(
            origin_topic=record.topic,
            origin_partition=record.partition,
            origin_offset=record.offset,
            origin_key=record.key.decode("utf-8", "replace") if record.key is not None else None,
            stage=stage,
            error_class=code,
            error=str(exc)[:2000] or type(exc).__name__,
            payload=raw[:DEADLETTER_PAYLOAD_CAP].decode("utf-8", "replace"),
            payload_truncated=len(raw) > DEADLETTER_PAYLOAD_CAP,
            failed_at=utcnow(),
        )
        headers = {
            "wirewatch-origin-topic": record.topic.encode(),
            "wirewatch-origin-partition": str(record.partition).encode(),
            "wirewatch-origin-offset": str(record.offset).encode(),
            "wirewatch-error-class": code.encode(),
            "wirewatch-error": str(exc)[:500].encode("utf-8", "replace"),
        }
        metrics.DEAD_LETTERS.labels(stage=stage, error_class=code).inc()
        await self.publisher.send(Outbound("deadletter", record.topic, letter, headers))


# ---------------------------------------------------------------- replay
@dataclass
class ReplayResult:
    verdicts: list[DedupVerdict] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    alerts: list[NewClaimAlert | ContradictionAlert] = field(default_factory=list)
    updates: list[ClaimUpdate] = field(default_factory=list)


def replay_stories(settings: Settings, stories: Sequence[RawStory], *, extractor: Extractor | None = None,
                   progress: Callable[[str], None] | None = None, progress_every: int = 200) -> ReplayResult:
    """Every story through all three stages, in the order given (publication order), over
    in-memory ports; the first failure stops the run.  With ``progress``, a long run says how
    far extraction (the slow stage) has got every ``progress_every`` stories."""
    return asyncio.run(_replay(settings, stories, extractor, progress, progress_every))


async def _replay(settings: Settings, stories: Sequence[RawStory], extractor: Extractor | None,
                  progress: Callable[[str], None] | None, progress_every: int) -> ReplayResult:
    dedup_store, ledger_store = StagedStore({}), StagedStore({})
    pipeline = Pipeline(settings, dedup_store=dedup_store, ledger_store=ledger_store, extractor=extractor)
    sent = MemoryPublisher()
    stop = StopOnFailure()
    result = ReplayResult()

    async def extract_here(batch: Sequence[UniqueStory]) -> ExtractBatch:
        return extract_batch(pipeline.extractor, batch)

    def keep_verdict(record: Record, staged: Staged) -> None:
        result.verdicts.append(staged.note)

    # Stage after stage over the whole input: extraction is pure and dedup does not
    # depend on the ledger, so this decides as the stream does, in fewer, larger steps.
    dedup = StageRunner(DedupStage(pipeline), store=dedup_store, publisher=sent, dead_letters=stop,
                        on_commit=keep_verdict)
    raws = [Record(raw, "stories.raw", 0, offset, raw.feed_id.encode()) for offset, raw in enumerate(stories)]
    for batch in _batches(raws, dedup.stage.batch_size):
        await dedup.run(batch)
        # the service's sweep timer, by the wall clock as there (a replay's stories were
        # fetched just now, so the window keeps them all)
        await dedup.sweep(lambda limit: pipeline.evict_dedup(utcnow(), limit), DEDUP_EVICT_CHUNK)
    extract = StageRunner(ExtractStage(pipeline, extract_here, settings.extract_batch_size),
                          publisher=sent, dead_letters=stop)
    uniques = records_of(sent.take("unique"))
    done = reported = 0
    for batch in _batches(uniques, extract.stage.batch_size):
        await extract.run(batch)
        done += len(batch)
        if progress is not None and len(uniques) > progress_every and (
                done - reported >= progress_every or done == len(uniques)):
            reported = done
            progress(f"extracted {done}/{len(uniques)} unique stories ({100 * done // len(uniques)}%): "
                     f"{sum(m.dest == 'claims' for m in sent.sent)} claims so far")
    claims = sent.take("claims")
    result.claims = [m.value for m in claims]  # type: ignore[misc]
    ledger = StageRunner(LedgerStage(pipeline), store=ledger_store, publisher=sent, dead_letters=stop)
    for batch in _batches(records_of(claims), ledger.stage.batch_size):
        await ledger.run(batch)
    for message in sent.sent:
        if isinstance(message.value, NewClaimAlert | ContradictionAlert):
            result.alerts.append(message.value)
        elif isinstance(message.value, ClaimUpdate):
            result.updates.append(message.value)
    return result


def _batches(records: list[Record], size: int) -> list[list[Record]]:
    return [records[i:i + size] for i in range(0, len(records), size)]

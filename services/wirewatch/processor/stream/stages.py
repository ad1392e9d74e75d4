"""The processor's three stages as the stage runner drives them, and their in-memory run.

Each stage adapts one :class:`~wirewatch.processor.pipeline.Pipeline` method to
:class:`~wirewatch.processor.stream.types.Stage`: it decodes its input model, calls the
pipeline and names what to send where.  The faust shell runs them on topics and tables
(:mod:`wirewatch.processor.stream.app`); :func:`replay_stories` runs them over in-memory ports,
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

from ... import limits, metrics
from ...errors import ExtractFailed, MessageTooLarge, NotJSON, SchemaInvalid, error_code
from ...models import (
    MAX_DEADLETTER_KEY_CHARS,
    MAX_DEADLETTER_PAYLOAD_CHARS,
    MAX_ERROR_CHARS,
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
from ...settings import Settings
from ..extract import Extractor
from ..pipeline import ExtractBatch, LedgerClock, Overspent, Pipeline, extract_batch
from .runner import MemoryPublisher, StageRunner, StopOnFailure, records_of
from .staged import StagedStore
from .types import Outbound, Publisher, Record, Stage, Staged

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = limits.MAX_MESSAGE_BYTES  # decode cap = what the producers may send
# Raw stories decided and claims filed at a time: a batch's messages are sent together
# and acknowledged once, instead of one broker round trip per input in an event loop
# shared with every other stage (one at a time, a slow broker capped dedup at 1/RTT).
# Dedup takes more: on a backlog of copies most inputs write a record or two and send
# nothing, and each batch has its own fixed cost in faust (take_events, acks, commit).
DEDUP_BATCH = 256
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
    """Unique story -> its claims, at most ``story_max_claims`` of them.  Stateless; a
    batch's stories go through NLP at once (``extract``: the NLP worker pool in the
    service, in-line in replay), each parsing at most ``story_max_sentences`` event
    sentences.  What a story had past either budget is the step's note (``Overspent``)."""

    name = "extract"

    def __init__(self, pipeline: Pipeline, extract: ExtractFn, batch_size: int) -> None:
        self.pipeline = pipeline
        self.extract = extract
        self.batch_size = batch_size

    def decode(self, value: bytes | BaseModel | None) -> UniqueStory:
        return decode(UniqueStory, value)

    async def prepare(self, items: Sequence[UniqueStory]) -> list[tuple[UniqueStory, list[Claim] | ExtractFailed, int]]:
        batch = await self.extract(items)
        self.pipeline.record_extract(batch)
        unparsed = [*batch.over_budget, *[0] * (len(batch.results) - len(batch.over_budget))]
        return list(zip(items, batch.results, unparsed, strict=True))

    def step(self, item: tuple[UniqueStory, list[Claim] | ExtractFailed, int]) -> Staged:
        unique, result, unparsed = item
        if isinstance(result, ExtractFailed):
            raise result
        settings, story = self.pipeline.settings, unique.story
        over: list[Overspent] = []
        if unparsed:
            over.append(Overspent(story.story_id, story.url, "sentences", unparsed,
                                  f"of {settings.story_max_sentences + unparsed} event sentences"))
        if len(result) > settings.story_max_claims:  # the first ones, in body order: the lede's
            over.append(Overspent(story.story_id, story.url, "claims", len(result) - settings.story_max_claims,
                                  f"of {len(result)} claims"))
            result = result[:settings.story_max_claims]
        out = []
        for claim in result:
            claim.fetched_at = unique.story.fetched_at
            out.append(Outbound("claims", self.pipeline.key_of(claim), claim))
        return Staged(out, over)


class LedgerStage(Stage):
    """Claim -> the corroboration updates and alerts it raises (within its story's alert
    budget for the place: what is past it is the step's note)."""

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
        over = [Overspent(item.story_id, item.story_url, "alerts", result.over_budget,
                          f"alerts about {self.pipeline.key_of(item)}")] if result.over_budget else []
        return Staged(out, over)

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
    sent to the ``deadletter`` destination, and its acknowledgement awaited.

    A dead letter is bounded whatever the input (the first 1 KiB of the key and 64 KiB of
    the value, each saying whether it was cut: ``dead_letter``), and a dead letter that
    cannot be sent all the same (the broker refuses or is gone) does not stop the stage: it
    is counted in ``wirewatch_deadletter_send_failures_total{stage}`` and logged once, at
    ERROR, with the record's ``topic[partition]@offset``, and the runner goes on.  The
    record itself is still in its origin topic at that offset until the topic's retention
    removes it (7 days for the stage topics), to be read from there.
    """

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher

    async def dead_letter(self, stage: str, record: Record, exc: BaseException) -> None:
        code = error_code(exc)
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        error = _describe(exc)
        if code == "internal" and not isinstance(exc, ExtractFailed):
            log.exception("%s: %s failed", where, stage, exc_info=exc)
        else:
            log.warning("%s: %s: %s", where, code, error[:500])
        message = Outbound("deadletter", record.topic, dead_letter_of(stage, record, code, error), {
            "wirewatch-origin-topic": record.topic.encode(),
            "wirewatch-origin-partition": str(record.partition).encode(),
            "wirewatch-origin-offset": str(record.offset).encode(),
            "wirewatch-error-class": code.encode(),
            "wirewatch-error": error[:500].encode("utf-8", "replace"),
        })
        try:
            message.check_size()
            await (await self.publisher.send(message))
        except asyncio.CancelledError:
            raise
        except Exception as failure:
            metrics.DEAD_LETTER_FAILURES.labels(stage=stage).inc()
            log.error("%s: the dead letter of this %s failure (%s) was not sent: %s: %s; the record stays at "
                      "that offset of its topic until the topic's retention removes it", where, stage, code,
                      type(failure).__name__, _describe(failure)[:500])
            return
        metrics.DEAD_LETTERS.labels(stage=stage, error_class=code).inc()


def dead_letter_of(stage: str, record: Record, code: str, error: str) -> DeadLetter:
    """The dead letter of ``record``: its origin, the error, and the start of its key and value."""
    value = record.value
    raw = bytes(value) if isinstance(value, bytes | bytearray) else repr(value).encode()
    key = record.key
    return DeadLetter(
        origin_topic=record.topic[:249],
        origin_partition=record.partition,
        origin_offset=record.offset,
        # a byte of invalid UTF-8 becomes one U+FFFD, so the text has at most as many characters as bytes
        origin_key=key[:MAX_DEADLETTER_KEY_CHARS].decode("utf-8", "replace") if key is not None else None,
        origin_key_truncated=key is not None and len(key) > MAX_DEADLETTER_KEY_CHARS,
        stage=stage,
        error_class=code,
        error=error[:MAX_ERROR_CHARS],
        payload=raw[:MAX_DEADLETTER_PAYLOAD_CHARS].decode("utf-8", "replace"),
        payload_truncated=len(raw) > MAX_DEADLETTER_PAYLOAD_CHARS,
        failed_at=utcnow(),
    )


def _describe(exc: BaseException) -> str:
    """An exception's message, or its class name (an exception's __str__ may itself fail)."""
    try:
        return str(exc) or type(exc).__name__
    except Exception:
        return type(exc).__name__


# ---------------------------------------------------------------- replay
@dataclass
class ReplayResult:
    verdicts: list[DedupVerdict] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    alerts: list[NewClaimAlert | ContradictionAlert] = field(default_factory=list)
    updates: list[ClaimUpdate] = field(default_factory=list)
    over_budget: str = ""  # what stories had past their budgets, one line ("" when none did)


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
        return extract_batch(pipeline.extractor, batch, settings.story_max_sentences)

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
                          publisher=sent, dead_letters=stop, on_commit=pipeline.overflow.on_commit)
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
    ledger = StageRunner(LedgerStage(pipeline), store=ledger_store, publisher=sent, dead_letters=stop,
                         on_commit=pipeline.overflow.on_commit)
    for batch in _batches(records_of(claims), ledger.stage.batch_size):
        await ledger.run(batch)
    for message in sent.sent:
        if isinstance(message.value, NewClaimAlert | ContradictionAlert):
            result.alerts.append(message.value)
        elif isinstance(message.value, ClaimUpdate):
            result.updates.append(message.value)
    result.over_budget = pipeline.overflow.describe()
    return result


def _batches(records: list[Record], size: int) -> list[list[Record]]:
    return [records[i:i + size] for i in range(0, len(records), size)]

"""The processor's three stages as one plain object, over state stores given by the caller.

Each method is one stage's work on one input (dedup, extraction, the ledger) plus what
the service does to state between inputs (window sweeps, rebuilding caches).
:mod:`wirewatch.processor.stages` adapts them to the stage runner, which both the faust
service and `wirewatch replay` drive, so what replay scores is what the service does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .. import metrics
from ..errors import ExtractFailed, WirewatchError, error_code
from ..models import Claim, DedupVerdict, RawStory, UniqueStory, utcnow
from ..settings import Settings
from .dedup import Deduplicator
from .extract import Extractor
from .ledger import ClaimLedger, LedgerResult, ledger_key

log = logging.getLogger(__name__)

# The ledger's sweep of places no new claim touched runs in the claims stream, every
# LEDGER_EVICT_EVERY claims, and drops at most about LEDGER_EVICT_LIMIT claims (whole
# places), so that one sweep holds the service's shared event loop briefly (> EVERY, so
# it keeps up).
LEDGER_EVICT_EVERY = 50
LEDGER_EVICT_LIMIT = 200


@dataclass
class ExtractBatch:
    """What extracting a batch of stories gave: per story its claims, or the error that
    story alone raised; and the figures the metrics want (the caller records them, since
    this may have run in a worker process)."""

    results: list[list[Claim] | ExtractFailed]
    seconds: float = 0.0
    parsed: int = 0
    skipped: int = 0
    too_long: int = 0


def extract_batch(extractor: Extractor, stories: Sequence[UniqueStory]) -> ExtractBatch:
    """One ``nlp.pipe`` pass over ``stories``; if it raises, each story again on its own,
    so that one bad story fails alone and the others still give their claims (the same
    ones: extraction of a story does not depend on the rest of its batch)."""
    t0 = time.perf_counter()
    try:
        claims, parsed, skipped, too_long = extractor.extract_counted(stories)
        results: list[list[Claim] | ExtractFailed] = list(claims)
    except Exception:
        results, parsed, skipped, too_long = [], 0, 0, 0
        for story in stories:
            try:
                one, p, k, t = extractor.extract_counted([story])
            except WirewatchError as exc:  # a refusal on purpose (too_large): no trace needed
                log.warning("extraction of story %s refused: %s", story.story.story_id, exc)
                results.append(ExtractFailed(f"{type(exc).__name__}: {exc}", exc.code))
                continue
            except Exception as exc:
                log.exception("extraction of story %s failed", story.story.story_id)
                results.append(ExtractFailed(f"{type(exc).__name__}: {exc}", error_code(exc)))
                continue
            results.append(one[0])
            parsed += p
            skipped += k
            too_long += t
    return ExtractBatch(results, time.perf_counter() - t0, parsed, skipped, too_long)


@dataclass
class LedgerClock:
    """The ledger's clock in the claims stream: the newest claim's publication time (never
    ahead of the wall clock), and how many claims it has seen.  By this clock the ledger's
    state depends only on the order of claims, so a restarted worker decides as a clean one."""

    now: datetime | None = None
    seen: int = 0


class Pipeline:
    """Dedup → extraction → ledger, over state stores given by the caller."""

    def __init__(
        self,
        settings: Settings,
        *,
        dedup_store: MutableMapping[str, Any] | None = None,
        ledger_store: MutableMapping[str, Any] | None = None,
        extractor: Extractor | None = None,
        load_extractor: bool = True,
    ) -> None:
        self.settings = settings
        self.dedup = Deduplicator(
            dedup_store,
            window_seconds=settings.dedup_window_days * 86400,
            near_threshold=settings.dedup_near_threshold,
            containment_threshold=settings.dedup_containment_threshold,
            cluster_threshold=settings.dedup_cluster_threshold,
        )
        self.ledger = ClaimLedger(ledger_store, window_seconds=settings.ledger_window_days * 86400)
        self.ledger_clock = LedgerClock()
        self._extractor = extractor
        if extractor is None and load_extractor:
            self._extractor = Extractor(settings.nlp_model)

    @property
    def extractor(self) -> Extractor:
        if self._extractor is None:
            self._extractor = Extractor(self.settings.nlp_model)
        return self._extractor

    # -- stage 1 ---------------------------------------------------------------
    def dedup_stage(self, raw: RawStory) -> tuple[DedupVerdict, UniqueStory | None]:
        verdict = self.dedup.check(raw)
        if verdict.status == "duplicate":
            return verdict, None
        unique = UniqueStory(
            story=raw,
            cluster_id=verdict.cluster_id,
            status="update" if verdict.status == "update" else "unique",
            update_of=verdict.duplicate_of_id if verdict.status == "update" else None,
            changed_spans=verdict.changed_spans if verdict.status == "update" else None,
        )
        return verdict, unique

    # -- stage 2 ---------------------------------------------------------------
    @staticmethod
    def record_extract(batch: ExtractBatch) -> None:
        """Count what a batch extracted, wherever it ran."""
        if batch.results:
            per = batch.seconds / len(batch.results)
            for _ in batch.results:
                metrics.NLP_SECONDS.observe(per)
        metrics.count_sentences(batch.parsed, batch.skipped, batch.too_long)
        for claims in batch.results:
            if isinstance(claims, list):
                for c in claims:
                    metrics.CLAIMS_EXTRACTED.labels(category=c.category).inc()

    # -- stage 3 ---------------------------------------------------------------
    def ledger_stage(self, claim: Claim) -> LedgerResult:
        """File one claim; every LEDGER_EVICT_EVERY claims, first sweep every place by the
        stream's clock (the claim's own place is purged as it is filed)."""
        clock = self.ledger_clock
        if clock.now is None or claim.published > clock.now:
            clock.now = min(claim.published, utcnow())
        clock.seen += 1
        if clock.seen % LEDGER_EVICT_EVERY == 0:
            with metrics.SWEEP_SECONDS.labels(stage="ledger").time():
                self.ledger.evict(clock.now, limit=LEDGER_EVICT_LIMIT)
        return self.ledger.add(claim)

    def ledger_checkpoint(self) -> LedgerClock:
        return replace(self.ledger_clock)

    def ledger_restore(self, checkpoint: LedgerClock) -> None:
        self.ledger_clock = replace(checkpoint)

    @staticmethod
    def key_of(claim: Claim) -> str:
        return ledger_key(claim)

    # -- state between inputs -------------------------------------------------------
    def evict_dedup(self, now: datetime, limit: int) -> int:
        """Forget at most ``limit`` stories that left the dedup window by ``now``; how many."""
        return self.dedup.evict(now, limit=limit)

    def reload_dedup(self) -> None:
        """Dedup's store changed under it (staged writes rolled back): rebuild its index."""
        self.dedup.reload()

    def reload_ledger(self) -> None:
        """The ledger's store changed under it: rebuild its per-place view."""
        self.ledger.reload()

    def reload(self) -> None:
        """Both stores changed under the stages (a rebalance recovered other partitions)."""
        self.reload_dedup()
        self.reload_ledger()

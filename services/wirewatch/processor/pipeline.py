"""The processor's three stages as one plain object.

The faust agents call one stage each (dedup, extract, ledger); `wirewatch replay`
calls all three in order.  Both paths go through these methods, so what replay
scores is what the streaming service does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import metrics
from ..errors import ExtractFailed, WirewatchError, error_code
from ..models import Claim, ClaimUpdate, ContradictionAlert, DedupVerdict, NewClaimAlert, RawStory, UniqueStory
from ..settings import Settings
from .dedup import Deduplicator
from .extract import Extractor
from .ledger import ClaimLedger, LedgerResult, ledger_key

log = logging.getLogger(__name__)


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
class ReplayResult:
    verdicts: list[DedupVerdict] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    alerts: list[NewClaimAlert | ContradictionAlert] = field(default_factory=list)
    updates: list[ClaimUpdate] = field(default_factory=list)


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
    def extract_stage(self, stories: Sequence[UniqueStory]) -> list[list[Claim]]:
        """Claims of each story; raises if any story does (replay stops on a bug)."""
        t0 = time.perf_counter()
        out, parsed, skipped, too_long = self.extractor.extract_counted(stories)
        self.record_extract(ExtractBatch(list(out), time.perf_counter() - t0, parsed, skipped, too_long))
        return out

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
    def ledger_stage(self, claim: Claim, now: datetime | None = None) -> LedgerResult:
        return self.ledger.add(claim, now=now)

    @staticmethod
    def key_of(claim: Claim) -> str:
        return ledger_key(claim)

    # -- all three, for replay ---------------------------------------------------
    def replay(self, stories: Iterable[RawStory]) -> ReplayResult:
        """Run every story through all stages in the order given (publication order)."""
        result = ReplayResult()
        uniques: list[UniqueStory] = []
        for raw in stories:
            verdict, unique = self.dedup_stage(raw)
            result.verdicts.append(verdict)
            if unique is not None:
                uniques.append(unique)
        # Extraction is pure, so batching it before the ledger changes nothing but speed.
        for claims in self.extract_stage(uniques):
            for claim in claims:
                result.claims.append(claim)
                # The stream's ledger sees claims at processing time; replay uses the
                # story's own time so the window behaves as it did when it was live.
                lr = self.ledger_stage(claim, now=claim.published)
                result.alerts.extend(lr.alerts)
                result.updates.extend(lr.updates)
        return result

"""The processor's three stages as one plain object, over state stores given by the caller.

Each method is one stage's work on one input (dedup, extraction, the ledger) plus what
the service does to state between inputs (window sweeps, rebuilding caches).
:mod:`wirewatch.processor.stream.stages` adapts them to the stage runner, which both the faust
service and `wirewatch replay` drive, so what replay scores is what the service does.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, OrderedDict
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .. import metrics
from ..errors import ExtractFailed, WirewatchError, error_code
from ..models import Claim, DedupVerdict, RawStory, UniqueStory, utcnow
from ..settings import Settings
from .dedup import Deduplicator
from .extract import Extractor
from .ledger import ClaimLedger, LedgerResult, ledger_key
from .stream.types import Record, Staged

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
    # per story: event sentences not parsed, past the story's budget
    over_budget: list[int] = field(default_factory=list)


def extract_batch(extractor: Extractor, stories: Sequence[UniqueStory],
                  max_sentences: int | None = None) -> ExtractBatch:
    """One ``nlp.pipe`` pass over ``stories``, each parsing at most ``max_sentences`` event
    sentences; if it raises, each story again on its own, so that one bad story fails alone
    and the others still give their claims (the same ones: extraction of a story does not
    depend on the rest of its batch)."""
    t0 = time.perf_counter()
    previous, extractor.max_sentences = extractor.max_sentences, max_sentences
    try:
        claims, parsed, skipped, too_long = extractor.extract_counted(stories)
        results: list[list[Claim] | ExtractFailed] = list(claims)
        over_budget = list(extractor.over_budget)
    except Exception:
        results, parsed, skipped, too_long, over_budget = [], 0, 0, 0, []
        for story in stories:
            try:
                one, p, k, t = extractor.extract_counted([story])
            except WirewatchError as exc:  # a refusal on purpose (too_large): no trace needed
                log.warning("extraction of story %s refused: %s", story.story.story_id, exc)
                results.append(ExtractFailed(f"{type(exc).__name__}: {exc}", exc.code))
                over_budget.append(0)
                continue
            except Exception as exc:
                log.exception("extraction of story %s failed", story.story.story_id)
                results.append(ExtractFailed(f"{type(exc).__name__}: {exc}", error_code(exc)))
                over_budget.append(0)
                continue
            results.append(one[0])
            over_budget += extractor.over_budget
            parsed += p
            skipped += k
            too_long += t
    finally:
        extractor.max_sentences = previous
    return ExtractBatch(results, time.perf_counter() - t0, parsed, skipped, too_long, over_budget)


@dataclass(frozen=True)
class Overspent:
    """What one story had past one of its budgets (settings.story_max_*)."""

    story_id: str
    url: str  # the story's link, for the log line ("" when it has none)
    budget: str  # metrics.STORY_BUDGETS: "sentences", "claims" or "alerts"
    over: int  # how many were not parsed, not sent or not raised
    detail: str  # for the log line, after the number: "of 8800 event sentences", "alerts about place:goma"


class BudgetOverflow:
    """What stories had past their budgets: counted in
    ``wirewatch_story_budget_overflow_total{item}``, logged once per story and budget,
    and tallied for `wirewatch replay`'s report.  The stage runners hand it each committed
    input (``on_commit``), so an input handled twice (a rolled-back batch) counts once."""

    LOGGED_MAX = 10_000  # (story, budget) pairs remembered as logged

    def __init__(self, settings: Settings) -> None:
        self.caps = {"sentences": ("WIREWATCH_STORY_MAX_SENTENCES", settings.story_max_sentences, "not parsed"),
                     "claims": ("WIREWATCH_STORY_MAX_CLAIMS", settings.story_max_claims, "not sent"),
                     "alerts": ("WIREWATCH_STORY_MAX_ALERTS", settings.story_max_alerts, "not raised")}
        self.counts: Counter[str] = Counter()  # per budget, what was past it
        self.stories: Counter[str] = Counter()  # per budget, stories that went past it
        self._logged: OrderedDict[tuple[str, str], None] = OrderedDict()

    def on_commit(self, record: Record, staged: Staged) -> None:
        for over in staged.note or ():
            self.add(over)

    def add(self, o: Overspent) -> None:
        metrics.STORY_BUDGET_OVERFLOW.labels(item=o.budget).inc(o.over)
        self.counts[o.budget] += o.over
        key = (o.story_id, o.budget)
        if key in self._logged:
            return
        self.stories[o.budget] += 1
        self._logged[key] = None
        if len(self._logged) > self.LOGGED_MAX:
            self._logged.popitem(last=False)
        name, cap, fate = self.caps[o.budget]
        log.warning("story %s%s over its %s budget: %d %s %s (%s=%d)%s", o.story_id, f" ({o.url})" if o.url else "",
                    o.budget[:-1], o.over, o.detail, fate, name, cap,
                    "; later ones only counted" if o.budget == "alerts" else "")

    def describe(self) -> str:
        """One line for a report, or "" when no story went past a budget."""
        parts = [f"{self.counts[b]} {'event ' if b == 'sentences' else ''}{b} {self.caps[b][2]} in "
                 f"{self.stories[b]} stor{'y' if self.stories[b] == 1 else 'ies'}"
                 for b in metrics.STORY_BUDGETS if self.counts[b]]
        return "past story budgets: " + ", ".join(parts) if parts else ""


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
        self.ledger = ClaimLedger(ledger_store, window_seconds=settings.ledger_window_days * 86400,
                                  max_story_alerts=settings.story_max_alerts)
        self.ledger_clock = LedgerClock()
        self.overflow = BudgetOverflow(settings)
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

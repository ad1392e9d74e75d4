"""Story clusters: coverage of one event by different outlets, looser than a duplicate.

Two stories are about one event when their leads share names and figures that are
rare in the window (an inverted index gives document frequencies for free), and they
were published close together.  Each unique story joins the cluster of its best match
or opens a new one.  The index is a cache: the terms live in the dedup store.
"""

from __future__ import annotations

import math
from itertools import islice


class ClusterIndex:
    """Inverted index of event terms over the stories in the window."""

    def __init__(self, *, span_seconds: float, max_scan: int = 50, max_candidates: int = 5,
                 max_terms: int = 8) -> None:
        self.span_seconds = span_seconds
        # Per term, only its latest stories propose candidates: coverage of one event is
        # close in time, and this keeps the cost flat however common the term.
        self.max_scan = max_scan
        self.max_candidates = max_candidates
        self.max_terms = max_terms
        # term -> story ids in arrival order (a dict as an ordered set)
        self.postings: dict[str, dict[str, None]] = {}
        self.terms: dict[str, tuple[str, ...]] = {}
        self.ts: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self.terms)

    def add(self, story_id: str, terms: list[str], ts: float) -> None:
        self.remove(story_id)
        self.terms[story_id] = tuple(terms)
        self.ts[story_id] = ts
        for t in terms:
            self.postings.setdefault(t, {})[story_id] = None

    def remove(self, story_id: str) -> None:
        for t in self.terms.pop(story_id, ()):
            ids = self.postings.get(t)
            if ids is not None:
                ids.pop(story_id, None)
                if not ids:
                    del self.postings[t]
        self.ts.pop(story_id, None)

    def _idf(self, term: str) -> float:
        df = len(self.postings.get(term, ()))
        return math.log((len(self.terms) + 1) / (df + 0.5)) + 0.1

    def best(self, terms: list[str], ts: float, *, threshold: float, min_shared: int = 2
             ) -> tuple[str, float] | None:
        """The story whose lead shares most rare terms with ``terms`` (idf-weighted overlap)."""
        if len(terms) < min_shared:
            return None
        mine = set(terms)
        counts: dict[str, int] = {}
        # Candidates come from the rarest terms only: they carry the evidence, and common
        # ones would make the cost grow with the window.
        known = [(len(self.postings[t]), t) for t in mine if t in self.postings]
        for _df, t in sorted(known)[: self.max_terms]:
            for sid in islice(reversed(self.postings[t]), self.max_scan):
                counts[sid] = counts.get(sid, 0) + 1
        idf = {t: self._idf(t) for t in mine}
        mine_weight = sum(idf.values())
        # Score only the stories sharing the most terms (the likely winners), so the cost
        # stays flat when one big story fills the window.
        ranked = sorted((n, sid) for sid, n in counts.items()
                        if n >= min_shared and abs(self.ts[sid] - ts) <= self.span_seconds)
        best: tuple[float, float, str] | None = None
        for _n, sid in ranked[-self.max_candidates:]:
            other = self.terms[sid]
            shared = sum(idf[t] for t in other if t in mine)
            for t in other:
                if t not in idf:
                    idf[t] = self._idf(t)
            # Overlap, not Jaccard: one outlet names more people than another in its lead,
            # which says nothing about whether both report one event.
            smaller = min(mine_weight, sum(idf[t] for t in other))
            score = shared / smaller if smaller else 0.0
            if score < threshold:
                continue
            cand = (-score, self.ts[sid], sid)  # best score, then earliest, then id
            if best is None or cand < best:
                best = cand
        return None if best is None else (best[2], -best[0])

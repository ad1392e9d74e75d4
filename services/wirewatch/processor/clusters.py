"""Story clusters: coverage of one event by different outlets, looser than a duplicate.

Two stories are about one event when their leads share names and figures that are
rare in the window (an inverted index gives document frequencies for free), and they
were published close together.  Each unique story joins the cluster of its best match
or opens a new one.  The index is a cache: the terms live in the dedup store.
"""

from __future__ import annotations

import math


class ClusterIndex:
    """Inverted index of event terms over the stories in the window."""

    def __init__(self, *, span_seconds: float, max_postings: int = 2000) -> None:
        self.span_seconds = span_seconds
        # Terms carried by more stories than this ("Reuters", the capital of the day's big
        # story) are too common to propose candidates; they still count when scoring.
        self.max_postings = max_postings
        self.postings: dict[str, set[str]] = {}
        self.terms: dict[str, tuple[str, ...]] = {}
        self.ts: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self.terms)

    def add(self, story_id: str, terms: list[str], ts: float) -> None:
        self.remove(story_id)
        self.terms[story_id] = tuple(terms)
        self.ts[story_id] = ts
        for t in terms:
            self.postings.setdefault(t, set()).add(story_id)

    def remove(self, story_id: str) -> None:
        for t in self.terms.pop(story_id, ()):
            ids = self.postings.get(t)
            if ids is not None:
                ids.discard(story_id)
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
        for t in mine:
            ids = self.postings.get(t)
            if ids is None or len(ids) > self.max_postings:
                continue
            for sid in ids:
                counts[sid] = counts.get(sid, 0) + 1
        idf = {t: self._idf(t) for t in mine}
        best: tuple[float, float, str] | None = None
        for sid, n in counts.items():
            if n < min_shared or abs(self.ts[sid] - ts) > self.span_seconds:
                continue
            other = set(self.terms[sid])
            shared = sum(idf[t] for t in mine & other)
            # Overlap, not Jaccard: one outlet names more people than another in its lead,
            # which says nothing about whether both report one event.
            smaller = min(sum(idf.values()), sum(self._idf(t) for t in other))
            score = shared / smaller if smaller else 0.0
            if score < threshold:
                continue
            cand = (-score, self.ts[sid], sid)  # best score, then earliest, then id
            if best is None or cand < best:
                best = cand
        return None if best is None else (best[2], -best[0])

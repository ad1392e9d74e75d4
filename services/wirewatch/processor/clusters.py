"""Story clusters: coverage of one event by different outlets, looser than a duplicate.

A story is described twice: by the names and figures of its lead (who, where, how many:
what tells one incident from another of the same kind) and by the content words of its
lead (what happened, in any outlet's wording).  Its similarity to another story is the
mean of the two tf-idf cosines, with document frequencies over the stories in the window.

A story joins a cluster only when it matches *most of the cluster* (average linkage, not
single linkage): at least half of the cluster's latest members, and at least two once it
has two, must each be similar enough.  A story that shares a phrase with one member of
another incident, or one round-up that mentions two incidents, cannot pull them together;
and a cluster never covers more than ``span_seconds`` from its first story.

The index is a cache: the names, the token stream (the words) and each story's cluster
live in the dedup store, and the index is rebuilt from them in write order.
"""

from __future__ import annotations

import math
from itertools import islice

import numpy as np

# Added to every idf, so that a term in every story still counts a little.
_IDF_FLOOR = 0.1
# Rarity is judged as if the window also held this many stories that share none of the
# words: a window of a dozen stories (a worker just started) says little about which
# names are rare, and a full one (thousands) is hardly changed.
_PRIOR_STORIES = 100


class ClusterIndex:
    """The clustered stories of the window: their names (inverted), words and clusters."""

    def __init__(self, *, span_seconds: float, max_scan: int = 50, max_candidates: int = 5,
                 max_terms: int = 8, max_members: int = 8) -> None:
        self.span_seconds = span_seconds
        # Per name, only its latest stories propose candidates: coverage of one event is
        # close in time, and this keeps the cost flat however common the name.
        self.max_scan = max_scan
        self.max_candidates = max_candidates
        self.max_terms = max_terms
        # A cluster is compared through its latest members: a big story costs no more than
        # a small one, and its latest coverage is what a new report resembles.
        self.max_members = max_members
        # name -> story ids in arrival order (a dict as an ordered set)
        self.postings: dict[str, dict[str, None]] = {}
        self.terms: dict[str, tuple[str, ...]] = {}
        # story -> (16-bit word hashes, 1 + log count): its lead's words
        self.words: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.ts: dict[str, float] = {}
        self.cluster_of: dict[str, str] = {}
        self.members: dict[str, dict[str, None]] = {}  # cluster -> story ids, arrival order
        self.first: dict[str, float] = {}  # cluster -> publication time of its earliest member
        self.word_df = np.zeros(1 << 16, dtype=np.int64)
        self._dense = np.zeros(1 << 16, dtype=np.float64)  # scratch: one query's word weights

    def __len__(self) -> int:
        return len(self.terms)

    def add(self, story_id: str, terms: list[str], words: tuple[np.ndarray, np.ndarray], ts: float,
            cluster: str) -> None:
        self.remove(story_id)
        self.terms[story_id] = tuple(terms)
        keys, counts = words
        keys = keys.astype(np.intp)
        self.words[story_id] = (keys, 1.0 + np.log(counts.astype(np.float64)))
        self.word_df[keys] += 1  # keys are unique
        self.ts[story_id] = ts
        self.cluster_of[story_id] = cluster
        self.members.setdefault(cluster, {})[story_id] = None
        self.first[cluster] = min(ts, self.first.get(cluster, ts))
        for t in terms:
            self.postings.setdefault(t, {})[story_id] = None

    def remove(self, story_id: str) -> None:
        for t in self.terms.pop(story_id, ()):
            ids = self.postings.get(t)
            if ids is not None:
                ids.pop(story_id, None)
                if not ids:
                    del self.postings[t]
        words = self.words.pop(story_id, None)
        if words is not None:
            self.word_df[words[0]] -= 1
        ts = self.ts.pop(story_id, None)
        cluster = self.cluster_of.pop(story_id, None)
        if cluster is None:
            return
        members = self.members[cluster]
        members.pop(story_id, None)
        if not members:
            del self.members[cluster], self.first[cluster]
        elif ts == self.first[cluster]:
            self.first[cluster] = min(self.ts[m] for m in members)

    def _idf(self, df: int | np.ndarray) -> float | np.ndarray:
        return np.log((len(self.terms) + _PRIOR_STORIES + 1) / (df + 0.5)) + _IDF_FLOOR

    def _candidates(self, mine: set[str], ts: float, min_shared: int) -> list[str]:
        """Clusters open at ``ts`` with a story sharing ``min_shared`` of the rarest names."""
        counts: dict[str, int] = {}
        # Candidates come from the rarest names only: they carry the evidence, and common
        # ones would make the cost grow with the window.
        known = sorted((len(self.postings[t]), t) for t in mine if t in self.postings)
        for _df, t in known[: self.max_terms]:
            for sid in islice(reversed(self.postings[t]), self.max_scan):
                counts[sid] = counts.get(sid, 0) + 1
        shared: dict[str, int] = {}
        for sid, n in counts.items():
            c = self.cluster_of[sid]
            if n >= min_shared and n > shared.get(c, 0) and abs(ts - self.first[c]) <= self.span_seconds:
                shared[c] = n
        # The clusters sharing the most names (the likely winners), so the cost stays flat
        # when one big story fills the window.
        ranked = sorted(shared, key=lambda c: (-shared[c], self.first[c], c))
        return ranked[: self.max_candidates]

    def similarities(self, terms: list[str], words: tuple[np.ndarray, np.ndarray], ids: list[str]
                     ) -> np.ndarray:
        """Similarity of a story (its names and lead words) to each of the stories ``ids``:
        the mean of the names' and the words' tf-idf cosines (0 to 1)."""
        n = len(ids)
        # Names: a handful per story, binary weights.
        idf: dict[str, float] = {}

        def w(t: str) -> float:
            if t not in idf:
                idf[t] = float(self._idf(len(self.postings.get(t, ()))))
            return idf[t]

        mine = set(terms)
        q_norm = math.sqrt(sum(w(t) ** 2 for t in mine))
        names = np.zeros(n)
        for i, sid in enumerate(ids):
            other = self.terms[sid]
            dot = sum(w(t) ** 2 for t in other if t in mine)
            if dot:
                names[i] = dot / (q_norm * math.sqrt(sum(w(t) ** 2 for t in other)))
        # Words: dozens per story, scored for every member at once.
        keys, counts = words
        keys = keys.astype(np.intp)
        q = (1.0 + np.log(counts.astype(np.float64))) * self._idf(self.word_df[keys])
        q_len = float(np.sqrt(q @ q))
        text = np.zeros(n)
        if q_len and n:
            self._dense[keys] = q / q_len
            parts = [self.words[sid] for sid in ids]
            allk = np.concatenate([p[0] for p in parts])
            wts = np.concatenate([p[1] for p in parts]) * self._idf(self.word_df[allk])
            owner = np.repeat(np.arange(n), [len(p[0]) for p in parts])
            norms = np.sqrt(np.bincount(owner, wts * wts, minlength=n))
            dots = np.bincount(owner, wts * self._dense[allk], minlength=n)
            self._dense[keys] = 0.0
            text = np.divide(dots, norms, out=np.zeros(n), where=norms > 0)
        return 0.5 * (names + text)

    def assign(self, terms: list[str], words: tuple[np.ndarray, np.ndarray], ts: float, *,
               threshold: float, min_shared: int = 1) -> str | None:
        """The cluster this story belongs to, or None (it opens one).

        Among the open clusters it shares a name with, those where at least half of the
        latest members (and at least two, once there are two) are at least ``threshold``
        similar to it; of those, the one with the highest mean similarity (then the
        earliest, then the id: deterministic)."""
        if len(terms) < min_shared:
            return None
        clusters = self._candidates(set(terms), ts, min_shared)
        if not clusters:
            return None
        groups = [list(islice(reversed(self.members[c]), self.max_members)) for c in clusters]
        sims = self.similarities(terms, words, [sid for g in groups for sid in g])
        best: tuple[float, float, str] | None = None
        start = 0
        for c, g in zip(clusters, groups, strict=True):
            s = sims[start:start + len(g)]
            start += len(g)
            # Most of the cluster, not its best member: at least half of the members compared,
            # and never one alone once there are two, so that one story touching two incidents
            # (a round-up) cannot carry the second into the first one's cluster.
            if int((s >= threshold).sum()) < max(min(2, len(g)), (len(g) + 1) // 2):
                continue
            cand = (-float(s.mean()), self.first[c], c)
            if best is None or cand < best:
                best = cand
        return None if best is None else best[2]

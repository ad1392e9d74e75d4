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

import heapq
from itertools import islice

import numpy as np

from .shingles import word_hash

# Added to every idf, so that a term in every story still counts a little.
_IDF_FLOOR = 0.1
# Rarity is judged as if the window also held this many stories that share none of the
# words: a window of a dozen stories (a worker just started) says little about which
# names are rare, and a full one (thousands) is hardly changed.
_PRIOR_STORIES = 100
# A story's vector: names as 16-bit hashes with this bit set, then words as 16-bit hashes.
_NAME_BIT = 1 << 16


class ClusterIndex:
    """The clustered stories of the window: their names (inverted), words and clusters."""

    def __init__(self, *, span_seconds: float, max_scan: int = 50, max_candidates: int = 5,
                 max_terms: int = 8, max_members: int = 6) -> None:
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
        # story -> (keys: its names, then its lead's words; their counts; how many names)
        self.vectors: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
        self.ts: dict[str, float] = {}
        self.cluster_of: dict[str, str] = {}
        self.members: dict[str, dict[str, None]] = {}  # cluster -> story ids, arrival order
        # cluster -> (published, story id) of its members, a heap whose top may be a member
        # gone since (dropped when read): the earliest member, at O(log n) per eviction
        self._times: dict[str, list[tuple[float, str]]] = {}
        self.df = np.zeros(2 * _NAME_BIT, dtype=np.int64)  # stories per key
        self._dense = np.zeros(2 * _NAME_BIT, dtype=np.float64)  # scratch: one query's weights

    def __len__(self) -> int:
        return len(self.terms)

    def add(self, story_id: str, terms: list[str], words: tuple[np.ndarray, np.ndarray], ts: float,
            cluster: str) -> None:
        self.remove(story_id)
        self.terms[story_id] = tuple(terms)
        vector = self.vectors[story_id] = _vector(terms, words)
        self.df[vector[0]] += 1  # keys are unique
        self.ts[story_id] = ts
        self.cluster_of[story_id] = cluster
        self.members.setdefault(cluster, {})[story_id] = None
        heapq.heappush(self._times.setdefault(cluster, []), (ts, story_id))
        for t in terms:
            self.postings.setdefault(t, {})[story_id] = None

    def remove(self, story_id: str) -> None:
        for t in self.terms.pop(story_id, ()):
            ids = self.postings.get(t)
            if ids is not None:
                ids.pop(story_id, None)
                if not ids:
                    del self.postings[t]
        vector = self.vectors.pop(story_id, None)
        if vector is not None:
            self.df[vector[0]] -= 1
        self.ts.pop(story_id, None)
        cluster = self.cluster_of.pop(story_id, None)
        if cluster is None:
            return
        members = self.members[cluster]
        members.pop(story_id, None)
        if not members:
            del self.members[cluster], self._times[cluster]

    def first(self, cluster: str) -> float:
        """When the cluster's earliest member in the window was published."""
        times = self._times[cluster]
        while self.cluster_of.get(times[0][1]) != cluster or self.ts[times[0][1]] != times[0][0]:
            heapq.heappop(times)  # a member evicted, or moved since
        return times[0][0]

    def _weights(self, keys: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """tf-idf: 1 + log count, times the inverse document frequency in the window."""
        idf = np.log((len(self.terms) + _PRIOR_STORIES + 1) / (self.df[keys] + 0.5)) + _IDF_FLOOR
        return (1.0 + np.log(counts.astype(np.float64))) * idf

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
            if n >= min_shared and n > shared.get(c, 0):
                shared[c] = n
        first = {c: self.first(c) for c in shared}
        # The open clusters sharing the most names (the likely winners), so the cost stays
        # flat when one big story fills the window.
        ranked = sorted((c for c in shared if abs(ts - first[c]) <= self.span_seconds),
                        key=lambda c: (-shared[c], first[c], c))
        return ranked[: self.max_candidates]

    def similarities(self, terms: list[str], words: tuple[np.ndarray, np.ndarray], ids: list[str]
                     ) -> np.ndarray:
        """Similarity of a story (its names and lead words) to each of the stories ``ids``:
        the mean of the names' and the words' tf-idf cosines (0 to 1).  Every member is
        scored at once: the cost is a few numpy calls, not a loop over words."""
        n = len(ids)
        if not n:
            return np.zeros(0)
        keys, counts, n_names = _vector(terms, words)
        vectors = [self.vectors[sid] for sid in ids]
        # the story's weights first, then every member's: one pass
        allw = self._weights(np.concatenate([keys, *(v[0] for v in vectors)]),
                             np.concatenate([counts, *(v[1] for v in vectors)]))
        q, w = allw[:len(keys)], allw[len(keys):]
        allk = np.concatenate([v[0] for v in vectors])
        for part in (slice(0, n_names), slice(n_names, None)):  # names, words: unit vectors each
            length = float(np.sqrt(q[part] @ q[part]))
            if length:
                self._dense[keys[part]] = q[part] / length
        # member i's names are group 2i, its words group 2i + 1
        sizes = [size for v in vectors for size in (v[2], len(v[0]) - v[2])]
        group = np.repeat(np.arange(2 * n), sizes)
        norms = np.sqrt(np.bincount(group, w * w, minlength=2 * n))
        dots = np.bincount(group, w * self._dense[allk], minlength=2 * n)
        self._dense[keys] = 0.0
        cos = np.divide(dots, norms, out=np.zeros(2 * n), where=norms > 0)
        return 0.5 * (cos[0::2] + cos[1::2])

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
            cand = (-float(s.mean()), self.first(c), c)
            if best is None or cand < best:
                best = cand
        return None if best is None else best[2]


def _vector(terms: list[str], words: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, int]:
    """A story's keys (its names, each once, then its lead's words), their counts, and how
    many are names: 5 bytes a key in memory.  Two names sharing a 16-bit hash count once
    (1 in 65,536 pairs)."""
    names = np.unique(np.array([word_hash(t) | _NAME_BIT for t in terms], dtype=np.uint32))
    keys = np.concatenate([names, words[0].astype(np.uint32)])
    # a word said more than 255 times in 200 words is no more telling than said 255 times
    counts = np.concatenate([np.ones(len(names), dtype=np.uint8),
                             np.minimum(words[1], 255).astype(np.uint8)])
    return keys, counts, len(names)

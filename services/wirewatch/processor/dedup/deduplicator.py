"""Dedup and story clustering: is this raw story new, a copy, or a new version of one?

Order of tests, cheapest first (see ``docs/dedup.md`` for the thresholds and the
measurements behind them):

1. guid (feed-scoped, via ``story_id``), 2. canonical URL, 3. hash of the normalised
body, 4. MinHash LSH over word 3-gram shingles of the body with boilerplate removed
(rensa), verified on the estimated Jaccard similarity or, for a cut-down copy, the
estimated containment; a copy cut to its first paragraphs is found by its opening sentence.

A match is a *duplicate* when every sentence of the new text is covered by a sentence
the group has already seen (house-style edits such as "Oct. 29"/"Oct 29", "U.S."/"US",
"Mr Assad" and dated asides do not count), and an *update* when some sentences are new;
``changed_spans`` then lists only those, so extraction never re-reads old sentences.

Every unique story also gets a ``cluster_id`` (looser than a duplicate: coverage of one
event by different outlets): it joins the cluster most of whose latest members are similar
to it in the names, figures and words of their leads, while the cluster is under 36 hours
old, or opens one (see clusters.py).

State: every durable fact lives in ``store`` (a faust Table in the service, a dict in
replay) as JSON values: one record per story ("s:<story_id>": times, url, MinHash
signature, the sentences as 16-bit token hashes, cluster, group root) and lookup keys
("u:<canonical url>", "h:<body hash>", "l:<lead sentence hash>" -> story_id).  The LSH
index, the signature matrix, the cluster index and the eviction heap are a cache rebuilt
from the store on first use, so a restarted worker behaves exactly like the one it replaces.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
from rensa import RMinHash, RMinHashLSH

from ... import metrics
from ...errors import ConfigError, DedupStateError
from ...models import DedupVerdict, DuplicateKind, RawStory
from .boilerplate import Span, is_boilerplate, paragraphs, strip_dateline
from .clusters import ClusterIndex
from .shingles import (
    SentenceSketch,
    TokenStream,
    digest,
    event_terms,
    lead_words,
    sentences,
    shingle_hashes,
    token_codes,
    tokens,
    uncovered,
)

_FORMAT = 2
SEED = 20161128  # part of the stored state: changing it invalidates every stored signature

DEFAULT_NEAR_THRESHOLD = 0.4
DEFAULT_CONTAINMENT_THRESHOLD = 0.8
DEFAULT_CLUSTER_THRESHOLD = 0.17
DEFAULT_NUM_PERM = 128
# Bands of the near-duplicate LSH: r = num_perm / bands rows each.  32 x 4 makes a pair a
# candidate with p = 0.56 at Jaccard 0.4, 0.87 at 0.5 and 0.99 at 0.6 (see docs/dedup.md).
NEAR_BANDS = 32
# A sentence is old news when this share of its trigrams is in one sentence seen before
# and it adds no number, negation or name.
SENTENCE_CONTAINMENT = 0.7
# Containment is only trusted on texts long enough for the MinHash estimate to be stable.
MIN_CONTAINMENT_SHINGLES = 40
MIN_NEAR_SHINGLES = 8
# An update must add at least this many words of reporting; less is a copy-edit.
MIN_NEW_WORDS = 5
# A cluster takes stories published within this time of its first one.
CLUSTER_SPAN_SECONDS = 36 * 3600
LEAD_MIN_WORDS = 8
# A re-polled story's last-seen time is refreshed at most this often (one store write).
TOUCH_SECONDS = 3600.0
# The lead, for clusters: its names and figures from the first 60 words, its content words
# from the first 200 (a wire lead and the paragraphs that say what happened).
CLUSTER_LEAD_WORDS = 60
CLUSTER_TEXT_WORDS = 200
# Paragraphs whose features are remembered (~2 KB each); the memo is cleared when full.
PARAGRAPH_MEMO = 20_000
# A lead without words (a record that is no cluster member, or has no token stream).
_NO_WORDS: tuple[np.ndarray, np.ndarray] = (np.zeros(0, dtype=np.uint16), np.zeros(0, dtype=np.int64))


@dataclass
class _Features:
    raw_hash: str  # of the body as sent: every other feature is a function of it
    sentences: list[Span]
    stream: TokenStream
    n_words: list[int]
    body_hash: str | None
    lead_key: str | None
    minhash: RMinHash | None
    n_shingles: int
    terms: list[str]


@dataclass(frozen=True)
class _Paragraph:
    """What dedup keeps of one paragraph's text: its sentences (offsets into the paragraph),
    each sentence's words joined and lower-cased, words per sentence, and word codes."""

    spans: tuple[tuple[int, int], ...]
    lowers: tuple[str, ...]
    lengths: tuple[int, ...]
    codes: tuple[int, ...]


def _decode_stream(data: str) -> TokenStream:
    try:
        return TokenStream.decode(data)
    except (ValueError, IndexError, TypeError) as exc:
        raise DedupStateError(f"dedup store holds an unreadable token stream: {exc}") from exc


def _stream_of(rec: dict[str, Any]) -> TokenStream:
    """Every sentence a story's group has published: its own text plus what updates added."""
    own = _decode_stream(rec["k"])
    return own.extend(_decode_stream(rec["g"])) if rec.get("g") else own


class _Index:
    """One MinHash LSH plus the signatures of its rows, for verifying candidates."""

    def __init__(self, num_perm: int, bands: int) -> None:
        self.num_perm = num_perm
        self.lsh = RMinHashLSH(0.5, num_perm, bands)
        self.sig = np.zeros((1024, num_perm), dtype=np.uint32)
        self.ts = np.zeros(1024, dtype=np.float64)
        self.n = np.zeros(1024, dtype=np.float64)  # shingles per story, for containment
        self.ids: list[str | None] = [None] * 1024
        self.row: dict[str, int] = {}
        self.free: list[int] = []
        self.next = 0

    def add(self, story_id: str, mh: RMinHash, ts: float, n: int) -> None:
        if story_id in self.row:
            self.remove(story_id)
        if self.free:
            r = self.free.pop()
        else:
            r = self.next
            self.next += 1
            if r >= len(self.ids):
                grow = len(self.ids)
                self.sig = np.vstack([self.sig, np.zeros((grow, self.num_perm), dtype=np.uint32)])
                self.ts = np.concatenate([self.ts, np.zeros(grow, dtype=np.float64)])
                self.n = np.concatenate([self.n, np.zeros(grow, dtype=np.float64)])
                self.ids.extend([None] * grow)
        self.sig[r] = mh.digest()
        self.ts[r] = ts
        self.n[r] = n
        self.ids[r] = story_id
        self.row[story_id] = r
        self.lsh.insert(r, mh)

    def remove(self, story_id: str) -> None:
        r = self.row.pop(story_id, None)
        if r is None:
            return
        self.lsh.remove(r)
        self.ids[r] = None
        self.free.append(r)

    def similarity(self, story_id: str, mh: RMinHash) -> float | None:
        r = self.row.get(story_id)
        if r is None:
            return None
        return float((self.sig[r] == np.asarray(mh.digest(), dtype=np.uint32)).mean())

    def candidates(self, mh: RMinHash) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """Stored stories sharing a band with ``mh``: ids, estimated Jaccard, times, sizes."""
        rows = [r for r in self.lsh.query(mh) if self.ids[r] is not None]
        if not rows:
            empty = np.zeros(0)
            return [], empty, empty, empty
        rows.sort()
        sims = (self.sig[rows] == np.asarray(mh.digest(), dtype=np.uint32)).mean(axis=1)
        return [self.ids[r] or "" for r in rows], sims, self.ts[rows], self.n[rows]


class Deduplicator:
    """Decides, for each raw story, unique / update / duplicate, and records it."""

    def __init__(
        self,
        store: MutableMapping[str, Any] | None = None,
        *,
        window_seconds: float = 7 * 86400,
        near_threshold: float = DEFAULT_NEAR_THRESHOLD,
        cluster_threshold: float = DEFAULT_CLUSTER_THRESHOLD,
        num_perm: int = DEFAULT_NUM_PERM,
        containment_threshold: float = DEFAULT_CONTAINMENT_THRESHOLD,
    ) -> None:
        if window_seconds <= 0:
            raise ConfigError(f"dedup window must be positive, got {window_seconds}")
        for name, value in (("near_threshold", near_threshold), ("cluster_threshold", cluster_threshold),
                            ("containment_threshold", containment_threshold)):
            if not 0 < value <= 1:
                raise ConfigError(f"dedup {name} must be in (0, 1], got {value}")
        if num_perm <= 0 or num_perm % NEAR_BANDS:
            raise ConfigError(f"dedup num_perm must be a positive multiple of {NEAR_BANDS}, got {num_perm}")
        self.store: MutableMapping[str, Any] = {} if store is None else store
        self.window_seconds = float(window_seconds)
        self.near_threshold = near_threshold
        self.cluster_threshold = cluster_threshold
        self.containment_threshold = containment_threshold
        self.num_perm = num_perm
        self._loaded = False
        self._near = _Index(num_perm, NEAR_BANDS)
        self._clusters = ClusterIndex(span_seconds=CLUSTER_SPAN_SECONDS)
        self._heap: list[tuple[float, str]] = []
        self._count = 0
        self._seq = 0  # write order of records, so a rebuild indexes them in the same order
        self._boiler_memo: dict[str, bool] = {}
        self._para_memo: dict[tuple[bool, str], _Paragraph] = {}

    # ------------------------------------------------------------------ cache
    def reload(self) -> None:
        """Drop the in-memory cache; the next call rebuilds it from the store.  Call it when
        the store's contents change under this object (a faust rebalance assigned other
        table partitions)."""
        self._loaded = False
        self._near = _Index(self.num_perm, NEAR_BANDS)
        self._clusters = ClusterIndex(span_seconds=CLUSTER_SPAN_SECONDS)
        self._heap = []
        self._count = 0
        self._seq = 0

    def _meta(self) -> dict[str, Any]:
        return {"format": _FORMAT, "seed": SEED, "num_perm": self.num_perm}

    def _ensure_loaded(self) -> None:
        """Rebuild the in-memory indexes from the store (once per instance)."""
        if self._loaded:
            return
        meta = self.store.get("meta")
        if meta is None:
            self.store["meta"] = self._meta()
        elif meta != self._meta():
            raise DedupStateError(f"dedup store was written with {meta}, this worker uses {self._meta()}")
        records = [(key[2:], rec) for key, rec in self.store.items() if key.startswith("s:")]
        # Index in the order the running worker did (a store may iterate in key order).
        try:
            records.sort(key=lambda kv: int(kv[1]["q"]))
            for sid, rec in records:
                self._index_record(sid, rec)
        except (KeyError, TypeError, ValueError) as exc:
            raise DedupStateError(f"dedup store holds a malformed record: {exc!r}") from exc
        self._seq = max((int(rec["q"]) for _, rec in records), default=0) + 1
        self._loaded = True
        metrics.DEDUP_WINDOW.set(self._count)

    def _index_record(self, sid: str, rec: dict[str, Any]) -> None:
        heapq.heappush(self._heap, (float(rec["x"]), sid))
        self._count += 1
        words = _NO_WORDS
        if rec.get("k"):
            # The signature and the lead's words are not stored: they are functions of the
            # token stream, which is.
            stream = _decode_stream(rec["k"])
            mh = self._minhash(stream)
            if mh is not None:
                self._near.add(sid, mh, float(rec["t"]), int(rec.get("n") or 0))
            if rec.get("e"):
                words = lead_words(stream, CLUSTER_TEXT_WORDS)
        self._index_cluster(sid, rec, words)

    def _index_cluster(self, sid: str, rec: dict[str, Any], words: tuple[np.ndarray, np.ndarray]) -> None:
        """A cluster member (a record with event terms) into the cluster index."""
        if rec.get("e"):
            self._clusters.add(sid, list(rec["e"]), words, float(rec["t"]), str(rec["cl"]))
        else:
            self._clusters.remove(sid)  # the index holds exactly what the records say

    # ------------------------------------------------------------------ features
    def _features(self, story: RawStory, raw_hash: str) -> _Features:
        body = story.body
        # content_paragraphs(), one paragraph at a time through a memo: copies, updates and
        # re-sends share most paragraphs with a story seen before (boilerplate rules,
        # sentence split and tokens are functions of the paragraph's text alone; the first
        # kept paragraph also loses its dateline, so it is its own entry).
        kept = [p for p in paragraphs(body) if not self._boilerplate(p.text)]
        sents: list[Span] = []
        lowers: list[str] = []
        lengths: list[int] = []
        codes: list[int] = []
        for i, p in enumerate(kept):
            para = self._paragraph(p.text, first=i == 0)
            for a, b in para.spans:
                sents.append(Span(p.start + a, p.start + b, body[p.start + a:p.start + b]))
            lowers.extend(para.lowers)
            lengths.extend(para.lengths)
            codes.extend(para.codes)
        stream = TokenStream.from_codes(np.array(lengths, dtype=np.int64), np.array(codes, dtype=np.uint64))
        n_words = lengths
        text = " ".join(x for x in lowers if x)  # == " ".join(every word).lower()
        lead_key = None
        if sents and n_words[0] >= LEAD_MIN_WORDS:
            lead_key = digest([lowers[0]])
        # the lead's words, case kept, for the cluster terms (a few sentences)
        lead: list[list[str]] = []
        seen = 0
        for sent in sents:
            if seen >= CLUSTER_LEAD_WORDS:
                break
            lead.append(tokens(sent.text))
            seen += len(lead[-1])
        return _Features(
            raw_hash=raw_hash,
            sentences=sents,
            stream=stream,
            n_words=n_words,
            body_hash=digest([text]) if text else None,
            lead_key=lead_key,
            minhash=self._minhash(stream),
            n_shingles=max(0, len(stream.h16) - 2),
            terms=event_terms(lead, CLUSTER_LEAD_WORDS),
        )

    def _boilerplate(self, text: str) -> bool:
        memo = self._boiler_memo
        hit = memo.get(text)
        if hit is None:
            if len(memo) >= PARAGRAPH_MEMO:
                memo.clear()
            hit = memo[text] = is_boilerplate(text)
        return hit

    def _paragraph(self, text: str, *, first: bool) -> _Paragraph:
        memo = self._para_memo
        key = (first, text)
        hit = memo.get(key)
        if hit is None:
            if len(memo) >= PARAGRAPH_MEMO:
                memo.clear()  # bounded: memory stays flat; a miss only costs time
            span = Span(0, len(text), text)
            spans = sentences(strip_dateline(span) if first else span)
            raw = [tokens(sp.text) for sp in spans]
            hit = memo[key] = _Paragraph(
                spans=tuple((sp.start, sp.end) for sp in spans),
                lowers=tuple(" ".join(r).lower() for r in raw),
                lengths=tuple(len(r) for r in raw),
                codes=token_codes([w for r in raw for w in r]),
            )
        return hit

    def _minhash(self, stream: TokenStream) -> RMinHash | None:
        grams = shingle_hashes(stream.h16)
        if len(grams) < MIN_NEAR_SHINGLES:
            return None
        mh = RMinHash(self.num_perm, SEED)
        mh.update(grams)
        return mh

    # ------------------------------------------------------------------ matching
    def _record(self, sid: str) -> dict[str, Any] | None:
        rec = self.store.get("s:" + sid)
        return rec if isinstance(rec, dict) else None

    def _near_match(self, f: _Features) -> tuple[str, float] | None:
        """The best earlier story this one nearly copies, and the similarity."""
        if f.minhash is None:
            return None
        ids, sims, tss, ns = self._near.candidates(f.minhash)
        scored: list[tuple[float, float, str]] = []
        if ids:
            # Score every candidate at once; most LSH candidates fail and never reach Python.
            small = np.minimum(ns, f.n_shingles)
            with np.errstate(divide="ignore", invalid="ignore"):
                contain = np.minimum(1.0, sims * (ns + f.n_shingles) / (1 + sims) / small)
            contain = np.where((small >= MIN_CONTAINMENT_SHINGLES) & (sims > 0), contain, 0.0)
            scores = np.where(sims >= self.near_threshold, sims,
                              np.where(contain >= self.containment_threshold, contain, 0.0))
            for i in np.flatnonzero(scores > 0).tolist():
                if self._record(ids[i]) is not None:  # the store is the truth, not the cache
                    scored.append((-float(scores[i]), float(tss[i]), ids[i]))
        if f.lead_key is not None:
            # Same opening sentence: a copy cut to its first paragraphs, or the full story
            # after a brief.  MinHash is too coarse for texts that different in length, so
            # count the sentences of the shorter one that the other covers.
            lsid = self.store.get("l:" + f.lead_key)
            rec = self._record(lsid) if isinstance(lsid, str) else None
            if rec is not None and lsid is not None and rec.get("k") and all(x[2] != lsid for x in scored):
                score = self._lead_coverage(f, _stream_of(rec))
                if score >= self.containment_threshold:
                    scored.append((-score, float(rec["t"]), lsid))
        if not scored:
            return None
        best = min(scored)  # highest score, then earliest, then id: deterministic
        return best[2], -best[0]

    def _lead_coverage(self, f: _Features, old: TokenStream) -> float:
        """Share of the shorter text's words in sentences the other text also has."""
        new_sk, old_sk = f.stream.sketches(), old.sketches()
        new_words, old_words = sum(f.n_words), int(old.lengths.sum())
        if new_words <= old_words:
            missing = uncovered(new_sk, old_sk, SENTENCE_CONTAINMENT)
            lengths, total = f.n_words, new_words
        else:
            missing = uncovered(old_sk, new_sk, SENTENCE_CONTAINMENT)
            lengths, total = old.lengths.tolist(), old_words
        return 1.0 - sum(lengths[i] for i in missing) / total if total else 0.0

    def _new_sentences(self, f: _Features, seen: list[SentenceSketch]) -> list[int]:
        return uncovered(f.stream.sketches(), seen, SENTENCE_CONTAINMENT)

    def _group_sketches(self, *sids: str) -> list[SentenceSketch]:
        seen: list[SentenceSketch] = []
        done: set[str] = set()
        for sid in sids:
            if sid in done:
                continue
            done.add(sid)
            rec = self._record(sid)
            if rec is not None and rec.get("k"):
                seen.extend(_stream_of(rec).sketches())
        return seen

    # ------------------------------------------------------------------ public
    def check(self, story: RawStory) -> DedupVerdict:
        """Decide what ``story`` is and record it in the window."""
        started = time.perf_counter()
        metrics.DEDUP_IN.inc()
        self._ensure_loaded()
        raw = digest([story.body])
        verdict = self._exact(story, raw)
        if verdict is None:
            f = self._features(story, raw)
            verdict = self._decide(story, f)
        metrics.DEDUP_WINDOW.set(self._count)
        metrics.DEDUP_SECONDS.observe(time.perf_counter() - started)
        return verdict

    def _exact(self, story: RawStory, raw: str) -> DedupVerdict | None:
        """The verdict of :meth:`_decide` for a story whose body was seen byte for byte
        (a re-poll, a re-post under a new link, a re-send), without building features.

        Every feature is a function of the body, so a record with the same raw-body hash
        ``b`` has this story's features: the same lookups in the same order (guid, URL,
        content) give the same match, no sentence is new, and the MinHash similarity to the
        match is 1.0 exactly when the match is in the near index.  None = decide the slow
        way (a changed body may be an update; no exact match may still be a near copy).
        """
        sid = story.story_id
        body_hash: str | None
        by_hash = False
        if (rec := self._record(sid)) is not None:
            if rec.get("b") != raw:
                return None
            match, mrec, body_hash = sid, rec, rec.get("h")
            kind: DuplicateKind = "guid" if sid.startswith("g:") else "url" if sid.startswith("u:") else "content"
        elif story.canonical_url and isinstance(u := self.store.get("u:" + story.canonical_url), str) \
                and (urec := self._record(u)) is not None:
            if urec.get("b") != raw:
                return None
            match, mrec, body_hash, kind = u, urec, urec.get("h"), "url"
        else:
            b = self.store.get("b:" + raw)
            brec = self._record(b) if isinstance(b, str) else None
            body_hash = brec.get("h") if brec is not None and brec.get("b") == raw else None
            h = self.store.get("h:" + body_hash) if body_hash else None
            hrec = self._record(h) if isinstance(h, str) else None
            if h is None or hrec is None:
                return None  # not a content copy: maybe a near one
            match, mrec, kind, by_hash = h, hrec, "content", True
        root = str(mrec.get("r") or match)
        root_url = str(mrec.get("ru") or mrec["u"])
        cluster = str(mrec["cl"])
        # (_decide: 1.0 from the content test, else the MinHash estimate against the match)
        similarity = 1.0 if by_hash or match in self._near.row else None
        ts = story.published.timestamp()
        if rec is not None:
            self._touch(story, rec)
        else:
            new = self._base(story, body_hash, raw, ts) | {"r": root, "ru": root_url, "cl": cluster}
            self._put(sid, new, None, 0, index_body=False)
        metrics.DEDUP_DUPLICATES.labels(kind=kind).inc()
        return DedupVerdict(
            story_id=sid, url=story.url, status="duplicate", kind=kind, duplicate_of=root_url,
            duplicate_of_id=root, cluster_id=cluster, similarity=similarity, changed_spans=None,
        )

    def _decide(self, story: RawStory, f: _Features) -> DedupVerdict:
        sid = story.story_id
        ts = story.published.timestamp()
        kind: DuplicateKind | None = None
        match: str | None = None
        similarity: float | None = None
        if self._record(sid) is not None:
            match = sid
            kind = "guid" if sid.startswith("g:") else "url" if sid.startswith("u:") else "content"
        elif story.canonical_url and isinstance(u := self.store.get("u:" + story.canonical_url), str) \
                and self._record(u) is not None:
            match, kind = u, "url"
        elif f.body_hash and isinstance(h := self.store.get("h:" + f.body_hash), str) \
                and self._record(h) is not None:
            match, kind, similarity = h, "content", 1.0
        elif (near := self._near_match(f)) is not None:
            match, similarity = near
            kind = "near"

        mrec = self._record(match) if match is not None else None
        if match is None or mrec is None:
            return self._unique(story, f, ts)
        root = str(mrec.get("r") or match)
        root_url = str(mrec.get("ru") or mrec["u"])
        cluster = str(mrec["cl"])
        if kind == "content" or (kind in ("guid", "url") and mrec.get("h") == f.body_hash):
            new: list[int] = []
        else:
            new = self._new_sentences(f, self._group_sketches(root, match))
            if sum(f.n_words[i] for i in new) < MIN_NEW_WORDS:
                new = []
        if similarity is None and f.minhash is not None:
            similarity = self._near.similarity(match, f.minhash)

        status: Literal["update", "duplicate"]
        vkind: DuplicateKind
        if new:
            status, vkind = "update", "update"
            self._record_update(story, f, ts, match, root, root_url, cluster, new)
            spans = _merge_spans([(f.sentences[i].start, f.sentences[i].end) for i in new], story.body)
        else:
            assert kind is not None
            status, vkind, spans = "duplicate", kind, None
            self._record_duplicate(story, f, ts, root, root_url, cluster)
        metrics.DEDUP_DUPLICATES.labels(kind=vkind).inc()
        return DedupVerdict(
            story_id=sid,
            url=story.url,
            status=status,
            kind=vkind,
            duplicate_of=root_url,
            duplicate_of_id=root,
            cluster_id=cluster,
            similarity=None if similarity is None else round(float(similarity), 4),
            changed_spans=spans,
        )

    # ------------------------------------------------------------------ recording
    def _put(self, sid: str, rec: dict[str, Any], minhash: RMinHash | None, n_shingles: int, *,
             index_body: bool, words: tuple[np.ndarray, np.ndarray] = _NO_WORDS) -> None:
        """Write one story's record and its lookup keys; index it in the cache."""
        old = self._record(sid)
        keys = [k for k in (
            "u:" + rec["cu"] if rec.get("cu") else None,
            "h:" + rec["h"] if rec.get("h") else None,
            "b:" + rec["b"] if rec.get("b") else None,
            "l:" + rec["l"] if index_body and rec.get("l") else None,
        ) if k is not None]
        for k in keys:
            self.store.setdefault(k, sid)  # the earliest story keeps a key
        # The record lists every key it may own, so eviction leaves nothing behind even
        # when a story was edited in place and its body hash changed.
        rec["ix"] = sorted(set(keys) | set((old or {}).get("ix") or ()))
        rec["q"] = self._seq
        self._seq += 1
        if old is None:
            self._count += 1
        if old is None or old.get("x") != rec["x"]:
            heapq.heappush(self._heap, (float(rec["x"]), sid))
        self.store["s:" + sid] = rec
        # The cache indexes exactly what the record holds, so a rebuild from the store
        # (after a restart) gives the same indexes.
        if rec.get("k") and minhash is not None:
            self._near.add(sid, minhash, float(rec["t"]), n_shingles)
        self._index_cluster(sid, rec, words)

    @staticmethod
    def _seen_at(story: RawStory) -> float:
        """When the window first saw the story: its publication, or its fetch if later, so
        that an old item still listed in a feed is not forgotten while it keeps coming."""
        return max(story.published.timestamp(), story.fetched_at.timestamp())

    def _base(self, story: RawStory, body_hash: str | None, raw_hash: str, ts: float) -> dict[str, Any]:
        return {"u": story.url, "cu": story.canonical_url or None, "t": ts, "x": self._seen_at(story),
                "h": body_hash, "b": raw_hash}

    def _unique(self, story: RawStory, f: _Features, ts: float) -> DedupVerdict:
        words = lead_words(f.stream, CLUSTER_TEXT_WORDS)
        cluster = self._clusters.assign(f.terms, words, ts, threshold=self.cluster_threshold)
        if cluster is None:
            cluster = "c:" + digest([story.story_id], size=8)
            metrics.DEDUP_CLUSTERS.inc()
        rec = self._base(story, f.body_hash, f.raw_hash, ts) | {
            "r": None, "ru": None, "cl": cluster, "l": f.lead_key, "n": f.n_shingles,
            "e": f.terms,
            "k": f.stream.encode(),
        }
        self._put(story.story_id, rec, f.minhash, f.n_shingles, index_body=True, words=words)
        metrics.DEDUP_UNIQUE.inc()
        return DedupVerdict(story_id=story.story_id, url=story.url, status="unique", cluster_id=cluster)

    def _record_duplicate(self, story: RawStory, f: _Features, ts: float, root: str, root_url: str,
                          cluster: str) -> None:
        old = self._record(story.story_id)
        if old is not None:
            self._touch(story, old)
            return
        rec = self._base(story, f.body_hash, f.raw_hash, ts) | {"r": root, "ru": root_url, "cl": cluster}
        self._put(story.story_id, rec, None, 0, index_body=False)

    def _touch(self, story: RawStory, old: dict[str, Any]) -> None:
        """A re-poll: the window holds the story already.  Keep it there while feeds keep
        listing it (at most one write an hour per story)."""
        seen = self._seen_at(story)
        if seen - float(old["x"]) >= TOUCH_SECONDS:
            self.store["s:" + story.story_id] = old | {"x": seen}
            heapq.heappush(self._heap, (seen, story.story_id))

    def _record_update(self, story: RawStory, f: _Features, ts: float, match: str, root: str,
                       root_url: str, cluster: str, new: list[int]) -> None:
        added = f.stream.select(new)
        # The group remembers every sentence it has published, so a second update only
        # passes on what neither the original nor the first update said.
        root_rec = self._record(root)
        if root_rec is not None and root != story.story_id:
            extra = _decode_stream(root_rec["g"]).extend(added) if root_rec.get("g") else added
            self.store["s:" + root] = root_rec | {"g": extra.encode()}
        sid = story.story_id
        old = self._record(sid)
        rec = self._base(story, f.body_hash, f.raw_hash, old["t"] if old is not None else ts)
        if old is not None:
            rec["x"] = max(float(old["x"]), rec["x"])
        rec |= {
            "r": root if root != sid else None, "ru": root_url if root != sid else None, "cl": cluster,
            "l": f.lead_key, "n": f.n_shingles,
            "e": None,
            "k": f.stream.encode(),
        }
        if root == sid and old is not None:
            # The original was edited in place (same guid or link): it stays the group's
            # root and its place among the clusters; what it said before joins the group's
            # memory ("g"), so that text coming back is not new either.
            before = _stream_of(old) if old.get("k") else None
            rec["g"] = before.encode() if before is not None else None
            rec["e"] = f.terms
        words = lead_words(f.stream, CLUSTER_TEXT_WORDS) if rec["e"] else _NO_WORDS
        self._put(sid, rec, f.minhash, f.n_shingles, index_body=True, words=words)

    # ------------------------------------------------------------------ window
    def evict(self, now: datetime, limit: int | None = None) -> int:
        """Forget stories last seen before ``now - window``, the oldest first and at most
        ``limit`` of them; returns how many (fewer than ``limit``: none is left to forget)."""
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self._ensure_loaded()
        cutoff = now.timestamp() - self.window_seconds
        n = 0
        while self._heap and self._heap[0][0] < cutoff and n != limit:
            t, sid = heapq.heappop(self._heap)
            rec = self._record(sid)
            if rec is None or float(rec["x"]) != t:
                continue  # gone already, or seen again since: a later heap entry holds it
            for k in rec.get("ix") or ():
                if self.store.get(k) == sid:
                    del self.store[k]
            del self.store["s:" + sid]
            self._near.remove(sid)
            self._clusters.remove(sid)
            self._count -= 1
            n += 1
        metrics.DEDUP_WINDOW.set(self._count)
        return n

    def __len__(self) -> int:
        self._ensure_loaded()
        return self._count


def _merge_spans(spans: list[tuple[int, int]], body: str) -> list[tuple[int, int]]:
    """Join spans separated only by whitespace inside one paragraph."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and body[out[-1][1]:s].strip() == "" and "\n\n" not in body[out[-1][1]:s]:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out

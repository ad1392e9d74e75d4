"""The claim ledger: which claims are new, which corroborate, which contradict.

`ClaimLedger.add` files one claim under its ledger key (keys.py) and compares its facts
(facts.py) with those of the claims already filed there about the same place: a claim that
repeats an earlier fact corroborates it (a `ClaimUpdate`), one that repeats nothing is new
(a `NewClaimAlert`), and one that cannot be true with an earlier claim (conflicts.py) opens
or joins a dispute (a `ContradictionAlert`).  `evict` sweeps claims older than the window.

All durable state lives in ``store`` (a faust Table with a changelog in the service,
a dict in replay), one small JSON value per claim, fact, raised pair and horizon, each
store key prefixed with its ledger key (``store_route`` recovers it, so the table's
changelog partition is the claims partition)::

    "<ledger key>/c/<claim id>"  -> {"claim": <Claim JSON without its facts>, "facts": <Facts JSON>,
                                     "fact": fact_id, "t": ts, "n": arrival number within the ledger key,
                                     "a": alerts it raised (absent: none)}
    "<ledger key>/f/<fact id>"   -> {"sources": [name...], "source_keys": [key...], "articles": [id...]}
    "<ledger key>/p/<sentence key>|<sentence key>" -> ts   # a contradiction already raised
    "<ledger key>/d/<dispute id>" -> {"kind": kind, "t": ts, "sides": [<side>, <side>]}
        # <side> = {"claims": [id...], "sources": [name...], "source_keys": [key...], "articles": [id...]}
    "<ledger key>/h"             -> ts                     # the horizon: nothing older is accepted again

A dispute is two positions on one event: its first contradicting pair opens it (one
contradiction alert), and every later claim that contradicts one of its members joins the
other side as an update (``ContradictionAlert.update``), counted by source and article
(disputes.py).

Bounded whatever the input: the lists in facts and sides are capped (MAX_SOURCES_LISTED,
MAX_ARTICLES_COUNTED, MAX_SIDE_CLAIMS), and with ``max_story_alerts`` the claims of one story
raise at most that many alerts under one ledger key (the "a" of their records says how many
each raised); the alerts past it are counted in ``LedgerResult.over_budget``, not raised.

A claim is written once, so a change costs a few hundred bytes on the changelog however
many claims its place holds.  The per-key view (`_Entry`) is rebuilt from the store on first
use and after `reload`, so a new `ClaimLedger` over the same store carries on exactly where
the old one stopped: a claim it has already seen is a no-op, and alert ids are derived from
the claims (`NewClaimAlert.make_id`, `ContradictionAlert.make_id`).  An entry of the earlier
one-value-per-key layout (``VERSION``) found in a store is rewritten in this layout on load.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ... import metrics
from ...errors import LedgerStateError
from ...models import (
    MAX_EXPLANATION_CHARS,
    Claim,
    ClaimUpdate,
    ContradictionAlert,
    NewClaimAlert,
    utcnow,
)
from .conflicts import Verdict, conflict, copies, corroborates, explain
from .disputes import copy_dispute, count_in, is_dispute, join_side, new_side, side_model
from .facts import Facts
from .keys import ledger_key, places_meet

VERSION = 1  # the layout of one whole entry per key, still read (and rewritten) on load
_CLOCK_SKEW = timedelta(days=1)
# A new entry's horizon: the first day a datetime can hold (0.0 would refuse claims dated
# before 1970, e.g. a replay of an archive).  Finite, as it is stored as JSON.
_BEGINNING = datetime.min.replace(tzinfo=UTC).timestamp()
_FACTS_CACHE_MAX = 200_000


# --------------------------------------------------------------------------- results
@dataclass
class LedgerResult:
    alerts: list[NewClaimAlert | ContradictionAlert] = field(default_factory=list)
    updates: list[ClaimUpdate] = field(default_factory=list)
    over_budget: int = 0  # alerts not raised: the story's budget for this place was spent


def store_route(store_key: str) -> str:
    """The ledger key a store key belongs to ('place:aleppo/c/<id>' -> 'place:aleppo'):
    what the service partitions the table's changelog by, as the claims topic is."""
    return store_key.split("/", 1)[0]


@dataclass
class _Entry:
    """One ledger key's claims, facts, raised pairs and horizon: a view of its store keys."""

    claims: dict[str, dict[str, Any]] = field(default_factory=dict)  # in arrival order
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    pairs: dict[str, float] = field(default_factory=dict)
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, tuple[str, int]] = field(default_factory=dict)  # claim id -> (dispute id, side)
    horizon: float = _BEGINNING
    oldest: float = 0.0  # the oldest claim's time, so that the sweep skips untouched keys
    next_n: int = 0

    def index_members(self) -> None:
        self.members = {cid: (did, side) for did, d in self.disputes.items()
                        for side, members in enumerate(d["sides"]) for cid in members["claims"]}


class ClaimLedger:
    """Claims per place over a sliding window; plain class, state in ``store``."""

    def __init__(
        self, store: MutableMapping[str, Any] | None = None, *, window_seconds: float = 14 * 86400,
        max_story_alerts: int | None = None,
    ) -> None:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        if max_story_alerts is not None and max_story_alerts < 1:
            raise ValueError(f"max_story_alerts must be at least 1, got {max_story_alerts}")
        self.store: MutableMapping[str, Any] = {} if store is None else store
        self.window_seconds = float(window_seconds)
        # Alerts one story's claims may raise under one ledger key (None: no budget).  Counted
        # from the claims' own records, so a restarted worker spends it as a clean one did.
        self.max_story_alerts = max_story_alerts
        # Facts decoded from the store, by claim id: a cache only (the store is the truth),
        # emptied of a claim when it is evicted so that it stays as bounded as the store.
        self._facts: dict[str, Facts] = {}
        self._entries: dict[str, _Entry] = {}
        self._loaded = False
        self._size = 0
        self._ensure_loaded()

    # -- state -------------------------------------------------------------------
    def __len__(self) -> int:
        """Claims held in the window."""
        self._ensure_loaded()
        return self._size

    def reload(self) -> None:
        """Forget the per-key view; the next call rebuilds it from the store.  Call it when
        the store changed under this object (a faust rebalance assigned other partitions, or
        staged writes were rolled back)."""
        self._loaded = False
        self._entries = {}
        self._facts.clear()

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        entries: dict[str, _Entry] = {}
        old_layout: list[tuple[str, Any]] = []
        for skey, value in list(self.store.items()):
            route, sep, rest = skey.partition("/")
            if not sep:
                old_layout.append((skey, value))
                continue
            entry = entries.setdefault(route, _Entry())
            kind, _, ident = rest.partition("/")
            if kind == "c" and isinstance(value, dict) and isinstance(value.get("t"), float | int) \
                    and isinstance(value.get("claim"), dict) and "fact" in value:
                entry.claims[ident] = value
            elif kind == "f" and isinstance(value, dict) and isinstance(value.get("articles"), list):
                entry.facts[ident] = value
            elif kind == "p" and isinstance(value, float | int):
                entry.pairs[ident] = float(value)
            elif kind == "d" and is_dispute(value):
                entry.disputes[ident] = value
            elif kind == "h" and not ident and isinstance(value, float | int):
                entry.horizon = float(value)
            else:
                raise LedgerStateError(f"ledger store key {skey!r} does not hold a ledger record")
        for key, value in old_layout:
            entries[key] = self._upgrade(key, value, entries.get(key))
        for entry in entries.values():
            # A store may iterate in key order: arrival order is what the running worker used.
            entry.claims = dict(sorted(entry.claims.items(), key=lambda kv: int(kv[1].get("n", 0))))
            entry.oldest = min((float(r["t"]) for r in entry.claims.values()), default=0.0)
            entry.next_n = 1 + max((int(r.get("n", 0)) for r in entry.claims.values()), default=-1)
            entry.index_members()
        # A key left with facts, pairs or a horizon but no claim (a crash between its writes)
        # stays in the view, so that the next sweep drops it instead of the store keeping it.
        self._entries = entries
        self._size = sum(len(e.claims) for e in self._entries.values())
        self._loaded = True
        metrics.LEDGER_SIZE.set(self._size)

    def _upgrade(self, key: str, value: Any, entry: _Entry | None) -> _Entry:
        """A version-1 entry (one value per ledger key) -> its records, written in this layout."""
        if (
            not isinstance(value, dict)
            or value.get("v") != VERSION
            or not isinstance(value.get("claims"), dict)
            or not isinstance(value.get("facts"), dict)
            or not isinstance(value.get("pairs"), dict)
        ):
            raise LedgerStateError(f"ledger store entry {key!r} is not a version-{VERSION} ledger entry")
        entry = entry or _Entry()
        self._set_horizon(key, entry, float(value.get("horizon", _BEGINNING)))
        for n, (cid, rec) in enumerate(value["claims"].items()):
            entry.claims[cid] = rec = {**rec, "n": n}
            self.store[f"{key}/c/{cid}"] = rec
        for fid, fact in value["facts"].items():
            entry.facts[fid] = self.store[f"{key}/f/{fid}"] = fact
        for pk, ts in value["pairs"].items():
            entry.pairs[pk] = self.store[f"{key}/p/{pk}"] = float(ts)
        del self.store[key]
        return entry

    def _set_horizon(self, key: str, entry: _Entry, horizon: float) -> None:
        if horizon > entry.horizon:
            entry.horizon = horizon
            self.store[f"{key}/h"] = horizon

    def _purge(self, key: str, entry: _Entry, cutoff: float) -> int:
        """Drop claims published before ``cutoff``, and the facts and pairs only they used."""
        claims = entry.claims
        if not claims or entry.oldest >= cutoff:
            return 0
        old = [cid for cid, rec in claims.items() if rec["t"] < cutoff]
        if not old:
            return 0
        # Nothing older than what left is accepted again (it would re-raise expired alerts).
        self._set_horizon(key, entry, cutoff)
        for cid in old:
            del claims[cid]
            del self.store[f"{key}/c/{cid}"]
            self._facts.pop(cid, None)
        entry.oldest = min((rec["t"] for rec in claims.values()), default=0.0)
        used = {rec["fact"] for rec in claims.values()}
        for fid in [fid for fid in entry.facts if fid not in used]:
            del entry.facts[fid]
            del self.store[f"{key}/f/{fid}"]
        for pk in [pk for pk, ts in entry.pairs.items() if ts < cutoff]:
            del entry.pairs[pk]
            del self.store[f"{key}/p/{pk}"]
        # a dispute goes when none of its claims is left
        for did in [did for did, d in entry.disputes.items()
                    if not any(cid in claims for side in d["sides"] for cid in side["claims"])]:
            del entry.disputes[did]
            del self.store[f"{key}/d/{did}"]
        entry.index_members()
        return len(old)  # (a key left without claims is the caller's to drop or refill)

    def _drop(self, key: str, entry: _Entry) -> None:
        """A key left without claims is forgotten whole, its horizon too (as version 1 did)."""
        for fid in entry.facts:
            del self.store[f"{key}/f/{fid}"]
        for pk in entry.pairs:
            del self.store[f"{key}/p/{pk}"]
        for did in entry.disputes:
            del self.store[f"{key}/d/{did}"]
        if f"{key}/h" in self.store:
            del self.store[f"{key}/h"]
        self._entries.pop(key, None)

    # -- the one entry point ---------------------------------------------------------
    def add(self, claim: Claim, now: datetime | None = None) -> LedgerResult:
        """File one claim; return the alerts and corroboration updates it causes (once only).

        ``now`` is the stream's clock; without it the claim's publication time is used,
        so a replay of old feeds behaves as the live stream did.
        """
        self._ensure_loaded()
        # A feed that dates an item in the future must not move the window forward and
        # expire everything else filed under the place: the clock never runs ahead of
        # the wall clock (replays of old feeds are unaffected), nor a claim ahead of the clock.
        now = now or min(claim.published, utcnow() + _CLOCK_SKEW)
        key = ledger_key(claim)
        entry = self._entries.get(key) or _Entry()
        result = LedgerResult()
        if claim.claim_id in entry.claims:
            return result  # re-poll, replay or re-delivery after a restart
        t = min(claim.published, now).timestamp()
        cutoff = now.timestamp() - self.window_seconds
        evicted = self._purge(key, entry, cutoff)
        self._count(-evicted)
        if t < max(entry.horizon, cutoff):
            # Older than the window: it already left the ledger (or would at once), so
            # raising anything now would re-raise alerts for an expired claim.
            if not entry.claims:
                self._drop(key, entry)
            return result
        self._entries[key] = entry
        facts = Facts.of(claim)
        # (the claim's facts are the record's "facts", kept once)
        record: dict[str, Any] = {"claim": claim.model_dump(mode="json", exclude={"facts"}),
                                  "facts": facts.to_json(), "t": t, "n": entry.next_n}

        if facts.hedged:
            # A hedge ('may have', 'reportedly preparing') is neither news nor a conflict;
            # it is kept only so that a re-delivery stays a no-op.
            record["fact"] = claim.claim_id
            if claim.claim_id not in entry.facts:
                self._put_fact(key, entry, claim.claim_id, {"sources": [], "source_keys": [], "articles": []})
            self._record(key, entry, claim.claim_id, record)
            return result

        # The key is coarser than the place ('place:kivu'): only claims about the same place meet.
        earlier = [
            (cid, rec, old)
            for cid, rec in entry.claims.items()
            if places_meet(facts.places, (old := self._facts_of(cid, rec)).places)
        ]
        fact_id = self._match_fact(facts, earlier)
        if fact_id is None:
            fact_id = claim.claim_id
            result.alerts.append(
                NewClaimAlert(alert_id=NewClaimAlert.make_id(claim.claim_id), ledger_key=key, claim=claim,
                              raised_at=now)
            )
        # a new value, never the stored one changed in place: staged writes may be rolled back
        old_fact = entry.facts.get(fact_id) or {"sources": [], "source_keys": [], "articles": []}
        fact = {k: list(v) for k, v in old_fact.items()}
        count_in(fact, facts, claim.cluster_id or claim.story_id)
        if fact != old_fact:
            self._put_fact(key, entry, fact_id, fact)
        if fact_id != claim.claim_id:
            result.updates.append(
                ClaimUpdate(
                    claim_id=fact_id, ledger_key=key, claim=claim, sources=list(fact["sources"]),
                    num_sources=len(fact["sources"]), num_articles=len(fact["articles"]), updated_at=now,
                )
            )
            metrics.CORROBORATIONS.inc()
        record["fact"] = fact_id

        # Two claims that name no place are not known to be about the same place.
        # A syndicated copy of a sentence already filed (its own dateline, house style) is the
        # same statement: the original raises the contradictions, once, and the copy none.
        facts.copy = any(copies(facts, old) for _cid, _rec, old in earlier)
        rivals = [r for r in earlier if not r[2].copy] if key.startswith("place:") and not facts.copy else []
        conflicts: list[_Conflict] = []
        for cid, rec, old in rivals:
            verdict = conflict(facts, old)
            if verdict is None:
                continue
            # One alert per pair of evidence sentences: a sentence carrying two categories
            # (a capture 'after heavy air strikes') is still one statement to dispute.
            pk = "|".join(sorted((facts.sentence_key, old.sentence_key)))
            if pk in entry.pairs:
                continue
            entry.pairs[pk] = self.store[f"{key}/p/{pk}"] = min(t, rec["t"])
            conflicts.append((cid, rec, old, verdict))
        # The story's alert budget here: what is past it is not raised (nor built), but still
        # filed -- the claim stays in its fact and joins its dispute, the pair is remembered.
        budget = self._budget_left(entry, claim) if result.alerts or conflicts else None
        wanted = len(result.alerts) + len(conflicts)
        if conflicts:
            room = None if budget is None else max(0, budget - len(result.alerts))
            result.alerts.extend(self._dispute(key, entry, claim, facts, t, conflicts, now, room))
        if budget is not None and wanted > budget:
            del result.alerts[budget:]  # (a new claim's alert, when there is no room at all)
            result.over_budget = wanted - budget
        if result.alerts:
            record["a"] = len(result.alerts)
        _count_raised(result.alerts)
        self._record(key, entry, claim.claim_id, record)
        self._facts[claim.claim_id] = facts
        return result

    def _budget_left(self, entry: _Entry, claim: Claim) -> int | None:
        """Alerts ``claim``'s story may still raise under this key (None: no budget), from
        what its claims filed here raised.  The first ones raised are kept: a new claim's
        alert, then the alert that opens a dispute, then its updates."""
        if self.max_story_alerts is None:
            return None
        spent = sum(int(rec.get("a", 0)) for rec in entry.claims.values()
                    if rec["claim"]["story_id"] == claim.story_id)
        return max(0, self.max_story_alerts - spent)

    def _dispute(self, key: str, entry: _Entry, claim: Claim, facts: Facts, t: float,
                 conflicts: list[_Conflict], now: datetime, room: int | None) -> list[ContradictionAlert]:
        """File ``claim`` into the dispute its conflicts belong to, or open one; one alert per pair
        (for the first ``room`` pairs: None = all; every pair is filed).

        The dispute is the one a contradicted claim is already in (the one opened first), else a
        new one whose first pair is the first conflict: that alert opens it (``update`` false) and
        every other pair is an update of it.  Every claim ``claim`` contradicts takes the other
        side: 'the army took X' against five reports that X has not fallen is one dispute.
        """
        joined = [(entry.members[c[0]], c) for c in conflicts if c[0] in entry.members]
        if joined:
            (did, their_side), _first = min(joined, key=lambda j: (entry.disputes[j[0][0]]["t"], j[0][0]))
            dispute = copy_dispute(entry.disputes[did])
            side = 1 - their_side
        else:
            cid, rec, _old, verdict = conflicts[0]
            did = ContradictionAlert.make_id(claim.claim_id, cid, verdict.kind)
            dispute = {"kind": verdict.kind, "t": min(t, float(rec["t"])), "sides": [new_side(), new_side()]}
            side = 1
        join_side(dispute["sides"][side], claim.claim_id, facts, claim.cluster_id or claim.story_id)
        for ocid, orec, oold, _v in conflicts:
            if ocid not in entry.members or entry.members[ocid][0] != did:
                join_side(dispute["sides"][1 - side], ocid, oold, orec["claim"].get("cluster_id")
                          or orec["claim"]["story_id"])
        entry.disputes[did] = self.store[f"{key}/d/{did}"] = dispute
        entry.index_members()
        alerts: list[ContradictionAlert] = []
        for cid, rec, old, verdict in conflicts[:room]:
            alert_id = ContradictionAlert.make_id(claim.claim_id, cid, verdict.kind)
            update = alert_id != did
            # the stored claim without its facts (kept as the record's): given back to it here
            old_claim = Claim.model_validate(rec["claim"])
            old_claim.facts = old.claim_facts()
            alerts.append(ContradictionAlert(
                alert_id=alert_id,
                kind=verdict.kind,
                dispute_id=did,
                update=update,
                ledger_key=key,
                claim=claim,
                contradicts=old_claim,
                claim_side=side_model(dispute["sides"][side]),
                contradicts_side=side_model(dispute["sides"][1 - side]),
                explanation=explain(verdict, facts, claim, old, old_claim)[:MAX_EXPLANATION_CHARS],
                raised_at=now,
            ))
        return alerts

    def _facts_of(self, claim_id: str, rec: dict[str, Any]) -> Facts:
        f = self._facts.get(claim_id)
        if f is None:
            if len(self._facts) >= _FACTS_CACHE_MAX:
                # Claims of partitions this worker no longer owns are never purged here;
                # starting over costs one decode per claim and keeps memory bounded.
                self._facts.clear()
            f = self._facts[claim_id] = Facts.from_json(rec["facts"])
        return f

    def _put_fact(self, key: str, entry: _Entry, fact_id: str, fact: dict[str, Any]) -> None:
        entry.facts[fact_id] = self.store[f"{key}/f/{fact_id}"] = fact

    def _record(self, key: str, entry: _Entry, claim_id: str, record: dict[str, Any]) -> None:
        entry.oldest = min(entry.oldest, record["t"]) if entry.claims else record["t"]
        entry.claims[claim_id] = self.store[f"{key}/c/{claim_id}"] = record
        entry.next_n += 1
        self._count(1)

    def _count(self, delta: int) -> None:
        if delta:
            self._size = max(0, self._size + delta)
            metrics.LEDGER_SIZE.set(self._size)

    @staticmethod
    def _match_fact(f: Facts, earlier: list[tuple[str, dict[str, Any], Facts]]) -> str | None:
        """The fact an earlier claim established that this claim repeats, if any."""
        for _cid, rec, e in earlier:
            if corroborates(f, e):
                return str(rec["fact"])
        return None

    # -- bounded state ------------------------------------------------------------
    def evict(self, now: datetime, limit: int | None = None) -> int:
        """Drop claims published more than the window before ``now``; return how many.

        With ``limit``, stop after the place that brings the count to ``limit`` or more
        (a place is purged whole), so that one call stays short; the next call goes on.
        """
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self._ensure_loaded()
        cutoff = now.timestamp() - self.window_seconds
        removed = 0
        for key, entry in list(self._entries.items()):
            if limit is not None and removed >= limit:
                break
            removed += self._purge(key, entry, cutoff)
            if not entry.claims:
                self._drop(key, entry)
        self._count(-removed)
        return removed


_Conflict = tuple[str, dict[str, Any], Facts, Verdict]


def _count_raised(alerts: list[NewClaimAlert | ContradictionAlert]) -> None:
    for a in alerts:
        if isinstance(a, NewClaimAlert):
            metrics.NEW_CLAIMS.labels(category=a.claim.category).inc()
        else:
            (metrics.DISPUTE_UPDATES if a.update else metrics.CONTRADICTIONS).labels(kind=a.kind).inc()


__all__ = ["ClaimLedger", "LedgerResult", "store_route"]

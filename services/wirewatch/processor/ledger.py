"""The claim ledger: which claims are new, which corroborate, which contradict.

Every claim about one place meets every other claim about that place under one
ledger key (`ledger_key`), which is also the Kafka key of the claims topic, so one
worker sees them all and keeps them in one store entry.  The key is the first word of
the place's name, not category + place: a denial of fighting in a village conflicts
with a report of the army advancing into it (two categories), and 'South Kivu', 'North
and South Kivu' or a name cut short ('Abu' for 'Abu Shouk') must meet too; within an
entry `places_meet` keeps claims about different places apart.

All durable state lives in ``store`` (a faust Table with a changelog in the service,
a dict in replay), one JSON entry per ledger key::

    {"v": 1,
     "claims":  {claim_id: {"claim": <Claim JSON>, "facts": <Facts JSON>, "fact": fact_id, "t": ts}},
     "facts":   {fact_id: {"sources": [name...], "source_keys": [key...], "articles": [id...]}},
     "pairs":   {"<sentence key>|<sentence key>": ts},   # contradictions already raised
     "horizon": ts,                                      # nothing older is accepted again
     "oldest": ts}                                       # the oldest claim's time, for the sweep

so a new `ClaimLedger` over the same store carries on exactly where the old one
stopped: a claim it has already seen is a no-op, and alert ids are derived from the
claims (`NewClaimAlert.make_id`, `ContradictionAlert.make_id`).  Each entry is
written back whole after a change, because faust only logs assignments.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from .. import metrics
from ..errors import LedgerStateError
from ..limits import MAX_MESSAGE_BYTES
from ..models import Claim, ClaimUpdate, ContradictionAlert, NewClaimAlert, utcnow
from .contradict import Facts, conflict, explain, facts_of, same_camp, same_speaker, same_time

log = logging.getLogger(__name__)

VERSION = 1
_QUOTE_MARKS = ('"', "\u201c", "\u2018", "'")
_CLOCK_SKEW = timedelta(days=1)
# A new entry's horizon: the first day a datetime can hold (0.0 would refuse claims dated
# before 1970, e.g. a replay of an archive).  Finite, as it is stored as JSON.
_BEGINNING = datetime.min.replace(tzinfo=UTC).timestamp()
# One entry is one message on the table's changelog: well under the producers' limit
# (wirewatch/limits.py).  Measured once an entry holds more claims than could reach it
# (a claim of a 2,000-character sentence, the longest parsed, takes ~8 KB).
_ENTRY_MAX_BYTES = MAX_MESSAGE_BYTES // 2
_ENTRY_CHECK_CLAIMS = 32
_QUOTE_REACH = 400
_FACTS_CACHE_MAX = 200_000  # characters between a named quote and an unattributed follow-on

# --------------------------------------------------------------------------- keys
_ARTICLE = re.compile(r"(?:^|(?<=[\s-]))(?:the\s+|a[lrsdtzn]-|ash-|ath-|adh-|e[lrsdtzn]-)", re.I)
_OF = re.compile(r"^(?:city|town|village|district|province|region|governorate|neighbou?rhood)\s+of\s+", re.I)
_GENERIC = re.compile(
    r"\s+(?:district|districts|neighbou?rhoods?|area|areas|quarter|village|town|city|suburb|"
    r"region|province|governorate|municipality|sector|enclave|camp|displacement camp|refugee camp)$",
    re.I,
)
_LIST_SPLIT = re.compile(r",|;|/|\||\+|\s+and\s+|\s+&\s+", re.I)
# 'eastern Aleppo' is written 'aleppo east', as the extractor's place keys write it ('aleppo:east').
_DIRECTION = {
    "eastern": "east", "western": "west", "northern": "north", "southern": "south", "central": "centre",
    "northeastern": "northeast", "northwestern": "northwest", "southeastern": "southeast",
    "southwestern": "southwest", "north-eastern": "northeast", "north-western": "northwest",
    "south-eastern": "southeast", "south-western": "southwest",
}


# Bare directions too: 'South Kivu' is written 'kivu south', like 'southern Kivu'.
_DIRECTION.update({d: d for d in ("east", "west", "north", "south", "northeast", "northwest", "southeast",
                                  "southwest")})
_DIRECTION_KEYS = frozenset(_DIRECTION.values())
# A name that extends another by one of these is a different, smaller place ('Goma airport' is
# not 'Goma'); by anything else it is the same place written in full ('Abu' for 'Abu Shouk').
_SUBPLACE = frozenset({
    "airport", "countryside", "outskirts", "suburbs", "suburb", "hills", "hill", "surroundings", "environs",
    "base", "port", "road", "highway", "market", "centre", "center", "crossing", "border",
    "bridge", "prison", "hospital", "university",
})


def _clean(text: str) -> str:
    s = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in s if not unicodedata.combining(ch)).replace("\u2019", "'").casefold()


def _one_place(part: str) -> str:
    prev = None
    while prev != part:
        prev = part
        part = _ARTICLE.sub("", part)
        part = _OF.sub("", part)
        part = _GENERIC.sub("", part).strip()
    words = [w.replace("'", "") for w in re.findall(r"[\w']+", part.replace(":", " ").replace("-", " "))]
    words = [w for w in words if w]
    if len(words) > 1 and words[0] in _DIRECTION:
        words = [*words[1:], _DIRECTION[words[0]]]
    return " ".join(words)


def place_names(text: str) -> list[str]:
    """Every place a location names, normalised: 'North and South Kivu' -> ['kivu north', 'kivu south'].

    A list member that is only a direction shares the name of the member after it.
    """
    parts = [p.strip() for p in _LIST_SPLIT.split(_clean(text)) if p.strip()]
    names: list[str] = []
    for i, part in enumerate(parts):
        if part in _DIRECTION and i + 1 < len(parts):
            tail = _one_place(parts[i + 1]).split()
            core = [w for w in tail if w not in _DIRECTION_KEYS]
            part = " ".join([part, *core]) if core else part
        name = _one_place(part)
        if name and name not in names:
            names.append(name)
    return names


def normalise_place(text: str) -> str:
    """'al-Sakhour neighbourhood' -> 'sakhour'; the first of several places ('A, B and C' -> 'a').

    Spelling variants that differ only by the Arabic article, a generic head noun,
    accents or hyphens meet; directions are kept ('eastern Aleppo' -> 'aleppo east'),
    since eastern and western Aleppo are different places for a toll.
    """
    names = place_names(text)
    return names[0] if names else ""


def _split(name: str) -> tuple[list[str], frozenset[str]]:
    words = name.split()
    return [w for w in words if w not in _DIRECTION_KEYS], frozenset(w for w in words if w in _DIRECTION_KEYS)


def head(name: str) -> str:
    """The first word of a place's name without directions: the ledger key ('kivu south' -> 'kivu')."""
    core, _dirs = _split(name)
    return core[0] if core else name.split()[0] if name else ""


def same_place(a: str, b: str) -> bool:
    """'abu shouk' ~ 'abu' (a name cut short), 'kivu south' !~ 'kivu north', 'goma' !~ 'goma airport'."""
    if a == b:
        return True
    (ca, da), (cb, db) = _split(a), _split(b)
    if da != db or not ca or not cb:
        return False
    short, long_ = (ca, cb) if len(ca) <= len(cb) else (cb, ca)
    return long_[: len(short)] == short and not (set(long_[len(short):]) & _SUBPLACE)


def places_meet(a: list[str], b: list[str]) -> bool:
    """Two claims are about one place when any of their places is the same (unknown: assume so)."""
    if not a or not b:
        return True
    return any(same_place(x, y) for x in a for y in b)


_BACK_REFERENCE = re.compile(
    r"\b(?:it|there|the\s+(?:town|city|village|area|district|neighbou?rhood|camp|base|region|province|"
    r"capital|stronghold|enclave))\b",
    re.I,
)


def named_in(sentence: str, places: list[str]) -> bool:
    """The sentence is about the place itself: names it, or refers back to it ('it', 'the town').

    Not when it names the place only as a part ('held out at X airport'), nor when it names
    neither the place nor anything that refers back (a place carried over from another
    sentence, while this one is about some other place).
    """
    words = [w.replace("'", "") for w in re.findall(r"[\w']+", _ARTICLE.sub(" ", _clean(sentence)).replace("-", " "))]
    words = [w[:-1] if w.endswith("s") and w[:-1] in _SUBPLACE else w for w in words]
    seen = False
    for name in places:
        core, _dirs = _split(name)
        n = len(core)
        for i in range(len(words) - n + 1):
            if words[i:i + n] == core:
                if i + n == len(words) or words[i + n] not in _SUBPLACE:
                    return True
                seen = True
    return not seen and bool(_BACK_REFERENCE.search(sentence))


def claim_places(claim: Claim) -> list[str]:
    """The places a claim is about, the one it is filed under first."""
    names: list[str] = []
    first = place_of(claim)
    key = (claim.location_key or "").replace("-", " ").replace("+", ",")
    for n in [first, *place_names(claim.location or ""), *place_names(key)]:
        if n and n not in names:
            names.append(n)
    return names


def place_of(claim: Claim) -> str:
    """The one place a claim is filed under.

    The extractor's key (aliases resolved) when it names one place; for a list of
    places the first one *named*, since its key lists them sorted.
    """
    # the extractor's keys join words with '-' and list members with '+'
    key = (claim.location_key or "").replace("-", " ").replace("+", ",")
    if key and not _LIST_SPLIT.search(key):
        return normalise_place(key)
    if claim.location:
        return normalise_place(claim.location)
    return normalise_place(key) if key else ""


def ledger_key(claim: Claim) -> str:
    """The Kafka key of the claims topic and the store key: 'place:<head word of the place>'.

    Deliberately coarser than the place: 'North Kivu', 'South Kivu' and 'North and South
    Kivu' all file under 'place:kivu', 'Abu' (a name cut short) and 'Abu Shouk' under
    'place:abu', so that claims which may contradict always meet on one partition; within
    the key, `places_meet` decides which claims are really about the same place.

    A claim that names no place cannot conflict with anything in a place, so it gets a
    key of its own category ('noplace:attack') and only meets its own kind.
    """
    place = head(place_of(claim))
    return f"place:{place}" if place else f"noplace:{claim.category}"


# --------------------------------------------------------------------------- results
@dataclass
class LedgerResult:
    alerts: list[NewClaimAlert | ContradictionAlert] = field(default_factory=list)
    updates: list[ClaimUpdate] = field(default_factory=list)


def _source_key(f: Facts) -> str:
    """One independent source: the speaker if the claim is attributed, else the outlet."""
    return "speaker:" + " ".join(f.speaker) if f.speaker else "outlet:" + f.outlet.casefold()


class ClaimLedger:
    """Claims per place over a sliding window; plain class, state in ``store``."""

    def __init__(
        self, store: MutableMapping[str, Any] | None = None, *, window_seconds: float = 14 * 86400
    ) -> None:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        self.store: MutableMapping[str, Any] = {} if store is None else store
        self.window_seconds = float(window_seconds)
        # Facts decoded from the store, by claim id: a cache only (the store is the truth),
        # emptied of a claim when it is evicted so that it stays as bounded as the store.
        self._facts: dict[str, Facts] = {}
        self._size = len(self)
        metrics.LEDGER_SIZE.set(self._size)

    # -- state -------------------------------------------------------------------
    def __len__(self) -> int:
        """Claims held in the window (a scan of the store: the store is the truth after a restart)."""
        return sum(len(self._entry(k, v)["claims"]) for k, v in list(self.store.items()))

    @staticmethod
    def _entry(key: str, value: Any) -> dict[str, Any]:
        if (
            not isinstance(value, dict)
            or value.get("v") != VERSION
            or not isinstance(value.get("claims"), dict)
            or not isinstance(value.get("facts"), dict)
            or not isinstance(value.get("pairs"), dict)
        ):
            raise LedgerStateError(f"ledger store entry {key!r} is not a version-{VERSION} ledger entry")
        return value

    def _load(self, key: str) -> dict[str, Any]:
        value = self.store.get(key)
        if value is None:
            return {"v": VERSION, "claims": {}, "facts": {}, "pairs": {}, "horizon": _BEGINNING, "oldest": 0.0}
        return self._entry(key, value)

    def _purge(self, entry: dict[str, Any], cutoff: float) -> int:
        """Drop claims published before ``cutoff``, and the facts and pairs only they used."""
        claims: dict[str, Any] = entry["claims"]
        entry["horizon"] = max(float(entry.get("horizon", _BEGINNING)), cutoff)
        # "oldest" lets the hourly sweep skip an entry without reading its claims.
        if not claims or entry.get("oldest", 0.0) >= cutoff:
            return 0
        old = [cid for cid, rec in claims.items() if rec["t"] < cutoff]
        for cid in old:
            del claims[cid]
            self._facts.pop(cid, None)
        entry["oldest"] = min((rec["t"] for rec in claims.values()), default=0.0)
        if old:
            used = {rec["fact"] for rec in claims.values()}
            for fid in [fid for fid in entry["facts"] if fid not in used]:
                del entry["facts"][fid]
            for pk in [pk for pk, ts in entry["pairs"].items() if ts < cutoff]:
                del entry["pairs"][pk]
        return len(old)

    # -- the one entry point ---------------------------------------------------------
    def add(self, claim: Claim, now: datetime | None = None) -> LedgerResult:
        """File one claim; return the alerts and corroboration updates it causes (once only).

        ``now`` is the stream's clock; without it the claim's publication time is used,
        so a replay of old feeds behaves as the live stream did.
        """
        # A feed that dates an item in the future must not move the window forward and
        # expire everything else filed under the place: the clock never runs ahead of
        # the wall clock (replays of old feeds are unaffected), nor a claim ahead of the clock.
        now = now or min(claim.published, utcnow() + _CLOCK_SKEW)
        key = ledger_key(claim)
        entry = self._load(key)
        result = LedgerResult()
        if claim.claim_id in entry["claims"]:
            return result  # re-poll, replay or re-delivery after a restart
        t = min(claim.published, now).timestamp()
        cutoff = now.timestamp() - self.window_seconds
        evicted = self._purge(entry, cutoff)
        if t < entry["horizon"]:
            # Older than the window: it already left the ledger (or would at once), so
            # raising anything now would re-raise alerts for an expired claim.
            if evicted:
                self._save(key, entry, -evicted)
            return result
        place = claim.location or claim.location_key or ""
        facts = facts_of(claim, place, speaker=self._quoted_speaker(claim, entry))
        facts.places = claim_places(claim)
        facts.named = named_in(claim.sentence, facts.places)
        facts.words = sorted({w for w in re.findall(r"[a-z0-9]+", claim.sentence.lower()) if len(w) > 2})
        record: dict[str, Any] = {"claim": claim.model_dump(mode="json"), "facts": facts.to_json(), "t": t}

        if facts.hedged:
            # A hedge ('may have', 'reportedly preparing') is neither news nor a conflict;
            # it is kept only so that a re-delivery stays a no-op.
            record["fact"] = claim.claim_id
            entry["facts"].setdefault(claim.claim_id, {"sources": [], "source_keys": [], "articles": []})
            self._record(entry, claim.claim_id, record)
            self._save(key, entry, 1 - evicted)
            return result

        # The key is coarser than the place ('place:kivu'): only claims about the same place meet.
        earlier = [
            (cid, rec, old)
            for cid, rec in entry["claims"].items()
            if places_meet(facts.places, (old := self._facts_of(cid, rec)).places)
        ]
        fact_id = self._match_fact(facts, earlier)
        if fact_id is None:
            fact_id = claim.claim_id
            entry["facts"][fact_id] = {"sources": [], "source_keys": [], "articles": []}
            result.alerts.append(
                NewClaimAlert(alert_id=NewClaimAlert.make_id(claim.claim_id), ledger_key=key, claim=claim,
                              raised_at=now)
            )
            metrics.NEW_CLAIMS.labels(category=claim.category).inc()
        fact = entry["facts"][fact_id]
        src = _source_key(facts)
        if not any(_same_source(src, k) for k in fact["source_keys"]):
            fact["source_keys"].append(src)
            fact["sources"].append(facts.speaker_name)
        article = claim.cluster_id or claim.story_id
        if article not in fact["articles"]:
            fact["articles"].append(article)
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
        facts.copy = any(_copies(facts, old) for _cid, _rec, old in earlier)
        rivals = [r for r in earlier if not r[2].copy] if key.startswith("place:") and not facts.copy else []
        for cid, rec, old in rivals:
            verdict = conflict(facts, old)
            if verdict is None:
                continue
            # One alert per pair of evidence sentences: a sentence carrying two categories
            # (a capture 'after heavy air strikes') is still one statement to dispute.
            pk = "|".join(sorted((facts.sentence_key, old.sentence_key)))
            if pk in entry["pairs"]:
                continue
            entry["pairs"][pk] = min(t, rec["t"])
            old_claim = Claim.model_validate(rec["claim"])
            result.alerts.append(
                ContradictionAlert(
                    alert_id=ContradictionAlert.make_id(claim.claim_id, cid, verdict.kind),
                    kind=verdict.kind,
                    ledger_key=key,
                    claim=claim,
                    contradicts=old_claim,
                    explanation=explain(verdict, facts, claim, old, old_claim),
                    raised_at=now,
                )
            )
            metrics.CONTRADICTIONS.labels(kind=verdict.kind).inc()

        self._record(entry, claim.claim_id, record)
        self._facts[claim.claim_id] = facts
        self._save(key, entry, 1 - evicted)
        return result

    @staticmethod
    def _quoted_speaker(claim: Claim, entry: dict[str, Any]) -> str | None:
        """Who speaks an unattributed quotation: the last speaker named just before it in the story.

        Wire copy quotes one person over several sentences and names them once
        ('"X is still with us," he said. "They are trying to take it."').  Without this,
        the second sentence would belong to the outlet and could "contradict" its own
        speaker.  Only claims already filed under this key are looked at.
        """
        if claim.attributed_to or not claim.sentence.lstrip().startswith(_QUOTE_MARKS):
            return None
        best: tuple[int, str] | None = None
        for rec in entry["claims"].values():
            c = rec["claim"]
            start = c["sentence_start"]
            if (c["story_id"] == claim.story_id and c["attributed_to"] and start < claim.sentence_start
                    and claim.sentence_start - c["sentence_end"] <= _QUOTE_REACH
                    and (best is None or start > best[0])):
                best = (start, c["attributed_to"])
        return best[1] if best else None

    def _facts_of(self, claim_id: str, rec: dict[str, Any]) -> Facts:
        f = self._facts.get(claim_id)
        if f is None:
            if len(self._facts) >= _FACTS_CACHE_MAX:
                # Claims of partitions this worker no longer owns are never purged here;
                # starting over costs one decode per claim and keeps memory bounded.
                self._facts.clear()
            f = self._facts[claim_id] = Facts.from_json(rec["facts"])
        return f

    @staticmethod
    def _record(entry: dict[str, Any], claim_id: str, record: dict[str, Any]) -> None:
        claims = entry["claims"]
        entry["oldest"] = min(entry.get("oldest", record["t"]), record["t"]) if claims else record["t"]
        claims[claim_id] = record

    @staticmethod
    def _match_fact(f: Facts, earlier: list[tuple[str, dict[str, Any], Facts]]) -> str | None:
        """The fact an earlier, non-hedged claim established that this claim repeats, if any.

        Same category, polarity and time window; for territory the same holder, else the
        same actor (unknown matches anything); for casualties the same measure.
        """
        for _cid, rec, e in earlier:
            if e.hedged or e.category != f.category or e.polarity != f.polarity or not same_time(e, f):
                continue
            if f.category == "territory_control":
                if e.holder and f.holder and not same_camp(e.holder, f.holder):
                    continue
                if e.retake != f.retake:
                    continue
            elif e.actor and f.actor and not (
                (e.actor_side and f.actor_side and same_camp(e.actor_side, f.actor_side))
                or set(e.actor) & set(f.actor)
            ):
                continue
            if f.category == "casualties" and e.measure and f.measure and e.measure != f.measure:
                continue
            return str(rec["fact"])
        return None

    def _save(self, key: str, entry: dict[str, Any], delta: int) -> None:
        if len(entry["claims"]) > _ENTRY_CHECK_CLAIMS:
            delta -= self._shrink(key, entry)
        if entry["claims"]:
            self.store[key] = entry
        elif key in self.store:
            del self.store[key]
        self._size = max(0, self._size + delta)
        metrics.LEDGER_SIZE.set(self._size)

    # -- bounded state ------------------------------------------------------------
    def _shrink(self, key: str, entry: dict[str, Any]) -> int:
        """Keep one entry within ``_ENTRY_MAX_BYTES``: drop its oldest claims, as the window would.

        An entry is one table value, written whole on every change; over the message size
        the producer refuses its changelog write and the processor stops.  A busy place can
        file that much within the window, so under pressure its memory is shortened instead
        (the horizon moves up: older claims are not accepted again).
        """
        removed = 0
        while len(orjson.dumps(entry)) > _ENTRY_MAX_BYTES and entry["claims"]:
            times = sorted(rec["t"] for rec in entry["claims"].values())
            # the oldest quarter, and at least everything as old as the oldest claim
            cutoff = max(times[len(times) // 4], times[0] + 1e-6)
            removed += self._purge(entry, cutoff)
        if removed:
            metrics.LEDGER_SHRUNK.inc(removed)
            log.warning("ledger entry %s is over %d bytes: dropped its %d oldest claims", key,
                        _ENTRY_MAX_BYTES, removed)
        return removed

    def evict(self, now: datetime) -> int:
        """Drop every claim published more than the window before ``now``; return how many."""
        cutoff = now.timestamp() - self.window_seconds
        removed = 0
        size = 0
        for key in list(self.store.keys()):
            entry = self._entry(key, self.store[key])
            n = self._purge(entry, cutoff)
            removed += n
            if not entry["claims"]:
                del self.store[key]
            else:
                size += len(entry["claims"])
                if n:
                    self.store[key] = entry
        self._size = size
        metrics.LEDGER_SIZE.set(size)
        return removed


_COPY_SIMILARITY = 0.6


def _copies(new: Facts, old: Facts) -> bool:
    """The same sentence in another story, give or take a dateline or a date in brackets."""
    if new.story_id == old.story_id or new.category != old.category or new.polarity != old.polarity:
        return False
    if new.qty != old.qty:
        return False  # 'killed 12' and 'killed 40' in one template are two reports
    a, b = set(new.words), set(old.words)
    return bool(a and b) and len(a & b) / len(a | b) >= _COPY_SIMILARITY


def _same_source(a: str, b: str) -> bool:
    """'speaker:observatory' is the same source as 'speaker:syrian observatory human rights'."""
    if a == b:
        return True
    ka, _, na = a.partition(":")
    kb, _, nb = b.partition(":")
    if ka != kb or ka != "speaker":
        return False
    sa, sb = set(na.split()), set(nb.split())
    return bool(sa and sb) and (sa <= sb or sb <= sa)


__all__ = ["ClaimLedger", "LedgerResult", "ledger_key", "normalise_place", "same_speaker"]

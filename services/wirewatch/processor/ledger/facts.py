"""The facts of a claim: the few things the conflict rules compare, read from it once.

`read_facts` reads them from a claim's sentence, trigger, actor, speaker, date and figure:
who says it, who acted, on which days it may have happened, which side holds the place
according to it (territory.py), what a toll counts (tolls.py), which places it is about
(keys.py), and whether its event is real and the story's own (not a plan, not another
incident, not a correction).  The extractor calls it once per claim through `story_facts`,
which also gives an unattributed quotation the speaker named just before it in the story,
and the claim carries the result (`Claim.facts`, a `ClaimFacts`).

`Facts` is the ledger's view of one claim: its `ClaimFacts` with the claim's identity
(id, story, category, polarity, outlet, time).  It is plain JSON, kept in the ledger's
store next to the claim, so that a restarted worker reads back exactly what the first
one compared.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, get_origin

from ... import lexicon
from ...models import Claim, ClaimFacts
from .actors import Side, name_words, side_of, speaker_tokens
from .keys import claim_places, ledger_key, named_in
from .territory import territory_facts
from .tolls import casualty_facts, means_of


@dataclass
class Facts:
    """What the conflict tests need from one claim; JSON-serialisable via `to_json`."""

    claim_id: str
    story_id: str
    sentence_key: str
    category: str
    polarity: str
    hedged: bool
    outlet: str
    speaker: tuple[str, ...]
    speaker_name: str
    speaker_side: Side | None
    actor: tuple[str, ...]
    actor_side: Side | None
    published: float
    day_lo: int  # proleptic ordinals (date.toordinal), cheap to compare
    day_hi: int
    explicit_day: bool
    place: str
    # territory
    holder: Side | None = None
    capture: bool = False
    loss: bool = False
    state: bool = False
    retake: bool = False
    # casualties
    qty_lo: float | None = None
    qty_hi: float | None = None  # None with qty_lo set = open-ended ('at least 40')
    qty_text: str = ""
    measure: str | None = None
    unit_group: str = "any"
    part: bool = False
    means: list[str] = field(default_factory=list)
    rise: bool = False
    cumulative: bool = False
    victims: str = "any"  # 'civilians', 'combatants' or 'any': who died, also for a toll denied
    # territory: 'still holds', 'remains in control' (a claim that nothing changed hands)
    continuing: bool = False
    # the name words of whom a place was taken from ('recaptured X from the RSF')
    taken_from: list[str] = field(default_factory=list)
    # the name words of a holder that is in no known camp ('the RSF said it still controlled X')
    holder_name: list[str] = field(default_factory=list)
    # attack: a denial whose event is a definite reference ('killed in the strikes'):
    # the strikes are presupposed, not denied
    presupposed: bool = False
    # normalised names of the places the claim is about, the one it is filed under first
    places: list[str] = field(default_factory=list)
    # the sentence names the place itself (not 'X airport', not only an earlier sentence)
    named: bool = True
    # the sentence's words, and whether it copies one already filed (set by the ledger)
    words: list[str] = field(default_factory=list)
    copy: bool = False
    # the sentence sets its event apart from the one the story is about ('an earlier strike on
    # another school', 'a day after'): it is never compared with other claims
    other_incident: bool = False
    # the sentence corrects an earlier report ('officials later said ...', 'the toll was revised')
    correction: bool = False

    def to_json(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies every value and costs more than the tests.
        d = {name: getattr(self, name) for name in _FIELDS}
        d["speaker"] = list(self.speaker)
        d["actor"] = list(self.actor)
        d["means"] = list(self.means)
        d["taken_from"] = list(self.taken_from)
        d["holder_name"] = list(self.holder_name)
        d["places"] = list(self.places)
        d["words"] = list(self.words)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Facts:
        d = dict(d)
        d["speaker"] = tuple(d["speaker"])
        d["actor"] = tuple(d["actor"])
        return cls(**d)

    @classmethod
    def of(cls, claim: Claim) -> Facts:
        """The ledger's view of a claim, from the facts it carries.  A claim without them (from
        a producer that does not read them, or built by hand) has them read here from the claim
        alone, as the extractor would without the story's other claims."""
        cf = claim.facts
        if cf is None:
            return facts_of(claim)
        read = {name: cf.__dict__[name] for name in _READ}
        for name in _READ_LISTS:
            read[name] = list(read[name])  # never a list the claim's facts share
        return cls(
            claim_id=claim.claim_id,
            story_id=claim.story_id,
            sentence_key=f"{claim.story_id}:{claim.sentence_start}",
            category=claim.category,
            polarity=claim.polarity,
            hedged=cf.hedged,
            outlet=claim.source,
            speaker=tuple(cf.speaker),
            speaker_name=cf.speaker_name,
            speaker_side=cf.speaker_side,
            actor=tuple(cf.actor),
            actor_side=cf.actor_side,
            published=claim.published.timestamp(),
            day_lo=cf.first_day.toordinal(),
            day_hi=cf.last_day.toordinal(),
            explicit_day=cf.explicit_day,
            place=claim.location or claim.location_key or "",
            **read,
        )

    def claim_facts(self) -> ClaimFacts:
        """What of these facts a claim carries (the rest is the claim's own fields)."""
        return ClaimFacts.capped(
            speaker=list(self.speaker), speaker_name=self.speaker_name, speaker_side=self.speaker_side,
            actor=list(self.actor), actor_side=self.actor_side, first_day=date.fromordinal(self.day_lo),
            last_day=date.fromordinal(self.day_hi), explicit_day=self.explicit_day, hedged=self.hedged,
            **{name: getattr(self, name) for name in _READ})

    @property
    def qty(self) -> tuple[float, float] | None:
        if self.qty_lo is None:
            return None
        return (self.qty_lo, math.inf if self.qty_hi is None else self.qty_hi)


_FIELDS = tuple(f.name for f in fields(Facts))
# The facts read from the sentence that Facts and ClaimFacts hold alike (not the speaker, actor
# and days, which they write differently).
_READ = tuple(name for name in ClaimFacts.model_fields if name in _FIELDS and name not in (
    "speaker", "speaker_name", "speaker_side", "actor", "actor_side", "explicit_day", "hedged"))
_READ_LISTS = tuple(name for name in _READ if get_origin(ClaimFacts.model_fields[name].annotation) is list)


_QUOTE_MARKS = ('"', "\u201c", "\u2018", "'")
_QUOTE_REACH = 400  # characters between a named quote and an unattributed follow-on


def story_facts(claims: list[Claim]) -> list[Claim]:
    """The claims of one story, in body order, each with the facts read from it."""
    out: list[Claim] = []
    for claim in claims:
        facts = read_facts(claim, speaker=_quoted_speaker(claim, out))
        out.append(claim.model_copy(update={"facts": facts}))
    return out


def _quoted_speaker(claim: Claim, earlier: list[Claim]) -> str | None:
    """Who speaks an unattributed quotation: the last speaker named just before it in the story.

    Wire copy quotes one person over several sentences and names them once
    ('"X is still with us," he said. "They are trying to take it."').  Without this,
    the second sentence would belong to the outlet and could "contradict" its own
    speaker.  Only the story's claims under the same ledger key count: a speaker named about
    another place is not taken to go on speaking about this one.
    """
    if claim.attributed_to or not claim.sentence.lstrip().startswith(_QUOTE_MARKS):
        return None
    key = ledger_key(claim)
    best: tuple[int, str] | None = None
    for c in earlier:
        if (c.attributed_to and c.sentence_start < claim.sentence_start
                and claim.sentence_start - c.sentence_end <= _QUOTE_REACH
                and (best is None or c.sentence_start > best[0]) and ledger_key(c) == key):
            best = (c.sentence_start, c.attributed_to)
    return best[1] if best else None


def read_facts(claim: Claim, speaker: str | None = None) -> ClaimFacts:
    """The facts of one claim; ``speaker`` stands in for a missing ``attributed_to``."""
    return facts_of(claim, speaker).claim_facts()


def _day_span(claim: Claim) -> tuple[date, date, bool]:
    """The days the event may have happened on, and whether the article said so.

    ``Claim.time`` may be a day, a month or a year; without it the event is taken to
    have happened on the publication day or the day before (news is rarely older).
    """
    t = (claim.time or "").strip()
    m = re.match(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", t)
    if m:
        y = int(m.group(1))
        try:
            if m.group(3):
                d = date(y, int(m.group(2)), int(m.group(3)))
                return d, d, True
            if m.group(2):
                mo = int(m.group(2))
                # (not 'the 1st of next month minus a day': there is no month after 9999-12)
                return date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1]), True
            return date(y, 1, 1), date(y, 12, 31), True
        except ValueError:
            pass  # a malformed date from upstream: fall back to the publication day
    pub = claim.published.date()
    if claim.polarity == "denied" or _REFERS_BACK.search(claim.sentence):
        # A denial answers reports already out ('rejected reports that civilians had been
        # killed'): the event it denies may be a few days older than the denial.
        return _days_before(pub, _DENIAL_REACH_DAYS), pub, False
    return _days_before(pub, 1), pub, False


def _days_before(pub: date, days: int) -> date:
    """``pub`` minus ``days``, but not before 0001-01-01 (a feed may date an item in year 1)."""
    return date.fromordinal(max(1, pub.toordinal() - days))


_DENIAL_REACH_DAYS = 3
# 'killed in the fighting at X': a definite reference to an event already reported, which
# may be days older than the story (like a denial, which answers earlier reports).
_REFERS_BACK = re.compile(
    rf"\b(?:in|during|after)\s+the\s+(?:\w+\s+)?{lexicon.pattern('referring_event_nouns')}\b", re.I)
_PRONOUNS = lexicon.words("pronouns")
_POSSESSIVE = re.compile(rf"\s*{lexicon.pattern('possessive_pronouns')}\b", re.I)
_FORCE_NOUNS = lexicon.words("force_nouns")


def facts_of(claim: Claim, speaker: str | None = None) -> Facts:
    """The facts of one claim read from it, as the ledger's Facts (see `read_facts`)."""
    lo, hi, explicit = _day_span(claim)
    said_by = claim.attributed_to or speaker
    # The trigger says which verb the claim is about; the event type adds 'retreat' when the
    # trigger alone ('pulled') does not; the sentence is the last resort.
    verbs = " ".join(x for x in (claim.trigger, claim.event_type) if x).replace("_", " ") or claim.sentence
    main_verb = claim.trigger or claim.event_type or claim.sentence
    actor_side = side_of(claim.actor)
    actor = name_words(claim.actor)
    possessive = bool(_POSSESSIVE.match(claim.actor or ""))
    if actor and (set(actor) <= _PRONOUNS or (possessive and set(actor) <= _FORCE_NOUNS)):
        # '<speaker> said they had taken X', '<speaker> said its fighters took X': the speaker
        actor = speaker_tokens(said_by)
    f = Facts(
        claim_id=claim.claim_id,
        story_id=claim.story_id,
        sentence_key=f"{claim.story_id}:{claim.sentence_start}",
        category=claim.category,
        polarity=claim.polarity,
        hedged=claim.modality == "hedged",
        outlet=claim.source,
        speaker=speaker_tokens(said_by),
        speaker_name=(said_by or "").split(",")[0].strip() or claim.source,
        speaker_side=side_of(said_by),
        actor=actor,
        actor_side=actor_side,
        published=claim.published.timestamp(),
        day_lo=lo.toordinal(),
        day_hi=hi.toordinal(),
        explicit_day=explicit,
        place=claim.location or claim.location_key or "",
    )
    f.places = claim_places(claim)
    f.named = named_in(claim.sentence, f.places)
    f.words = sorted({w for w in re.findall(r"[a-z0-9]+", claim.sentence.lower()) if len(w) > 2})
    f.other_incident = other_incident(claim.sentence)
    f.correction = _CORRECTION.search(claim.sentence) is not None
    if claim.category == "territory_control":
        territory_facts(f, claim, verbs, main_verb)
    if not f.state and _irrealis(claim):
        # 'no intention of capturing X', 'threatened to attack X': nothing happened yet, so
        # it is treated as a hedge (neither news nor a conflict), whatever the extractor said.
        f.hedged = True
    if claim.category == "casualties":
        casualty_facts(f, claim, verbs)
    if claim.category == "attack":
        # What kind of attack: the trigger's own word first ('shelling', 'air_strike'); the
        # sentence only when the trigger is generic ('attack', 'assault').
        f.means = means_of(verbs) or means_of(claim.sentence)
        f.presupposed = claim.polarity == "denied" and _definite(claim)
    return f


_OTHER_INCIDENT = re.compile(
    rf"\b{lexicon.pattern('incident_modifiers')}\s+(?:[\w-]+\s+){{0,2}}?"
    rf"(?:{lexicon.pattern('incident_nouns')}|{lexicon.pattern('site_nouns')})\b"
    rf"|\b(?:{lexicon.pattern('interval_counts')}|\d+)\s+{lexicon.pattern('interval_units')}\s+"
    rf"{lexicon.pattern('interval_relations')}\b",
    re.I,
)
_CORRECTION = re.compile(rf"\b{lexicon.pattern('correction_cues')}\b", re.I)


def other_incident(sentence: str) -> bool:
    """'three were killed in an earlier air strike on another school', 'in a separate attack',
    'a day after': the sentence sets its event apart from the one the story reports."""
    return _OTHER_INCIDENT.search(sentence) is not None


# Words that make the event verb after them a plan, a threat or a possibility, not a report.
_IRREALIS = re.compile(rf"\b{lexicon.pattern('irrealis_cues')}\b", re.I)
# 'may' only in lower case: 'the May truce' is a month
_IRREALIS_MODAL = re.compile(rf"\b{lexicon.pattern('irrealis_modals')}\b")
_IRREALIS_REACH = 4  # words before the trigger


def _irrealis(claim: Claim) -> bool:
    if not claim.trigger:
        return False
    i = claim.sentence.find(claim.trigger)
    if i < 0:
        return False
    before = re.findall(r"[\w'-]+", claim.sentence[:i])[-_IRREALIS_REACH:]
    text = " ".join(before)
    return bool(_IRREALIS.search(text) or _IRREALIS_MODAL.search(text))


_DEFINITE = re.compile(rf"\b{lexicon.pattern('definite_determiners')}\s+(?:\w+\s+)?$", re.I)


def _definite(claim: Claim) -> bool:
    """'rejected reports that civilians were killed in the strikes': the strikes are taken as given.

    A trigger that is a noun under a definite article refers back to an event already
    reported; what such a sentence denies is something else (the deaths, the blame).
    """
    if not claim.trigger:
        return False
    i = claim.sentence.find(claim.trigger)
    return i > 0 and bool(_DEFINITE.search(claim.sentence[:i]))

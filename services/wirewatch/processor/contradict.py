"""When two claims about one place cannot both be true: denial, control and numeric conflicts.

The ledger hands this module pairs of claims that share a ledger key (the same place).
Each claim is first reduced to the few facts a conflict test needs (`Facts`): who says
it, which side holds the place according to it, when it happened, the figure it gives.
`Facts` is plain JSON so the ledger keeps it in its store next to the claim, and a
restarted worker reads back exactly what the first one computed.

The kinds follow de Marneffe, Rafferty and Manning (2008), "Finding contradictions in
text": a denial is one source negating what another asserts; control is two sources
giving the same place two different holders; numeric is two figures for one event
whose ranges do not overlap.  Every test errs on the side of silence, because an alert
nobody believes teaches subscribers to ignore the topic.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from .. import lexicon
from ..models import Claim, ContradictionKind
from . import numbers

# A camp: "insurgent", "state", or "state:<nation>" when the text names whose state
# forces ('Russian troops' -> "state:russian"), so that two states at war are two camps.
Side = str


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# --------------------------------------------------------------------------- sides
# Two generic camps of an armed conflict, from the words wire copy uses for them.
# Named groups are not listed on purpose: which camp a named group is in is knowledge
# about one conflict, and guessing it wrong would raise false control alerts.
_STATE = re.compile(
    r"\b(?:army|armies|armed forces|military|government|regime|troops?|soldiers?|loyalists?|"
    r"pro-government|government-backed|state forces|security forces|police|national guard|"
    r"presidential guard|marines?|navy)\b",
    re.I,
)
_INSURGENT = re.compile(
    r"\b(?:rebels?|insurgents?|insurgency|militants?|opposition|terrorists?|jihadists?|guerrillas?|"
    r"separatists?|armed groups?|gunmen|mujahideen|extremists?|islamists?|anti-government|"
    r"rebel-held)\b",
    re.I,
)
_ANTI_STATE = re.compile(r"\banti-(?:government|regime)\b", re.I)


_NAMED_ARMY = re.compile(
    r"\b(?:Free|Liberation|Revolutionary|People'?s|Resistance|Salvation|Islamic|National\s+Liberation)"
    r"(?:\s+[A-Z][\w'-]*)*\s+Army\b|\b[A-Z][a-z]+\s+Army\b(?=.*\brebels?\b)"
)
# A nationality adjective ('Russian', 'Iraqi', 'Sudanese', 'Turkish', 'French'), not a
# country's possessive ("Sudan's").
_NATION = re.compile(r"\b([A-Z][a-z]+(?:ian|ean|an|ese|i|ish|ch))\b(?!['\u2019]s)")
# 'Rapid Support Forces', 'Syrian Democratic Forces': a proper name ending in Forces that is
# more than a nation's armed forces ('Ukrainian Armed Forces').
_FORCES_NAME = re.compile(r"((?:\b[A-Z][\w-]*\s+){1,4})Forces\b")
_STATE_FORCES_WORDS = frozenset({"armed", "defence", "defense", "security", "special", "air", "naval", "land",
                                 "ground", "government", "national", "the"})


def _named_forces(text: str) -> bool:
    for m in _FORCES_NAME.finditer(text):
        words = m.group(1).split()
        if any(w.lower() not in _STATE_FORCES_WORDS and not _NATION.fullmatch(w) for w in words):
            return True
    return False


def side_of(text: str | None, *, nation_alone: bool = False) -> Side | None:
    """Which camp a phrase names ('the army and its allies' -> state), or None if unclear.

    With ``nation_alone`` a bare nationality is that nation's state ('in Ukrainian
    hands', 'under Russian control').
    """
    if not text:
        return None
    if _ANTI_STATE.search(text):
        return "insurgent"
    if _NAMED_ARMY.search(text) or _named_forces(text):
        return None  # 'Free Syrian Army', 'Rapid Support Forces': a named group, camp unknown
    state = bool(_STATE.search(text))
    insurgent = bool(_INSURGENT.search(text))
    nation = _NATION.search(text)
    if not state and not insurgent and nation and (nation_alone or re.search(r"\bforces\b", text, re.I)):
        return f"state:{nation.group(1).lower()}"  # 'Ukrainian forces', 'in Russian hands'

    if state == insurgent:
        return None
    if insurgent:
        return "insurgent"
    return f"state:{nation.group(1).lower()}" if nation else "state"


def other(side: Side | None) -> Side | None:
    """The opposing camp, where there are only two: a named state's enemy is unknown."""
    if side == "state":
        return "insurgent"
    if side == "insurgent":
        return "state"
    return None


def same_camp(a: Side, b: Side) -> bool:
    """'state' is the same camp as 'state:syrian'; 'state:russian' is not 'state:ukrainian'."""
    base_a, _, nation_a = a.partition(":")
    base_b, _, nation_b = b.partition(":")
    return base_a == base_b and (not nation_a or not nation_b or nation_a == nation_b)


# --------------------------------------------------------------------------- speakers
_STOP = _words(
    "the a an of for and in on at to by from with its his her their group office head "
    "spokesman spokeswoman spokesperson official officials says said"
)
_SPEAKER_CUT = re.compile(r",|\bvia\b|\bciting\b|\bquoted\b|\bquoting\b|\bthrough\b", re.I)


def speaker_tokens(attributed_to: str | None) -> tuple[str, ...]:
    """Content words of the speaker's name, without the 'citing ...'/'via ...' tail."""
    if not attributed_to:
        return ()
    head = _SPEAKER_CUT.split(attributed_to, maxsplit=1)[0]
    words = re.findall(r"[a-z0-9]+", head.lower())
    # 'the spokesman' is all stop words, but still someone other than the outlet
    return tuple(t for t in words if t not in _STOP) or tuple(words)


def same_speaker(a: Facts, b: Facts) -> bool:
    """One speaker repeating or updating itself never contradicts itself.

    Own-voice claims belong to their outlet.  Attributed names match when one name's
    words contain the other's ('the Observatory' is the 'Syrian Observatory for Human
    Rights' mentioned earlier).
    """
    if not a.speaker or not b.speaker:
        return a.outlet == b.outlet and not a.speaker and not b.speaker
    sa, sb = set(a.speaker), set(b.speaker)
    return sa <= sb or sb <= sa


# --------------------------------------------------------------------------- territory
_LOSS = re.compile(
    r"\b(?:los[et]|losing|loses|withdr[ae]w\w*|pull(?:ed|ing|s)?\s+(?:back|out)|retreat\w*|abandon\w*|"
    r"evacuat\w*|ced(?:e|ed|es|ing)|surrender\w*|driven\s+out|expelled|ousted|pushed\s+(?:out|back)|"
    r"fled|flee\w*|gave\s+up|give\s+up|f[ae]ll(?:s|en|ing)?\s+back)\b",
    re.I,
)
# 'X fell to the army', 'the fall of X to the rebels'
_FALL_TO = re.compile(
    r"\bf[ae]ll(?:en|s)?\s+(?:of\s+[\w' -]{1,40}?\s+)?(?:in)?to\s+"
    r"(?:the\s+)?([a-z][\w-]*(?:\s+[a-z][\w-]*)?)",
    re.I,
)
_FALL = re.compile(r"\b(?:f[ae]ll|fallen|falling|falls)\b", re.I)
_RETAKE = re.compile(
    r"\b(?:re-?tak\w*|re-?took|recaptur\w*|regain\w*|recover\w*|won\s+back|win\w*\s+back|"
    r"t(?:ook|ake|aken|aking)\s+back|re-?enter\w*|re-?seiz\w*|reclaim\w*)\b",
    re.I,
)
_CAPTURE = re.compile(
    r"\b(?:t[ao]ok|tak(?:e|en|es|ing)|captur\w*|seiz\w*|advanc\w*|enter\w*|storm\w*|overr[ua]n\w*|"
    r"push\w*\s+into|br[oe]k\w*\s+into|gain\w*|restor\w*|liberat\w*|swept|sweep\w*|occup\w*|"
    r"moved\s+into|rolled\s+into|march\w*\s+into)\b",
    re.I,
)
# A statement of who holds a place now ('it's still with the rebels', 'remains in
# rebel hands') outranks any capture verb elsewhere in the sentence ('the regime is
# trying to take it, but ...').
_HOLD = (
    re.compile(
        r"\b(?:still|remains?|remained|stays?|stayed)\s+(?:firmly\s+)?(?:with|in\s+the\s+hands\s+of|held\s+by|"
        r"controlled\s+by|under\s+the\s+control\s+of)\s+(?:the\s+)?([a-z][\w-]*(?:\s+[a-z][\w-]*)?)",
        re.I,
    ),
    re.compile(
        r"\b(?:still|remains?|remained|is|are|was|were|stays?|stayed)\s+"
        r"(?:(?:still|now|firmly|largely|fully|completely|entirely|back)\s+)*(?:in|under)\s+"
        r"(?:the\s+)?(?:firm\s+)?([a-z][\w-]*(?:\s+[a-z][\w-]*)?)\s+(?:hands|control)\b",
        re.I,
    ),
    re.compile(r"\bin\s+(?:the\s+)?([a-z][\w-]*)\s+hands\b", re.I),
)


def _actor_before(sentence: str, verb: re.Pattern[str]) -> Side | None:
    """The camp named just before the first event verb ('... said the army had advanced into X').

    Used only when the extractor gave no actor: the few words before the verb are
    usually its subject, and a camp word there is a fair guess at who acted.
    """
    m = verb.search(sentence)
    if not m:
        return None
    before = re.findall(r"[\w'-]+", sentence[: m.start()])[-5:]
    if before and before[-1].lower() in _PASSIVE_AUX:
        # 'rebel positions were captured (by the army)': the words before are what was
        # taken; the actor, if named, follows 'by'.
        by = re.match(r"\s*(?:\w+\s+){0,4}?by\s+((?:[\w'-]+\s*){1,4})", sentence[m.end():])
        return side_of(by.group(1)) if by else None
    # the nearest camp word wins: 'the army said rebels had withdrawn' -> rebels
    for k in range(1, len(before) + 1):
        side = side_of(" ".join(before[-k:]))
        if side:
            return side
    if any(w.lower() in _PRONOUNS for w in before):
        # 'M23 rebels said on Sunday they had captured X': the pronoun's antecedent is the
        # camp named earlier in the sentence.
        return _antecedent(sentence[: m.start()])
    return None


_PRONOUNS = frozenset({"they", "it", "he", "she", "we", "its", "their", "our"})


def _antecedent(text: str) -> Side | None:
    words = re.findall(r"[\w'-]+", text)[-_ANTECEDENT_REACH:]
    for k in range(1, len(words) + 1):
        side = side_of(" ".join(words[-k:]))
        if side:
            return side
    return None


_ANTECEDENT_REACH = 14


_PASSIVE_AUX = frozenset({"was", "were", "been", "be", "is", "are", "being"})
_DENIED_REACH = 30  # characters after a denied trigger that still belong to what is denied
_PLACE_NOUNS = _words("city town village area district camp base region province capital")


def _holder_phrase(sentence: str) -> Side | None:
    for pat in _HOLD:
        for m in pat.finditer(sentence):
            side = side_of(m.group(1), nation_alone=True)
            if side:
                return side
    return None


# '<who> remains in full control of X', '<who> still holds X': the holder is the subject.
_SUBJECT_HOLD = re.compile(
    r"\b(?:(?:remains?|remained|stays?|stayed|is|are|was|were)\s+(?:still\s+)?(?:in\s+)?"
    r"(?:full|firm|complete|total|effective|overall)?\s*control\s+of|"
    r"still\s+(?:holds?|held|holding|controls?|controlled|controlling|in\s+control\s+of))\b",
    re.I,
)
_CONTINUING = re.compile(r"\b(?:still|remains?|remained|stays?|stayed|continues?\s+to\s+(?:hold|control))\b",
                         re.I)
_FIRST_PERSON = re.compile(r"\b(?:we|our|us)\b", re.I)


def _subject_holder(
    claim: Claim, sentence: str, speaker: tuple[str, ...], speaker_side: Side | None
) -> tuple[Side | None, list[str], bool] | None:
    """(holder, holder's name words, continuing) for 'The army remains in full control of X'.

    None if the sentence is not so worded.  'Our fighters still hold X' is the speaker's side.
    """
    m = _SUBJECT_HOLD.search(sentence)
    if m is None:
        return None
    subject = " ".join(re.findall(r"[\w'-]+", sentence[: m.start()])[-6:])
    if _FIRST_PERSON.search(subject):
        side, names = speaker_side, list(speaker)
    else:
        side = _antecedent(subject) or side_of(claim.actor)
        names = [w for w in re.findall(r"[a-z0-9]+", subject.lower()) if w not in _STOP and w not in _PRONOUNS]
    return side, names, bool(_CONTINUING.search(m.group()))


# 'recaptured X from the RSF', 'took X from rebels': whom the place was taken from.
_FROM = re.compile(r"\bfrom\s+(?:the\s+)?((?:[\w'-]+\s*){1,3})", re.I)


# --------------------------------------------------------------------------- casualties
_KILLED = re.compile(r"\b(?:kill\w*|dead|died|dies|death\w*|toll|lives|slain|massacre\w*|bodies)\b", re.I)
_WOUNDED = re.compile(r"\b(?:wound\w*|injur\w*|hurt|maimed)\b", re.I)
_SUBGROUP_AFTER = re.compile(r"^\s*(?:of\s+(?:the|them|those|whom)|were\s+(?:children|women))\b", re.I)
_SUBGROUPS = _words(
    "children child kids babies infants women girls boys students doctors nurses medics "
    "journalists teachers workers"
)
_COMBATANTS = _words(
    "fighters soldiers troops militants rebels insurgents terrorists combatants gunmen "
    "policemen officers members militiamen jihadists"
)
_CIVILIANS = _words("civilians people persons residents dead bodies victims")
_MEANS = {
    "air": re.compile(r"\b(?:air\s*strikes?|airstrikes?|air\s+raids?|warplanes?|jets?|aircraft|helicopters?|"
                      r"barrel\s+bombs?|drones?|bomb(?:er|ers)\b|from\s+the\s+air)", re.I),
    "artillery": re.compile(r"\b(?:shell\w*|artillery|mortars?|rockets?|missiles?|cannon)\b", re.I),
    "ground": re.compile(r"\b(?:clash\w*|gunfire|snipers?|ambush\w*|firefights?|gun\s*battles?|shot)\b",
                         re.I),
    "bombing": re.compile(
        r"\b(?:car\s+bombs?|suicide|explosions?|blasts?|ieds?|roadside\s+bombs?|explosives?)\b", re.I
    ),
}
# A toll over a period ('since September', 'so far this year') is not the toll of one event.
_CUMULATIVE = re.compile(
    r"\b(?:since|so\s+far|to\s+date|in\s+recent\s+(?:days|weeks|months)|over\s+the\s+(?:past|last)|"
    r"in\s+the\s+(?:past|last)\s+(?:\w+\s+)?(?:days|weeks|months|years?)|this\s+(?:week|month|year)|"
    r"last\s+(?:week|month|year)|total|overall|altogether|cumulative|throughout|prior\s+to|before\s+that|"
    r"during\s+the\s+(?:past|last|war|conflict|offensive|siege|campaign))\b",
    re.I,
)
# Moving towards or around a place is not holding it ('advanced on X', 'besieged X').
_APPROACH = re.compile(r"\b(?:toward|towards|on|near|around|outskirts|edge|closer|close\s+in)\b", re.I)
_INSIDE = re.compile(r"\b(?:into|inside|entered|enter|entering|through)\b", re.I)
_SIEGE = re.compile(r"\b(?:besieg\w*|encircl\w*|surround\w*|blockad\w*|siege|cut\s+off)\b", re.I)
# Words that mark a figure as the newer value of a count that grows ('the toll rose to 40').
_RISE = re.compile(
    r"\b(?:rose|risen|rising|rises|climbed|climbing|increased|mounted|jumped|grew|grown|reached|"
    r"now\s+stands|later\s+update|updated|revised)\b",
    re.I,
)


def _unit_after(sentence: str, qtext: str) -> tuple[str | None, bool]:
    """The noun a figure counts ('21 people' -> people) and whether it is a part of a total."""
    if not qtext:
        return None, False
    i = sentence.lower().find(qtext.lower())
    if i < 0:
        return None, False
    rest = sentence[i + len(qtext):]
    if _SUBGROUP_AFTER.match(rest):
        return None, True
    # 'killed 45 civilians', '21 Syrian soldiers': the counted noun is one of the next two words.
    for w in re.findall(r"[a-z]+", rest.lower())[:2]:
        if w in _SUBGROUPS or w in _COMBATANTS or w in _CIVILIANS:
            return w, w in _SUBGROUPS
    return None, False


def _unit_group(unit: str | None) -> str:
    if unit is None:
        return "any"
    u = unit.lower().strip()
    if u in _SUBGROUPS:
        return "part"
    if u in _COMBATANTS:
        return "combatants:" + u
    return "any"


# --------------------------------------------------------------------------- facts
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
    # normalised names of the places the claim is about (set by the ledger)
    places: list[str] = field(default_factory=list)
    # the sentence names the place itself (not 'X airport', not only an earlier sentence)
    named: bool = True
    # the sentence's words (set by the ledger), and whether it copies one already filed
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

    @property
    def qty(self) -> tuple[float, float] | None:
        if self.qty_lo is None:
            return None
        return (self.qty_lo, math.inf if self.qty_hi is None else self.qty_hi)


_FIELDS = tuple(f.name for f in fields(Facts))


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
    r"\b(?:in|during|after)\s+the\s+(?:\w+\s+)?(?:fighting|attacks?|strikes?|clashes|assault|battle|"
    r"shelling|bombing|raids?|ambush|offensive)\b",
    re.I,
)


_ADVANCE = re.compile(r"\b(?:advanc\w*|push\w*|pushing|march\w*|mov\w*|sweep\w*|swept|clos\w*|reach\w*|"
                      r"head\w*|progress\w*)\b", re.I)


def _approach_only(claim: Claim) -> bool:
    """'advanced on X', 'reached the outskirts of X': a move towards a place, not into it."""
    if not (claim.event_type == "advance" or _ADVANCE.search(claim.trigger or "")):
        return False
    trigger = re.compile(re.escape(claim.trigger)) if claim.trigger else _ADVANCE
    m = trigger.search(claim.sentence)
    if m is None:
        return False
    after = " ".join(re.findall(r"[\w'-]+", claim.sentence[m.end():])[:4])
    return not _INSIDE.search(after) and bool(_APPROACH.search(after))


def _territory(f: Facts, claim: Claim, verbs: str, main_verb: str) -> None:
    sentence = claim.sentence
    if claim.polarity == "denied" and claim.trigger and claim.trigger in sentence:
        # 'denied that X had fallen, saying its soldiers were still holding it': what is denied
        # is the event; a holding phrase after it is the denier's own counter-claim.
        sentence = sentence[: sentence.find(claim.trigger) + len(claim.trigger) + _DENIED_REACH]
    held = _holder_phrase(sentence)
    if held is not None:
        f.state, f.holder = True, held
        f.continuing = bool(_CONTINUING.search(sentence))
        return
    subject_hold = _subject_holder(claim, sentence, f.speaker, f.speaker_side)
    if subject_hold is not None:
        f.state = True
        f.holder, f.holder_name, f.continuing = subject_hold
        if claim.polarity == "denied" and f.holder is None:
            f.holder = other(f.speaker_side)
        return
    if _SIEGE.search(verbs) or _approach_only(claim):
        return  # 'besieged X', 'advanced towards X' say nothing about who holds X itself
    f.retake = bool(_RETAKE.search(verbs))
    f.loss = bool(_LOSS.search(verbs)) and not f.retake
    f.capture = bool(_CAPTURE.search(main_verb)) and not f.loss
    if (f.capture or f.retake) and claim.trigger:
        i = claim.sentence.find(claim.trigger)
        taken = _FROM.search(claim.sentence[i:]) if i >= 0 else None
        if taken:
            f.taken_from = [w for w in re.findall(r"[a-z0-9]+", taken.group(1).lower()) if w not in _STOP]
    fell_to = _FALL_TO.search(claim.sentence)
    if fell_to and side_of(fell_to.group(1)) and not f.loss:
        f.capture, f.actor_side = True, side_of(fell_to.group(1))  # 'X fell to the army'
    actor_side = f.actor_side
    # 'X had fallen': a parser may give the place itself as the actor; it is no one.
    actor_words = set(re.findall(r"\w+", (claim.actor or "").lower()))
    place_words = set(re.findall(r"\w+", (claim.location or "").lower()))
    # 'X had fallen', 'the city had fallen', 'they had captured X': no one the text names
    no_actor = bool(actor_words) and (actor_words <= place_words or actor_words <= _PLACE_NOUNS
                                      or actor_words <= _PRONOUNS)
    fall = bool(_FALL.search(verbs)) and not fell_to
    if actor_side is None and (claim.actor is None or no_actor) and not (fall and not (f.loss or f.retake)):
        # The camp named before 'had fallen' is the speaker or the loser, never the taker.
        verb = _LOSS if f.loss else _RETAKE if f.retake else _CAPTURE
        actor_side = f.actor_side = _actor_before(claim.sentence, verb)
    # 'rebels pulled back from X': the other camp holds X; 'the army took X' and
    # 'X fell to the army': the actor does.
    f.holder = other(actor_side) if f.loss else actor_side
    if claim.polarity == "denied" and f.holder is None:
        # 'X has not fallen', said by one camp: what is denied is the other camp holding X.
        f.holder = other(f.speaker_side)


def facts_of(claim: Claim, place: str, speaker: str | None = None) -> Facts:
    """The facts of one claim; ``speaker`` stands in for a missing ``attributed_to``."""
    lo, hi, explicit = _day_span(claim)
    said_by = claim.attributed_to or speaker
    # The trigger says which verb the claim is about; the event type adds 'retreat' when the
    # trigger alone ('pulled') does not; the sentence is the last resort.
    verbs = " ".join(x for x in (claim.trigger, claim.event_type) if x).replace("_", " ") or claim.sentence
    main_verb = claim.trigger or claim.event_type or claim.sentence
    actor_side = side_of(claim.actor)
    actor = tuple(t for t in re.findall(r"[a-z0-9]+", (claim.actor or "").lower()) if t not in _STOP)
    possessive = bool(re.match(r"\s*(?:its|their|our|his|her)\b", claim.actor or "", re.I))
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
        place=claim.location or place,
    )
    f.other_incident = other_incident(claim.sentence)
    f.correction = _CORRECTION.search(claim.sentence) is not None
    if claim.category == "territory_control":
        _territory(f, claim, verbs, main_verb)
    if not f.state and _irrealis(claim):
        # 'no intention of capturing X', 'threatened to attack X': nothing happened yet, so
        # it is treated as a hedge (neither news nor a conflict), whatever the extractor said.
        f.hedged = True
    if claim.category == "casualties":
        iv = numbers.interval(claim.quantity)
        if iv is not None and claim.quantity is not None:
            f.qty_lo = iv[0]
            f.qty_hi = None if math.isinf(iv[1]) else iv[1]
            f.qty_text = numbers.describe(claim.quantity)
            unit, part = _unit_after(claim.sentence, claim.quantity.text)
            f.part = part
            f.unit_group = _unit_group(claim.quantity.unit or unit)
            f.rise = bool(_RISE.search(claim.sentence))
            f.cumulative = bool(_CUMULATIVE.search(claim.sentence))
        killed = bool(_KILLED.search(verbs)) or bool(_KILLED.search(claim.sentence))
        wounded = bool(_WOUNDED.search(verbs)) or bool(_WOUNDED.search(claim.sentence))
        if claim.trigger or claim.event_type:
            killed, wounded = bool(_KILLED.search(verbs)), bool(_WOUNDED.search(verbs))
        f.measure = "killed" if killed and not wounded else "wounded" if wounded and not killed else None
        f.means = sorted(k for k, pat in _MEANS.items() if pat.search(claim.sentence))
        f.victims = _victims(claim, f.unit_group)
    if claim.category == "attack":
        # What kind of attack: the trigger's own word first ('shelling', 'air_strike'); the
        # sentence only when the trigger is generic ('attack', 'assault').
        f.means = sorted(k for k, pat in _MEANS.items() if pat.search(verbs)) or sorted(
            k for k, pat in _MEANS.items() if pat.search(claim.sentence)
        )
        f.presupposed = claim.polarity == "denied" and _definite(claim)
    return f


def _alternation(name: str) -> str:
    return "|".join(re.escape(w) for w in sorted(lexicon.words(name), key=len, reverse=True))


_OTHER_INCIDENT = re.compile(
    rf"\b(?:{_alternation('incident_modifiers')})\s+(?:[\w-]+\s+){{0,2}}?"
    rf"(?:{_alternation('incident_nouns')}|{_alternation('site_nouns')})\b"
    rf"|\b(?:a|an|one|two|three|four|five|six|several|few|\d+)\s+(?:{_alternation('interval_units')})\s+"
    rf"(?:{_alternation('interval_relations')})\b",
    re.I,
)


_CORRECTION = re.compile(r"\b(?:" + _alternation("correction_cues").replace(r"\ ", r"\s+") + r")\b", re.I)


def other_incident(sentence: str) -> bool:
    """'three were killed in an earlier air strike on another school', 'in a separate attack',
    'a day after': the sentence sets its event apart from the one the story reports."""
    return _OTHER_INCIDENT.search(sentence) is not None


# Words that make the event verb after them a plan, a threat or a possibility, not a report.
_IRREALIS = re.compile(
    r"\b(?:intention|intentions|intend\w*|plan|plans|planned|planning|aim|aims|aiming|threat\w*|"
    r"vow\w*|pledg\w*|promis\w*|would|could|if|unless|ready|prepar\w*|attempt\w*|"
    r"bid|seek\w*|sought|want\w*|hop\w*)\b",
    re.I,
)
_IRREALIS_REACH = 4  # words before the trigger


def _irrealis(claim: Claim) -> bool:
    if not claim.trigger:
        return False
    i = claim.sentence.find(claim.trigger)
    if i < 0:
        return False
    before = re.findall(r"[\w'-]+", claim.sentence[:i])[-_IRREALIS_REACH:]
    text = " ".join(before)
    # 'may' only in lower case: 'the May truce' is a month
    return bool(_IRREALIS.search(text) or re.search(r"\b(?:may|might)\b", text))


_DEFINITE = re.compile(r"\b(?:the|these|those)\s+(?:\w+\s+)?$", re.I)


def _definite(claim: Claim) -> bool:
    """'rejected reports that civilians were killed in the strikes': the strikes are taken as given.

    A trigger that is a noun under a definite article refers back to an event already
    reported; what such a sentence denies is something else (the deaths, the blame).
    """
    if not claim.trigger:
        return False
    i = claim.sentence.find(claim.trigger)
    return i > 0 and bool(_DEFINITE.search(claim.sentence[:i]))


_VICTIM_WORDS = {"civilians": _words("civilians civilian residents children women villagers displaced "
                                     "patients worshippers shoppers passengers families"),
                 "combatants": _COMBATANTS | _words("soldier fighter militant rebel insurgent terrorist "
                                                    "combatant officer policeman")}


def _victims(claim: Claim, unit_group: str) -> str:
    """Whose deaths a casualty claim counts or denies: civilians, combatants, or anyone.

    The figure's noun when there is one; else the words around the verb ('civilians had
    been killed', 'killed soldiers').
    """
    if unit_group.startswith("combatants:"):
        return "combatants"
    unit = (claim.quantity.unit or "").lower() if claim.quantity else ""
    words = re.findall(r"[a-z]+", unit)
    if not words:
        i = claim.sentence.find(claim.trigger) if claim.trigger else -1
        if i < 0:
            return "any"
        around = claim.sentence[max(0, i - 60): i + len(claim.trigger or "") + 40].lower()
        words = re.findall(r"[a-z]+", around)
    found = {group for group, vocab in _VICTIM_WORDS.items() if set(words) & vocab}
    return found.pop() if len(found) == 1 else "any"


# --------------------------------------------------------------------------- tests
def same_time(a: Facts, b: Facts) -> bool:
    """Both events may have happened on the same day.

    A date the article gave is a day (or month, or year); without one the span is the
    publication day and the day before, which already absorbs time zones.
    """
    return a.day_lo <= b.day_hi and b.day_lo <= a.day_hi


def _same_actor(a: Facts, b: Facts) -> bool:
    """Unknown actors match anything; known ones match by camp or by shared name words."""
    if not a.actor or not b.actor:
        return True
    if a.actor_side and b.actor_side:
        return same_camp(a.actor_side, b.actor_side)
    return bool(set(a.actor) & set(b.actor))


@dataclass
class Verdict:
    kind: ContradictionKind
    denier: Facts | None = None  # for denial: the denying side
    asserter: Facts | None = None


def conflict(new: Facts, old: Facts) -> Verdict | None:
    """The kind of contradiction between two claims about one place, or None."""
    # cheapest tests first: most pairs in a place agree or are days apart
    if new.hedged or old.hedged or not same_time(new, old):
        return None
    if new.other_incident or old.other_incident:
        return None  # two incidents at one place are not one event
    if new.correction or old.correction:
        return None  # a correction or revision of an earlier report, not a dispute
    if new.polarity == old.polarity and not (
        new.category == old.category and new.category in ("territory_control", "casualties")
    ):
        return None
    if new.sentence_key == old.sentence_key or same_speaker(new, old):
        return None
    if new.polarity != old.polarity:
        d, a = (new, old) if new.polarity == "denied" else (old, new)
        if _denial(d, a):
            return Verdict("denial", denier=d, asserter=a)
        return None
    if new.polarity == "denied":
        return None  # two denials agree
    if new.category == old.category == "territory_control" and _control(new, old):
        return Verdict("control")
    if new.category == old.category == "casualties" and _numeric(new, old):
        return Verdict("numeric")
    return None


def _denial(d: Facts, a: Facts) -> bool:
    if d.category == a.category:
        if d.category == "territory_control":
            if a.retake or d.retake:
                return False
            # Denying that camp X took a place conflicts with a report that X holds it,
            # not with a report that the other camp does (that agrees with the denial).
            if d.holder is not None and a.holder is not None:
                return same_camp(d.holder, a.holder)
            # 'The army denies X fell' agrees with 'the army holds X' whoever says the latter.
            return not (a.holder and d.speaker_side and same_camp(a.holder, d.speaker_side))
        if d.category == "attack":
            if d.presupposed:
                return False  # 'killed in the strikes': the strikes themselves are not denied
            # Denying air strikes is not denying shelling; denying one camp's strikes is not
            # denying the other's.
            if d.means and a.means and not set(d.means) & set(a.means):
                return False
            return _same_actor(d, a)
        if d.category == "casualties":
            # Denying that civilians died is not denying that soldiers did; killed vs wounded.
            if d.victims != "any" and a.victims != "any" and d.victims != a.victims:
                return False
            return not (d.measure and a.measure and d.measure != a.measure)
        return True
    if d.category == "attack" and a.category == "casualties":
        # 'X denied shelling the camp' vs 'X's shelling killed seven there': the same attack,
        # named by its means and its actor on both sides.
        return (not d.presupposed and bool(d.means) and bool(set(d.means) & set(a.means))
                and bool(d.actor) and bool(a.actor) and _same_actor(d, a))
    # 'There was no fighting in X' cannot be true if someone advanced into or took X;
    # 'our aircraft did not strike X' can.
    return (
        d.category == "attack"
        and a.category == "territory_control"
        and a.capture
        and not (a.loss or a.state or a.retake)
        and (not d.means or "ground" in d.means)
        and _same_actor(d, a)
    )


_FORCE_NOUNS = _words("forces force fighters fighter troops units unit men soldiers militia militiamen group "
                      "groups armed army military")


def _control(a: Facts, b: Facts) -> bool:
    if not (a.named and b.named):
        # Who holds a place is said of a place by name; a place carried over from another
        # sentence, or a part of it ('held out at X airport'), is too weak for an alert.
        return False
    if a.retake or b.retake:
        # A place retaken is a change of hands, reported in order; but 'still holds it' on
        # the same day says no change of hands happened.
        held = b if a.retake else a
        if not (held.state and held.continuing) or held.retake:
            return False
    if a.speaker_side and b.speaker_side and same_camp(a.speaker_side, b.speaker_side):
        return False  # one side's statements through the day ('we hold X', later 'we withdrew')
    if a.holder is not None and b.holder is not None:
        return not same_camp(a.holder, b.holder)
    # A holder in no known camp (a named group): 'X still holds P' says nobody took P, so it
    # conflicts with a capture of P by anyone else the same day.
    for taker, held in ((a, b), (b, a)):
        if not ((taker.capture or taker.retake) and held.state and held.continuing):
            continue
        held_names = set(held.holder_name) | (set(held.actor) if held.holder is None else set())
        if taker.taken_from and set(taker.taken_from) & (held_names | set(held.speaker)):
            return True  # 'recaptured P from the RSF' vs 'the RSF still controls P'
        # 'forces', 'fighters' name no one: 'the armed forces' and 'RSF forces' differ
        taker_names = set(taker.actor) - _FORCE_NOUNS
        held_names -= _FORCE_NOUNS
        if (taker.holder or taker_names) and (held.holder or held_names) and not taker_names & held_names:
            return True
    return False


def _numeric(a: Facts, b: Facts) -> bool:
    qa, qb = a.qty, b.qty
    if qa is None or qb is None:
        return False
    if a.cumulative or b.cumulative:
        return False  # a toll over weeks against the toll of one strike
    if a.measure is None or a.measure != b.measure or a.part or b.part:
        return False  # killed vs wounded, or a part of the dead ('eight of them children')
    if a.unit_group != b.unit_group or a.unit_group == "part":
        return False  # civilians vs fighters are separate counts
    if a.victims != "any" and b.victims != "any" and a.victims != b.victims:
        return False
    if a.means and b.means and not set(a.means) & set(b.means):
        return False  # an air strike and a car bomb in one place are two events
    if a.actor_side and b.actor_side and not same_camp(a.actor_side, b.actor_side):
        return False
    if numbers.compatible(qa, qb):
        return False
    later, earlier = (a, b) if a.published >= b.published else (b, a)
    lq, eq = later.qty, earlier.qty
    assert lq is not None and eq is not None
    # A higher figure reported later as a rise is the toll going up, not a dispute.
    return not (lq[0] > eq[1] and later.rise)


# --------------------------------------------------------------------------- words
def _day(f: Facts) -> str:
    d = date.fromordinal(f.day_hi)
    if f.explicit_day and f.day_lo != f.day_hi:
        return d.strftime("%b %Y")
    return f"{d.day} {d.strftime('%b')}"


def _camp(side: Side | None) -> str:
    if side is None:
        return "someone"
    if side == "insurgent":
        return "rebels"
    nation = side.partition(":")[2]
    return f"{nation.capitalize()} forces" if nation else "government forces"


def gist(f: Facts, claim: Claim) -> str:
    """A few words for what a claim says happened."""
    place = claim.location or f.place
    actor = claim.actor
    if f.category == "territory_control":
        if f.state:
            return f"{place} is held by {_camp(f.holder)}"
        who = actor or (_camp(f.holder) if f.holder else None)
        if f.loss and actor:
            return f"{actor} lost {place}"
        if f.retake:
            return f"{who or 'someone'} retook {place}"
        advance = claim.event_type == "advance" or _ADVANCE.search(claim.trigger or "")
        verb = "advanced into" if advance else "took"
        return f"{who} {verb} {place}" if who else f"{place} changed hands"
    if f.category == "attack":
        return f"{actor} attacked {place}" if actor else f"fighting or strikes in {place}"
    if f.category == "casualties":
        what = f.qty_text or "people"
        verb = "wounded" if f.measure == "wounded" else "killed"
        return f"{what} {verb} in {place}"
    if f.category == "displacement":
        return f"people displaced ({place})"
    return f"a ceasefire in {place}"


def explain(v: Verdict, new: Facts, new_claim: Claim, old: Facts, old_claim: Claim) -> str:
    """One line a person can read."""
    claims = {new.claim_id: new_claim, old.claim_id: old_claim}
    if v.kind == "denial":
        assert v.denier is not None and v.asserter is not None
        d, a = v.denier, v.asserter
        return (
            f"{d.speaker_name} {_agree(d.speaker_name, 'denies', 'deny')} what {a.speaker_name} "
            f"{_agree(a.speaker_name, 'reports', 'report')}: {gist(a, claims[a.claim_id])} ({_day(a)})"
        )
    if v.kind == "control":
        return (
            f"Who holds {new.place} ({_day(new)})? {old.speaker_name}: {_camp(old.holder)}; "
            f"{new.speaker_name}: {_camp(new.holder)}"
        )
    verb = "wounded" if new.measure == "wounded" else "killed"
    return (
        f"Tolls disagree for {new.place} ({_day(new)}): {old.speaker_name} {_agree(old.speaker_name, 'says', 'say')} "
        f"{old.qty_text} {verb}, {new.speaker_name} {_agree(new.speaker_name, 'says', 'say')} {new.qty_text}"
    )


def _agree(name: str, singular: str, plural: str) -> str:
    """The verb form that agrees with the speaker: 'regional officials say', 'the monitor says'."""
    return plural if _plural(name) else singular


def _plural(name: str) -> bool:
    """Subject-verb agreement follows the head noun, the name's last word (before a comma).

    A head ending in -s is a plural ('Rebels deny', 'regional officials say'), but not
    -ss/-us/'news' ('the Associated Press', 'the census bureau says'); in a name of three
    words or more only a lower-case head is, a capitalised one being a proper name
    ('Doctors Without Borders says', 'the United States says')."""
    words = name.split(",")[0].strip().split()
    if not words:
        return False
    head = words[-1]
    if not head.lower().endswith("s") or head.lower().endswith(("ss", "us", "news")):
        return False
    return len(words) <= 2 or head.islower()

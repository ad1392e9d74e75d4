"""Who holds a place according to a territory claim: a capture, a loss, a retake, or a holding.

The holder is the actor for a capture ('the army took X', 'X fell to the army'), the other
camp for a loss ('rebels pulled back from X'), and a phrase of possession wins over any verb
('it's still with the rebels', 'remains in rebel hands').  Moving towards or around a place
('advanced on X', 'besieged X') says nothing about who holds it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ... import lexicon
from ...models import Claim
from .actors import Side, name_words, other, side_of

if TYPE_CHECKING:
    from .facts import Facts


_LOSS = re.compile(rf"\b{lexicon.pattern('loss_verbs')}\b", re.I)
# 'X fell to the army', 'the fall of X to the rebels' (not 'is falling to': not yet fallen)
_FALL_TO = re.compile(
    rf"\b(?:{'|'.join(sorted(lexicon.words('fall_verbs') - {'falling'}, key=len, reverse=True))})\s+"
    r"(?:of\s+[\w' -]{1,40}?\s+)?(?:in)?to\s+(?:the\s+)?([a-z][\w-]*(?:\s+[a-z][\w-]*)?)",
    re.I,
)
_FALL = re.compile(rf"\b{lexicon.pattern('fall_verbs')}\b", re.I)
_RETAKE = re.compile(rf"\b{lexicon.pattern('retake_verbs')}\b", re.I)
_CAPTURE = re.compile(rf"\b{lexicon.pattern('capture_verbs')}\b", re.I)
# A statement of who holds a place now ('it's still with the rebels', 'remains in
# rebel hands') outranks any capture verb elsewhere in the sentence ('the regime is
# trying to take it, but ...').
_HOLD = (
    re.compile(
        rf"\b(?:still|{lexicon.pattern('continuity_verbs')})\s+(?:firmly\s+)?{lexicon.pattern('holding_relations')}\s+"
        r"(?:the\s+)?([a-z][\w-]*(?:\s+[a-z][\w-]*)?)",
        re.I,
    ),
    re.compile(
        rf"\b(?:still|{lexicon.pattern('continuity_verbs')}|{lexicon.pattern('copulas')})\s+"
        rf"(?:{lexicon.pattern('control_degree_adverbs')}\s+)*(?:in|under)\s+"
        r"(?:the\s+)?(?:firm\s+)?([a-z][\w-]*(?:\s+[a-z][\w-]*)?)\s+(?:hands|control)\b",
        re.I,
    ),
    re.compile(r"\bin\s+(?:the\s+)?([a-z][\w-]*)\s+hands\b", re.I),
)
_PASSIVE_AUX = lexicon.words("passive_auxiliaries")
_PRONOUNS = lexicon.words("pronouns")
# 'the city had fallen': the actor is the place itself, no one the text names
_PLACE_NOUNS = lexicon.words("place_anaphor_nouns")


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


def _antecedent(text: str) -> Side | None:
    words = re.findall(r"[\w'-]+", text)[-_ANTECEDENT_REACH:]
    for k in range(1, len(words) + 1):
        side = side_of(" ".join(words[-k:]))
        if side:
            return side
    return None


_ANTECEDENT_REACH = 14


_DENIED_REACH = 30  # characters after a denied trigger that still belong to what is denied


def _holder_phrase(sentence: str) -> Side | None:
    for pat in _HOLD:
        for m in pat.finditer(sentence):
            side = side_of(m.group(1), nation_alone=True)
            if side:
                return side
    return None


# '<who> remains in full control of X', '<who> still holds X': the holder is the subject.
_SUBJECT_HOLD = re.compile(
    rf"\b(?:(?:{lexicon.pattern('continuity_verbs')}|{lexicon.pattern('copulas')})\s+(?:still\s+)?(?:in\s+)?"
    rf"{lexicon.pattern('control_degree_adjectives')}?\s*control\s+of|still\s+{lexicon.pattern('holding_verbs')})\b",
    re.I,
)
_CONTINUING = re.compile(
    rf"\b(?:still|{lexicon.pattern('continuity_verbs')}|{lexicon.pattern('continuation_phrases')})\b", re.I)
_FIRST_PERSON = re.compile(rf"\b{lexicon.pattern('first_person_pronouns')}\b", re.I)


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
        names = [w for w in name_words(subject) if w not in _PRONOUNS]
    return side, names, bool(_CONTINUING.search(m.group()))


# 'recaptured X from the RSF', 'took X from rebels': whom the place was taken from.
_FROM = re.compile(r"\bfrom\s+(?:the\s+)?((?:[\w'-]+\s*){1,3})", re.I)


# Moving towards or around a place is not holding it ('advanced on X', 'besieged X').
_APPROACH = re.compile(rf"\b{lexicon.pattern('approach_words')}\b", re.I)
_INSIDE = re.compile(rf"\b{lexicon.pattern('inside_words')}\b", re.I)
_SIEGE = re.compile(rf"\b{lexicon.pattern('siege_words')}\b", re.I)
_ADVANCE = re.compile(rf"\b{lexicon.pattern('advance_verbs')}\b", re.I)


def advance(claim: Claim) -> bool:
    """The claim's event is a move forward ('advanced', 'pushing'), not (yet) a capture."""
    return claim.event_type == "advance" or bool(_ADVANCE.search(claim.trigger or ""))


def _approach_only(claim: Claim) -> bool:
    """'advanced on X', 'reached the outskirts of X': a move towards a place, not into it."""
    if not advance(claim):
        return False
    trigger = re.compile(re.escape(claim.trigger)) if claim.trigger else _ADVANCE
    m = trigger.search(claim.sentence)
    if m is None:
        return False
    after = " ".join(re.findall(r"[\w'-]+", claim.sentence[m.end():])[:4])
    return not _INSIDE.search(after) and bool(_APPROACH.search(after))


def territory_facts(f: Facts, claim: Claim, verbs: str, main_verb: str) -> None:
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
            f.taken_from = list(name_words(taken.group(1)))
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

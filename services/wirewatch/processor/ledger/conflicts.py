"""When two claims about one place cannot both be true, and how to say so in one line.

The kinds follow de Marneffe, Rafferty and Manning (2008), "Finding contradictions in
text": a denial is one source negating what another asserts; control is two sources
giving the same place two different holders; numeric is two figures for one event
whose ranges do not overlap.  Every rule errs on the side of silence, because an alert
nobody believes teaches subscribers to ignore the topic.  The rules compare `Facts`
only; `explain` turns a verdict into the alert's one-line explanation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ... import lexicon
from ...models import Claim, ContradictionKind
from . import numbers
from .actors import Side, same_camp
from .facts import Facts
from .territory import advance


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



_FORCE_NOUNS = lexicon.words("force_nouns")


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


# --------------------------------------------------------------------------- agreement
def corroborates(f: Facts, e: Facts) -> bool:
    """``f`` repeats the fact an earlier, non-hedged claim ``e`` established.

    Same category, polarity and time window; for territory the same holder, else the
    same actor (unknown matches anything); for casualties the same measure.
    """
    if e.hedged or e.category != f.category or e.polarity != f.polarity or not same_time(e, f):
        return False
    if f.category == "territory_control":
        if e.holder and f.holder and not same_camp(e.holder, f.holder):
            return False
        if e.retake != f.retake:
            return False
    elif e.actor and f.actor and not (
        (e.actor_side and f.actor_side and same_camp(e.actor_side, f.actor_side))
        or set(e.actor) & set(f.actor)
    ):
        return False
    return not (f.category == "casualties" and e.measure and f.measure and e.measure != f.measure)


_COPY_SIMILARITY = 0.6


def copies(new: Facts, old: Facts) -> bool:
    """The same sentence in another story, give or take a dateline or a date in brackets."""
    if new.story_id == old.story_id or new.category != old.category or new.polarity != old.polarity:
        return False
    if new.qty != old.qty:
        return False  # 'killed 12' and 'killed 40' in one template are two reports
    a, b = set(new.words), set(old.words)
    return bool(a and b) and len(a & b) / len(a | b) >= _COPY_SIMILARITY


# --------------------------------------------------------------------------- explanations
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
        verb = "advanced into" if advance(claim) else "took"
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

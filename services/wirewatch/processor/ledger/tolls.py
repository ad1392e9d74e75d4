"""What a casualty claim counts: killed or wounded, whose deaths, a part or the whole, by what means.

A toll is compared with another only when both count the same thing (`conflicts._numeric`):
the same measure, the same victims, the same kind of attack, one event rather than a total
over a period.  Read here from the claim's sentence, figure and trigger.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from ... import lexicon
from ...models import Claim
from . import numbers

if TYPE_CHECKING:
    from .facts import Facts

_KILLED = re.compile(rf"\b{lexicon.pattern('killed_words')}\b", re.I)
_WOUNDED = re.compile(rf"\b{lexicon.pattern('wounded_words')}\b", re.I)
_SUBGROUP_AFTER = re.compile(rf"^\s*{lexicon.pattern('part_of_toll_cues')}\b", re.I)
_SUBGROUPS = lexicon.words("toll_subgroup_nouns")
_COMBATANTS = lexicon.words("combatant_nouns")
_CIVILIANS = lexicon.words("counted_people_nouns")
_MEANS = {kind: re.compile(rf"\b{lexicon.pattern(kind + '_means')}\b", re.I)
          for kind in ("air", "artillery", "ground", "bombing")}
# A toll over a period ('since September', 'so far this year') is not the toll of one event.
_CUMULATIVE = re.compile(
    rf"\b(?:{lexicon.pattern('cumulative_cues')}|in\s+the\s+(?:past|last)\s+(?:\w+\s+)?"
    rf"{lexicon.pattern('period_nouns')})\b",
    re.I,
)
# Words that mark a figure as the newer value of a count that grows ('the toll rose to 40').
_RISE = re.compile(rf"\b{lexicon.pattern('rise_words')}\b", re.I)


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


_VICTIM_WORDS = {"civilians": lexicon.words("civilian_victims"),
                 "combatants": _COMBATANTS | lexicon.words("combatant_nouns_singular")}


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


def means_of(text: str) -> list[str]:
    """The kinds of attack a text names ('air', 'artillery', 'ground', 'bombing'), sorted."""
    return sorted(k for k, pat in _MEANS.items() if pat.search(text))


def casualty_facts(f: Facts, claim: Claim, verbs: str) -> None:
    """Fill in what a casualty claim counts; ``verbs`` is its trigger and event type."""
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
    f.means = means_of(claim.sentence)
    f.victims = _victims(claim, f.unit_group)

"""A claim's count: which figure of its sentence counts the trigger's own victims or displaced.

:mod:`.quantities` finds the figures of a text ('at least 40 people', 'dozens of
civilians'); here one is chosen for a claim.  A toll is compared with other tolls, so for a
casualty claim only a figure that counts the trigger's own victims will do (its argument's
number, or a toll phrase); for displacement, the trigger's own argument's figure first,
else the nearest figure with a unit.
"""

from __future__ import annotations

from spacy.tokens import Doc, Token

from ... import lexicon
from ...models import Quantity
from .places import Place
from .quantities import Found, find_quantities
from .timeexpr import TimeExpr

_TOLL_NOUNS = lexicon.words("toll_nouns")  # 'the toll rose to 40'
_TOLL_UNITS = lexicon.words("toll_units")  # '12 dead'
_NUMERAL_NOUNS = lexicon.words("numeral_nouns")  # 'dozens of people'


def claim_quantity(doc: Doc, tok: Token, category: str, places: list[Place], times: list[TimeExpr],
                   people_nouns: frozenset[str]) -> Quantity | None:
    """The figure a casualty or displacement claim counts, or None when its sentence does not give one."""
    if category not in ("casualties", "displacement"):
        return None
    people = people_nouns | _TOLL_UNITS
    skip = [(p.start, p.end) for p in places] + [(t.start, t.end) for t in times]
    found = find_quantities(doc.text, people, skip)
    if not found:
        return None
    if category == "displacement":
        # 'Two soldiers were killed and five wounded': the count of the trigger's own argument first
        for arg in [c for c in tok.children if c.dep_ in ("nsubj", "nsubjpass", "dobj")]:
            lo, hi = arg.left_edge.idx, arg.right_edge.idx + len(arg.right_edge)
            own = [f for f in found if lo <= f.start < hi]
            if own:
                return own[0].quantity
        with_unit = [f for f in found if f.quantity.unit]
        return min(with_unit or found, key=lambda f: abs(f.start - tok.idx)).quantity
    return _victim_count(doc, tok, found)



def _victim_count(doc: Doc, tok: Token, found: list[Found]) -> Quantity | None:
    """The number of victims of a casualty trigger, or None when the sentence does not give it.

    A toll is compared with other tolls, so only a figure that counts the trigger's own victims
    will do: the number on its argument ('killed 12 people', 'Eighteen people ... were killed',
    'dozens of people were killed', 'left 12 dead', 'five wounded'), or a toll phrase ('the toll
    rose to 40', 'put the number of dead at ten to fifteen').  Not an age ('Kafoury, 63'), a
    number inside an apposition ('a father of two sons'), nor the count of a part of a
    coordination ('the two women and a man were killed' is three).
    """
    def tokens(f: Found) -> set[int]:
        span = doc.char_span(f.start, f.end, alignment_mode="expand")
        return {t.i for t in span} if span is not None else set()

    for arg in _victim_arguments(tok):
        phrase = _head_phrase(arg)
        own = [f for f in found if tokens(f) & phrase]
        if own:
            if any(c.dep_ == "conj" and c.pos_ in ("NOUN", "PROPN", "NUM") for c in arg.children):
                return None  # 'the two women and a man': the figure is a part of the victims
            return own[0].quantity
    for f in found:
        if _toll_slot(doc, tokens(f)) or (f.quantity.unit or "") in _TOLL_UNITS:
            return f.quantity
    return None


def _victim_arguments(tok: Token) -> list[Token]:
    args = [c for c in tok.children if c.dep_ in ("nsubj", "nsubjpass", "dobj")]
    if tok.dep_ in ("oprd", "acomp", "xcomp", "ccomp") and tok.head != tok:
        # 'left 12 people dead', '12 people were reported killed'
        args += [c for c in tok.head.children if c.dep_ in ("dobj", "nsubjpass")]
    if tok.dep_ in ("acl", "amod") and (tok.head.like_num or tok.head.pos_ in ("NOUN", "PROPN")):
        args.append(tok.head)  # '... and five wounded', '12 people dead'
    if tok.dep_ == "relcl":
        args.append(tok.head)
    return args


def _head_phrase(arg: Token) -> set[int]:
    """The argument and what precedes it in its phrase ('at least 40 people', 'dozens of people'),
    not its appositions, relative clauses or attachments ('a deputy, a father of two sons')."""
    keep = {arg.i}
    for c in arg.children:
        if c.i < arg.i and c.dep_ not in ("appos", "punct", "cc", "conj"):
            keep |= {t.i for t in c.subtree}
        elif c.dep_ == "prep" and c.lower_ == "of" and (
                arg.like_num or arg.pos_ == "NUM" or arg.lemma_.lower() in _NUMERAL_NOUNS):
            keep |= {t.i for t in c.subtree}  # 'dozens of people'
    return keep


def _toll_slot(doc: Doc, idx: set[int]) -> bool:
    """'the toll rose to 40', 'put the number of dead at ten to fifteen', 'a death toll of 40'."""
    for i in idx:
        t = doc[i]
        if t.dep_ != "pobj" or t.head.lower_ not in ("to", "at", "of"):
            continue
        gov = t.head.head
        if gov.pos_ in ("ADV", "ADP", "PART") and gov.head != gov:
            gov = gov.head  # 'revised the toll down to eight'
        if gov.lemma_.lower() in _TOLL_NOUNS:
            return True
        if any(c.dep_ in ("nsubj", "nsubjpass", "dobj") and c.lemma_.lower() in _TOLL_NOUNS for c in gov.children):
            return True
    return False


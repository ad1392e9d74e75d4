"""Which place a claim is about, from the parse: the helpers the extractor's location rules use.

The order of preference (see docs/extraction.md) is: a place attached to the trigger in the
parse, an unknown proper name the trigger acts on, the place of the story's previous claim
for 'the area' / 'the village' / 'it', the first place in the sentence that is not its actor
or speaker, and the story's most-mentioned place.
"""

from __future__ import annotations

from collections import Counter

from spacy.tokens import Doc, Token

from .places import RANK_LOCAL, Place, place_key

ANAPHOR_NOUNS = frozenset({"area", "district", "village", "town", "city", "neighbourhood", "neighborhood",
                            "region", "enclave", "place", "site", "dead", "victim", "wounded", "toll"})
DEST_PREPS = frozenset({"to", "towards", "toward", "into", "for"})
ATTACHED_STOP = frozenset({"VERB", "AUX"})
# entity labels that are never places (the small model's PERSON is handled apart: it calls towns people)
NOT_PLACE_ENTS = frozenset({"PERSON", "DATE", "TIME", "MONEY", "PERCENT", "CARDINAL", "ORDINAL", "QUANTITY",
                             "WORK_OF_ART", "LAW", "EVENT", "PRODUCT", "LANGUAGE"})


def dominant_place(mentions: list[Place]) -> Place | None:
    """The story's main place: the most mentioned base name ('Aleppo' counts 'eastern Aleppo')."""
    if not mentions:
        return None
    bases = Counter(p.key.split(":")[0] for p in mentions)
    top = max(bases.values())
    base = next(p.key.split(":")[0] for p in mentions if bases[p.key.split(":")[0]] == top)
    forms = Counter(p.text for p in mentions if p.key.split(":")[0] == base)
    text = forms.most_common(1)[0][0]
    return next(p for p in mentions if p.text == text)


def name_like(t: Token) -> bool:
    """A capitalised name that may be a place: not a date or number, not part of a longer person's name.

    The small model calls unknown towns ORG, NORP or even PERSON ('Aleppo'), and tags some as ADJ
    ('Sakhour has not fallen'): a capitalised 'adjective' that is a subject or object is a name.
    """
    if not t.text[:1].isupper():
        return False
    if t.pos_ != "PROPN" and not (t.pos_ == "ADJ" and t.dep_ in ("nsubj", "nsubjpass", "dobj", "pobj")):
        return False
    if t.ent_type_ == "PERSON":
        return t.ent_iob_ == "B" and not (t.i + 1 < len(t.doc) and t.doc[t.i + 1].ent_iob_ == "I")
    return t.ent_type_ not in NOT_PLACE_ENTS


def is_anaphor(t: Token) -> bool:
    """'the area', 'the village', 'this district' -- but not 'the eastern neighbourhoods' or 'the X area'."""
    return (t.lemma_.lower() in ANAPHOR_NOUNS
            and any(c.dep_ == "det" and c.lower_ in ("the", "this", "that") for c in t.children)
            and not any(c.dep_ in ("amod", "compound", "nmod") or c.pos_ == "PROPN" for c in t.children)
            and not any(c.dep_ == "prep" and c.lower_ == "of" for c in t.children))


def refers_back(t: Token, category: str) -> bool:
    """A word that points at the place of the previous report ('the village'; 'the dead' for casualties)."""
    if t.lemma_.lower() in ("dead", "victim", "wounded", "toll") and category != "casualties":
        return False
    return is_anaphor(t)


def is_subject(doc: Doc, p: Place) -> bool:
    span = doc.char_span(p.start, p.end, alignment_mode="expand")
    return (span is not None and span.root.dep_ in ("nsubj", "poss")
            and span.root.head.pos_ in ("VERB", "AUX", "NOUN"))


def argument_place(tok: Token) -> Place | None:
    """An unknown proper name the trigger is about ('Sakhour has not fallen'), as a place."""
    args = [c for c in tok.children if c.dep_ in ("dobj", "nsubjpass", "nsubj")]
    for c in tok.children:
        if c.dep_ == "prep" and c.lower_ in ("of", "into", "on", "in", "to"):
            args.extend(x for x in c.children if x.dep_ == "pobj")
    for a in args:
        if a.pos_ == "NOUN" and any(c.dep_ == "compound" and c.pos_ == "PROPN" for c in a.children):
            pass  # 'Hodeidah airport'
        elif not name_like(a):
            continue
        toks = [x for x in a.subtree if (x.dep_ in ("compound", "flat") and x.head == a) or x.i == a.i]
        lo, hi = min(x.i for x in toks), max(x.i for x in toks)
        span = a.doc[lo:hi + 1]
        return Place(span.start_char, span.end_char, span.text, place_key(span.text), RANK_LOCAL)
    return None


def attached_to(place_root: Token, trigger: Token, allow_conj: bool,
              phrase: bool = False) -> tuple[bool, int] | None:
    """Whether the place hangs off the trigger (None if not): (is it a destination ('fled to X'), hops)."""
    dest = False
    node = place_root
    linked = {trigger}
    # the trigger inside a phrase pattern: the place hangs off the phrase's verb
    if phrase and trigger.dep_ == "dobj":  # 'sought REFUGE in Chad'
        linked.add(trigger.head)
    if phrase and (trigger.pos_ == "ADP" or trigger.dep_ == "pobj"):
        # 'Minian is still WITH the rebels', 'in rebel HANDS': the clause's subject is the place
        head = trigger.head if trigger.pos_ == "ADP" else trigger.head.head
        linked.add(head)
    if allow_conj:
        linked |= {c for c in trigger.children if c.dep_ == "conj"}
        if trigger.dep_ == "conj":
            linked.add(trigger.head)
    for hops in range(1, 9):
        if node.dep_ == "pobj" and node.head.lower_ in DEST_PREPS and node.head.head in linked:
            dest = True
        parent = node.head
        if parent == node:
            return None
        if parent in linked:
            return dest, hops
        if parent.pos_ in ATTACHED_STOP:
            return None
        node = parent
    return None

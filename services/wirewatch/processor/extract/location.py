"""Places in the parse: the tests :mod:`.claim_places` and the event checks ask of a token or a place.

A story's main place (:func:`dominant_place`); whether a capitalised word looks like a
place name and the whole name it belongs to (:func:`name_like`, :func:`name_span`); words
that point back to a place ('the area', 'it'); a landmark ('X, north-east of Y'); the
place that is a sentence's actor; an unknown name the trigger is about
(:func:`argument_place`); and how close a place hangs on the trigger in the parse
(:func:`attached_to`).  Their word lists are in ``data/lexicon/places.yaml``.
"""

from __future__ import annotations

from collections import Counter

from spacy.tokens import Doc, Span, Token

from ... import lexicon
from .places import DIRECTIONS, RANK_LOCAL, Place, place_key

ANAPHOR_NOUNS = lexicon.words("anaphor_nouns")  # 'the area', 'the village', 'the dead'
PLACE_HEADS = lexicon.words("place_heads")  # 'the X police station'
# 'arrived in X', 'streamed into X': the place reached is the destination
ARRIVAL_LEMMAS = lexicon.words("arrival_verbs")
DEST_PREPS = lexicon.words("destination_preps")
ATTACHED_STOP = frozenset({"VERB", "AUX"})
# entity labels that are never places (the small model's PERSON is handled apart: it calls towns people)
# (WORK_OF_ART, EVENT, PRODUCT and LAW are left out: the small model gives them to unknown towns)
NOT_PLACE_ENTS = frozenset({"PERSON", "DATE", "TIME", "MONEY", "PERCENT", "CARDINAL", "ORDINAL", "QUANTITY",
                             "LANGUAGE"})
# a title before a name makes it a person ('General X', 'spokesman X'), not a place
TITLES = lexicon.words("person_titles")
# words for where a landmark lies: 'X, north-east of Y' is about X
BEARINGS = lexicon.words("bearing_words")


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


def is_acronym(text: str) -> bool:
    """'RSF', 'M23', 'AFC/M23': armed groups and agencies, not places."""
    word = text.split()[-1] if text.split() else text
    return (word.isupper() and len(word) > 1) or any(c.isdigit() for c in word)


def name_like(t: Token, place_slot: bool = False) -> bool:
    """A capitalised name that may be a place: not a date or number, not part of a longer person's name.

    The small model calls unknown towns ORG, NORP or even PERSON ('Aleppo'), and tags some as ADJ
    ('Sakhour has not fallen'): a capitalised 'adjective' that is a subject or object is a name.
    In a ``place_slot`` (the object of 'control of', 'withdrew from', 'in'), a multiword PERSON is
    taken as a place too: the model calls unknown two-word towns people ('Wad Madani').
    """
    if not t.text[:1].isupper() or is_acronym(t.text):
        return False
    if t.pos_ != "PROPN" and not (t.pos_ == "ADJ" and t.dep_ in ("nsubj", "nsubjpass", "dobj", "pobj")) and not (
            place_slot and t.pos_ == "NOUN" and not t.is_sent_start and t.i > 0):
        return False
    first = name_span(t)[0]
    if first.i > 0 and t.doc[first.i - 1].lower_ in TITLES:
        return False
    if t.ent_type_ == "PERSON":
        if place_slot:
            return True
        return t.ent_iob_ == "B" and not (t.i + 1 < len(t.doc) and t.doc[t.i + 1].ent_iob_ == "I")
    return t.ent_type_ not in NOT_PLACE_ENTS


def name_span(t: Token) -> Span:
    """The whole name a token heads: its compound/flat chain ('Abu Shouk', 'Wad Madani'), contiguous."""
    lo = hi = t.i
    stack = [t]
    while stack:
        x = stack.pop()
        for c in x.children:
            if c.dep_ in ("compound", "flat", "nmod") and c.text[:1].isupper() and c.pos_ == "PROPN" \
                    and c.ent_type_ not in ("DATE", "TIME"):
                lo, hi = min(lo, c.i), max(hi, c.i)
                stack.append(c)
    # a capitalised word the parser cut off mid-sentence ('Um' of 'Um Dabakir' as an interjection)
    while lo > 0 and not t.doc[lo - 1].is_sent_start and t.doc[lo - 1].text[:1].isupper() \
            and t.doc[lo - 1].whitespace_ and t.doc[lo - 1].pos_ in ("INTJ", "X", "PROPN", "NOUN", "ADJ") \
            and t.doc[lo - 1].lower_ not in TITLES and t.doc[lo - 1].lower_ not in DIRECTIONS \
            and t.doc[lo - 1].ent_type_ not in ("DATE", "TIME", "NORP", "CARDINAL"):
        lo -= 1
    span = t.doc[lo:hi + 1]
    if any(not (x.text[:1].isupper() or x.text in ("-", "al", "el")) for x in span):
        return t.doc[t.i:t.i + 1]
    return span


def is_anaphor(t: Token) -> bool:
    """'the area', 'the village', 'this district' -- but not 'the eastern neighbourhoods' or 'the X area'."""
    if t.dep_ == "compound" and t.lemma_.lower() in ANAPHOR_NOUNS and not list(t.children) \
            and any(c.dep_ == "det" and c.lower_ in ("the", "this", "that") for c in t.head.children):
        return True  # 'the city centre', 'the town hall'
    return (t.lemma_.lower() in ANAPHOR_NOUNS
            and any(c.dep_ == "det" and c.lower_ in ("the", "this", "that") for c in t.children)
            and not any(c.dep_ in ("amod", "compound", "nmod") or c.pos_ == "PROPN" for c in t.children)
            and not any(c.dep_ == "prep" and c.lower_ == "of" for c in t.children))


def refers_back(t: Token, category: str) -> bool:
    """A word that points at the place of the previous report ('the village'; 'the dead' for casualties)."""
    if t.lemma_.lower() in ("dead", "victim", "wounded", "toll") and category != "casualties":
        return False
    return is_anaphor(t)


def is_landmark(doc: Doc, p: Place) -> bool:
    """'X, north-east of Y', '30 km from Y': Y only says where X is."""
    span = doc.char_span(p.start, p.end, alignment_mode="expand")
    if span is None:
        return False
    root = span.root
    if root.dep_ != "pobj" or root.head.lower_ not in ("of", "from"):
        return False
    head = root.head.head
    return head.lower_ in BEARINGS or (head.i > 0 and head.doc[head.i - 1].lower_ in BEARINGS
                                       and head.doc[head.i - 1].head == head)


def is_subject(doc: Doc, p: Place) -> bool:
    span = doc.char_span(p.start, p.end, alignment_mode="expand")
    # ('X had become a refuge', 'X remains calm': the subject of a copula is where, not who)
    return (span is not None and span.root.dep_ in ("nsubj", "poss")
            and span.root.head.pos_ in ("VERB", "AUX", "NOUN")
            and span.root.head.lemma_ not in ("be", "become", "remain", "stay"))


def argument_place(tok: Token) -> Place | None:
    """An unknown proper name the trigger is about ('Sakhour has not fallen'), as a place."""
    # the subject of a transitive verb is its actor ('Rebels attacked the army'), not a place
    transitive = any(c.dep_ == "dobj" for c in tok.children)
    args = [c for c in tok.children if c.dep_ in ("dobj", "nsubjpass") or (c.dep_ == "nsubj" and not transitive)]
    for c in tok.children:
        if c.dep_ == "prep" and c.lower_ in ("of", "into", "on", "in", "to"):
            args.extend(x for x in c.children if x.dep_ == "pobj")
    for a in args:
        if a.pos_ == "NOUN" and a.lemma_.lower() in PLACE_HEADS and any(
                c.dep_ == "compound" and c.pos_ == "PROPN" and c.ent_type_ not in ("DATE", "TIME")
                for c in a.children):
            pass  # 'Hodeidah airport' (not 'Monday morning', 'Army warplanes')
        elif not name_like(a, place_slot=a.dep_ == "pobj"):
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
        if node.dep_ == "pobj" and node.head.lower_ == "for" and node.head.head.dep_ == "dobj" \
                and node.head.head.head in linked:
            dest = True  # 'fled A for B' with 'for B' hung on A
        if node.dep_ == "pobj" and node.head.head in linked and (
                node.head.lower_ in DEST_PREPS
                or (node.head.lower_ in ("in", "at") and node.head.head.lemma_ in ARRIVAL_LEMMAS)):
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

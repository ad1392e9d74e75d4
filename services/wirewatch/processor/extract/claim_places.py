"""Where a claim happened: the places a parsed sentence names, and which of them the claim is about.

:meth:`ClaimPlaces.find` lists a parsed sentence's places: the gazetteer's (less the names
the story gives a first name), the model's GPE/LOC/FAC entities, and capitalised names in
a place slot ('in X', 'control of X', the object of 'took'), joined into longer names and
lists, with an administrative area named after its city kept apart ('Aleppo province').
:func:`locate` then picks the claim's place and how sure it is -- attached to the trigger
in the parse, an argument of it, a place pointed back to ('the city', 'it'), the first one
of the sentence that is not its actor, or the story's -- and :func:`part_of` narrows it to
the facility the event is about ('Hodeidah airport').  The parse helpers are
:mod:`.location`'s.
"""

from __future__ import annotations

import re

from spacy.tokens import Doc, Token

from ... import lexicon
from .attribution import Attribution
from .location import (
    PLACE_HEADS,
    argument_place,
    attached_to,
    is_acronym,
    is_anaphor,
    is_landmark,
    is_subject,
    name_like,
    name_span,
    refers_back,
)
from .patterns import PatternSet, Trigger
from .places import DIRECTIONS, RANK_CITY, RANK_LOCAL, RANK_REGION, Gazetteer, Place, merge_lists, place_key
from .story import Story

# what a story calls a place smaller than a city ('the Mugunga camp'), as a pattern
_SMALL = f"(?:{lexicon.alternation('small_place_nouns')})"
# How sure a claim's place is; a weaker one borrows its sentence's strongest.
STORY, SENTENCE, ANAPHOR, ARGUMENT, ATTACHED = range(5)
STRONG = ARGUMENT
# a capitalised name after one of these is a place even if no gazetteer knows it ('shelters in Jibreen')
_LOCATIVE = lexicon.words("locative_preps")
_DEPARTURE = lexicon.words("departure_verbs")  # 'left A for B'
_PLACE_SUBJECT = lexicon.words("place_subject_verbs")  # 'X fell'
_VENUE = lexicon.words("venue_words")  # 'brokered by Angola', 'talks in Doha'
_CITY = lexicon.words("city_nouns")  # 'the city' that points back
_FACILITIES = lexicon.words("facility_nouns")
_ADMIN_AREAS = lexicon.words("admin_area_nouns")


class ClaimPlaces:
    """The places of a parsed sentence, with the gazetteer and the pattern set's place words."""

    def __init__(self, gazetteer: Gazetteer, patterns: PatternSet) -> None:
        self.gazetteer = gazetteer
        self.patterns = patterns
        self._territory_lemmas = frozenset(
            lem for r in patterns.rules if r.event_type.category == "territory_control" for lem in r.lemmas)

    def find(self, st: Story, doc: Doc) -> list[Place]:
        found = self.gazetteer.find(doc, st.local)
        keep: list[Place] = []
        for p in found:
            span = doc.char_span(p.start, p.end, alignment_mode="expand")
            labels = {t.ent_type_ for t in span} if span is not None else set()
            # geonames knows 'Hamilton' and 'Mercedes': a name the story gives a first name ('Lewis
            # Hamilton') is a person; an ORG label is trusted for small places.  A PERSON label alone
            # is not -- the small model calls 'Aleppo' and 'Kherson' people.
            if p.rank < RANK_LOCAL and (p.text in st.person_names or (
                    labels & {"ORG"} and p.population < 1_000_000 and not labels & {"GPE", "LOC", "FAC"})):
                continue
            keep.append(p)
        for ent in doc.ents:
            if ent.label_ in ("GPE", "LOC", "FAC") and ent.text.lstrip("the ")[:1].isupper() \
                    and not is_acronym(ent.text) and not any(
                    p.start < ent.end_char and ent.start_char < p.end for p in keep):
                text = ent.text
                start = ent.start_char
                if text.lower().startswith("the "):
                    text, start = text[4:], start + 4
                if ent.start > 0 and doc[ent.start - 1].lower_ in DIRECTIONS:
                    start = doc[ent.start - 1].idx
                    text = doc.text[start:ent.end_char]
                keep.append(Place(start, ent.end_char, text, place_key(text), 2))
        # a known name that goes on with more capitalised words is one longer name ('Abu' + 'Shouk')
        for i, p in enumerate(keep):
            span = doc.char_span(p.start, p.end, alignment_mode="expand")
            if span is None or span.end >= len(doc):
                continue
            nxt = doc[span.end]
            if nxt.pos_ == "PROPN" and nxt.text[:1].isupper() and nxt.ent_type_ not in ("DATE", "TIME") \
                    and not is_acronym(nxt.text) and span[-1].whitespace_:
                whole = name_span(nxt)
                if whole.start <= span.end:
                    end = max(whole.end, nxt.i + 1)
                    text = doc[span.start:end].text
                    if not any(t.lower_ in DIRECTIONS for t in doc[span.end:end]):
                        keep[i] = Place(p.start, doc[end - 1].idx + len(doc[end - 1]), text,
                                        place_key(text), RANK_LOCAL, p.population)
        for t in doc:
            if any(p.start <= t.idx < p.end for p in keep) or not self._place_slot(t):
                continue
            if not name_like(t, place_slot=True):
                continue
            # (not st.person_names: 'Wad Kassala' looks like 'Lewis Hamilton' to that heuristic, but the
            # slot says place; a speaker named earlier is still a person)
            span = name_span(t)
            if all(x.text[:1].isupper() or x.text in ("-",) for x in span) and not any(
                    p.split(",")[0].endswith(span.text) for p in st.persons):
                keep.append(Place(span.start_char, span.end_char, span.text, place_key(span.text),
                                  RANK_LOCAL))
        # 'Ukrainian troops': the model may call a nationality a GPE, and it fills place slots
        keep = [p for p in keep if p.text.lower() not in self.gazetteer.nationalities]
        return merge_lists([_admin_area(doc, _hyphenated(doc, p)) for p in keep], doc.text)

    def _place_slot(self, t: Token) -> bool:
        """Where a capitalised name is a place whatever the model calls it: after 'in/into/near/...',
        'control of X', 'the outskirts of X', 'left A for B', the object of 'took', 'withdrew from'."""
        head = t.head
        if t.dep_ == "pobj":
            prep = head.lower_
            if prep == "to" and head.i > 0 and t.doc[head.i - 1].lower_ == "according":
                return False
            if prep in _LOCATIVE or prep == "over":
                return True
            gov = head.head
            lemma = gov.lemma_.lower()
            if prep == "of":
                if gov.lower_ == "out":
                    return True  # 'pushed the rebels out of X'
                return lemma in self.patterns.words("place_nouns") or lemma in self.patterns.words(
                    "part_nouns") or lemma in self._territory_lemmas or gov.lower_ == "outskirts"
            if prep == "for":
                # 'left A for B', 'fled A for B' (the parser may hang 'for B' on A)
                return bool({lemma, gov.head.lemma_.lower()} & _DEPARTURE)
            return False
        if t.dep_ in ("compound", "nmod") and head.pos_ == "NOUN" and (
                head.lemma_.lower() in self.patterns.words("place_nouns") or head.lemma_.lower() in PLACE_HEADS):
            return self._place_slot(head) or head.dep_ in ("dobj", "nsubjpass")  # 'the X police station'
        if t.dep_ == "nsubj" and head.lemma_ in _PLACE_SUBJECT:
            return True  # 'X fell', 'X remained under army control'
        if t.dep_ in ("dobj", "nsubjpass") and head.pos_ == "VERB":
            return head.lemma_.lower() in self._territory_lemmas
        return False


def locate(st: Story, sent_start: int, doc: Doc, trig: Trigger, places: list[Place],
           att: Attribution, category: str) -> tuple[Place | None, int]:
    """The place the event is about, and how sure: attached > argument > anaphor > sentence > story."""
    tok, rule = trig.token, trig.rule
    usable = [p for p in places
              if not (att.speaker_span and att.speaker_span[0] <= p.start < att.speaker_span[1])]
    # 'Tarkint, north-east of Gao': Gao only says where Tarkint is
    if any(not is_landmark(doc, p) for p in usable):
        usable = [p for p in usable if not is_landmark(doc, p)]
    if category == "ceasefire":
        # who brokered a truce and where it was signed are not where it holds
        usable = [p for p in usable if not _venue(doc, p)]
    attached: list[tuple[Place, bool, int]] = []
    for p in usable:
        span = doc.char_span(p.start, p.end, alignment_mode="expand")
        if span is None:
            continue
        if span.root.dep_ in ("nsubj", "poss") and span.root.head == tok \
                and "place_subject" not in rule.require:
            continue  # 'Damascus and its allies closed in on X': the actor, not the place
        hit = attached_to(span.root, tok, allow_conj=category == "displacement", phrase=rule.trigger > 0)
        if hit is not None:
            attached.append((p, *hit))
    if attached:
        if category == "displacement" and any(dest for _, dest, _ in attached):
            attached = [a for a in attached if a[1]]
        # the closest in the parse, then the most specific ('the X district of eastern Aleppo')
        return min(attached, key=lambda a: (a[2], -a[0].rank))[0], ATTACHED
    arg = argument_place(tok)
    if arg is not None:
        return arg, ARGUMENT
    if _anaphoric_argument(tok):
        # 'smuggled out of Timbuktu ... after jihadists captured the city': the place just named
        here = [p for p in usable if p.end <= tok.idx and not is_subject(doc, p)]
        if here:
            return here[-1], ANAPHOR
        before = [p for p in st.mentions if p.end <= sent_start]
        if st.last_location is not None or before:
            return _referent(st, doc, before), ANAPHOR
    # the place that is the actor ('Damascus and its allies', 'Russia says') is not where it happened
    inside = [p for p in usable if not is_subject(doc, p)]
    if inside and category != "ceasefire":
        return inside[0], SENTENCE
    if any(refers_back(t, category) for t in doc):
        before = [p for p in st.mentions if p.end <= sent_start]
        if st.last_location is not None or before:
            return _referent(st, doc, before), ANAPHOR
    if st.last_location is not None and _continues(st, sent_start, category):
        return st.last_location, ANAPHOR
    return st.dominant, STORY

def _continues(st: Story, sent_start: int, category: str) -> bool:
    """Discourse continuity: a toll with no place of its own right after the sentence that reported
    the attack or the toll at a place counts that event's dead ('A shell hit the Mugunga camp,
    killing five.  Health workers put the number of dead at ten to fifteen.')."""
    if st.last_located is None or category != "casualties":
        return False
    end, categories = st.last_located
    previous = [s for s in st.sentences if s.end <= sent_start]
    return bool(categories & {"attack", "casualties"}) and bool(previous) and previous[-1].end == end

def _referent(st: Story, doc: Doc, before: list[Place]) -> Place:
    """What 'the city' / 'the camp' points back to: the previous claim's place, unless 'the city'
    would then be a camp or a district -- then the last city named."""
    ref = st.last_location or before[-1]
    if any(t.lemma_.lower() in _CITY and is_anaphor(t) for t in doc) and ref.rank != RANK_CITY \
            and _smaller_than_a_city(st.body, ref.text):
        cities = [p for p in before if p.rank == RANK_CITY]
        if cities:
            return cities[-1]
    return ref

def _venue(doc: Doc, p: Place) -> bool:
    """'brokered by Angola', 'a summit in Djibouti', 'talks in Doha': a mediator or a venue."""
    span = doc.char_span(p.start, p.end, alignment_mode="expand")
    if span is None:
        return False
    root = span.root
    for a in [root, *list(root.ancestors)[:4]]:
        if a.dep_ == "pobj" and a.head.lower_ == "by":
            return True
        if a.lemma_.lower() in _VENUE:
            return True
    return False

def _anaphoric_argument(tok: Token) -> bool:
    """The trigger's object or subject points back to a place: 'the area', 'the village', 'it'."""
    args: list[Token] = []
    if tok.pos_ == "ADP":  # "it's still WITH the rebels"
        args.extend(c for c in tok.head.children if c.dep_ in ("nsubj", "nsubjpass"))
    for c in tok.children:
        if c.dep_ in ("dobj", "nsubjpass", "nsubj", "attr"):
            args.append(c)
        elif c.dep_ == "prep":
            args.extend(x for x in c.children if x.dep_ == "pobj")
    for a in list(args):
        for p in a.children:
            if p.dep_ == "prep" and p.lower_ == "of":
                args.extend(x for x in p.children if x.dep_ == "pobj")
    for a in args:
        if a.lower_ == "it" and tok.pos_ in ("VERB", "AUX", "ADP"):
            return True
        if is_anaphor(a):
            return True
    return False


def _admin_area(doc: Doc, p: Place) -> Place:
    """'Aleppo province', 'Kandahar Province': the area named after a known city is a place of its
    own; 'the Tigray region' (no city of that name) is Tigray."""
    words = p.text.split()
    if len(words) > 1 and words[-1].lower() in _ADMIN_AREAS:
        core = " ".join(words[:-1])
        if p.rank != RANK_CITY:
            return Place(p.start, p.start + len(core), core, place_key(core), p.rank, p.population)
        return p
    if p.rank != RANK_CITY:
        return p
    span = doc.char_span(p.start, p.end, alignment_mode="expand")
    if span is None or span.end >= len(doc):
        return p
    nxt = doc[span.end]
    if nxt.lower_ not in _ADMIN_AREAS or nxt.lower_ == "district" or not span[-1].whitespace_:
        return p  # ('the Jub al-Qubba district of Aleppo' names a quarter, not Aleppo's district)
    text = f"{p.text} {nxt.lower_}"
    return Place(p.start, nxt.idx + len(nxt), text, place_key(text), RANK_REGION, p.population)


def part_of(doc: Doc, tok: Token, loc: Place | None) -> Place | None:
    """The part of a place the event is about: 'seized the airport of Hodeidah', 'Hodeidah airport
    had fallen', 'took the airport' in a story about Hodeidah are all 'Hodeidah airport' (a claim
    about the airport is not a claim about the city)."""
    if loc is None:
        return None
    args = [c for c in tok.children if c.dep_ in ("dobj", "nsubjpass", "nsubj", "attr")]
    args += [x for c in tok.children if c.dep_ == "prep" for x in c.children if x.dep_ == "pobj"]
    for arg in args:
        if arg.pos_ != "NOUN" or arg.lemma_.lower() not in _FACILITIES or loc.text.lower().endswith(arg.lower_):
            continue
        inside = [t for t in arg.subtree if t.i != arg.i]
        named = [t for t in inside if loc.start <= t.idx < loc.end]
        if named:
            t = named[0]
            if not ((t.dep_ == "compound" and t.head == arg)
                    or (t.dep_ == "pobj" and t.head.lower_ == "of" and t.head.head == arg)):
                continue  # 'the airport near Hodeidah' names where it is, not whose it is
        elif any(t.pos_ == "PROPN" for t in inside) or not any(
                c.dep_ in ("det", "poss") for c in arg.children):
            continue  # another place's airport, or 'an airport' (which one?)
        text = f"{loc.text} {arg.lemma_.lower()}"
        return Place(loc.start, loc.end, text, place_key(text), RANK_LOCAL, loc.population)
    return loc



def _smaller_than_a_city(body: str, name: str) -> bool:
    """The story calls the place a camp, district, village...: 'the city' cannot be it."""
    n = re.escape(name)
    return re.search(rf"{n}[ ](?:\w+[ ])?{_SMALL}\b|\b{_SMALL}[ ]of[ ]{n}", body) is not None


def _hyphenated(doc: Doc, p: Place) -> Place:
    """'Hpa-an', 'Tin-Akoff': the tokenizer splits a hyphenated name; keep it whole."""
    span = doc.char_span(p.start, p.end, alignment_mode="expand")
    if span is None:
        return p
    end = span.end
    while end + 1 < len(doc) and doc[end].text == "-" and not doc[end - 1].whitespace_ \
            and not doc[end].whitespace_ and doc[end + 1].is_alpha:
        end += 2
    if end == span.end:
        return p
    text = doc[span.start:end].text
    return Place(p.start, doc[end - 1].idx + len(doc[end - 1]), text, place_key(text), p.rank, p.population)


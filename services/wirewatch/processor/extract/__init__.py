"""Claim extraction: a unique story in, one Claim per (sentence, event category) out.

Two passes keep spaCy's cost down (see docs/extraction.md):

1. cheap: the model's tokenizer and a rule-based sentence splitter on the whole body,
   the gazetteer on every sentence (for the story's places), and a word pre-filter
   built from the event patterns;
2. full pipeline (tagger, parser, lemmatizer, NER), batched with ``nlp.pipe``, only on
   sentences that contain a trigger word and that the update actually changed.

Each parsed sentence then goes through the event rules (``events.yaml``), attribution,
place, time and quantity extraction.

Pathological input is bounded (limits in :mod:`wirewatch.limits`): a sentence longer than
``MAX_SENTENCE_CHARS`` is not parsed (spaCy's cost grows faster than linearly with it), and a
body over the model's ``max_length`` is refused with :class:`~wirewatch.errors.StoryTooLarge`;
a story has its first ``Extractor.max_sentences`` event sentences parsed, and a claim's
phrases are cut to their caps (:meth:`~wirewatch.models.Claim.capped`).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.pipeline import Sentencizer
from spacy.tokens import Doc, Span, Token

from ... import lexicon, metrics
from ...errors import StoryTooLarge
from ...limits import MAX_SENTENCE_CHARS
from ...models import Claim, Quantity, UniqueStory, utcnow
from ...settings import get_settings
from ..ledger.facts import story_facts
from .attribution import Attribution, attribute, is_negated, is_pronoun
from .factuality import uncommitted
from .fastnlp import fast_pipeline, preset_sentence_starts, run_pipeline, sentence_docs
from .location import (
    PLACE_HEADS,
    argument_place,
    attached_to,
    dominant_place,
    is_acronym,
    is_anaphor,
    is_landmark,
    is_subject,
    name_like,
    name_span,
    refers_back,
)
from .nlp import load_model
from .patterns import PatternSet, Trigger, TriggerFinder, inflections, load_patterns
from .places import (
    DIRECTIONS,
    RANK_CITY,
    RANK_LOCAL,
    RANK_REGION,
    Gazetteer,
    Place,
    PlaceInfo,
    merge_lists,
    place_key,
    story_places,
)
from .quantities import Found, find_quantities
from .timeexpr import TimeExpr, find_times

__all__ = ["Extractor", "load_model"]

log = logging.getLogger(__name__)

# 'BEIRUT (Reuters) - ', 'MOSCOW, March 3 (Reuters) - ', 'Aleppo, ONA - ', 'KYIV — ': where the
# story was filed, not where it happened.  A capitalised place needs an agency or date after it.
_DATELINE = re.compile(
    r"^(?:[A-Z][A-Z.'’ -]{1,40}?(?:,[ ][A-Za-z0-9.,' ]{2,60}?)?(?:[ ]\([A-Za-z. ]{2,30}\))?"
    r"|[A-Z][A-Za-z.'’ -]{1,40}?(?:,[ ][A-Za-z0-9.,' ]{2,60}?|[ ]\([A-Za-z. ]{2,30}\)))"
    r"[ ]?[-–—:][ ]+")
_BOILERPLATE = re.compile(r"^\(?(?:Reporting by|Editing by|Writing by|Additional reporting|Read more|"
                          r"Editor'?s note|This (?:story|article) (?:has been|was) (?:updated|corrected)|"
                          r"SEE ALSO|"
                          r"Related:|Join |Follow |Subscribe|Sign up|Click here|Copyright)", re.I)
_QUOTES = "\"“”"
_TAIL_SPEAKER = re.compile(
    r"[\"”],?[ ](?:(?P<who1>he|she|they|[A-Z][^.,\"”]{1,80}?)[ ](?:said|says|added|told\b[^.]*)|"
    r"(?:said|says|added)[ ](?P<who2>[^.,\"”]{2,80}))"
)
# One Doc per story's trigger sentences, split below spaCy's max_length and the parser's comfort.
_MAX_DOC_CHARS = 100_000
_FIRST_NAME = re.compile(r"\b([A-Z][a-z]+)[ ]$")
_SENTENCE_START = re.compile(r"(?:^|[.!?\"”]\s+|\n)$")
_WEAPON_HEADS = frozenset({"fire", "round", "attack", "strike", "shell", "barrage", "bombardment", "raid",
                           "shelling", "salvo", "volley", "bomb", "agreement", "deal", "accord"})
_CLAUSAL = frozenset({"xcomp", "ccomp", "advcl", "acl", "pcomp", "relcl", "csubj"})
_FEAR_VERBS = frozenset({"fear", "expect", "threaten", "warn", "plan", "predict", "anticipate"})
_FACTUAL_MARKS = frozenset({"after", "before", "since", "as", "when", "while", "because"})
_MILITARY = frozenset({"troop", "soldier", "force", "diplomat", "ambassador", "envoy", "peacekeeper",
                       "mercenary", "contingent", "mission", "official"})
# nouns that count others ('thousands of students')
_AMOUNTS = frozenset({"thousand", "hundred", "dozen", "score", "number", "group", "crowd"})
# speakers that only point back at one named before
_GENERIC_SPEAKERS = frozenset({"statement", "report", "communique", "communiqué", "release", "alliance", "group",
                               "coalition", "movement", "ministry", "agency", "committee", "mission",
                               "spokesman", "spokeswoman", "spokesperson", "commander", "official", "staff",
                               "general staff", "volunteer group", "organisation", "organization"})
_SMALL = r"(?:camp|district|neighbou?rhood|village|area|suburb|quarter|hamlet)"
_WH = frozenset({"how", "what", "whether", "why", "who", "which"})
_TIME_PREPS = frozenset({"since", "after", "before", "until", "till", "following", "during"})
_STATE_LEMMAS = frozenset({"control", "hold", "hand", "with", "under", "remain"})
# How sure a claim's place is; a weaker one borrows its sentence's strongest.
_STORY, _SENTENCE, _ANAPHOR, _ARGUMENT, _ATTACHED = range(5)
_STRONG = _ARGUMENT
# a capitalised name after one of these is a place even if no gazetteer knows it ('shelters in Jibreen')
_LOCATIVE = frozenset({"in", "into", "to", "from", "near", "at", "towards", "toward", "outside", "inside",
                       "around"})
# 'captured around half of X': the parser takes the approximator for a preposition
_APPROX_PREPS = frozenset({"around", "about", "nearly", "almost", "roughly"})


@dataclass
class _Sentence:
    start: int  # character offsets into the body
    end: int
    para: int
    doc: Doc | None = None  # the parsed sentence (second pass)


@dataclass
class _Story:
    unique: UniqueStory
    body: str
    paragraphs: list[tuple[int, int]]
    sentences: list[_Sentence]
    local: dict[str, PlaceInfo]
    mentions: list[Place]
    context_paras: dict[int, Counter[str]]  # paragraph -> the conflict words in it (weak ones count 1, strong 3)
    story_context: Counter[str]
    dominant: Place | None
    dateline_end: int = 0
    candidates: list[_Sentence] = field(default_factory=list)
    last_location: Place | None = None
    # the sentence and categories of the last claims with a place of their own
    last_located: tuple[int, frozenset[str]] | None = None
    persons: list[str] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)  # every named speaker so far, in order
    person_names: set[str] = field(default_factory=set)
    too_long: int = 0  # sentences that would be parsed but for their length


class Extractor:
    """Turns unique stories into claims (see the module docstring)."""

    # A story's budget of event sentences to parse, in body order (None: all); after each
    # extract_counted, over_budget says per story how many were left unparsed.  Set by the
    # caller (pipeline.extract_batch), as the budget is a setting of the processor.
    max_sentences: int | None = None
    over_budget: list[int]

    def __init__(
        self,
        model: str | None = None,
        *,
        patterns: Path | None = None,
        places: Path | None = None,
        nlp: Language | None = None,
    ) -> None:
        self.patterns: PatternSet = load_patterns(patterns)
        if nlp is None:
            nlp = load_model(model if model is not None else get_settings().nlp_model)
        self.nlp = nlp
        # the model's components, with its attribute_ruler swapped for an exact, faster table
        self._pipeline = fast_pipeline(nlp)
        self.finder = TriggerFinder(self.patterns, nlp.vocab)
        self.gazetteer = Gazetteer(places)
        self._sentencizer = Sentencizer()
        self._context_forms = frozenset(f for w in self.patterns.words("context") for f in inflections(w))
        self._weak_forms = frozenset(f for w in self.patterns.words("weak_context") for f in inflections(w))
        self._reporting = self.patterns.words("reporting_verbs")
        self._denial = self.patterns.words("denial_verbs")
        self._ceasefire_forms = frozenset({"ceasefire", "ceasefires", "truce", "truces", "armistice"})
        self._territory_lemmas = frozenset(
            lem for r in self.patterns.rules if r.event_type.category == "territory_control" for lem in r.lemmas)
        self._ceasefire_words = frozenset(
            lem for r in self.patterns.rules if r.event_type.category == "ceasefire" for lem in r.lemmas)

    # ------------------------------------------------------------------ public
    def extract(self, story: UniqueStory) -> list[Claim]:
        return self.extract_many([story])[0]

    def extract_many(self, stories: Sequence[UniqueStory]) -> list[list[Claim]]:
        claims, parsed, skipped, too_long = self.extract_counted(stories)
        metrics.count_sentences(parsed, skipped, too_long)
        return claims

    def extract_counted(self, stories: Sequence[UniqueStory]) -> tuple[list[list[Claim]], int, int, int]:
        """:meth:`extract_many` without touching metrics: (claims per story, sentences parsed,
        sentences skipped, sentences too long to parse), for a worker process whose metrics
        nobody scrapes.  Raises StoryTooLarge for a body over the model's ``max_length``."""
        for s in stories:
            n = len(s.story.body or "")
            if n > self.nlp.max_length:
                raise StoryTooLarge(f"story {s.story.story_id}: a body of {n} characters is over the "
                                    f"model's max_length of {self.nlp.max_length}")
        prepared = [self._prepare(s) for s in stories]
        self.over_budget = [_keep_within(st.candidates, self.max_sentences) for st in prepared]
        # One Doc per story holding only its trigger sentences, with the sentence boundaries preset
        # (the parser keeps them): far fewer, larger Docs than one per sentence, the same parses.
        batch: list[tuple[list[_Sentence], Doc, list[tuple[int, int]]]] = []
        for st in prepared:
            for group in _chunks(st.candidates, st.body, _MAX_DOC_CHARS):
                texts = [st.body[s.start:s.end] for s in group]
                offsets: list[tuple[int, int]] = []
                pos = 0
                for t in texts:
                    offsets.append((pos, pos + len(t)))
                    pos += len(t) + 1
                doc = self.nlp.make_doc(" ".join(texts))
                preset_sentence_starts(doc, {a for a, _ in offsets})
                batch.append((group, doc, offsets))
        parsed = run_pipeline(self._pipeline, (doc for _, doc, _ in batch), batch_size=8)
        for (group, _, offsets), doc in zip(batch, parsed, strict=True):
            spans = [doc.char_span(a, b, alignment_mode="expand") for a, b in offsets]
            for sent, sent_doc in zip(group, sentence_docs(doc, spans), strict=True):
                sent.doc = sent_doc
        todo = sum(len(st.candidates) for st in prepared)
        too_long = sum(st.too_long for st in prepared)
        skipped = sum(len(st.sentences) for st in prepared) - todo - too_long - sum(self.over_budget)
        return [self._claims(st) for st in prepared], todo, skipped, too_long

    # ------------------------------------------------------------------ pass 1
    def _prepare(self, unique: UniqueStory) -> _Story:
        body = unique.story.body or ""
        paragraphs = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", body)]
        dateline_end = 0
        if paragraphs:
            m = _DATELINE.match(body, paragraphs[0][0])
            if m and len(m.group(0).split()) <= 14:
                dateline_end = m.end()
        local = story_places(body, self.gazetteer.nationalities)
        sentences: list[_Sentence] = []
        candidates: list[_Sentence] = []
        mentions: list[Place] = []
        too_long = 0
        context_paras: dict[int, Counter[str]] = {}
        story_context: Counter[str] = Counter()
        prefilter = self.patterns.prefilter
        para_texts = [body[a:b] for a, b in paragraphs]
        tokenizer: Any = self.nlp.tokenizer  # spaCy types it as a plain callable; it has .pipe
        for pi, pdoc in enumerate(tokenizer.pipe(para_texts)):
            pstart = paragraphs[pi][0]
            # one strong word, or two weak ones, make a paragraph about armed conflict
            # 'fought like soldiers', 'as a general': a simile is not armed conflict
            words = [t.lower_ for t in pdoc if not (t.i > 0 and pdoc[t.i - 1].lower_ in ("like", "as"))]
            words += [f"{a} {b}" for a, b in pairwise(words)]
            found: Counter[str] = Counter({w: 3 for w in words if w in self._context_forms})
            found.update({w: 1 for w in words if w in self._weak_forms and w not in found})
            context_paras[pi] = found
            # only strong words make the whole story about conflict: business has its 'battles'
            # and 'offensives' in every paragraph
            story_context.update({w: 1 for w in words if w in self._context_forms})
            mentions.extend(p for p in self.gazetteer.find(pdoc, local, offset=pstart)
                            if p.start >= dateline_end)
            if _BOILERPLATE.match(para_texts[pi].strip()):
                continue
            self._sentencizer(pdoc)
            carry: int | None = None
            for sent in pdoc.sents:
                start, end = max(pstart + sent.start_char, dateline_end), pstart + sent.end_char
                if carry is not None:
                    start, carry = min(start, carry), None
                text = body[start:end]
                stripped = text.strip()
                # the splitter leaves the opening quote of the next sentence at the end of this one
                if len(stripped) > 1 and stripped[-1] in _QUOTES and stripped[-2].isspace():
                    carry = start + (len(text) - len(text.lstrip())) + len(stripped) - 1
                    stripped = stripped[:-1].rstrip()
                if not stripped:
                    continue
                start += len(text) - len(text.lstrip())
                s = _Sentence(start, start + len(stripped), pi)
                sentences.append(s)
                if not any(t.lower_ in prefilter for t in sent) \
                        or not _overlaps(s.start, s.end, unique.changed_spans):
                    continue
                # a one-line heading ('Kurdish militia') asserts nothing
                if len(sent) < 6 and not stripped.endswith((".", "!", "?", '"', "”")):
                    continue
                if s.end - s.start > MAX_SENTENCE_CHARS:
                    too_long += 1  # not a news sentence: a list or a text without full stops
                    continue
                candidates.append(s)
        person_names = {p.text for p in mentions if _after_first_name(body, p.start)}
        mentions = [p for p in mentions if p.text not in person_names]
        return _Story(unique, body, paragraphs, sentences, local, mentions, context_paras, story_context,
                      dominant_place(mentions), dateline_end, candidates, person_names=person_names,
                      too_long=too_long)

    # ------------------------------------------------------------------ pass 2
    def _claims(self, st: _Story) -> list[Claim]:
        out: list[Claim] = []
        for s in st.candidates:
            if s.doc is not None:
                _repair_trailing_speaker(s.doc, self._reporting)
        parsed = [(s, s.doc, self._places(st, s.doc)) for s in st.candidates if s.doc is not None]
        # a name found as a place by syntax in one sentence ('control of Wad Madani') is a place in
        # every sentence of the story ('Wad Madani had become a refuge')
        learned = {p.text: PlaceInfo(p.text, p.key, p.rank) for _, _, places in parsed for p in places
                   if p.rank == RANK_LOCAL and p.text not in st.local and p.text[:1].isupper()
                   and "+" not in p.key and p.text not in st.person_names and not _named_person(st.body, p.text)}
        if learned:
            st.local.update(learned)
            parsed = [(s, d, self._places(st, d)) for s, d, _ in parsed]
            body_doc: Any = self.nlp.tokenizer(st.body)
            st.mentions = [p for p in self.gazetteer.find(body_doc, st.local)
                           if p.start >= st.dateline_end and p.text not in st.person_names]
        # places only the parsed sentences reveal ('in Rafah' that no gazetteer knows) count too
        # when choosing the story's main place
        extra = [Place(s.start + p.start, s.start + p.end, p.text, p.key, p.rank, p.population)
                 for s, _, places in parsed for p in places]
        seen = [(p.start, p.end) for p in st.mentions]
        merged = st.mentions + [p for p in extra if not any(a < p.end and p.start < b for a, b in seen)]
        st.dominant = dominant_place(sorted(merged, key=lambda p: p.start))
        for sent, doc, places in parsed:
            out.extend(self._sentence_claims(st, sent, doc, places))
        # what the ledger compares, read once here, where the story's other claims are known
        return story_facts(out)

    def _sentence_claims(self, st: _Story, sent: _Sentence, doc: Doc, places: list[Place]) -> list[Claim]:
        triggers, meta = self.finder.find(doc)
        if meta:
            return []
        chosen: dict[str, tuple[Trigger, str, bool, Attribution]] = {}
        quoted: str | None = None
        for trig in triggers:
            verdict = self._check(st, sent, trig, places)
            if verdict is None:
                continue
            category, hedged = verdict
            if category in chosen:
                continue
            att = attribute(trig.token, self._reporting, self._denial)
            if att.speaker is None and quoted is None:
                quoted = self._quote_speaker(st, sent) or ""
            reason = uncommitted(trig.token, category, att, att.speaker or quoted, self._reporting)
            if reason is not None:
                log.debug("%s@%d: %r is not a claim (%s)", st.unique.story.story_id, sent.start, trig.token.text,
                          reason)
                continue
            chosen[category] = (trig, category, hedged, att)
        if not chosen:
            return []
        located: list[tuple[Trigger, str, bool, Attribution, Place | None, int]] = []
        for trig, category, hedged, att in chosen.values():
            loc, strength = self._location(st, sent.start, doc, trig, places, att, category)
            loc = _part_of(doc, trig.token, loc)
            located.append((trig, category, hedged, att, loc, strength))
        # a trigger with no place of its own shares the place another event in the sentence is about
        strongest = max(located, key=lambda x: x[5])
        claims: list[Claim] = []
        for trig, category, hedged, att, loc, strength in located:
            if strength < _STRONG <= strongest[5]:
                loc = strongest[4]
            claims.append(self._build(st, sent, doc, trig, category, hedged, att, loc, places))
        if strongest[5] >= _SENTENCE and strongest[4] is not None:
            st.last_location = strongest[4]
            st.last_located = (sent.end, frozenset(c.category for c in claims))
        return claims

    # ------------------------------------------------------------------ rules
    def _check(self, st: _Story, sent: _Sentence, trig: Trigger,
               places: list[Place]) -> tuple[str, bool] | None:
        """(category, hedged) when the trigger asserts or denies an event, None when it does not."""
        tok, rule = trig.token, trig.rule
        category = rule.event_type.category
        # (a 'modifier' after its noun is a misparse: 'RSF shelling killed seven')
        mod = _first_conjunct(tok)  # 'nuclear and missile programmes': a conjunct of a modifier is one
        if mod.dep_ in ("amod", "compound") and rule.lemmas and mod.i < mod.head.i and not (
                mod.dep_ == "compound" and mod.head.lemma_.lower() in _WEAPON_HEADS):
            return None  # 'rebel-held', 'besieged enclave', 'refugee agency' (but 'artillery fire')
        req = rule.require
        if "context" in req and not (self._conflict(st, sent.para, tok) or self._armed_participant(
                tok, with_arms=category != "territory_control")):
            return None
        if "as_subject" in req and not (tok.dep_ == "nsubj" or (
                tok.dep_ == "pobj" and tok.head.dep_ == "agent")):
            return None  # 'bombers blew themselves up', not 'police arrested a bomber'
        if not self._real_event(tok, category, places):
            return None
        if rule.preps and not self._has_prep(tok, rule.preps):
            return None
        if "place" in req and not self._object_is_place(tok, places, rule.preps, rule.place_preps):
            return None
        if "place_subject" in req and not self._subject_is_place(tok, places):
            return None
        if "people" in req and not self._has_people(tok, civilians=category == "displacement"):
            return None
        if "people_object" in req and not self._has_people(tok, ("dobj", "nsubjpass")):
            return None
        if "people_subject" in req and not self._has_people(tok, ("nsubj",)):
            return None
        if "subject" in req and not any(c.dep_ in ("nsubj", "agent") for c in tok.children):
            return None  # 'forces destroyed X' (not a gerund tacked on: 'after ... destroying their weapons')
        # the definite event noun that only causes another ('fled the fighting')
        if (tok.pos_ == "NOUN" and tok.dep_ in ("nsubj", "dobj")
                and any(c.dep_ == "det" and c.lower_ in ("the", "this", "that") for c in tok.children)
                and tok.head.lemma_ in self.patterns.words("cause_heads")):
            return None
        if tok.dep_ in ("pobj", "pcomp") and tok.head.head.pos_ == "NOUN" \
                and tok.head.head.lemma_.lower() in self.patterns.words("plan_nouns"):
            return None  # 'talks on a ceasefire', 'calls for a truce', 'fears of an offensive'
        if self._background(tok, category):
            return None
        if category == "territory_control" and any(
                c.dep_ in ("nsubjpass", "dobj") and c.lemma_.lower() in self.patterns.words("civilian_nouns")
                for c in tok.children):
            return None  # 'residents were evacuated from X' moves people, not a front line
        if category != "ceasefire" and any(
                a.lemma_.lower() in self._ceasefire_words
                for a in list(tok.ancestors)[:3] if a.pos_ == "NOUN"):
            return None  # 'a moratorium on air strikes' is a truce, not an attack
        hedged = False
        node: Token = tok
        child: Token | None = None
        words = self.patterns.words
        while True:
            if child is not None and child.dep_ == "advcl" and any(
                    c.dep_ == "mark" and c.lower_ in _FACTUAL_MARKS
                    for c in child.children):
                break  # 'after forces overran X': a fact presupposed, whatever the main clause says
            if child is not None and child.dep_ == "nsubj" and node.lemma_ in self._reporting \
                    and _speaker_subject(node) == child:
                return None  # inside the speaker's phrase ('officials in two rebel groups fighting in X')
            auxes = [c for c in node.children if c.dep_ == "aux"]
            for a in auxes:
                if a.lower_ in words("hypothetical_modals"):
                    return None
                if a.lower_ in words("hedge_modals"):
                    if any(b.lemma_ == "have" for b in auxes) or node.tag_ == "VBN":
                        hedged = True
                    else:
                        return None
            if any(c.dep_ == "mark" and c.lower_ in ("if", "unless", "whether") for c in node.children):
                return None
            if node.pos_ in ("VERB", "AUX") and node.dep_ != "relcl" and any(
                    c.dep_ in ("nsubj", "nsubjpass", "dobj", "advmod") and c.left_edge.lower_ in _WH
                    for c in node.children):
                return None  # an indirect question ('did not say how many had been killed') asserts nothing
            if any(c.dep_ == "advcl" and c.lemma_ in ("confirm", "verify", "true", "accurate") and any(
                    m.lower_ == "if" for m in c.children) for c in node.children):
                hedged = True  # 'X fell, if confirmed, ...'
            if node != tok and node.lemma_ in words("hypothetical_heads") and child is not None and (
                    child.dep_ in _CLAUSAL or (child.dep_ == "dobj" and node.lemma_ in _FEAR_VERBS)):
                # 'preparing to launch an offensive', 'fear attacks' (but 'agreed to a ceasefire'
                # and 'sought refuge' happened)
                return None
            if node != tok and node.lemma_ in words("attempt_heads") and category == "territory_control":
                category = "attack"
            relative = node.dep_ == "relcl" or (node.dep_ in ("ccomp", "acl") and any(
                c.dep_ in ("nsubj", "nsubjpass") and c.lower_ in ("that", "which") for c in node.children))
            if relative and category == "territory_control" and (tok.lemma_ in _STATE_LEMMAS or rule.trigger):
                return None  # 'districts that remain in rebel hands': standing geography
            if node.lemma_ in self._reporting and node != tok:
                break
            if node.head == node or (node.dep_ == "conj" and node.pos_ in ("VERB", "AUX")):
                break  # 'trying to take it, but it's still with the rebels': a clause of its own
            child, node = node, node.head
        if any(t.lower_ in words("hedge_words") for t in tok.doc):
            hedged = True
        return category, hedged

    def _armed_participant(self, tok: Token, with_arms: bool = True) -> bool:
        """The event names its own weapon or armed actor ('suicide bombers blew themselves up', 'a
        grenade attack', 'armed men attacked', 'a bomb exploded', 'killed in attacks by bandits'): armed
        violence, even in a two-line report with no other war word.  Its object does not count:
        'destroyed explosives' and 'arrested militants' are not violence by their object.  Without
        ``with_arms`` only an armed actor counts ('the fighters entered X', not 'armed robbers entered')."""
        armed = self.patterns.words("armed_actors")
        if with_arms:
            armed = armed | self.patterns.words("arms")
        who: list[Token] = []
        for c in tok.children:
            if c.dep_ in ("nsubj", "nsubjpass", "compound", "amod", "nmod", "poss", "npadvmod"):
                who.append(c)
            elif c.dep_ == "agent" or (c.dep_ == "prep" and c.lower_ in ("by", "with")):
                who.extend(x for x in c.children if x.dep_ == "pobj")
            elif c.dep_ == "acl" and c.lemma_ in ("use", "involve", "employ"):
                who.extend(x for x in c.children if x.dep_ == "dobj")  # 'attacks using grenades'
        if tok.dep_ in ("acl", "relcl"):
            who.append(tok.head)  # 'an explosive device that detonated'
        verb = tok.head.head if tok.dep_ == "pobj" else tok.head if tok.dep_ in ("dobj", "nsubjpass") else None
        if verb is not None and verb.pos_ in ("VERB", "AUX"):
            # 'bandits killed seven people in attacks', 'bombers carried out an attack', 'the attacks
            # were carried out with grenades'
            who.extend(c for c in verb.children if c.dep_ in ("nsubj", "agent"))
            who.extend(x for c in verb.children if c.dep_ == "prep" and c.lower_ in ("with", "using")
                       for x in c.children if x.dep_ == "pobj")
        for w in who:
            if w.dep_ == "agent":
                w = next((x for x in w.children if x.dep_ == "pobj"), w)
            if w.lemma_.lower() in armed or w.lower_ in armed or any(
                    g.dep_ in ("compound", "amod") and g.lemma_.lower() in armed for g in w.children):
                return True
        return False

    def _real_event(self, tok: Token, category: str, places: list[Place]) -> bool:
        """False when the trigger names no event that took place, or none of its category: a
        potential or simulated one ('a possible attack', 'an airstrike by a mock enemy'), one a witness
        did not perceive ('he didn't hear a gunshot'), a truce under discussion ('met to discuss a
        ceasefire'), police work ('detained 12 people in overnight raids', 'fired tear gas'), weapons
        handled rather than used ('rockets were found', 'destroyed 342 mines'), and movement that holds
        no ground ('planes entered the air defence zone', 'students marched through the capital')."""
        words = self.patterns.words
        # (the parser often hangs 'by a mock enemy' on the verb whose object the event is)
        holders = [tok, tok.head] if tok.dep_ == "dobj" else [tok]
        agents = [x for h in holders for c in h.children if c.dep_ == "agent" or (
            c.dep_ == "prep" and c.lower_ == "by") for x in c.children if x.dep_ == "pobj"]
        if any(c.dep_ in ("amod", "compound") and c.lower_ in words("unreal_modifiers")
               for a in [tok, *agents] for c in a.children):
            return False
        if tok.dep_ in ("dobj", "ccomp") and tok.head.lemma_.lower() in words("perception_verbs") and any(
                c.dep_ == "neg" for c in tok.head.children):
            return False  # what a witness missed is no evidence either way
        if tok.dep_ == "dobj" and tok.head.lemma_.lower() in words("discussion_verbs"):
            return False  # as 'talks on a ceasefire'
        if category == "territory_control":
            return not any(c.dep_ == "nsubj" and (_names(c, words("vehicle_nouns")) or _counted(
                c).lemma_.lower() in words("civilian_nouns")) for c in tok.children)
        if category != "attack":
            return True
        # the noun only says how an arrest or a seizure of things (not of ground) was made
        if tok.dep_ == "pobj" and tok.head.lower_ in ("in", "during", "through", "amid") \
                and self._law_enforcement(tok.head.head, places):
            return False
        # a raid or an operation whose own clause reports an arrest or a seizure ('an operation was
        # conducted when two firearms were seized', 'raids in which 12 people were detained')
        if tok.lemma_.lower() in words("police_action_nouns") and any(
                c.dep_ in ("advcl", "conj", "relcl", "acl") and self._law_enforcement(c, places)
                for c in [*tok.children, *(tok.head.children if tok.dep_ in ("nsubj", "nsubjpass", "dobj")
                                           else ())]):
            return False
        np = tok.head if tok.dep_ == "compound" else tok  # 'two rocket shells'
        if np.dep_ in ("dobj", "nsubjpass") and _names(np, words("weapon_nouns")) \
                and np.head.lemma_.lower() not in words("weapon_use_verbs"):
            return False  # a weapon found, seized, stored or supplied
        objects = [c for c in tok.children if c.dep_ in ("dobj", "nsubjpass")]
        lemma = tok.lemma_.lower()
        if lemma in words("disposal_verbs") and any(_names(c, words("weapon_nouns")) for c in objects):
            return False  # 'destroyed 342 mines'
        # 'police fired tear gas': crowd control
        return not (lemma in words("weapon_use_verbs") and any(_names(c, words("riot_control")) for c in objects))

    def _law_enforcement(self, verb: Token, places: list[Place]) -> bool:
        """``verb`` reports an arrest or a seizure of things, not of ground ('seized the town')."""
        words = self.patterns.words
        return verb.pos_ in ("VERB", "AUX") and verb.lemma_.lower() in words("law_enforcement_verbs") \
            and not any(c.dep_ in ("dobj", "nsubjpass") and _names_place(c, places, words("place_nouns"))
                        for c in verb.children)

    def _conflict(self, st: _Story, para: int, tok: Token) -> bool:
        """The paragraph (or, with strong words, the story) is about armed conflict -- not counting
        the trigger's own word: a tariff dispute's 'truce' does not make itself a war."""
        # (only truce words: 'wounded' and 'casualties' are rarely figurative)
        own = tok.lower_ if tok.lower_ in self._ceasefire_forms else ""
        para_words = st.context_paras.get(para, Counter())
        if sum(n for w, n in para_words.items() if w != own) >= 3:
            return True
        return sum(n for w, n in st.story_context.items() if w != own) >= 2

    def _background(self, tok: Token, category: str) -> bool:
        """An attack or truce noun that only dates or explains another event is not a new claim:
        'since the fighting reached it', 'in the days before the assault', 'killed in the strikes',
        'Before the ceasefire, the rebels had taken X'."""
        # the small model tags 'fighting' as a VERB even as a subject ('since fighting resumed')
        nominal = tok.pos_ == "NOUN" or (tok.tag_ == "VBG" and tok.dep_ in ("nsubj", "nsubjpass", "dobj", "pobj"))
        if not nominal or category not in ("attack", "ceasefire"):
            return False
        definite = any(c.dep_ in ("det", "poss") and c.lower_ in ("the", "this", "that", "these", "those", "its")
                       for c in tok.children)
        if definite and tok.dep_ == "pobj":
            return True
        if not definite and tok.dep_ == "dobj" and tok.head.lemma_.lower() in self.patterns.words("light_verbs"):
            return False  # 'after Assad carried out a gas attack': a clause that asserts the attack
        for anc in [tok, *tok.ancestors]:
            if anc.pos_ in ("VERB", "AUX") and any(c.dep_ == "mark" and c.lower_ in _TIME_PREPS
                                                   for c in anc.children):
                return True
            if anc.dep_ in ("ROOT",) or (anc.dep_ in ("ccomp", "conj") and anc.pos_ in ("VERB", "AUX")):
                return False
        return False

    def _has_prep(self, tok: Token, preps: frozenset[str]) -> bool:
        heads = [tok]
        if tok.dep_ == "dobj" and tok.head.lemma_.lower() in self.patterns.words("light_verbs"):
            heads.append(tok.head)  # 'carried out sorties over X': the parser hangs 'over' on the verb
        return any(c.lower_ in preps and c.dep_ in ("prep", "prt", "advmod") for h in heads for c in h.children)

    def _place_like(self, t: Token, places: list[Place], depth: int = 0) -> bool:
        if depth > 2:
            return False
        if any(p.start <= t.idx < p.end for p in places):
            return True
        if t.ent_type_ in ("GPE", "LOC", "FAC"):
            return True
        lemma = t.lemma_.lower()
        if t.pos_ in ("NOUN", "PROPN") and lemma in self.patterns.words("place_nouns"):
            return True
        # unknown towns come out of the small model as ORG, NORP or even PERSON ('Aleppo'); a lone
        # capitalised name is taken as a place unless it is part of a longer person's name
        if name_like(t, place_slot=True):
            return True
        if t.lower_ == "it":
            return True  # 'trying to take it': the place named before
        if t.lower_ in ("which", "that") and t.head.dep_ == "relcl":
            return self._place_like(t.head.head, places, depth + 1)
        if lemma in self.patterns.words("part_nouns") or t.like_num:
            for prep in t.children:
                if prep.dep_ == "prep" and prep.lower_ == "of":
                    for obj in prep.children:
                        if obj.dep_ == "pobj" and self._place_like(obj, places, depth + 1):
                            return True
        # 'the Haidariya and Sheikh Khodr districts', 'X and Y'
        return t.pos_ == "PROPN" and any(
            c.dep_ == "conj" and self._place_like(c, places, depth + 1) for c in t.children)

    def _object_is_place(self, tok: Token, places: list[Place], preps: frozenset[str],
                         place_preps: frozenset[str] = frozenset()) -> bool:
        """The trigger acts on a place: 'took the district', 'capture of X', 'advanced into X'."""
        objs: list[Token] = []
        verb = tok.pos_ in ("VERB", "AUX")
        for c in tok.children:
            if c.dep_ in ("dobj", "nsubjpass", "attr", "oprd"):
                objs.append(c)
            elif c.dep_ in ("prep", "prt", "advmod") and (
                    c.lower_ in preps if preps else (c.lower_ in _APPROX_PREPS or c.lower_ in place_preps or (
                        not verb and c.lower_ in ("of", "on", "against", "over")))):
                objs.extend(x for x in c.children if x.dep_ == "pobj")
                # 'closed in on X', 'pushed deeper into X'
                for x in c.children:
                    if x.dep_ == "prep":
                        objs.extend(y for y in x.children if y.dep_ == "pobj")
        if tok.dep_ == "relcl" and tok.head.pos_ in ("NOUN", "PROPN"):
            objs.append(tok.head)  # 'Minian, which was taken by rebels'
        parts = self.patterns.words("part_nouns")
        for o in list(objs):
            if o.lemma_.lower() in parts and not any(c.lower_ == "of" for c in o.children):
                # 'took control by force of several areas': an adjunct pushed the 'of' phrase away
                # from its noun, and the parser hung it on the adjunct
                for x in o.doc[o.i + 1:min(o.i + 5, len(o.doc))]:
                    if x.lower_ == "of" and x.dep_ == "prep" and tok.is_ancestor(x):
                        objs.extend(y for y in x.children if y.dep_ == "pobj")
                        break
        return any(self._place_like(o, places) for o in objs)

    def _subject_is_place(self, tok: Token, places: list[Place]) -> bool:
        for c in tok.children:
            if c.dep_ in ("nsubj", "nsubjpass") and (c.lower_ == "it" or self._place_like(c, places)):
                return True
        # 'the fall of Minian'
        return tok.pos_ == "NOUN" and self._object_is_place(tok, places, frozenset({"of"}))

    def _has_people(self, tok: Token, deps: tuple[str, ...] = ("nsubj", "nsubjpass", "dobj"),
                    civilians: bool = False) -> bool:
        people = self.patterns.words("people_nouns")
        args = [c for c in tok.children if c.dep_ in deps]
        if tok.dep_ == "relcl" and "nsubj" in deps:
            args.append(tok.head)
        if tok.dep_ in ("xcomp", "conj") and not any(c.dep_.startswith("nsubj") for c in tok.children):
            args.extend(c for c in tok.head.children if c.dep_ in deps)
        for a in args:
            if civilians and a.lemma_.lower() in _MILITARY:
                continue  # 'expelled French troops' moves an army, not a population
            if a.lemma_.lower() in people or a.lower_ in people or a.like_num:
                return True
            if any(c.dep_ == "nummod" or c.like_num for c in a.children):
                return True
        return False

    # ------------------------------------------------------------------ fields
    def _places(self, st: _Story, doc: Doc) -> list[Place]:
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
                return bool({lemma, gov.head.lemma_.lower()} & {"leave", "flee", "head", "depart", "escape"})
            return False
        if t.dep_ in ("compound", "nmod") and head.pos_ == "NOUN" and (
                head.lemma_.lower() in self.patterns.words("place_nouns") or head.lemma_.lower() in PLACE_HEADS):
            return self._place_slot(head) or head.dep_ in ("dobj", "nsubjpass")  # 'the X police station'
        if t.dep_ == "nsubj" and head.lemma_ in ("fall", "remain"):
            return True  # 'X fell', 'X remained under army control'
        if t.dep_ in ("dobj", "nsubjpass") and head.pos_ == "VERB":
            return head.lemma_.lower() in self._territory_lemmas
        return False

    def _build(self, st: _Story, sent: _Sentence, doc: Doc, trig: Trigger, category: str, hedged: bool,
               att: Attribution, location: Place | None, places: list[Place]) -> Claim:
        tok = trig.token
        speaker = att.speaker
        if speaker is None:
            speaker = self._quote_speaker(st, sent)
        if speaker is not None and is_pronoun(speaker.split(",")[0]) and st.persons:
            speaker = self._resolve_pronoun(st, speaker)
        elif speaker is not None:
            speaker = self._expand_surname(st, speaker)
            speaker = self._resolve_generic(st, speaker)
        if speaker and not is_pronoun(speaker) and speaker.lower() not in _GENERIC_SPEAKERS:
            st.speakers.append(speaker)
        if att.speaker_is_person and speaker and not is_pronoun(speaker):
            st.persons.append(speaker)
        negated = is_negated(tok)
        polarity = "denied" if att.denied != negated else "asserted"
        modality = "hedged" if hedged else ("reported" if (speaker or att.reported) else "certain")
        times = find_times(doc.text, st.unique.story.published)
        when = self._pick_time(doc, tok, times)
        quantity = self._quantity(doc, tok, category, places, times)
        actor, target = _actor(tok), _target(tok)
        if actor is not None and actor.lower() in ("it", "we") and att.verb is not None and att.speaker:
            actor = att.speaker.split(",")[0]  # 'the army said it had taken X'

        story = st.unique.story
        et = trig.event_type
        return Claim.capped(
            claim_id=Claim.make_id(story.story_id, sent.start, sent.end, category, tok.text),
            story_id=story.story_id,
            story_url=story.url,
            source=story.outlet,
            feed_id=story.feed_id,
            published=story.published,
            cluster_id=st.unique.cluster_id,
            sentence=st.body[sent.start:sent.end],
            sentence_start=sent.start,
            sentence_end=sent.end,
            category=category,
            event_type=et.name if category == et.category else "attempt",
            cameo=et.cameo if category == et.category else "190",
            acled=et.acled_for(actor) if category == et.category else "Battles / Armed clash",
            trigger=tok.text,
            actor=actor,
            target=target,
            location=location.text if location else None,
            location_key=location.key if location else None,
            time=when.iso if when else None,
            time_text=when.text if when else None,
            quantity=quantity,
            polarity=polarity,
            modality=modality,
            attributed_to=speaker,
            extracted_at=utcnow(),
        )

    def _location(self, st: _Story, sent_start: int, doc: Doc, trig: Trigger, places: list[Place],
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
            usable = [p for p in usable if not self._venue(doc, p)]
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
            return min(attached, key=lambda a: (a[2], -a[0].rank))[0], _ATTACHED
        arg = argument_place(tok)
        if arg is not None:
            return arg, _ARGUMENT
        if self._anaphoric_argument(tok):
            # 'smuggled out of Timbuktu ... after jihadists captured the city': the place just named
            here = [p for p in usable if p.end <= tok.idx and not is_subject(doc, p)]
            if here:
                return here[-1], _ANAPHOR
            before = [p for p in st.mentions if p.end <= sent_start]
            if st.last_location is not None or before:
                return self._referent(st, doc, before), _ANAPHOR
        # the place that is the actor ('Damascus and its allies', 'Russia says') is not where it happened
        inside = [p for p in usable if not is_subject(doc, p)]
        if inside and category != "ceasefire":
            return inside[0], _SENTENCE
        if any(refers_back(t, category) for t in doc):
            before = [p for p in st.mentions if p.end <= sent_start]
            if st.last_location is not None or before:
                return self._referent(st, doc, before), _ANAPHOR
        if st.last_location is not None and self._continues(st, sent_start, category):
            return st.last_location, _ANAPHOR
        return st.dominant, _STORY

    @staticmethod
    def _continues(st: _Story, sent_start: int, category: str) -> bool:
        """Discourse continuity: a toll with no place of its own right after the sentence that reported
        the attack or the toll at a place counts that event's dead ('A shell hit the Mugunga camp,
        killing five.  Health workers put the number of dead at ten to fifteen.')."""
        if st.last_located is None or category != "casualties":
            return False
        end, categories = st.last_located
        previous = [s for s in st.sentences if s.end <= sent_start]
        return bool(categories & {"attack", "casualties"}) and bool(previous) and previous[-1].end == end

    def _referent(self, st: _Story, doc: Doc, before: list[Place]) -> Place:
        """What 'the city' / 'the camp' points back to: the previous claim's place, unless 'the city'
        would then be a camp or a district -- then the last city named."""
        ref = st.last_location or before[-1]
        if any(t.lemma_.lower() in ("city", "capital") and is_anaphor(t) for t in doc) and ref.rank != RANK_CITY \
                and _smaller_than_a_city(st.body, ref.text):
            cities = [p for p in before if p.rank == RANK_CITY]
            if cities:
                return cities[-1]
        return ref

    def _venue(self, doc: Doc, p: Place) -> bool:
        """'brokered by Angola', 'a summit in Djibouti', 'talks in Doha': a mediator or a venue."""
        span = doc.char_span(p.start, p.end, alignment_mode="expand")
        if span is None:
            return False
        root = span.root
        for a in [root, *list(root.ancestors)[:4]]:
            if a.dep_ == "pobj" and a.head.lower_ == "by":
                return True
            if a.lemma_.lower() in ("summit", "talk", "meeting", "negotiation", "conference", "broker",
                                    "mediate", "mediator", "host", "sign"):
                return True
        return False

    def _anaphoric_argument(self, tok: Token) -> bool:
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

    def _quote_speaker(self, st: _Story, sent: _Sentence) -> str | None:
        """Inside a quote that a later '..., he said' closes in the same paragraph."""
        pa, pb = st.paragraphs[sent.para]
        before = st.body[pa:sent.start]
        inside = (sum(before.count(q) for q in _QUOTES) % 2 == 1
                  or st.body[sent.start:sent.start + 1] in _QUOTES)
        if not inside:
            return None
        m = _TAIL_SPEAKER.search(st.body, sent.start, pb)
        if not m:
            # '"X," he said. "Y."': the quote goes on after its attribution
            earlier = list(_TAIL_SPEAKER.finditer(st.body, pa, sent.start))
            if not earlier:
                return None
            m = earlier[-1]
        who = (m.group("who1") or m.group("who2") or "").strip()
        who = re.sub(r"^(?:the|The)[ ]", "", who)
        return who or None

    def _resolve_generic(self, st: _Story, speaker: str) -> str:
        """'the alliance said', 'the statement said': the organisation named before ('CSP rebel alliance')."""
        low = speaker.lower()
        if low in ("statement", "report", "communique", "communiqué", "release"):
            return st.speakers[-1] if st.speakers else speaker
        if low not in _GENERIC_SPEAKERS and not (low.split()[-1] in _GENERIC_SPEAKERS and low.islower()):
            return speaker
        head = low.split()[-1]
        for prev in reversed(st.speakers):
            words = prev.lower().split(",")[0].split()
            if head in words and prev.lower() != low:
                return prev
        return speaker

    def _resolve_pronoun(self, st: _Story, speaker: str) -> str:
        head = speaker.split(",")[0].lower()
        if head in ("he", "she") and st.persons:
            return st.persons[-1]
        return speaker

    def _expand_surname(self, st: _Story, speaker: str) -> str:
        """'Malahifji' said earlier as 'Zakaria Malahifji, head of ...': use the full first mention."""
        first = speaker.split(",")[0].strip()
        if " " in first:
            return speaker
        for p in st.persons:
            name = p.split(",")[0]
            if name != first and name.endswith(" " + first):
                return p
        return speaker

    def _pick_time(self, doc: Doc, tok: Token, times: list[TimeExpr]) -> TimeExpr | None:
        best: tuple[int, TimeExpr] | None = None
        for t in times:
            span = doc.char_span(t.start, t.end, alignment_mode="expand")
            if span is None:
                continue
            root = span.root
            # 'the United Nations said last week', 'on Wednesday denied that X had fallen': it dates
            # the statement, not the event it reports or denies (which may be days older).  An event
            # noun the statement names ('announced the capture of X on Monday') shares its day.
            verb = next((a for a in root.ancestors if a.pos_ in ("VERB", "AUX")), None)
            if verb is not None and verb != tok and verb.lemma_ in self._reporting and (
                    verb.lemma_ in ("say", "tell") or not (tok.head == verb and tok.dep_ == "dobj")):
                continue
            score = 0 if tok.is_ancestor(root) else abs(root.i - tok.i) + 1
            if best is None or score < best[0]:
                best = (score, t)
        return best[1] if best else None

    def _quantity(self, doc: Doc, tok: Token, category: str, places: list[Place],
                  times: list[TimeExpr]) -> Quantity | None:
        if category not in ("casualties", "displacement"):
            return None
        people = self.patterns.words("people_nouns") | {"dead", "killed", "wounded", "injured"}
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


_TOLL_NOUNS = frozenset({"toll", "number", "figure", "count", "tally", "total"})
_TOLL_UNITS = frozenset({"dead", "killed", "wounded", "injured"})


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
        elif c.dep_ == "prep" and c.lower_ == "of" and (arg.like_num or arg.pos_ == "NUM" or arg.lemma_.lower() in (
                "dozen", "dozens", "hundred", "hundreds", "thousand", "thousands", "score", "scores")):
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


# ---------------------------------------------------------------------- helpers
_FACILITIES = lexicon.words("facility_nouns")
_ADMIN_AREAS = lexicon.words("admin_area_nouns")


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


def _part_of(doc: Doc, tok: Token, loc: Place | None) -> Place | None:
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


def _keep_within(candidates: list[_Sentence], budget: int | None) -> int:
    """Keep the first ``budget`` sentences; how many were left out."""
    if budget is None or len(candidates) <= budget:
        return 0
    over = len(candidates) - budget
    del candidates[budget:]
    return over


def _chunks(sentences: list[_Sentence], body: str, limit: int) -> list[list[_Sentence]]:
    """Groups of consecutive sentences whose joined text stays under ``limit`` characters."""
    out: list[list[_Sentence]] = []
    size = 0
    for s in sentences:
        n = s.end - s.start + 1
        if not out or size + n > limit:
            out.append([])
            size = 0
        out[-1].append(s)
        size += n
    return out


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


def _after_first_name(body: str, start: int) -> bool:
    """'Lewis Hamilton', 'Keke Rosberg': the place name follows a capitalised word that is a first name."""
    m = _FIRST_NAME.search(body, max(0, start - 30), start)
    if m is None or m.group(1).lower() in STOP_WORDS or m.group(1).lower() in DIRECTIONS:
        return False
    return not (m.start() == 0 or _SENTENCE_START.search(body[max(0, m.start() - 3):m.start()]))


def _named_person(body: str, name: str) -> bool:
    """The story writes the name after a first name somewhere ('Jose Luis Orozco'): a person, so
    'assigned to Orozco' does not make Orozco a place for the whole story."""
    return any(_after_first_name(body, m.start()) for m in re.finditer(rf"\b{re.escape(name)}\b", body))


def _overlaps(start: int, end: int, spans: list[tuple[int, int]] | None) -> bool:
    if spans is None:
        return True
    return any(start < b and a < end for a, b in spans)


def _repair_trailing_speaker(doc: Doc, reporting: frozenset[str]) -> None:
    """'Rebels captured Goma, Congo's army said': the small parser often glues the reported clause's
    last name to a possessive speaker after the comma ('Goma, Congo's army' as one subject, or
    'Goma' as a modifier of 'army'), leaving the verb without its object and the speaker with a
    place in it.  Give the name back to its verb, and the speaker its own head."""
    for v in doc:
        if v.pos_ != "VERB" or v.dep_ != "ccomp" or v.head.lemma_ not in reporting or any(
                c.dep_ in ("dobj", "nsubjpass", "attr", "prep") for c in v.children):
            continue
        end = v.i + 1
        while end < len(doc) and doc[end].pos_ == "PROPN" and doc[end].ent_type_ not in ("DATE", "TIME"):
            end += 1
        if end == v.i + 1 or end >= len(doc) or doc[end].text != ",":
            continue
        name = doc[end - 1]
        subj = next((c for c in v.head.children if c.dep_ == "nsubj" and c.i >= name.i), None)
        if subj is None or not (name == subj or subj.is_ancestor(name)) or name.head.i < name.i:
            continue
        if name == subj:
            appos = next((c for c in name.children if c.dep_ == "appos"), None)
            if appos is None:
                continue
            appos.head, appos.dep_ = v.head, "nsubj"
        name.head, name.dep_ = v, "dobj"
        for t in doc[v.i + 1:end - 1]:
            t.head, t.dep_ = name, "compound"


def _counted(t: Token) -> Token:
    """What an amount counts: 'thousands of students' -> 'students' (else ``t`` itself)."""
    if t.like_num or t.lemma_.lower() in _AMOUNTS:
        return next((x for c in t.children if c.dep_ == "prep" and c.lower_ == "of"
                     for x in c.children if x.dep_ == "pobj"), t)
    return t


def _first_conjunct(tok: Token) -> Token:
    """The first of coordinated words ('nuclear and missile' -> 'nuclear'): it carries their role."""
    while tok.dep_ == "conj" and tok.head != tok:
        tok = tok.head
    return tok


def _names(t: Token, words: frozenset[str]) -> bool:
    """The noun phrase headed by ``t`` names one of ``words``: its head ('mines') or a modifier
    ('explosive devices')."""
    return t.lemma_.lower() in words or any(
        c.dep_ in ("compound", "amod") and c.lemma_.lower() in words for c in t.children)


def _names_place(t: Token, places: list[Place], place_nouns: frozenset[str]) -> bool:
    """``t`` is a known place or a place noun ('seized the town'), not people or things."""
    return t.ent_type_ in ("GPE", "LOC", "FAC") or t.lemma_.lower() in place_nouns or any(
        p.start <= t.idx < p.end for p in places)


def _speaker_subject(verb: Token) -> Token | None:
    subjects = [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")]
    return min(subjects, key=lambda c: abs(c.i - verb.i)) if subjects else None


def _np_text(t: Token) -> str:
    keep = {t.i}
    for c in t.children:
        if c.dep_ in ("compound", "amod", "det", "poss", "nummod", "nmod") or (
                c.dep_ == "prep" and c.lower_ in ("of", "for")):
            keep |= {x.i for x in c.subtree}
    span: Span = t.doc[min(keep):max(keep) + 1]
    text = span.text
    return re.sub(r"^(?:the|The|a|A|an|An)[ ]", "", text)


def _actor(tok: Token) -> str | None:
    if tok.pos_ in ("VERB", "AUX") and tok.lemma_ == "fall":
        # 'X has fallen to Y forces': the holder is Y, X is what changed hands
        return next((_np_text(x) for c in tok.children if c.dep_ == "prep" and c.lower_ == "to"
                     for x in c.children if x.dep_ == "pobj"), None)
    if tok.pos_ in ("VERB", "AUX"):
        for c in tok.children:
            if c.dep_ == "nsubj":
                if c.lower_ in ("which", "who", "that") and tok.dep_ == "relcl":
                    return _np_text(tok.head)
                return _np_text(c)
            if c.dep_ == "agent":
                objs = [x for x in c.children if x.dep_ == "pobj"]
                if objs:
                    return _np_text(objs[0])
        if tok.dep_ in ("xcomp", "conj", "advcl") and tok.head != tok:
            return _actor(tok.head)
        return None
    for c in tok.children:
        if c.dep_ == "poss" or (c.dep_ in ("amod", "compound") and c.ent_type_ in ("NORP", "ORG", "GPE")):
            return _np_text(c)
        if c.dep_ in ("amod", "compound", "nmod") and c.lemma_.lower() in (
                "rebel", "army", "government", "regime", "militant", "insurgent", "russian", "israeli"):
            return c.text
        if c.dep_ == "prep" and c.lower_ == "by":
            objs = [x for x in c.children if x.dep_ == "pobj"]
            if objs:
                return _np_text(objs[0])
    return None


def _target(tok: Token) -> str | None:
    for c in tok.children:
        if c.dep_ in ("dobj", "nsubjpass") or (c.dep_ == "nsubj" and tok.lemma_ == "fall"):
            if c.lower_ in ("which", "that", "who") and tok.dep_ == "relcl":
                return _np_text(tok.head)
            return _np_text(c)
    if tok.pos_ == "NOUN":
        preps: tuple[str, ...] = ("of", "on", "against", "at", "into")
    else:
        preps = ("on", "against", "at", "into", "from")
    for c in tok.children:
        if c.dep_ == "prep" and c.lower_ in preps:
            objs = [x for x in c.children if x.dep_ == "pobj" and x.ent_type_ not in ("DATE", "TIME")]
            if objs:
                return _np_text(objs[0])
    return None


"""Claim extraction: a unique story in, one Claim per (sentence, event category) out.

:class:`Extractor` ties the passes and the rules together; each concern is a module:

1. the first pass (:mod:`.story`): the model's tokenizer and a rule-based sentence splitter
   on the whole body, the dateline and outlet furniture, the gazetteer (:mod:`.places`) on
   every paragraph, and a word pre-filter built from the event patterns (:mod:`.patterns`);
2. the full pipeline (tagger, parser, lemmatizer, NER; :mod:`.fastnlp`, :mod:`.nlp`), one
   Doc per story batched with ``nlp.pipe``, only on sentences that contain a trigger word
   and that the update actually changed;
3. per parsed sentence: the event patterns' triggers, the event checks (:mod:`.checks`),
   event factuality (:mod:`.factuality`), the speaker (:mod:`.attribution`,
   :mod:`.speakers`), the place (:mod:`.claim_places`, :mod:`.location`), the actor,
   target and time (:mod:`.arguments`, :mod:`.timeexpr`) and the count (:mod:`.counts`,
   :mod:`.quantities`).  Word lists are data (``data/lexicon/``, ``data/patterns/``).

Pathological input is bounded (limits in :mod:`wirewatch.limits`): a sentence longer than
``MAX_SENTENCE_CHARS`` is not parsed (spaCy's cost grows faster than linearly with it), and a
body over the model's ``max_length`` is refused with :class:`~wirewatch.errors.StoryTooLarge`;
a story has its first ``Extractor.max_sentences`` event sentences parsed, and a claim's
phrases are cut to their caps (:meth:`~wirewatch.models.Claim.capped`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from ... import metrics
from ...errors import StoryTooLarge
from ...models import Claim, UniqueStory, utcnow
from ...settings import get_settings
from ..ledger.facts import story_facts
from .arguments import actor, event_time, target
from .attribution import Attribution, attribute, is_negated
from .checks import EventChecks
from .claim_places import SENTENCE, STRONG, ClaimPlaces, locate, part_of
from .counts import claim_quantity
from .factuality import uncommitted
from .fastnlp import fast_pipeline, preset_sentence_starts, run_pipeline, sentence_docs
from .location import dominant_place
from .nlp import load_model
from .patterns import PatternSet, Trigger, TriggerFinder, load_patterns
from .places import RANK_LOCAL, Gazetteer, Place, PlaceInfo
from .speakers import claim_speaker, quote_speaker, repair_trailing_speaker
from .story import Sentence, Story, StoryReader, named_person
from .timeexpr import find_times

__all__ = ["Extractor", "load_model"]

log = logging.getLogger(__name__)

# One Doc per story's trigger sentences, split below spaCy's max_length and the parser's comfort.
_MAX_DOC_CHARS = 100_000


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
        self.reader = StoryReader(nlp, self.gazetteer, self.patterns)
        self.checks = EventChecks(self.patterns)
        self.places = ClaimPlaces(self.gazetteer, self.patterns)
        self._reporting = self.patterns.words("reporting_verbs")
        self._denial = self.patterns.words("denial_verbs")

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
        prepared = [self.reader.read(s) for s in stories]
        self.over_budget = [_keep_within(st.candidates, self.max_sentences) for st in prepared]
        # One Doc per story holding only its trigger sentences, with the sentence boundaries preset
        # (the parser keeps them): far fewer, larger Docs than one per sentence, the same parses.
        batch: list[tuple[list[Sentence], Doc, list[tuple[int, int]]]] = []
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

    def prepare(self, story: UniqueStory) -> Story:
        """The first pass alone (:class:`~.story.StoryReader`): the story's sentences and candidates."""
        return self.reader.read(story)

    # ------------------------------------------------------------------ pass 2
    def _claims(self, st: Story) -> list[Claim]:
        out: list[Claim] = []
        for s in st.candidates:
            if s.doc is not None:
                repair_trailing_speaker(s.doc, self._reporting)
        parsed = [(s, s.doc, self.places.find(st, s.doc)) for s in st.candidates if s.doc is not None]
        # a name found as a place by syntax in one sentence ('control of Wad Madani') is a place in
        # every sentence of the story ('Wad Madani had become a refuge')
        learned = {p.text: PlaceInfo(p.text, p.key, p.rank) for _, _, places in parsed for p in places
                   if p.rank == RANK_LOCAL and p.text not in st.local and p.text[:1].isupper()
                   and "+" not in p.key and p.text not in st.person_names and not named_person(st.body, p.text)}
        if learned:
            st.local.update(learned)
            parsed = [(s, d, self.places.find(st, d)) for s, d, _ in parsed]
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

    def _sentence_claims(self, st: Story, sent: Sentence, doc: Doc, places: list[Place]) -> list[Claim]:
        triggers, meta = self.finder.find(doc)
        if meta:
            return []
        chosen: dict[str, tuple[Trigger, str, bool, Attribution]] = {}
        quoted: str | None = None
        for trig in triggers:
            verdict = self.checks.check(st, sent, trig, places)
            if verdict is None:
                continue
            category, hedged = verdict
            if category in chosen:
                continue
            att = attribute(trig.token, self._reporting, self._denial)
            if att.speaker is None and quoted is None:
                quoted = quote_speaker(st, sent) or ""
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
            loc, strength = locate(st, sent.start, doc, trig, places, att, category)
            loc = part_of(doc, trig.token, loc)
            located.append((trig, category, hedged, att, loc, strength))
        # a trigger with no place of its own shares the place another event in the sentence is about
        strongest = max(located, key=lambda x: x[5])
        claims: list[Claim] = []
        for trig, category, hedged, att, loc, strength in located:
            if strength < STRONG <= strongest[5]:
                loc = strongest[4]
            claims.append(self._build(st, sent, doc, trig, category, hedged, att, loc, places))
        if strongest[5] >= SENTENCE and strongest[4] is not None:
            st.last_location = strongest[4]
            st.last_located = (sent.end, frozenset(c.category for c in claims))
        return claims

    def _build(self, st: Story, sent: Sentence, doc: Doc, trig: Trigger, category: str, hedged: bool,
               att: Attribution, location: Place | None, places: list[Place]) -> Claim:
        tok = trig.token
        speaker = claim_speaker(st, sent, att)
        negated = is_negated(tok)
        polarity = "denied" if att.denied != negated else "asserted"
        modality = "hedged" if hedged else ("reported" if (speaker or att.reported) else "certain")
        times = find_times(doc.text, st.unique.story.published)
        when = event_time(doc, tok, times, self._reporting)
        quantity = claim_quantity(doc, tok, category, places, times, self.patterns.words("people_nouns"))
        who, what = actor(tok), target(tok)
        if who is not None and who.lower() in ("it", "we") and att.verb is not None and att.speaker:
            who = att.speaker.split(",")[0]  # 'the army said it had taken X'

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
            acled=et.acled_for(who) if category == et.category else "Battles / Armed clash",
            trigger=tok.text,
            actor=who,
            target=what,
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


def _keep_within(candidates: list[Sentence], budget: int | None) -> int:
    """Keep the first ``budget`` sentences; how many were left out."""
    if budget is None or len(candidates) <= budget:
        return 0
    over = len(candidates) - budget
    del candidates[budget:]
    return over


def _chunks(sentences: list[Sentence], body: str, limit: int) -> list[list[Sentence]]:
    """Groups of consecutive sentences whose joined text stays under ``limit`` characters."""
    out: list[list[Sentence]] = []
    size = 0
    for s in sentences:
        n = s.end - s.start + 1
        if not out or size + n > limit:
            out.append([])
            size = 0
        out[-1].append(s)
        size += n
    return out


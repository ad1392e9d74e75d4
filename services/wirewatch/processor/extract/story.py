"""A story as the extractor reads it, and the first, cheap pass over it.

The first pass runs on the whole body with the model's tokenizer and a rule-based
sentence splitter only: it finds the paragraphs, the dateline (where the story was filed,
not where it happened), outlet furniture, the conflict words of each paragraph, the places
the gazetteer knows, and the *candidates* -- the sentences worth the full parse: they hold
a trigger word, the update changed them, and they are news sentences of a parsable length.
What later sentences need to know about earlier ones (the last place, the speakers and
persons named so far) is kept on the :class:`Story` as the second pass goes.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.pipeline import Sentencizer
from spacy.tokens import Doc

from ... import lexicon
from ...limits import MAX_SENTENCE_CHARS
from ...models import UniqueStory
from .location import dominant_place
from .patterns import PatternSet, inflections
from .places import DIRECTIONS, Gazetteer, Place, PlaceInfo, story_places

# 'BEIRUT (Reuters) - ', 'MOSCOW, March 3 (Reuters) - ', 'Aleppo, ONA - ', 'KYIV — ': where the
# story was filed, not where it happened.  A capitalised place needs an agency or date after it.
_DATELINE = re.compile(
    r"^(?:[A-Z][A-Z.'’ -]{1,40}?(?:,[ ][A-Za-z0-9.,' ]{2,60}?)?(?:[ ]\([A-Za-z. ]{2,30}\))?"
    r"|[A-Z][A-Za-z.'’ -]{1,40}?(?:,[ ][A-Za-z0-9.,' ]{2,60}?|[ ]\([A-Za-z. ]{2,30}\)))"
    r"[ ]?[-–—:][ ]+")
# a paragraph that opens as outlet furniture ('(Reporting by ...)', 'Read more', 'Sign up')
_FURNITURE = re.compile(rf"^\(?(?:{lexicon.alternation('furniture_openings')})", re.I)
QUOTES = "\"“”"
_FIRST_NAME = re.compile(r"\b([A-Z][a-z]+)[ ]$")
_SENTENCE_START = re.compile(r"(?:^|[.!?\"”]\s+|\n)$")


@dataclass
class Sentence:
    start: int  # character offsets into the body
    end: int
    para: int
    doc: Doc | None = None  # the parsed sentence (second pass)


@dataclass
class Story:
    unique: UniqueStory
    body: str
    paragraphs: list[tuple[int, int]]
    sentences: list[Sentence]
    local: dict[str, PlaceInfo]
    mentions: list[Place]
    context_paras: dict[int, Counter[str]]  # paragraph -> the conflict words in it (weak ones count 1, strong 3)
    story_context: Counter[str]
    dominant: Place | None
    dateline_end: int = 0
    candidates: list[Sentence] = field(default_factory=list)
    last_location: Place | None = None
    # the sentence and categories of the last claims with a place of their own
    last_located: tuple[int, frozenset[str]] | None = None
    persons: list[str] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)  # every named speaker so far, in order
    person_names: set[str] = field(default_factory=set)
    too_long: int = 0  # sentences that would be parsed but for their length


class StoryReader:
    """The first pass: a unique story in, a :class:`Story` with its candidate sentences out."""

    def __init__(self, nlp: Language, gazetteer: Gazetteer, patterns: PatternSet) -> None:
        self.nlp = nlp
        self.gazetteer = gazetteer
        self.patterns = patterns
        self._sentencizer = Sentencizer()
        self._context_forms = frozenset(f for w in patterns.words("context") for f in inflections(w))
        self._weak_forms = frozenset(f for w in patterns.words("weak_context") for f in inflections(w))

    def read(self, unique: UniqueStory) -> Story:
        body = unique.story.body or ""
        paragraphs = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", body)]
        dateline_end = 0
        if paragraphs:
            m = _DATELINE.match(body, paragraphs[0][0])
            if m and len(m.group(0).split()) <= 14:
                dateline_end = m.end()
        local = story_places(body, self.gazetteer.nationalities)
        sentences: list[Sentence] = []
        candidates: list[Sentence] = []
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
            if _FURNITURE.match(para_texts[pi].strip()):
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
                if len(stripped) > 1 and stripped[-1] in QUOTES and stripped[-2].isspace():
                    carry = start + (len(text) - len(text.lstrip())) + len(stripped) - 1
                    stripped = stripped[:-1].rstrip()
                if not stripped:
                    continue
                start += len(text) - len(text.lstrip())
                s = Sentence(start, start + len(stripped), pi)
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
        person_names = {p.text for p in mentions if after_first_name(body, p.start)}
        mentions = [p for p in mentions if p.text not in person_names]
        return Story(unique, body, paragraphs, sentences, local, mentions, context_paras, story_context,
                     dominant_place(mentions), dateline_end, candidates, person_names=person_names,
                     too_long=too_long)


def after_first_name(body: str, start: int) -> bool:
    """'Lewis Hamilton', 'Keke Rosberg': the place name follows a capitalised word that is a first name."""
    m = _FIRST_NAME.search(body, max(0, start - 30), start)
    if m is None or m.group(1).lower() in STOP_WORDS or m.group(1).lower() in DIRECTIONS:
        return False
    return not (m.start() == 0 or _SENTENCE_START.search(body[max(0, m.start() - 3):m.start()]))


def named_person(body: str, name: str) -> bool:
    """The story writes the name after a first name somewhere ('Jose Luis Orozco'): a person, so
    'assigned to Orozco' does not make Orozco a place for the whole story."""
    return any(after_first_name(body, m.start()) for m in re.finditer(rf"\b{re.escape(name)}\b", body))


def _overlaps(start: int, end: int, spans: list[tuple[int, int]] | None) -> bool:
    if spans is None:
        return True
    return any(start < b and a < end for a, b in spans)

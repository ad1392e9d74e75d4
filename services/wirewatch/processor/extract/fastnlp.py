"""Cheaper ways to get exactly what the model's own calls give (pass 2 of the Extractor).

* :class:`AttributeTable`, a stand-in for the model's ``attribute_ruler``, built from its
  own patterns (below);
* :class:`GreedyParse`, a stand-in for the ``pipe`` of the model's parser and NER: the same
  greedy decoding, driven step by step from here with the GIL held (below);
* :func:`preset_sentence_starts` and :func:`sentence_docs`, the preset sentence boundaries
  and the per-sentence Docs, without the quadratic cost of ``Token.is_sent_start`` (it scans
  the Doc for a parse on every token) and of ``Span.as_doc`` (it copies the whole Doc's
  arrays for every sentence).

en_core_web_sm's attribute_ruler is a Matcher with 179 pattern groups (mostly tag -> POS and
morphology, some per word: 'the', 'he', 'has', ...).  Running that Matcher over every token
cost about a sixth of the NLP time on the trigger sentences, most of it in per-token Python
predicates (word lists, regexes).  Almost every group is one token whose conditions read only
the tag, the dependency label, POS, IS_SPACE and the lower-case form, so its outcome is a
function of those values: it is computed once per combination (by a Matcher holding the
ruler's own patterns, on that one token) and cached.  The few groups of several tokens go
through a Matcher too, but only where a token can start one of them.  As in
``AttributeRuler.set_annotations``, a later group overrides an earlier one on the same token
and attribute, so the Doc comes out exactly as the ruler leaves it.

The cache keeps a word's lower-case form in its key only when a pattern names that word;
any other word is keyed by which of the patterns' regexes it matches.  So the cache is
bounded by the model's label sets, not by the vocabulary.

spaCy 3.8's greedy decoder (``Parser.greedy_parse``) runs its transition loop with the GIL
released, and the compiled state methods it calls for every action of every step
(``StateC.B_``, ``Begin.is_valid``, ...) each take and drop the GIL twice (an empty
``PyGILState_Ensure``/``Release`` pair that Cython 3 put in them).  Released, each pair
locks and signals the interpreter's GIL mutex: about half of NER's time and a third of the
parser's went there.  Held, a pair is a counter increment.  :class:`GreedyParse` runs the same
loop from Python with the GIL held: the model's own step (``ParserStepModel.predict``: the
same feature sums, maxout, BLAS product and unseen-class floor as the compiled
``predict_states``) and the model's own ``transition_states`` (the compiled argmax over valid
actions and transition), then the model's own ``set_annotations``.  Each state's scores do
not depend on the other states of the batch, so the sub-batches may differ from spaCy's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

import numpy
from spacy.attrs import DEP, IDX, IS_SPACE, LEMMA, LOWER, MORPH, POS, SENT_START, TAG
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.pipeline import AttributeRuler
from spacy.pipeline.transition_parser import Parser
from spacy.tokens import Doc, Span
from thinc.api import set_dropout_rate
from thinc.types import Ints2d

# what a cached pattern may read: TAG, DEP and POS take values from the model's fixed label sets
_KEYS: dict[str, int] = {"TAG": TAG, "DEP": DEP, "POS": POS, "IS_SPACE": IS_SPACE, "LOWER": LOWER}
_KEY_ATTRS: list[int | str] = list(_KEYS.values())
_LOWER_COL = _KEY_ATTRS.index(LOWER)
# attributes from_array sets the way set_token_attrs does (on the token; no lexeme flag)
_WRITABLE = frozenset({POS, MORPH, LEMMA, TAG, DEP})
_MEMO_LIMIT = 100_000

log = logging.getLogger(__name__)

_Entry = tuple[tuple[int, ...], tuple[tuple[int, int], ...], bool]


class AttributeTable:
    """Sets what ``ruler`` sets; raises ValueError for a ruler it cannot reproduce."""

    def __init__(self, ruler: AttributeRuler) -> None:
        self.vocab = ruler.vocab
        self._attrs: list[dict[int, int]] = [dict(a) for a in ruler.attrs]
        write = sorted({k for a in self._attrs for k in a})
        if not set(write) <= _WRITABLE:
            raise ValueError(f"attribute_ruler sets attributes this table does not: {write}")
        self._write: list[int | str] = list(write)
        self._col = {attr: j for j, attr in enumerate(write)}
        self._single = Matcher(self.vocab)  # one-token groups
        self._general = Matcher(self.vocab)  # the rest
        self._starts = Matcher(self.vocab)  # the first token of each of the rest
        self._index: dict[int, int] = {}
        self._span = 1
        lowers: set[str] = set()
        regexes: set[str] = set()
        for group in range(len(self._attrs)):
            patterns = ruler.matcher.get(str(group))[1]
            if any("OP" in tok for p in patterns for tok in p):
                raise ValueError("a pattern with an operator has no fixed length")
            if ruler.indices[group] in (0, -1) and all(len(p) == 1 for p in patterns):
                self._single.add(str(group), patterns)
            else:
                self._general.add(str(group), patterns)
                self._starts.add(str(group), [p[:1] for p in patterns])
                self._index[group] = ruler.indices[group]
                self._span = max(self._span, *(len(p) for p in patterns))
            for p in patterns:
                _lower_conditions(p[0], lowers, regexes)
        self._lowers = frozenset(self.vocab.strings.add(w) for w in lowers)
        self._regexes = [re.compile(r) for r in sorted(regexes)]
        self._regex_class: dict[int, int] = {}
        # key -> (groups matched in order, final (column, value) writes, starts a general group)
        self._cache: dict[tuple[int, ...], _Entry] = {}

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        if n == 0:
            return doc
        keys = doc.to_array(_KEY_ATTRS).tolist()
        values = doc.to_array(self._write).reshape(n, -1).tolist()
        lowers, cache = self._lowers, self._cache
        entries: list[_Entry] = []
        for i, key in enumerate(keys):
            lower = key[_LOWER_COL]
            if lower not in lowers:
                # no pattern names this word: only the regexes it matches tell it from another
                key[_LOWER_COL] = -1 - self._regex_bits(lower)
            k = tuple(key)
            entry = cache.get(k)
            if entry is None:
                entry = cache[k] = self._entry(doc, i)
            entries.append(entry)
        general = self._general_matches(doc, [i for i, e in enumerate(entries) if e[2]])
        for i, (groups, writes, _) in enumerate(entries):
            extra = general.get(i)
            if extra:
                writes = self._merge(groups, extra)
            row = values[i]
            for col, value in writes:
                row[col] = value
        doc.from_array(self._write, cast(Ints2d, numpy.array(values, dtype=numpy.uint64)))
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        for doc in docs:
            yield self(doc)

    def _regex_bits(self, lower: int) -> int:
        if not self._regexes:
            return 0
        bits = self._regex_class.get(lower)
        if bits is None:
            if len(self._regex_class) >= _MEMO_LIMIT:
                self._regex_class.clear()  # words come and go; keep the memo bounded
            text = self.vocab.strings[lower]
            bits = sum(1 << j for j, rx in enumerate(self._regexes) if rx.search(text))
            self._regex_class[lower] = bits
        return bits

    def _entry(self, doc: Doc, i: int) -> _Entry:
        token = doc[i:i + 1]
        groups = tuple(sorted({int(self.vocab.strings[m]) for m, _, _ in self._single(token, allow_missing=True)}))
        return groups, self._merge(groups, ()), bool(self._starts(token, allow_missing=True))

    def _merge(self, groups: Iterable[int], extra: Iterable[int]) -> tuple[tuple[int, int], ...]:
        final: dict[int, int] = {}
        for g in sorted({*groups, *extra}):  # later groups win, as in set_annotations
            for attr, value in self._attrs[g].items():
                final[self._col[attr]] = value
        return tuple(final.items())

    def _general_matches(self, doc: Doc, starts: list[int]) -> dict[int, list[int]]:
        """Token -> the multi-token groups that set it, matching only from the given starts
        (patterns have a fixed length, so a window as long as the longest one is enough)."""
        out: dict[int, list[int]] = {}
        for i in starts:
            for m, start, end in self._general(doc[i:i + self._span], allow_missing=True):
                if start != 0:
                    continue  # found again from its own start
                group = int(self.vocab.strings[m])
                token = doc[i:i + end][self._index[group]]
                out.setdefault(token.i, []).append(group)
        return out


def _lower_conditions(spec: dict[str, Any], lowers: set[str], regexes: set[str]) -> None:
    """Collect the words and regexes a token spec tests LOWER against; raise ValueError for a
    spec the cache key cannot represent."""
    if not set(spec) <= set(_KEYS):
        raise ValueError(f"pattern reads {sorted(set(spec) - set(_KEYS))}")
    lower = spec.get("LOWER")
    if lower is None:
        return
    if isinstance(lower, str):
        lowers.add(lower)
    elif isinstance(lower, dict) and set(lower) == {"IN"}:
        lowers.update(lower["IN"])
    elif isinstance(lower, dict) and set(lower) == {"REGEX"}:
        regexes.add(lower["REGEX"])
    else:
        raise ValueError(f"LOWER condition {lower!r}")


class GreedyParse:
    """``parser.pipe`` (a DependencyParser or EntityRecognizer decoding greedily) with the
    GIL held through the transition loop (see the module docstring); the same annotations."""

    def __init__(self, parser: Parser) -> None:
        if parser.cfg.get("beam_width", 1) != 1:
            raise ValueError("a beam search is not greedy decoding")
        self.parser = parser

    def __call__(self, doc: Doc) -> Doc:
        self._parse([doc])
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._parse(batch)
                batch = []
        if batch:
            yield from self._parse(batch)

    def _parse(self, docs: list[Doc]) -> list[Doc]:
        parser: Any = self.parser  # the compiled class's methods are untyped
        parser._ensure_labels_are_added(docs)
        states = parser.moves.init_batch(docs)
        if any(len(doc) for doc in docs):
            set_dropout_rate(parser.model, 0.0)
            model = parser.model.predict(docs)
            step = _lean_step(model) or model.predict
            todo = [s for s in states if not s.is_final()]
            while todo:
                todo = parser.transition_states(todo, step(todo))
            model.clear_memory()
        parser.set_annotations(docs, states)
        return docs


def _lean_step(model: Any) -> Callable[[list[Any]], Any] | None:
    """``model.predict`` of a ParserStepModel (spaCy's ``step_forward``) without thinc's
    per-call layers: the state features' hidden layer, then the upper Linear's product and
    bias, as ``thinc.layers.linear.forward`` computes them.  None where that step does more
    (no upper layer, another upper layer, classes the model never saw, whose scores it floors)."""
    upper = model.vec2scores if model.attrs.get("has_upper") else None
    if upper is None or upper.name != "linear" or not bool(numpy.all(model._class_mask)):
        return None
    hidden, ops = model.state2vec, upper.ops
    weights, bias = upper.get_param("W"), upper.get_param("b")

    def step(states: list[Any]) -> Any:
        scores = ops.gemm(hidden.predict(model.get_token_ids(states)), weights, trans2=True)
        scores += bias
        return scores

    return step


def fast_pipeline(nlp: Language) -> list[tuple[str, Callable[[Doc], Doc]]]:
    """``nlp.pipeline`` with the attribute_ruler replaced by an AttributeTable and the greedy
    parser and NER by :class:`GreedyParse` (the model's own component is kept where it cannot
    be reproduced); ``nlp`` itself is left unchanged."""
    out: list[tuple[str, Callable[[Doc], Doc]]] = []
    for name, proc in nlp.pipeline:
        if isinstance(proc, Parser) and proc.cfg.get("beam_width", 1) == 1:
            proc = GreedyParse(proc)
        elif isinstance(proc, AttributeRuler):
            try:
                proc = AttributeTable(proc)
            except ValueError as exc:  # another model's patterns: slower, still right
                log.warning("keeping the model's attribute_ruler: %s", exc)
        out.append((name, proc))
    return out


def run_pipeline(pipeline: list[tuple[str, Callable[[Doc], Doc]]], docs: Iterable[Doc],
                 batch_size: int) -> Iterator[Doc]:
    """What ``Language.pipe`` does with one process: each component's ``pipe`` in turn."""
    stream: Iterable[Doc] = docs
    for _, proc in pipeline:
        pipe = getattr(proc, "pipe", None)
        stream = pipe(stream, batch_size=batch_size) if pipe is not None else map(proc, stream)
    return iter(stream)


def preset_sentence_starts(doc: Doc, starts: set[int]) -> None:
    """``tok.is_sent_start = tok.idx in starts`` for every token of an unparsed Doc."""
    first = numpy.array([idx in starts for idx in doc.to_array(IDX).tolist()], dtype=bool)
    values = numpy.where(first, 1, -1).astype(numpy.int64).view(numpy.uint64)
    doc.from_array([SENT_START], cast(Ints2d, values))


def sentence_docs(doc: Doc, spans: Iterable[Span | None]) -> list[Doc | None]:
    """``span.as_doc()`` for each span of ``doc``, reading ``doc``'s arrays once."""
    head = Doc._get_array_attrs()
    array = doc.to_array(list(head))
    out: list[Doc | None] = []
    for span in spans:
        # as_doc edits the rows of its span in the array it is given: each gets its own copy
        as_doc: Any = span.as_doc if span is not None else None  # (the stub lacks array_head)
        out.append(as_doc(array_head=head, array=array.copy()) if as_doc is not None else None)
    return out

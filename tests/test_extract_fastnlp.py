"""The Extractor's cheaper NLP calls give exactly what the model's own calls give: the
attribute table against the model's attribute_ruler (on real parses and on labels shuffled at
random, so rare tag/label/word combinations are covered), the greedy parse with the GIL held
against the model's parser and NER, the preset sentence starts and the per-sentence Docs
against ``Token.is_sent_start`` and ``Span.as_doc``."""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy
import pytest
from spacy.attrs import DEP, ENT_IOB, ENT_KB_ID, ENT_TYPE, HEAD, LEMMA, MORPH, POS, SENT_START, TAG
from spacy.language import Language
from spacy.pipeline import AttributeRuler
from spacy.pipeline.transition_parser import Parser
from spacy.tokens import Doc

from wirewatch.processor.extract import load_model
from wirewatch.processor.extract.fastnlp import (
    AttributeTable,
    GreedyParse,
    fast_pipeline,
    preset_sentence_starts,
    run_pipeline,
    sentence_docs,
)

from .conftest import shared_path

pytestmark = pytest.mark.model

# every kind of pattern the small model's ruler has: per tag, per word, per label, two-token
# ('gon na', 'let 's', 'There is'), regex ("nothin'", "y'all") and whitespace tokens
TEXTS = [
    "The Syrian army said it had taken a strategic district of Aleppo on Tuesday, but rebels said "
    "the battle was not over.",
    "There is no way we're gonna win, y'all, and I ain't gotta say it.",
    "Let's go.  C'mon,\n\nthey said nothin' 'bout it; she'd have known.",
    "It was him: I told you it's mine, not hers!  \n  She doesn't know what I'd do.",
    "But I said but no. Nuthin' doin' 'nuff 'em ol' somethin' goin' 'll",
    "He ca n't and wo n't, sha n't.  Something, anyone, nobody: whether or not it rains.",
]
ATTRS = [POS, MORPH, LEMMA, TAG, DEP, HEAD]


@pytest.fixture(scope="module")
def nlp() -> Iterator[Language]:
    yield load_model()


def _dev_paragraphs() -> list[str]:
    feeds = shared_path("eval", "dev", "feeds")
    from wirewatch.replay import load_feed_files

    return [p for r in load_feed_files(sorted(feeds.glob("*.xml"))) for p in (r.body or "").split("\n\n")
            if p.strip()]


def _copy(doc: Doc) -> Doc:
    return Doc(doc.vocab).from_bytes(doc.to_bytes())


def test_attribute_table_sets_what_the_ruler_sets(nlp: Language) -> None:
    ruler = nlp.get_pipe("attribute_ruler")
    assert isinstance(ruler, AttributeRuler)
    table = AttributeTable(ruler)
    before = nlp.pipe_names[:nlp.pipe_names.index("attribute_ruler")]
    with nlp.select_pipes(enable=before):
        docs = list(nlp.pipe(TEXTS + _dev_paragraphs()))
    tags = list(nlp.get_pipe("tagger").labels)
    deps = [*nlp.get_pipe("parser").labels, "ROOT", "dep"]
    rng = random.Random(7)
    for shuffled in (False, True):
        for parsed in docs:
            doc = _copy(parsed)
            if shuffled:
                for t in doc:
                    if rng.random() < 0.5:
                        t.tag_ = rng.choice(tags)
                    if rng.random() < 0.3:
                        t.dep_ = rng.choice(deps)
            want, got = _copy(doc), _copy(doc)
            ruler(want)
            table(got)
            assert numpy.array_equal(want.to_array(ATTRS), got.to_array(ATTRS)), doc.text
            assert want.to_json() == got.to_json()
    # the two-token patterns did fire ('gon na' -> lemma 'go'), so that path is covered
    assert [t.lemma_ for t in table(nlp("we're gonna win")) if t.text == "gon"] == ["go"]


@pytest.mark.parametrize("name", ["parser", "ner"])
def test_greedy_parse_gives_the_models_own_parse(nlp: Language, name: str) -> None:
    """Every dev paragraph, as one Doc each and as trigger-sentence Docs with preset starts (as
    the Extractor builds them), in batches of several sizes with an empty Doc among them."""
    model = nlp.get_pipe(name)
    assert isinstance(model, Parser)
    before = nlp.pipe_names[:nlp.pipe_names.index(name)]
    paragraphs = TEXTS + _dev_paragraphs()
    joined = " ".join(paragraphs[:12])
    preset = nlp.make_doc(joined)
    preset_sentence_starts(preset, {joined.index(p) for p in paragraphs[:12]})
    with nlp.select_pipes(enable=before):
        docs = [*nlp.pipe(paragraphs), nlp(preset), nlp("")]
    attrs = [HEAD, DEP, SENT_START, ENT_IOB, ENT_TYPE, ENT_KB_ID]
    want = list(model.pipe([_copy(d) for d in docs], batch_size=8))
    assert sum(len(d.ents) for d in want) > 100 or name == "parser"
    for batch_size in (1, 3, 16):
        got = list(GreedyParse(model).pipe([_copy(d) for d in docs], batch_size=batch_size))
        for w, g in zip(want, got, strict=True):
            assert numpy.array_equal(w.to_array(attrs), g.to_array(attrs)), w.text
            assert w.to_json() == g.to_json()
    one = _copy(docs[0])
    assert GreedyParse(model)(one).to_json() == want[0].to_json()


def test_greedy_parse_refuses_a_beam(nlp: Language) -> None:
    model = nlp.get_pipe("ner")
    assert isinstance(model, Parser)
    beam = model.cfg["beam_width"]
    model.cfg["beam_width"] = 4
    try:
        with pytest.raises(ValueError):
            GreedyParse(model)
        assert not isinstance(dict(fast_pipeline(nlp))["ner"], GreedyParse)
    finally:
        model.cfg["beam_width"] = beam


def test_fast_pipeline_leaves_the_model_alone(nlp: Language) -> None:
    pipeline = fast_pipeline(nlp)
    assert [n for n, _ in pipeline] == nlp.pipe_names
    assert isinstance(dict(pipeline)["attribute_ruler"], AttributeTable)
    assert isinstance(dict(pipeline)["parser"], GreedyParse)
    assert isinstance(dict(pipeline)["ner"], GreedyParse)
    assert isinstance(nlp.get_pipe("attribute_ruler"), AttributeRuler)
    fast = list(run_pipeline(pipeline, (nlp.make_doc(t) for t in TEXTS), batch_size=2))
    for text, doc in zip(TEXTS, fast, strict=True):
        assert doc.to_json() == nlp(text).to_json()


def test_sentence_starts_and_docs_as_the_token_and_span_calls(nlp: Language) -> None:
    sentences = ["Rebels took the town.", '"It fell," he said.', "Troops withdrew  from it on Monday."]
    text = " ".join(sentences)
    starts = {text.index(s) for s in sentences}
    want, got = nlp.make_doc(text), nlp.make_doc(text)
    for tok in want:
        tok.is_sent_start = tok.idx in starts
    preset_sentence_starts(got, starts)
    assert numpy.array_equal(want.to_array([SENT_START]), got.to_array([SENT_START]))
    doc = nlp(got)
    spans = [doc.char_span(a, a + len(s), alignment_mode="expand") for a, s in
             zip(sorted(starts), sentences, strict=True)]
    for span, sent_doc in zip(spans, sentence_docs(doc, spans), strict=True):
        assert span is not None and sent_doc is not None
        plain = span.as_doc()
        assert sent_doc.to_json() == plain.to_json()
        head = list(Doc._get_array_attrs())
        assert numpy.array_equal(sent_doc.to_array(head), plain.to_array(head))

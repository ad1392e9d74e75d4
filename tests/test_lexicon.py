"""Word lists as data: how a list reads as a pattern, mappings, and a malformed list refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from wirewatch import lexicon
from wirewatch.errors import ExtractDataInvalid


@pytest.fixture
def lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(lexicon, "_directory", lambda: tmp_path)
    lexicon._load.cache_clear()
    yield tmp_path
    lexicon._load.cache_clear()


def test_a_list_reads_as_a_pattern_of_words_stems_and_phrases(lists: Path) -> None:
    (lists / "a.yaml").write_text("moves: [retreat*, pull back, win* back, Fled]\n"
                                  "compass: {eastern: east, East: east}\n")
    rx = re.compile(rf"\b{lexicon.pattern('moves')}\b", re.I)
    for text in ("they retreated", "the retreat", "pull  back", "winning back the town",
                 "FLED"):
        assert rx.search(text), text
    for text in ("pulled back", "pull", "fledgling", "win"):
        assert not rx.search(text), text
    # of two entries that start alike, the longer one is the match
    (lists / "b.yaml").write_text("forms: [rebel, rebel-held]\n")
    lexicon._load.cache_clear()
    m = re.search(rf"\b{lexicon.pattern('forms')}\b", "in rebel-held areas")
    assert m is not None and m.group() == "rebel-held"
    assert lexicon.mapping("compass") == {"eastern": "east", "east": "east"}
    assert lexicon.words("moves") == {"retreat*", "pull back", "win* back", "fled"}


@pytest.mark.parametrize("body", ["bad: 3\n", "bad: [1, 2]\n", "bad: {a: [b]}\n", "- a\n"])
def test_a_list_that_is_neither_words_nor_a_mapping_is_refused(lists: Path, body: str) -> None:
    (lists / "a.yaml").write_text(body)
    with pytest.raises(ExtractDataInvalid):
        lexicon.words("bad")


def test_a_list_defined_twice_or_unknown_is_an_error(lists: Path) -> None:
    (lists / "a.yaml").write_text("same: [a]\n")
    (lists / "b.yaml").write_text("same: {a: b}\n")
    with pytest.raises(ExtractDataInvalid, match="twice"):
        lexicon.words("same")
    (lists / "b.yaml").unlink()
    lexicon._load.cache_clear()
    with pytest.raises(KeyError):
        lexicon.words("other")
    with pytest.raises(KeyError):
        lexicon.mapping("same")


def test_the_shipped_lists_load_and_every_pattern_compiles() -> None:
    lexicon._load.cache_clear()
    for name in lexicon._load()[0]:
        re.compile(lexicon.pattern(name))
    assert lexicon.mapping("directions")["south-western"] == "southwest"

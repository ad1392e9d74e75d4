"""The word lists under data/lexicon/: one loader, one list per concept, clear errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from wirewatch import lexicon
from wirewatch.errors import LexiconInvalid


def _write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


def test_every_packaged_list_loads_and_no_concept_is_defined_twice() -> None:
    # load() refuses a name defined in two files; the packaged lists must pass it
    lists = lexicon.load(lexicon.directory())
    assert {"perception_verbs", "nationalities", "function_words", "honorifics", "toll_nouns"} <= set(lists)
    assert all(lists.values())


def test_a_list_defined_in_two_files_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", "hearing_verbs: [hear, listen]\n")
    _write(tmp_path, "b.yaml", "hearing_verbs: [overhear]\n")
    with pytest.raises(LexiconInvalid, match="'hearing_verbs' is defined twice"):
        lexicon.load(tmp_path)


@pytest.mark.parametrize(("text", "message"), [
    ("siege_words: siege\n", "'siege_words' must be a list of words"),
    # YAML reads a bare 'no' as false: a list with it is not a list of words
    ("negators: [not, no, never]\n", "'negators' must be a list of words"),
    ("empty_entry: [a, '']\n", "'empty_entry' must be a list of words"),
    ("- just\n- a list\n", "expected a mapping"),
    ("broken: [unclosed\n", "not valid YAML"),
])
def test_a_malformed_list_is_a_one_line_error_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    _write(tmp_path, "words.yaml", text)
    with pytest.raises(LexiconInvalid, match=re.escape(message)) as err:
        lexicon.load(tmp_path)
    assert str(tmp_path / "words.yaml") in str(err.value) and "\n" not in str(err.value)
    assert err.value.code == "lexicon_invalid"


def test_an_unknown_list_name_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="no word list 'no_such_concept'"):
        lexicon.words("no_such_concept")


def test_views_of_a_list() -> None:
    # words() folds case for comparing with a token's lower form; exact() keeps it for the
    # case-sensitive honorifics ('Ms' is an honorific, 'ms' a word)
    assert "ms" in lexicon.words("honorifics")
    assert "Ms" in lexicon.exact("honorifics") and "ms" not in lexicon.exact("honorifics")
    # an alternation tries the longest word first, so a word is never cut at a shorter one
    particles = lexicon.alternation("name_particles").split("|")
    assert particles.index("ash") < particles.index("as")
    assert re.fullmatch(rf"(?:{lexicon.alternation('story_place_nouns')})", "refugee camp")


@pytest.fixture
def lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(lexicon, "directory", lambda: tmp_path)
    lexicon.reload()
    yield tmp_path
    monkeypatch.undo()
    lexicon.reload()


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
    lexicon.reload()
    m = re.search(rf"\b{lexicon.pattern('forms')}\b", "in rebel-held areas")
    assert m is not None and m.group() == "rebel-held"
    assert lexicon.mapping("compass") == {"eastern": "east", "east": "east"}
    assert lexicon.words("moves") == {"retreat*", "pull back", "win* back", "fled"}


@pytest.mark.parametrize("body", ["bad: 3\n", "bad: [1, 2]\n", "bad: {a: [b]}\n", "- a\n"])
def test_a_list_that_is_neither_words_nor_a_mapping_is_refused(lists: Path, body: str) -> None:
    (lists / "a.yaml").write_text(body)
    with pytest.raises(LexiconInvalid):
        lexicon.words("bad")


def test_a_list_defined_twice_or_unknown_is_an_error(lists: Path) -> None:
    (lists / "a.yaml").write_text("same: [a]\n")
    (lists / "b.yaml").write_text("same: {a: b}\n")
    with pytest.raises(LexiconInvalid, match="twice"):
        lexicon.words("same")
    (lists / "b.yaml").unlink()
    lexicon.reload()
    with pytest.raises(KeyError):
        lexicon.words("other")
    with pytest.raises(KeyError):
        lexicon.mapping("same")


def test_the_shipped_lists_load_and_every_pattern_compiles() -> None:
    for name, entry in lexicon.load(lexicon.directory()).items():
        if isinstance(entry, tuple):
            re.compile(lexicon.pattern(name))
    assert lexicon.mapping("directions")["south-western"] == "southwest"

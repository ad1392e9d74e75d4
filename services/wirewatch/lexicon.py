"""Word lists as data: every list under ``data/lexicon/*.yaml``, one list per concept.

Extraction, dedup and the ledger read their lists from here by name, so a concept
('perception verbs') is defined once, in one file, with a comment that names the
phenomenon it serves.  A list is a YAML sequence of words or phrases; a few are mappings
of a word to the form it is written in (`mapping`: 'eastern' -> 'east').  Views of a list:

* :func:`words`: lower-cased, for lists compared with a token's lower form or lemma;
* :func:`exact`: as written, for the few lists compared case-sensitively (honorifics);
* :func:`alternation`: a regular-expression alternation of the lower-cased words,
  longest first, for lists that are part of a pattern;
* :func:`pattern`: a group for matching a list against text, where a space in a phrase
  matches any run of whitespace and a ``*`` ending a word matches any ending of it
  ('retreat*': retreats, retreated, retreating).

A list is looked up by name; an unknown name is a programming error and raises
``KeyError`` when the caller is imported, not a silent empty set.  A malformed file is a
:class:`~wirewatch.errors.LexiconInvalid` naming the file and the list.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from .errors import LexiconInvalid

Entry = tuple[str, ...] | dict[str, str]


def directory() -> Path:
    """Where the packaged word lists are."""
    return Path(str(resources.files("wirewatch") / "data" / "lexicon"))


def load(where: Path) -> dict[str, Entry]:
    """Every list (and mapping) of the ``*.yaml`` files in ``where``, as written; a name defined
    twice, an entry that is neither a list of non-empty strings nor a mapping of strings to
    strings, or a file that cannot be read is an error."""
    lists: dict[str, Entry] = {}
    for path in sorted(where.glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise LexiconInvalid(f"{path}: cannot read the word lists ({exc.strerror})") from exc
        except yaml.YAMLError as exc:
            raise LexiconInvalid(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
        if not isinstance(raw, dict):
            raise LexiconInvalid(f"{path}: expected a mapping of list names to word lists")
        for name, entries in raw.items():
            if name in lists:
                raise LexiconInvalid(f"{path}: list {name!r} is defined twice")
            if isinstance(entries, dict) and entries and all(
                    isinstance(k, str) and k and isinstance(v, str) and v for k, v in entries.items()):
                lists[name] = {k.lower(): v.lower() for k, v in entries.items()}
            elif isinstance(entries, list) and all(isinstance(w, str) and w for w in entries):
                lists[name] = tuple(entries)
            else:
                raise LexiconInvalid(f"{path}: {name!r} must be a list of words (or a mapping of words)")
    return lists


@cache
def _lists() -> dict[str, Entry]:
    return load(directory())


def reload() -> None:
    """Forget every list read so far (for tests that point :func:`directory` elsewhere)."""
    for f in (_lists, words, exact, alternation, pattern):
        f.cache_clear()


def _entries(name: str) -> tuple[str, ...]:
    entry = _lists().get(name)
    if not isinstance(entry, tuple):
        raise KeyError(f"no word list {name!r} under {directory()}")
    return entry


@cache
def words(name: str) -> frozenset[str]:
    """The words of one list ('perception_verbs'), lower-cased."""
    return frozenset(w.lower() for w in _entries(name))


@cache
def exact(name: str) -> frozenset[str]:
    """The words of one list as written, for a case-sensitive comparison."""
    return frozenset(_entries(name))


@cache
def alternation(name: str) -> str:
    """The lower-cased words of one list as a regex alternation, longest first ('a|b')."""
    return "|".join(re.escape(w) for w in sorted(words(name), key=lambda w: (-len(w), w)))


def _entry(entry: str) -> str:
    return r"\s+".join(re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w) for w in entry.split())


@cache
def pattern(name: str) -> str:
    """One list as a group of alternatives of a regular expression, ``(?:...)`` without word
    boundaries, the longest entry first: of two entries that start alike, the longer matches."""
    return "(?:" + "|".join(_entry(w) for w in sorted(words(name), key=lambda w: (-len(w), w))) + ")"


def mapping(name: str) -> dict[str, str]:
    """One mapping list ('directions': 'eastern' -> 'east'); KeyError names one that does not exist."""
    entry = _lists().get(name)
    if not isinstance(entry, dict):
        raise KeyError(f"no word mapping {name!r} under {directory()}")
    return dict(entry)

"""Word lists as data: every list under ``data/lexicon/*.yaml``, one list per concept.

Extraction, dedup and the ledger read their lists from here by name, so a concept
('perception verbs') is defined once, in one file, with a comment that names the
phenomenon it serves.  Three views of a list:

* :func:`words`: lower-cased, for lists compared with a token's lower form or lemma;
* :func:`exact`: as written, for the few lists compared case-sensitively (honorifics);
* :func:`alternation`: a regular-expression alternation of the lower-cased words,
  longest first, for lists that are part of a pattern.

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


def directory() -> Path:
    """Where the packaged word lists are."""
    return Path(str(resources.files("wirewatch") / "data" / "lexicon"))


def load(where: Path) -> dict[str, tuple[str, ...]]:
    """Every list of the ``*.yaml`` files in ``where``, as written; a list defined twice, a
    list that is not a list of non-empty strings or a file that cannot be read is an error."""
    lists: dict[str, tuple[str, ...]] = {}
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
            if not isinstance(entries, list) or not all(isinstance(w, str) and w for w in entries):
                raise LexiconInvalid(f"{path}: {name!r} must be a list of words")
            if name in lists:
                raise LexiconInvalid(f"{path}: list {name!r} is defined twice")
            lists[name] = tuple(entries)
    return lists


@cache
def _lists() -> dict[str, tuple[str, ...]]:
    return load(directory())


def _entries(name: str) -> tuple[str, ...]:
    lists = _lists()
    if name not in lists:
        raise KeyError(f"no word list {name!r} under {directory()}")
    return lists[name]


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

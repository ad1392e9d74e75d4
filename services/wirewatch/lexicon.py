"""Word lists as data: every list under ``data/lexicon/*.yaml``, one list per concept.

Extraction and the ledger read the same lists, so a concept ('perception verbs') is
defined once.  A list is looked up by name; an unknown name is a programming error and
raises ``KeyError`` at import time of the caller, not a silent empty set.

A list is a YAML sequence of words or phrases, read in lower case.  Where a rule matches
a list against text (`pattern`), a space in a phrase matches any run of whitespace and a
``*`` ending a word matches any ending of it ('retreat*': retreats, retreated,
retreating).  A few lists are mappings of a word to the form it is written in
(`mapping`: 'eastern' -> 'east').
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from .errors import ExtractDataInvalid


def _directory() -> Path:
    return Path(str(resources.files("wirewatch") / "data" / "lexicon"))


@cache
def _load() -> tuple[dict[str, frozenset[str]], dict[str, dict[str, str]]]:
    lists: dict[str, frozenset[str]] = {}
    maps: dict[str, dict[str, str]] = {}
    for path in sorted(_directory().glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise ExtractDataInvalid(f"{path}: expected a mapping of list names to word lists")
        for name, words in raw.items():
            if name in lists or name in maps:
                raise ExtractDataInvalid(f"{path}: list {name!r} is defined twice")
            if isinstance(words, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in words.items()):
                maps[name] = {k.lower(): v.lower() for k, v in words.items()}
            elif isinstance(words, list) and all(isinstance(w, str) for w in words):
                lists[name] = frozenset(w.lower() for w in words)
            else:
                raise ExtractDataInvalid(f"{path}: {name!r} must be a list of strings or a mapping of "
                                         f"strings to strings")
    return lists, maps


def words(name: str) -> frozenset[str]:
    """The words of one list ('perception_verbs'); KeyError names a list that does not exist."""
    lists = _load()[0]
    if name not in lists:
        raise KeyError(f"no word list {name!r} under {_directory()}")
    return lists[name]


def mapping(name: str) -> dict[str, str]:
    """One mapping list ('directions': 'eastern' -> 'east'); KeyError names one that does not exist."""
    maps = _load()[1]
    if name not in maps:
        raise KeyError(f"no word mapping {name!r} under {_directory()}")
    return dict(maps[name])


def _entry(entry: str) -> str:
    return r"\s+".join(re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w) for w in entry.split())


def pattern(name: str) -> str:
    """One list as a group of alternatives of a regular expression, ``(?:...)`` without word
    boundaries, the longest entry first: of two entries that start alike, the longer matches."""
    return "(?:" + "|".join(_entry(w) for w in sorted(words(name), key=lambda w: (-len(w), w))) + ")"

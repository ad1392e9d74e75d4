"""Word lists as data: every list under ``data/lexicon/*.yaml``, one list per concept.

Extraction and the ledger read the same lists, so a concept ('perception verbs') is
defined once.  A list is looked up by name; an unknown name is a programming error and
raises ``KeyError`` at import time of the caller, not a silent empty set.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from .errors import ExtractDataInvalid


def _directory() -> Path:
    return Path(str(resources.files("wirewatch") / "data" / "lexicon"))


@cache
def _load() -> dict[str, frozenset[str]]:
    lists: dict[str, frozenset[str]] = {}
    for path in sorted(_directory().glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise ExtractDataInvalid(f"{path}: expected a mapping of list names to word lists")
        for name, words in raw.items():
            if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                raise ExtractDataInvalid(f"{path}: {name!r} must be a list of strings")
            if name in lists:
                raise ExtractDataInvalid(f"{path}: list {name!r} is defined twice")
            lists[name] = frozenset(w.lower() for w in words)
    return lists


def words(name: str) -> frozenset[str]:
    """The words of one list ('perception_verbs'); KeyError names a list that does not exist."""
    lists = _load()
    if name not in lists:
        raise KeyError(f"no word list {name!r} under {_directory()}")
    return lists[name]

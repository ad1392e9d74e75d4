"""Exactly once over real extracted claims: the dev feeds, replayed, re-delivered, restarted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wirewatch.models import Claim
from wirewatch.processor.ledger import ClaimLedger
from wirewatch.processor.stream.stages import replay_stories
from wirewatch.replay import load_feed_files
from wirewatch.settings import Settings

from .conftest import shared_path

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def dev_claims() -> list[Claim]:
    feeds = sorted((shared_path("eval", "dev") / "feeds").glob("*.xml"))
    result = replay_stories(Settings(), load_feed_files(feeds))
    assert result.claims
    return result.claims


def _alert_ids(ledger: ClaimLedger, claims: list[Claim]) -> list[str]:
    return [a.alert_id for c in claims for a in ledger.add(c, now=c.published).alerts]


def test_replaying_the_same_claims_raises_nothing_new(dev_claims: list[Claim]) -> None:
    ledger = ClaimLedger()
    first = _alert_ids(ledger, dev_claims)
    assert first and len(first) == len(set(first))
    assert _alert_ids(ledger, dev_claims) == []


def test_restart_midway_gives_the_alerts_of_one_clean_run(dev_claims: list[Claim]) -> None:
    clean = set(_alert_ids(ClaimLedger(), dev_claims))
    store: dict[str, Any] = {}
    half = len(dev_claims) // 2
    before = _alert_ids(ClaimLedger(store), dev_claims[:half])
    # the restarted worker recovers the table from its changelog (JSON) and gets the
    # uncommitted tail of the first half again
    restarted = ClaimLedger(json.loads(json.dumps(store)))
    after = _alert_ids(restarted, dev_claims[half // 2:])
    assert set(before) | set(after) == clean
    assert len(before) + len(after) == len(clean)  # none twice, none lost

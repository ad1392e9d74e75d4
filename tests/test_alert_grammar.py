"""An alert's one-line explanation reads as English: its verbs agree with who speaks.

`wirewatch tail` printed "regional officials says": the toll line always said "says".
Agreement follows the speaker's head noun, whatever the alert kind.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from wirewatch.processor.ledger import ClaimLedger
from wirewatch.processor.ledger.conflicts import _agree

from .test_ledger import T0, contradictions, feed, mk, q


def _tolls(first_speaker: str, second_speaker: str) -> str:
    high = mk("Strikes killed 30 people in Varno on Tuesday, officials said.", "casualties", "Varno",
              story="v1", outlet="Coast Wire", said_by=first_speaker, trigger="killed", time="2025-03-04",
              qty=q("30", 30, 30), at=T0 + timedelta(days=1))
    low = mk("Strikes killed 8 people in Varno on Tuesday, a medic said.", "casualties", "Varno",
             story="v2", outlet="Hill Daily", said_by=second_speaker, trigger="killed", time="2025-03-04",
             qty=q("8", 8, 8), at=T0 + timedelta(days=1, hours=4))
    (alert,) = contradictions(feed(ClaimLedger(), [high, low]))
    return alert.explanation


def test_a_toll_line_agrees_with_plural_and_singular_speakers() -> None:
    line = _tolls("regional officials", "the district medic")
    assert "regional officials say 30" in line and "the district medic says 8" in line


@pytest.mark.parametrize(("speaker", "verb"), [
    ("regional officials", "say"), ("Rebels", "say"), ("local residents", "say"),
    ("Syrian army officials", "say"), ("the health ministry", "says"), ("the monitor", "says"),
    ("Doctors Without Borders", "says"), ("the United States", "says"), ("the Associated Press", "says"),
    ("BBC News", "says"), ("the census bureau", "says"), ("witnesses, speaking by phone", "say"),
])
def test_agreement_follows_the_head_noun(speaker: str, verb: str) -> None:
    assert _agree(speaker, "says", "say") == verb

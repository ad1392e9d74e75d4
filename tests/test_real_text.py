"""Real published news (../shared/eval/real): the review loop and the quality gate.

Every contradiction alert the pipeline ever raised on these sets is judged in
`tests/fixtures/review/alerts.jsonl` (true or false, with a one-line reason).  A replay
that raises an alert judged false, or one nobody has judged, fails here: judge it with
`wirewatch review OUT --judged tests/fixtures/review/alerts.jsonl --templates` and add the
line.  The gate pins the figures of docs/evaluation-log.md that the other halves of these
sets (held out) are scored on too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wirewatch.review import contradiction_alerts, load_judgements, review

from .conftest import REPO, WIREWATCH, shared_path

pytestmark = pytest.mark.model

JUDGED = REPO / "tests" / "fixtures" / "review" / "alerts.jsonl"
SETS = ("ecbplus", "case2021")


@pytest.fixture(scope="module", params=SETS)
def replayed(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, dict[str, Any]]:
    name: str = request.param
    setdir = shared_path("eval", "real", name)
    out = tmp_path_factory.mktemp(f"real-{name}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    feeds = sorted(str(p) for p in (setdir / "feeds").glob("*.xml"))
    r = subprocess.run([str(WIREWATCH), "replay", *feeds, "--out", str(out)], env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    s = subprocess.run([sys.executable, str(shared_path("eval", "realscore.py")), name, str(setdir), str(out),
                        "--json"], capture_output=True, text=True, timeout=120)
    assert s.returncode == 0, s.stderr
    return name, out, json.loads(s.stdout)


def test_no_alert_judged_false_comes_back_and_every_alert_is_judged(
        replayed: tuple[str, Path, dict[str, Any]]) -> None:
    name, out, _scores = replayed
    rows = review(contradiction_alerts(out), load_judgements(JUDGED))
    false = [(r.alert["claim"]["sentence"][:100], r.judgement.reason) for r in rows
             if r.judgement is not None and not r.judgement.verdict]
    assert false == [], f"{name}: alerts judged false are back"
    unjudged = [(r.alert["claim"]["sentence"][:100], r.alert["contradicts"]["sentence"][:100]) for r in rows
                if r.judgement is None]
    assert unjudged == [], (f"{name}: judge these alerts (wirewatch review OUT --judged {JUDGED} --templates) "
                            "and add them to the file")


def test_real_text_gate(replayed: tuple[str, Path, dict[str, Any]]) -> None:
    name, _out, scores = replayed
    print(f"\n{name}: {scores}")
    assert scores["replayed"] == scores.get("snippets", scores.get("articles"))
    # issue 17's targets, which the held-out halves are scored on too (docs/evaluation-log.md)
    if name == "ecbplus":
        assert scores["merges_across_events"] == 0  # a new event is never silenced as a copy of another
        assert scores["contradiction_alerts"] <= 3
        assert scores["cluster_pair_precision"] >= 0.85 and scores["cluster_pair_recall"] >= 0.7
    else:
        assert scores["attack_recall"] >= 0.85 and scores["territory_control_recall"] >= 0.85
        assert scores["other_kinds_with_claims"] <= 0.07


def test_the_judgement_file_judges_every_line_with_a_reason() -> None:
    judged = load_judgements(JUDGED)
    assert judged and all(j.reason.strip() and j.set in SETS for j in judged.values())

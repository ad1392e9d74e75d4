"""`wirewatch review`: contradiction alerts of a replay against a judgement file."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from wirewatch.review import JudgementFileInvalid, load_judgements, review

from .conftest import WIREWATCH

A = "The ministry said its jets had not bombed the market in Niono."
B = "Witnesses said jets bombed the market in Niono on Monday."
C = "Rebels said they had taken the town of Lere."
D = "The army denied that Lere had fallen."


def _alert(claim: str, contradicts: str, dispute: str = "d1", update: bool = False) -> dict[str, object]:
    return {"type": "contradiction", "kind": "denial", "alert_id": dispute + claim[:3], "dispute_id": dispute,
            "update": update, "ledger_key": "place:x", "explanation": "X denies Y",
            "claim": {"sentence": claim}, "contradicts": {"sentence": contradicts}}


def _judged(tmp_path: Path, *rows: dict[str, object]) -> Path:
    path = tmp_path / "judged.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _judgement(claim: str, contradicts: str, verdict: bool) -> dict[str, object]:
    return {"set": "t", "kind": "denial", "claim": claim, "contradicts": contradicts, "verdict": verdict,
            "reason": "because"}


def test_an_alert_matches_its_judgement_in_either_order_and_despite_spacing(tmp_path: Path) -> None:
    judged = load_judgements(_judged(tmp_path, _judgement(A, B, True), _judgement(C, D, False)))
    rows = review([_alert(B, "  " + A.replace(" ", "  ")), _alert(D, C), _alert(A, D)], judged)
    assert [r.status for r in rows] == ["TRUE", "FALSE", "UNJUDGED"]


@pytest.mark.parametrize("line", ['{"set": "t"}', "not json", json.dumps(_judgement(A, B, True) | {"verdict": "yes"}),
                                  json.dumps(_judgement(A, B, True) | {"reason": " "})])
def test_a_malformed_judgement_line_is_a_clear_error(tmp_path: Path, line: str) -> None:
    path = tmp_path / "judged.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(JudgementFileInvalid, match=r"judged\.jsonl:1"):
        load_judgements(path)


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    return subprocess.run([str(WIREWATCH), "review", *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)


def test_the_command_fails_on_a_false_or_unjudged_alert_and_prints_lines_to_judge_it(tmp_path: Path) -> None:
    out = tmp_path / "replay"
    out.mkdir()
    alerts = [_alert(A, B), _alert(C, D, "d2"), {"type": "new_claim", "claim": {"sentence": C}}]
    (out / "alerts.jsonl").write_text("".join(json.dumps(a) + "\n" for a in alerts), encoding="utf-8")
    judged = _judged(tmp_path, _judgement(A, B, True))
    p = _cli(tmp_path, str(out), "--judged", str(judged), "--templates")
    assert p.returncode == 1, p.stderr
    assert "2 contradiction alerts in 2 disputes: 1 judged true, 0 judged false, 1 not judged" in p.stdout
    template = json.loads(p.stdout.strip().splitlines()[-1])
    assert (template["claim"], template["contradicts"], template["verdict"]) == (C, D, None)
    judged = _judged(tmp_path, _judgement(A, B, True), _judgement(C, D, True))
    assert _cli(tmp_path, str(out), "--judged", str(judged)).returncode == 0


def test_a_missing_replay_directory_is_one_line(tmp_path: Path) -> None:
    p = _cli(tmp_path, str(tmp_path / "nope"), "--judged", str(_judged(tmp_path)))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.startswith("wirewatch: error: cannot read") and "alerts.jsonl" in p.stderr

"""Review contradiction alerts against a file of judgements (`wirewatch review`).

A judgement file is JSON lines, one judged alert per line::

    {"set": "ecbplus", "kind": "denial", "claim": "<evidence sentence>",
     "contradicts": "<evidence sentence>", "verdict": false, "reason": "a negated outcome, not a denial"}

An alert matches a judgement when its two evidence sentences are the judgement's two, in
either order (whitespace and typographic quotes normalised).  `review` lists every
contradiction alert of a replay with its verdict, so that each alert the pipeline ever
raised on a set is judged once; a false alert that comes back, or an alert nobody has
judged, fails the review.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})


class JudgementFileInvalid(ConfigError):
    """A judgement file is unreadable or a line is not a judgement."""

    code = "judgement_file_invalid"


def _norm(sentence: str) -> str:
    return " ".join(sentence.translate(_QUOTES).split())


def pair_key(a: str, b: str) -> tuple[str, str]:
    x, y = sorted((_norm(a), _norm(b)))
    return x, y


@dataclass(frozen=True)
class Judgement:
    set: str
    kind: str
    claim: str
    contradicts: str
    verdict: bool
    reason: str


@dataclass(frozen=True)
class Reviewed:
    alert: dict[str, Any]
    judgement: Judgement | None

    @property
    def status(self) -> str:
        if self.judgement is None:
            return "UNJUDGED"
        return "TRUE" if self.judgement.verdict else "FALSE"


def load_judgements(path: Path) -> dict[tuple[str, str], Judgement]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise JudgementFileInvalid(f"cannot read {path}: {exc.strerror}") from None
    out: dict[tuple[str, str], Judgement] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            j = Judgement(set=str(raw["set"]), kind=str(raw["kind"]), claim=str(raw["claim"]),
                          contradicts=str(raw["contradicts"]), verdict=raw["verdict"], reason=str(raw["reason"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise JudgementFileInvalid(f"{path}:{n}: not a judgement ({type(exc).__name__}: {exc})") from None
        if not isinstance(j.verdict, bool) or not j.reason.strip():
            raise JudgementFileInvalid(f"{path}:{n}: a judgement needs a true/false verdict and a reason")
        out[pair_key(j.claim, j.contradicts)] = j
    return out


def contradiction_alerts(replay_dir: Path) -> list[dict[str, Any]]:
    path = replay_dir / "alerts.jsonl"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror} (is it a `wirewatch replay` output?)") from None
    alerts = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [a for a in alerts if a.get("type") == "contradiction"]


def review(alerts: Iterable[dict[str, Any]], judgements: dict[tuple[str, str], Judgement]) -> list[Reviewed]:
    return [Reviewed(a, judgements.get(pair_key(a["claim"]["sentence"], a["contradicts"]["sentence"])))
            for a in alerts]


def template(set_name: str, r: Reviewed) -> str:
    """A judgement line to fill in for an alert nobody has judged yet."""
    a = r.alert
    return json.dumps({"set": set_name, "kind": a["kind"], "claim": a["claim"]["sentence"],
                       "contradicts": a["contradicts"]["sentence"], "verdict": None, "reason": ""},
                      ensure_ascii=False)


def report(rows: list[Reviewed]) -> list[str]:
    lines: list[str] = []
    for r in rows:
        a = r.alert
        update = " (update)" if a.get("update") else ""
        lines.append(f"{r.status:<9} {a['kind']}{update} · {a.get('ledger_key', '')} · dispute "
                     f"{str(a.get('dispute_id', a.get('alert_id', '')))[:12]}")
        lines.append(f"  {a['explanation']}")
        lines.append(f"  A: {_norm(a['claim']['sentence'])[:300]}")
        lines.append(f"  B: {_norm(a['contradicts']['sentence'])[:300]}")
        if r.judgement is not None:
            lines.append(f"  why: {r.judgement.reason}")
    counts = {s: sum(r.status == s for r in rows) for s in ("TRUE", "FALSE", "UNJUDGED")}
    disputes = len({r.alert.get("dispute_id") or r.alert.get("alert_id") for r in rows})
    lines.append(f"{len(rows)} contradiction alerts in {disputes} disputes: {counts['TRUE']} judged true, "
                 f"{counts['FALSE']} judged false, {counts['UNJUDGED']} not judged")
    return lines

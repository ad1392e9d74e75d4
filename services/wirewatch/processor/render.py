"""Alerts as a person reads them in a terminal (`wirewatch tail`).

A contradiction is shown so that it is understood at a glance: the kind and place
on top, the one-line explanation, then each side with who says it, in which outlet,
when, and the evidence sentence.  Plain text; no colour codes.
"""

from __future__ import annotations

import textwrap

from ..models import Claim, ContradictionAlert, NewClaimAlert

WIDTH = 100
_KIND = {"denial": "DENIAL", "control": "CONTROL", "numeric": "NUMBERS"}


def _when(claim: Claim) -> str:
    event = f"event {claim.time}, " if claim.time else ""
    return f"{event}published {claim.published:%d %b %Y %H:%M} UTC"


def _who(claim: Claim) -> str:
    speaker = claim.attributed_to or "(own voice)"
    return f"{speaker} — {claim.source}"


def _quote(sentence: str, indent: str) -> str:
    text = " ".join(sentence.split())
    return textwrap.fill(f"“{text}”", width=WIDTH, initial_indent=indent, subsequent_indent=indent + " ",
                         max_lines=4, placeholder=" …”")


def _side(label: str, claim: Claim) -> list[str]:
    says = "denies" if claim.polarity == "denied" else "says"
    hedge = ", hedged" if claim.modality == "hedged" else ""
    return [
        f"  {label} {_who(claim)} {says} ({claim.category}{hedge}; {_when(claim)})",
        _quote(claim.sentence, "      "),
        f"      {claim.story_url}",
    ]


def format_alert(alert: NewClaimAlert | ContradictionAlert) -> str:
    """A few plain-text lines for one alert."""
    if isinstance(alert, ContradictionAlert):
        place = alert.claim.location or alert.contradicts.location or "an unnamed place"
        kind = _KIND.get(alert.kind, alert.kind.upper())
        lines = [
            f"CONTRADICTION [{kind}] {place}  (alert {alert.alert_id[:12]})",
            f"  {alert.explanation}",
            *_side("A:", alert.contradicts),
            *_side("B:", alert.claim),
        ]
        return "\n".join(lines)
    c = alert.claim
    where = c.location or "an unnamed place"
    says = "denies" if c.polarity == "denied" else "reports"
    head = f"NEW CLAIM [{c.category}] {where}  (alert {alert.alert_id[:12]})"
    return "\n".join([
        head,
        f"  {_who(c)} {says} ({_when(c)})",
        _quote(c.sentence, "      "),
        f"      {c.story_url}",
    ])

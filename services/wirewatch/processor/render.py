"""Alerts as a person reads them in a terminal (`wirewatch tail`).

A contradiction is understood at a glance: kind, place and day on the first line (a new
dispute, or an update of one already shown), the one-line explanation under it, then each
side as who says it (and in which outlet, when), what they say, verbatim, and the link,
and how many sources each side has so far.  Plain text, no colour codes.

    CONTRADICTION  denial · Sakhour · 28 Nov 2016   (dispute 0f2fcefa8a1b)
      Rebels deny what Syrian state TV reports: army took Sakhour (28 Nov)
      SAYS    Syrian state TV, citing a military source  [Reuters, 28 Nov 13:05 UTC]
              "Citing a military source, Syrian state TV said the army ... had seized the entire Sakhour area"
              https://www.reuters.com/...
      DENIES  Rebels  [Reuters, 28 Nov 13:05 UTC]
              ...
      SIDES   says: 1 source, 1 article · denies: 1 source, 1 article
"""

from __future__ import annotations

import textwrap

from ..models import Claim, ContradictionAlert, DisputeSide, NewClaimAlert

WIDTH = 100
INDENT = " " * 10
_QUOTE_MARKS = ('"', "\u201c", "\u2018")


def _speaker(claim: Claim) -> str:
    if claim.attributed_to:
        name = claim.attributed_to
        return name if len(name) <= 60 else name[:57].rstrip(" ,") + "..."
    if claim.sentence.lstrip().startswith(_QUOTE_MARKS):
        return "(a quoted speaker)"
    return f"{claim.source} (own reporting)"


def _day(claim: Claim) -> str:
    """The event's day when the article gave it, else the publication day."""
    if claim.time and len(claim.time) >= 10:
        return f"{int(claim.time[8:10])} {_MONTHS[int(claim.time[5:7]) - 1]} {claim.time[:4]}"
    return f"{claim.published.day} {claim.published:%b %Y}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _side(label: str, claim: Claim) -> list[str]:
    hedge = ", hedged" if claim.modality == "hedged" else ""
    event = f", event {claim.time}" if claim.time else ""
    head = f"  {label:<8}{_speaker(claim)}  [{claim.source}, {claim.published:%d %b %H:%M} UTC{event}{hedge}]"
    text = "“" + " ".join(claim.sentence.split()).strip("\"“”") + "”"
    quote = textwrap.fill(text, width=WIDTH, initial_indent=INDENT, subsequent_indent=INDENT + " ",
                          max_lines=4, placeholder=" …”")
    return [head, quote, f"{INDENT}{claim.story_url}"]


def _count(side: DisputeSide) -> str:
    sources, articles = len(side.sources), side.num_articles
    return f"{sources} source{'s' * (sources != 1)}, {articles} article{'s' * (articles != 1)}"


def _label(claim: Claim) -> str:
    return "DENIES" if claim.polarity == "denied" else "SAYS"


def format_alert(alert: NewClaimAlert | ContradictionAlert) -> str:
    """A few plain-text lines for one alert."""
    if isinstance(alert, ContradictionAlert):
        old, new = alert.contradicts, alert.claim
        place = new.location or old.location or "an unnamed place"
        head = "DISPUTE UPDATE" if alert.update else "CONTRADICTION"
        lines = [
            f"{head}  {alert.kind} · {place} · {_day(old)}   (dispute {alert.dispute_id[:12]})",
            f"  {alert.explanation}",
            *_side(_label(old), old),
            *_side(_label(new), new),
            f"  {'SIDES':<8}{_label(old).lower()}: {_count(alert.contradicts_side)} · "
            f"{_label(new).lower()}: {_count(alert.claim_side)}",
        ]
        return "\n".join(lines)
    c = alert.claim
    where = c.location or "an unnamed place"
    return "\n".join([
        f"NEW CLAIM  {c.category} · {where} · {_day(c)}   (alert {alert.alert_id[:12]})",
        *_side(_label(c), c),
    ])

"""Outlet boilerplate: the lines a copy adds or drops that say nothing about the story.

Dedup compares stories on their reporting only, so a syndicated copy with its own
lead-in, newsletter footer, byline, sign-off or sub-headings still matches the
original.  Every rule here is about the *form* of a line (its opening words, its
length, its punctuation), never about a particular story or outlet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Paragraphs that are the outlet talking about itself, not the news.  Three shapes, so
# that no pattern has to scan a whole paragraph with a leading wildcard:
# how the line opens, a phrase anywhere in a short line, and a photo credit at its end.
_OPENINGS = [
    # navigation and cross-links
    r"(read|see|watch|listen)\s+(more|also|next)\b",
    r"(related|recommended|more)\s*(stories|coverage|news|reading)?\s*:",
    r"(watch|listen|video|podcast|graphic|factbox|explainer)\s*:",
    r"(also\s+read|click\s+here|tap\s+here)\b",
    # newsletters, apps, social channels
    r"(join|follow|subscribe|sign\s+up|download|get)\b.{0,80}\b(telegram|whatsapp|channel|newsletter|"
    r"app|podcast|twitter|facebook|instagram|youtube|tiktok|breaking news|latest news|alerts?)\b",
    r"(sign\s+up|subscribe)\b",
    # sign-offs and credits: "(Reporting by ...; Editing by ...)", "Writing by ..."
    r"\(?\s*((additional\s+)?reporting|writing|editing|compiled|produced|translated)\s+by\b",
    r"\(?\s*with\s+(additional\s+)?reporting\s+(by|from)\b",
    r"(©|\(c\)|copyright)",
    # editor's notes, first-published notes, photo credits opening a line
    r"this\s+(article|story|report|piece)\s+(was\s+)?(first|originally)\s+(appeared|published|ran)\b",
    r"(this|the)\s+(article|story|report|piece)\s+(has\s+been|was)\s+(updated|corrected|amended)\b",
    r"updated\s*(:|at\b|on\b)",
    r"(editor'?s|editors'?)\s+note\b",
    r"(photo|picture|image|video|file photo)s?\s*(:|/|credit)",
]
_OPENING_RE = re.compile(r"\s*(?:" + "|".join(_OPENINGS) + ")", re.IGNORECASE)
# Phrases that mark a short line as a disclaimer or a syndication note wherever they sit.
_PHRASES = [
    r"\ball rights reserved\b",
    r"\bmay not be (published|reproduced|broadcast|rewritten|redistributed)\b",
    r"\b(republishes|republished|reproduced|syndicated)\b.{0,60}\b(from|by|with permission)\b",
    r"\b(could not|was unable to|were unable to|cannot|has not been able to)\s+(independently\s+)?"
    r"(verify|confirm)\s+(the|these|this|those)\s+(accounts?|reports?|claims?|figures?|details?)\b",
]
_PHRASE_RE = re.compile("|".join(_PHRASES), re.IGNORECASE)
_PHRASE_MAX_CHARS = 200
# Captions that slipped through as text end with a credit: "PHOTO: EPA", "AFP PHOTO",
# "REUTERS/Omar Sanadiki", "Photo: Reuters".  Case-sensitive on purpose.
_CREDIT_RE = re.compile(
    r"(?:\b(?:PHOTOS?|Photos?|PICTURES?|Picture|IMAGE|Image)\s*(?::|/|credit:?)\s*[\w .,&/'’-]{1,50}"
    r"|\b[A-Z]{2,10}\s+(?:PHOTOS?|PICTURES?)\)?"
    r"|\([A-Z]{2,10}\s+(?:Photo|PHOTO|Picture|PICTURE)\b[^()]{0,60}\)"
    r"|\b(?:REUTERS|Reuters|AFP|AP|EPA|EPA-EFE|Getty Images)/[\w .'’-]{1,40})\s*$"
)
_CREDIT_HINTS = ("PHOTO", "Photo", "PICTURE", "Picture", "IMAGE", "Image", "/")
_PHRASE_HINTS = ("reserved", "republish", "reproduced", "syndicated", "verify", "confirm", "may not be")
_BOILERPLATE_MAX_CHARS = 400
# The "by Name" byline pattern must keep its case sensitivity for the name.
_BYLINE_RE = re.compile(r"^\s*(?:By|BY|by)\s+[A-Z][\w'’.-]+(?:\s+[A-Z][\w'’.-]+){0,3}\s*$")

# "BEIRUT (Reuters) -", "WASHINGTON, Nov 8 (AP) —", "Aleppo, ONA -", "ABU DHABI -": a place,
# optionally a date and an agency, then a dash, at the very start of the first paragraph.
_DATELINE_RE = re.compile(
    r"^\s*(?:[A-Z][A-Z.'’ -]{1,40}|[A-Z][a-z'’.-]+(?:[ -][A-Z][a-z'’.-]+){0,3})"
    r"(?:\s*,\s*[A-Za-z0-9 .,'’/-]{1,40}?)?"
    r"(?:\s*\([A-Za-z0-9 .,&'’/-]{1,40}\))?"
    r"\s*[-–—]{1,2}\s+"
)
# Sub-headings ("Kurdish militia"): a few words with no sentence punctuation.
_HEADING_MAX_WORDS = 6
_SENTENCE_END = re.compile(r"[.!?:;\"”’)]\s*$")


@dataclass(frozen=True)
class Span:
    """A kept piece of the body: ``text == body[start:end]``."""

    start: int
    end: int
    text: str


def paragraphs(body: str) -> list[Span]:
    """Paragraphs of a body (blank-line separated) with their offsets."""
    out: list[Span] = []
    for m in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]*)*", body):
        text = m.group(0)
        stripped = text.strip()
        if not stripped:
            continue
        lead = len(text) - len(text.lstrip())
        start = m.start() + lead
        out.append(Span(start, start + len(stripped), stripped))
    return out


def is_boilerplate(text: str) -> bool:
    """True for a paragraph that is outlet furniture rather than reporting."""
    if len(text) > _BOILERPLATE_MAX_CHARS:  # furniture is short; reporting is not
        return False
    if _OPENING_RE.match(text) or _BYLINE_RE.match(text):
        return True
    # Substring tests first: the regexes below are only worth running on a likely line.
    tail = text[-80:]
    if any(k in tail for k in _CREDIT_HINTS) and _CREDIT_RE.search(tail):
        return True
    if len(text) <= _PHRASE_MAX_CHARS:
        low = text.lower()
        if any(k in low for k in _PHRASE_HINTS) and _PHRASE_RE.search(text):
            return True
    words = text.split()
    # A short line without sentence punctuation is a heading, a kicker or a caption credit.
    return len(words) <= _HEADING_MAX_WORDS and not _SENTENCE_END.search(text)


def strip_dateline(span: Span) -> Span:
    """Drop a leading dateline ('BEIRUT (Reuters) - ') from a paragraph."""
    m = _DATELINE_RE.match(span.text)
    if not m:
        return span
    rest = span.text[m.end():]
    # A dateline is followed by a real sentence; otherwise this was an ordinary dash.
    if len(rest.split()) < 4:
        return span
    return Span(span.start + m.end(), span.end, rest)


def content_paragraphs(body: str) -> list[Span]:
    """The reporting paragraphs of a body: boilerplate dropped, dateline cut off the first."""
    kept = [p for p in paragraphs(body) if not is_boilerplate(p.text)]
    if kept:
        kept[0] = strip_dateline(kept[0])
    return kept

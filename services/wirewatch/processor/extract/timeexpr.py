"""Time expressions resolved against the story's publication date.

'on Monday' is the latest Monday on or before publication; 'Oct. 29' and 'since Oct 18'
take the publication year unless that puts them in the future; 'in September' resolves
to a month (YYYY-MM) and 'this year' to a year (YYYY), both valid ISO 8601 dates.
Expressions without a definite date ('in recent days', 'last week') keep their text and
no date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
                                            "oct", "nov", "dec"))}
_MONTH = (r"(?:Jan(?:uary|\.)?|Feb(?:ruary|\.)?|Mar(?:ch|\.)?|Apr(?:il|\.)?|May|June?|July?|Aug(?:ust|\.)?|"
          r"Sep(?:t(?:ember|\.)?|\.)?|Oct(?:ober|\.)?|Nov(?:ember|\.)?|Dec(?:ember|\.)?)")
_PREP = r"(?:(?P<prep>on|since|by|from|until|till|before|after|late|early|last|this|in|throughout|over)[ ])?"

_YEAR = r"(?:,?[ ](?P<year>\d{4}))?"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("md", re.compile(rf"\b{_PREP}(?P<mon>{_MONTH})[ ](?P<day>\d{{1,2}})(?:st|nd|rd|th)?{_YEAR}\b")),
    ("dm", re.compile(rf"\b{_PREP}(?P<day>\d{{1,2}})(?:st|nd|rd|th)?[ ](?P<mon>{_MONTH}){_YEAR}\b")),
    ("wd", re.compile(rf"\b{_PREP}(?P<wd>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
                      r"(?:[ ](?:night|evening|morning|afternoon))?\b")),
    ("rel", re.compile(r"\b(?P<rel>yesterday|today|tonight|last[ ]night|this[ ]morning|earlier[ ]today)\b",
                       re.I)),
    ("mon", re.compile(r"\b(?P<prep>in|since|by|from|until|during|early|late|last|this|throughout)[ ]"
                       r"(?P<mon>January|February|March|April|May|June|July|August|September|October|November|"
                       r"December)(?:[ ](?P<year>\d{4}))?\b")),
    ("year", re.compile(r"\b(?P<prep>in|since|during|this|last)[ ](?P<year>year|(?:19|20)\d\d)\b")),
    ("vague", re.compile(r"\b(?:in[ ]recent[ ](?:days|weeks|months)|(?:last|this|next)[ ](?:week|month)|"
                         r"(?:over|since|at)[ ]the[ ]weekend|since[ ]the[ ](?:summer|spring|autumn|winter)|"
                         r"in[ ]the[ ]past[ ]\w+[ ](?:days|weeks|hours))\b", re.I)),
)


@dataclass(frozen=True)
class TimeExpr:
    start: int
    end: int
    text: str
    iso: str | None


def _month_num(token: str) -> int:
    return _MONTHS[token[:3].lower()]


def _resolve(kind: str, m: re.Match[str], pub: date) -> str | None:
    if kind in ("md", "dm"):
        mon, day = _month_num(m.group("mon")), int(m.group("day"))
        year = int(m.group("year")) if m.group("year") else pub.year
        try:
            d = date(year, mon, day)
        except ValueError:
            return None
        if not m.group("year") and d > pub + timedelta(days=2):
            d = d.replace(year=year - 1)
        return d.isoformat()
    if kind == "wd":
        target = _WEEKDAYS.index(m.group("wd").lower())
        delta = (pub.weekday() - target) % 7
        if (m.group("prep") or "").lower() == "last" and delta == 0:
            delta = 7
        return (pub - timedelta(days=delta)).isoformat()
    if kind == "rel":
        rel = m.group("rel").lower()
        return (pub - timedelta(days=1 if rel == "yesterday" else 0)).isoformat()
    if kind == "mon":
        mon = _month_num(m.group("mon"))
        year = int(m.group("year")) if m.group("year") else pub.year
        if not m.group("year") and mon > pub.month:
            year -= 1
        return f"{year:04d}-{mon:02d}"
    if kind == "year":
        y = m.group("year").lower()
        if y == "year":
            return f"{pub.year - (1 if m.group('prep').lower() == 'last' else 0):04d}"
        return y
    return None


def find_times(text: str, published: datetime) -> list[TimeExpr]:
    """Time expressions in ``text``, resolved against ``published`` (its date in UTC)."""
    pub = published.date()
    out: list[TimeExpr] = []
    taken: list[tuple[int, int]] = []
    for kind, rx in _PATTERNS:
        for m in rx.finditer(text):
            if any(not (m.end() <= a or m.start() >= b) for a, b in taken):
                continue
            out.append(TimeExpr(m.start(), m.end(), m.group(0), _resolve(kind, m, pub)))
            taken.append((m.start(), m.end()))
    return sorted(out, key=lambda t: t.start)

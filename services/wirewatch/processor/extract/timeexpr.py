"""Time expressions resolved against the story's publication date.

'on Monday' is the latest Monday on or before publication; 'Oct. 29' and 'since Oct 18'
take the publication year unless that puts them in the future; 'in September' resolves
to a month (YYYY-MM) and 'this year' to a year (YYYY), both valid ISO 8601 dates.
Expressions without a definite date ('in recent days', 'last week') keep their text and
no date, and so do those that would resolve outside years 1-9999 (a feed may date an
item 9999-12-31 or 0001-01-01: 'yesterday' then has no date rather than raising).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime

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


def _days_before(pub: date, days: int) -> date | None:
    """``pub`` minus ``days``, or None before 0001-01-01 (a feed may date an item in year 1)."""
    ordinal = pub.toordinal() - days
    return date.fromordinal(ordinal) if 1 <= ordinal <= date.max.toordinal() else None


def _day(year: int, mon: int, day: int) -> date | None:
    try:
        return date(year, mon, day)
    except ValueError:  # 'Feb. 30', year 0, or 'Feb. 29' moved to a year without one
        return None


def _resolve(kind: str, m: re.Match[str], pub: date) -> str | None:
    # Every result stays within 0001-01-01..9999-12-31: near either end of Python's date
    # range an expression that would resolve outside it gets no date rather than an error.
    if kind in ("md", "dm"):
        mon, day = _month_num(m.group("mon")), int(m.group("day"))
        if m.group("year"):
            d = _day(int(m.group("year")), mon, day)
            return d.isoformat() if d else None
        d = _day(pub.year, mon, day)
        # (a difference, not pub + 2 days: that overflows in the last days of 9999)
        if d is not None and (d - pub).days > 2:
            d = _day(pub.year - 1, mon, day)
        return d.isoformat() if d else None
    if kind == "wd":
        target = _WEEKDAYS.index(m.group("wd").lower())
        delta = (pub.weekday() - target) % 7
        if (m.group("prep") or "").lower() == "last" and delta == 0:
            delta = 7
        d = _days_before(pub, delta)
        return d.isoformat() if d else None
    if kind == "rel":
        rel = m.group("rel").lower()
        d = _days_before(pub, 1 if rel == "yesterday" else 0)
        return d.isoformat() if d else None
    if kind == "mon":
        mon = _month_num(m.group("mon"))
        year = int(m.group("year")) if m.group("year") else pub.year
        if not m.group("year") and mon > pub.month:
            year -= 1
        return f"{year:04d}-{mon:02d}" if MINYEAR <= year <= MAXYEAR else None
    if kind == "year":
        y = m.group("year").lower()
        if y == "year":
            year = pub.year - (1 if m.group("prep").lower() == "last" else 0)
            return f"{year:04d}" if MINYEAR <= year <= MAXYEAR else None
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

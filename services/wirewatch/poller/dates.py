"""Feed dates to UTC instants: ISO 8601, RFC 822, and the looser forms feeds write.

Tried in order, the first that reads the whole date wins:

1. ISO 8601 / RFC 3339 (Atom, JSON Feed, ``dc:date``), fractional seconds kept;
2. RFC 822 (RSS), after translating month names a CMS wrote in its own language
   and dropping the day-of-week ("mer, 16 nov 2022"); not for a 12-hour clock,
   which RFC 822 parsers read as 24-hour ("02:02:33 PM" is 14:02:33);
3. a lenient reader (dateutil) for the rest ("Sat, Dec 16 2023 02:02:33 PM"), which
   must find a year, a month and a day in the text itself: it never fills one in.

A date without a zone is UTC.  Names (months, weekdays, zones) are data:
``wirewatch/data/poller/dates.yaml``.  Anything unreadable, or outside what a
``datetime`` holds once in UTC, is None: the caller decides what a missing date means.
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from dateutil import parser as dateutil_parser
from dateutil.parser import UnknownTimezoneWarning

MAX_DATE_CHARS = 100  # a longer "date" is not one (and must not cost a lenient parse)
_TWELVE_HOUR = re.compile(r"\d\s*[ap]\.?\s?m\b", re.IGNORECASE)
_TOKEN = re.compile(r"[^\W\d_]+\.?", re.UNICODE)  # a word (letters), optional trailing dot
_SPACE = re.compile(r"\s+")
_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")
# Two different fill-ins: a field the text lacks comes out different in the two parses.
_DEFAULTS = (datetime(2001, 1, 1), datetime(2002, 2, 2))


@lru_cache(maxsize=1)
def _names() -> tuple[dict[str, str], frozenset[str], dict[str, int]]:
    raw: dict[str, Any] = yaml.safe_load(
        resources.files("wirewatch").joinpath("data/poller/dates.yaml").read_text(encoding="utf-8"))
    english = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    months = {str(name).lower(): english[int(num) - 1] for num, names in raw["months"].items() for name in names}
    weekdays = frozenset(str(name).lower() for name in raw["weekdays"])
    zones = {str(name).upper(): int(minutes) for name, minutes in raw["zones"].items()}
    return months, weekdays, zones


def _offset(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def normalise(text: str) -> str:
    """``text`` with month names in English, zone names as offsets, no leading weekday."""
    months, weekdays, zones = _names()
    text = _SPACE.sub(" ", text).strip()
    first = _TOKEN.match(text)
    if first:
        word = first.group().rstrip(".").lower()
        rest = text[first.end():]
        # "mer, 16 nov 2022": RFC 822's day-of-week is a word and a comma, in any language.
        # "Mar 16 2023" is March, not Tuesday: a weekday is dropped only before another month.
        if rest.startswith(",") or (word in weekdays and any(
                m.group().rstrip(".").lower() in months for m in _TOKEN.finditer(rest))):
            text = rest.lstrip(" ,")

    def swap(m: re.Match[str]) -> str:
        word = m.group()
        key = word.rstrip(".").lower()
        if key in months:
            return months[key]
        if word.upper() in zones:
            return _offset(zones[word.upper()])
        return word

    return _TOKEN.sub(swap, text)


def _iso(text: str) -> datetime | None:
    return datetime.fromisoformat(text.replace("z", "Z"))


def _rfc822(text: str, *, zoned: bool = False) -> datetime | None:
    """RFC 822; with ``zoned``, only a date whose zone email.utils knows (the fast path for
    the common English form: an unknown zone name must go through ``normalise`` first)."""
    if _TWELVE_HOUR.search(text):
        return None
    parts = parsedate_tz(text)
    if parts is None or (zoned and parts[9] is None):
        return None
    year, month, day, hour, minute, second, *_rest = parts
    offset = parts[9]
    dt = datetime(year, month, day, hour, minute, second)
    return dt.replace(tzinfo=timezone(timedelta(seconds=offset))) if offset is not None else dt


def _lenient(text: str) -> datetime | None:
    with warnings.catch_warnings():  # an unknown zone name is read as UTC (see the docstring)
        warnings.simplefilter("ignore", UnknownTimezoneWarning)
        first, second = (dateutil_parser.parse(text, default=d) for d in _DEFAULTS)
    if (first.year, first.month, first.day) != (second.year, second.month, second.day):
        return None  # the text lacks a year, a month or a day
    return first


def _year_as_written(text: str, dt: datetime) -> bool:
    """A four-digit year in the text is the year read (parsers take "0000" for 2000)."""
    years = {int(y) for y in _YEAR.findall(text)}
    return not years or dt.year in years


def parse_date(value: Any) -> datetime | None:
    """The instant ``value`` names, in UTC, or None (see the module docstring)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > MAX_DATE_CHARS:
        return None
    normalised: list[str] = []

    def norm() -> str:
        if not normalised:
            normalised.append(normalise(text))
        return normalised[0]

    for attempt in (lambda: _iso(text), lambda: _rfc822(text, zoned=True), lambda: _rfc822(norm()),
                    lambda: _lenient(norm())):
        try:
            dt = attempt()
            if dt is None or not _year_as_written(text, dt):
                continue
            return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)
        except (ValueError, OverflowError, TypeError, IndexError, LookupError):
            continue
    return None

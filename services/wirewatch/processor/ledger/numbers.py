"""Figures in claims as intervals, so that '12', 'at least 40', 'dozens' and 'about 4,000' compare.

A reported figure is a range of counts it is compatible with: '21' is exactly 21,
'at least 40' is 40 or more, 'about 4,000' is roughly 3,200-4,800, 'dozens' is 12-149 (12 and
'hundreds' 100 are the conservative figures ACLED codes).
Two figures for the same event contradict each other only when their ranges do not
overlap.  The extractor fills ``Quantity.low/high/approximate/at_least``; the text is
read here only when it left the bounds empty (vague amounts such as 'hundreds').
"""

from __future__ import annotations

import math
import re

from ...models import Quantity

# Vague amounts.  Ranges are deliberately generous: a false alarm costs more than a
# missed one, so 'dozens' reaches well past a hundred and 'hundreds' past a thousand, and
# they start at the conservative figures ACLED codes for them (12 and 100).
# The third bound is what 'at least <amount>' means: 'at least a dozen' is 12 or more.
_VAGUE: tuple[tuple[re.Pattern[str], float, float, float], ...] = tuple(
    (re.compile(p, re.I), lo, hi, floor)
    for p, lo, hi, floor in (
        (r"\btens of thousands\b", 20_000, 199_999, 20_000),
        (r"\bhundreds of thousands\b", 200_000, 1_999_999, 200_000),
        (r"\bthousands\b", 2_000, 19_999, 2_000),
        (r"\bhundreds\b", 100, 1_999, 100),
        (r"\bscores\b", 40, 299, 40),
        (r"\bdozens\b", 12, 149, 12),
        (r"\b(?:a|one) dozen\b", 10, 14, 12),
        (r"\b(?:a handful|a few|several|a number)\b", 2, 12, 2),
    )
)
# Words that say there were some, not how many: no figure to compare.
_NO_FIGURE = re.compile(
    r"^\s*(?:how\s+)?(?:many|numerous|countless|large\s+numbers?|a\s+large\s+number|an?\s+(?:unknown|"
    r"unspecified|undisclosed)\s+number)\b",
    re.I,
)

_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
_SCALE = {"hundred": 100, "thousand": 1_000, "million": 1_000_000}

_AT_LEAST = re.compile(
    r"\b(?:at least|more than|over|upwards of|in excess of|no fewer than|no less than)\b", re.I
)
_AT_MOST = re.compile(r"\b(?:up to|at most|no more than|fewer than|less than|nearly|almost|close to)\b", re.I)
_ABOUT = re.compile(
    r"\b(?:about|around|some|roughly|approximately|an estimated|estimated|nearly|almost|close to)\b|~", re.I
)
_NUM = re.compile(r"\d[\d,]*(?:\.\d+)?")

# How far 'about N' reaches: reporters round to one or two significant figures.
APPROX = 0.2


def words_to_number(text: str) -> float | None:
    """'twenty-one' -> 21, 'two hundred' -> 200, '4,000' -> 4000; None when there is no number."""
    m = _NUM.search(text)
    if m:
        value = float(m.group().replace(",", ""))
        tail = text[m.end():].lower()
        for word, scale in _SCALE.items():
            if re.match(rf"\s*{word}\b", tail):
                value *= scale
        return value
    total = current = 0.0
    seen = False
    for tok in re.findall(r"[a-z]+", text.lower()):
        if tok in _WORDS:
            current += _WORDS[tok]
            seen = True
        elif tok in _SCALE and (seen or current):
            current = max(current, 1) * _SCALE[tok]
            if _SCALE[tok] >= 1000:
                total, current = total + current, 0.0
        elif seen and tok != "and":
            break
    return total + current if seen else None


def interval(q: Quantity | None) -> tuple[float, float] | None:
    """The counts a reported figure is compatible with, or None when it gives no figure."""
    if q is None:
        return None
    # 'just over 2,000' is a rounded figure, not an open lower bound.
    text = re.sub(r"\bjust (?:over|under)\b", "about", q.text or "", flags=re.I)
    lo, hi = q.low, q.high
    at_least = q.at_least or bool(_AT_LEAST.search(text))
    at_most = bool(_AT_MOST.search(text)) and not at_least
    approximate = q.approximate or bool(_ABOUT.search(text))
    if _NO_FIGURE.search(text) and not re.search(r"\d", text):
        return None
    # A vague amount is read here whatever bounds the extractor gave, so that every
    # producer's 'a dozen' means the same range.
    bare = " ".join(_ABOUT.sub(" ", _AT_LEAST.sub(" ", text)).split())
    for pat, vlo, vhi, floor in _VAGUE:
        if pat.fullmatch(bare) or (lo is None and hi is None and pat.search(text)):
            return (floor, math.inf) if at_least else (vlo, vhi)
    if lo is None and hi is None:
        n = words_to_number(text)
        if n is None:
            return None
        lo = hi = n
    if lo is None:
        lo = 0.0 if at_most else hi
    if hi is None:
        hi = lo
    assert lo is not None and hi is not None
    if at_least:
        hi = math.inf
    if at_most:
        lo = 0.0 if not approximate else lo * (1 - APPROX)
    elif at_least:
        pass  # 'at least 40' is 40 or more, even if a producer also marked it approximate
    elif approximate:
        lo, hi = lo * (1 - APPROX), hi * (1 + APPROX)
    return (min(lo, hi), max(lo, hi))


def compatible(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Two figures can both be true when their ranges overlap."""
    return a[0] <= b[1] and b[0] <= a[1]


def describe(q: Quantity | None) -> str:
    """The figure as the reporter gave it, for explanations."""
    if q is None:
        return "an unspecified number"
    return q.text.strip() or (f"{q.low:g}" if q.low is not None else "an unspecified number")

"""Quantities in a sentence: '45 civilians', 'between 6,000 and 10,000 people', 'dozens', 'nine'.

Each is a ``Quantity`` with bounds the ledger can compare: an exact number has
low == high, a range its two ends, 'at least 40' only a low bound, 'about 4,000' is
approximate, and vague amounts ('dozens', 'several thousand') get bounds whose low end is the
conservative figure ACLED codes ('dozens' 12, 'hundreds' 100), as the ledger's numbers module does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ...models import Quantity

_UNITS_1 = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
            "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
            "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000}

_NUMWORD = "|".join(sorted([*_UNITS_1, *_TENS], key=len, reverse=True))
_WORDNUM = (rf"(?:(?:{_NUMWORD})[ ]dozen"
            rf"|(?:{_NUMWORD})(?:[- ](?:{_NUMWORD}))?(?:[ ](?:hundred|thousand|million))*"
            rf"(?:[ ](?:and[ ])?(?:{_NUMWORD})(?:-(?:{_NUMWORD}))?)?|a[ ](?:hundred|thousand|million))")
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:[ ](?:million|thousand))?"
_NUMBER = rf"(?:{_DIGITS}|{_WORDNUM})"

# Vague amounts.  The low bound is the conservative figure ACLED codes ('dozens' is 12, 'hundreds'
# 100), the high bound where the next word would be used; numbers.py starts at the same lows.
_VAGUE: tuple[tuple[str, float, float | None], ...] = (
    (r"tens[ ]of[ ]thousands", 20_000, 99_999),
    (r"hundreds[ ]of[ ]thousands", 200_000, 999_999),
    (r"several[ ]thousand|a[ ]few[ ]thousand|thousands", 2_000, 9_999),
    (r"several[ ]hundred|a[ ]few[ ]hundred", 200, 999),
    (r"hundreds", 100, 999),
    (r"scores", 40, 199),
    (r"dozens", 12, 99),
    (r"a[ ]dozen", 10, 14),
    (r"large[ ]numbers|a[ ]large[ ]number|many", 2, None),
    (r"a[ ]handful|a[ ]few|several|a[ ]number", 2, 12),
)
_VAGUE_RX = "|".join(f"(?:{p})" for p, _, _ in _VAGUE)

_AT_LEAST = r"at[ ]least|more[ ]than|over|upwards[ ]of|in[ ]excess[ ]of|no[ ]fewer[ ]than|no[ ]less[ ]than"
_AT_MOST = r"up[ ]to|at[ ]most|no[ ]more[ ]than|fewer[ ]than|less[ ]than"
_ABOUT = r"about|around|some|roughly|approximately|an[ ]estimated|estimated|nearly|almost|close[ ]to|" \
         r"just[ ]over|" \
         r"just[ ]under|an[ ]estimate[ ]of"
_MOD = rf"(?P<mod>{_AT_LEAST}|{_AT_MOST}|{_ABOUT})[ ]"

_RANGE = re.compile(
    rf"\b(?:(?P<rmod>between|from)[ ])?(?P<lo>{_NUMBER})[ ]?(?:to|and|-|–|or)[ ]?(?P<hi>{_NUMBER})\b", re.I)
_SINGLE = re.compile(rf"\b(?:{_MOD})?(?P<num>{_NUMBER}|{_VAGUE_RX})\b", re.I)
_UNIT = re.compile(r"[ ](?:more[ ])?(?:of[ ](?:the[ ]|them[ ])?)?(?P<unit>[a-z]+)", re.I)
_UNIT_ADJ = re.compile(r"[ ](?:more[ ])?(?:of[ ](?:the[ ]|them[ ])?)?[a-z-]+[ ](?P<unit>[a-z]+)", re.I)
# A number hyphenated to the word after it modifies a noun (an age, a duration, a size: 'a
# 35-year-old man', 'a 10-day siege'); '35 years old' is an age too.  Neither counts people.
_MODIFIER_AFTER = re.compile(r"-[a-z]|[ ]years?[ ]old\b", re.I)
# Six or more digits without separators are an id or a date stamp ('20070403'), not a count:
# news writes large counts with separators or words ('200,000', '1.2 million').
_LONG_DIGITS = re.compile(r"\d{6,}")
_IRREGULAR_PLURALS = {"people": "people", "children": "child", "men": "man", "women": "woman", "dead": "dead"}


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    quantity: Quantity


def parse_number(text: str) -> float | None:
    """'6,000' -> 6000, 'twenty-one' -> 21, 'two hundred' -> 200, '1.5 million' -> 1500000."""
    t = text.strip().lower().replace(",", "")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(?:[ ](million|thousand))?", t)
    if m:
        return float(m.group(1)) * (_SCALES[m.group(2)] if m.group(2) else 1)
    total, current = 0.0, 0.0
    seen = False
    for w in re.split(r"[ -]+", t):
        if w == "and":
            continue
        if w == "a":
            current = 1
        elif w in _UNITS_1:
            current += _UNITS_1[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w == "hundred":
            current = (current or 1) * 100
        elif w == "dozen":  # 'two dozen'
            current = (current or 1) * 12
        elif w in ("thousand", "million"):
            total += (current or 1) * _SCALES[w]
            current = 0
        else:
            return None
        seen = True
    return total + current if seen else None


def _vague(text: str) -> tuple[float, float | None] | None:
    for p, lo, hi in _VAGUE:
        if re.fullmatch(p, text.lower()):
            return lo, hi
    return None


def singular(word: str) -> str:
    w = word.lower()
    if w in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[w]
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def _unit_after(text: str, end: int, unit_words: frozenset[str]) -> str | None:
    """The counted noun: '45 civilians', 'hundreds of families', '21 young men' (as written, lower case)."""
    for rx in (_UNIT, _UNIT_ADJ):
        m = rx.match(text, end)
        if m and (m.group("unit").lower() in unit_words or singular(m.group("unit")) in unit_words):
            return m.group("unit").lower()
    return None


def find_quantities(text: str, unit_words: frozenset[str],
                    skip: Sequence[tuple[int, int]] = ()) -> list[Found]:
    """Quantities in ``text`` not inside ``skip`` ranges (dates, place names)."""
    out: list[Found] = []
    taken: list[tuple[int, int]] = list(skip)

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    for m in _RANGE.finditer(text):
        if not free(m.start(), m.end()):
            continue
        lo, hi = parse_number(m.group("lo")), parse_number(m.group("hi"))
        if lo is None or hi is None or lo >= hi or re.fullmatch(r"(1[89]|20)\d\d", m.group("lo")):
            continue
        unit = _unit_after(text, m.end(), unit_words)
        q = Quantity(low=lo, high=hi, unit=unit, text=text[m.start():m.end()])
        out.append(Found(m.start(), m.end(), q))
        taken.append((m.start(), m.end()))
    for m in _SINGLE.finditer(text):
        if not free(m.start(), m.end()):
            continue
        raw, mod = m.group("num"), (m.group("mod") or "").lower()
        if re.fullmatch(r"(1[89]|20)\d\d", raw):  # a year
            continue
        nxt = text[m.end():m.end() + 2]
        if nxt.startswith("%") or text[max(0, m.start() - 1):m.start()] in ("$", "£", "€"):
            continue
        if _MODIFIER_AFTER.match(text, m.end()) or _LONG_DIGITS.fullmatch(raw):
            continue  # an age or a size ('a 35-year-old man', '10-day siege'), or an id or a date stamp
        unit = _unit_after(text, m.end(), unit_words)
        vague = _vague(raw)
        if vague is not None:
            if unit is None and raw.lower() in ("many", "several", "a number", "a few", "a handful"):
                continue  # 'many' alone is not a count of anything
            q = Quantity(low=vague[0], high=vague[1], unit=unit, text=text[m.start():m.end()],
                         approximate=True)
        else:
            value = parse_number(raw)
            if value is None:
                continue
            if raw.lower() in ("one", "a hundred", "a thousand") and unit is None:
                continue  # 'one of the', 'one source'
            at_least = bool(re.fullmatch(_AT_LEAST, mod, re.I)) if mod else False
            at_most = bool(re.fullmatch(_AT_MOST, mod, re.I)) if mod else False
            approx = bool(re.fullmatch(_ABOUT, mod, re.I)) if mod else False
            q = Quantity(low=None if at_most else value, high=None if at_least else value, unit=unit,
                         text=text[m.start():m.end()], approximate=approx, at_least=at_least)
        out.append(Found(m.start(), m.end(), q))
        taken.append((m.start(), m.end()))
    return sorted(out, key=lambda f: f.start)

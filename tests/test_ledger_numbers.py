"""Figures as ranges: what '12', 'at least 40', 'about 4,000' and 'dozens' can mean."""

from __future__ import annotations

import math

import pytest

from wirewatch.models import Quantity
from wirewatch.processor.ledger.numbers import compatible, interval, words_to_number


@pytest.mark.parametrize(
    ("text", "value"),
    [("21", 21), ("4,000", 4000), ("twenty-one", 21), ("two hundred", 200), ("Forty", 40),
     ("1.5 million", 1_500_000), ("three thousand five hundred", 3500), ("no number", None)],
)
def test_words_to_number(text: str, value: float | None) -> None:
    assert words_to_number(text) == value


@pytest.mark.parametrize(
    ("q", "lo", "hi"),
    [
        (Quantity(text="21", low=21, high=21), 21, 21),
        (Quantity(text="at least 40", low=40, at_least=True), 40, math.inf),
        (Quantity(text="more than 40", low=40), 40, math.inf),
        (Quantity(text="about 4,000", low=4000, approximate=True), 3200, 4800),
        (Quantity(text="just over 2,000", low=2000), 1600, 2400),
        (Quantity(text="between 6,000 and 10,000", low=6000, high=10000), 6000, 10000),
        (Quantity(text="up to 30", low=None, high=30), 0, 30),
        (Quantity(text="dozens"), 12, 149),
        (Quantity(text="hundreds"), 100, 1999),
        (Quantity(text="tens of thousands"), 20_000, 199_999),
        # 'at least a dozen' is twelve or more, whatever bounds the extractor filled in
        (Quantity(text="at least a dozen"), 12, math.inf),
        (Quantity(text="at least a dozen", low=10, high=14, approximate=True), 12, math.inf),
        (Quantity(text="more than a dozen"), 12, math.inf),
        (Quantity(text="a dozen", low=10, high=14, approximate=True), 10, 14),
        (Quantity(text="several thousand", low=2000, high=9000), 2000, 9000),
        (Quantity(text="at least 40", low=40, at_least=True, approximate=True), 40, math.inf),
        (Quantity(text="between ten and fifteen", low=10, high=15), 10, 15),
        (Quantity(text="nine"), 9, 9),
    ],
)
def test_interval(q: Quantity, lo: float, hi: float) -> None:
    got = interval(q)
    assert got is not None
    assert got[0] == pytest.approx(lo) and got[1] == pytest.approx(hi)


def test_no_figure_is_no_interval() -> None:
    assert interval(None) is None
    assert interval(Quantity(text="many")) is None
    # the extractor may give 'how many' or 'large numbers' a nominal low bound; still no figure
    assert interval(Quantity(text="many", low=2, approximate=True)) is None
    assert interval(Quantity(text="large numbers", low=2)) is None


def test_compatible_is_overlap() -> None:
    assert compatible((21, 21), (21, math.inf))
    assert not compatible((21, 21), (45, 45))
    assert compatible((24, 149), (45, 45))
    assert not compatible((12, 12), (40, math.inf))
    # a point outside a range ('five' vs 'between ten and fifteen'), inside one ('twelve')
    assert not compatible((5, 5), (10, 15))
    assert compatible((12, 12), (10, 15))
    # 'fourteen' is 'at least a dozen'; 'eleven' is not
    assert compatible((14, 14), (12, math.inf))
    assert not compatible((11, 11), (12, math.inf))

"""Event identity before comparison, from text to alert (sentences written for these tests).

Two reports are compared only when they can be about one event: the same place (a part of
a place, like its airport, is that part only), an event time that agrees (the time of the
event, not of the statement that denies it), and one incident (not 'an earlier strike on
another school').  Each test extracts claims from short stories of different outlets and
files them in one ledger, as the pipeline does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wirewatch.models import ContradictionAlert, RawStory, UniqueStory
from wirewatch.processor.extract import Extractor
from wirewatch.processor.ledger import ClaimLedger

pytestmark = pytest.mark.model

T0 = datetime(2025, 6, 11, 9, 0, tzinfo=UTC)  # a Wednesday
WAR = "Fighting between government troops and rebels went on this week, with air strikes and shelling."


def alerts(ex: Extractor, *stories: tuple[str, str, timedelta]) -> list[ContradictionAlert]:
    ledger = ClaimLedger()
    out: list[ContradictionAlert] = []
    for n, (outlet, text, after) in enumerate(stories):
        at = T0 + after
        raw = RawStory(story_id=f"s{n}", feed_id=outlet, outlet=outlet, url=f"https://{outlet}.example/{n}",
                       canonical_url=f"https://{outlet}.example/{n}", title="Headline", body=WAR + "\n\n" + text,
                       published=at, fetched_at=at)
        for claim in ex.extract(UniqueStory(story=raw, cluster_id=f"c{n}", status="unique")):
            out += [a for a in ledger.add(claim).alerts if isinstance(a, ContradictionAlert)]
    return out


def test_a_facility_named_two_ways_is_one_place(ex: Extractor) -> None:
    r = alerts(ex, ("wire", "Coalition troops seized the airport of Hodeidah on Tuesday, the coalition said.",
                    timedelta(0)),
               ("post", "Houthi officials denied that Hodeidah airport had fallen.", timedelta(hours=3)))
    assert [a.kind for a in r] == ["denial"]


def test_a_facility_is_not_its_city(ex: Extractor) -> None:
    r = alerts(ex, ("wire", "Coalition troops seized the airport of Hodeidah on Tuesday, the coalition said.",
                    timedelta(0)),
               ("post", "Houthi officials denied that the city of Hodeidah had fallen.", timedelta(hours=3)))
    assert r == []


def test_a_denial_made_days_later_meets_the_event_it_denies(ex: Extractor) -> None:
    r = alerts(ex, ("wire", "Rebels said they had captured the town of Kiwanja on Sunday.", timedelta(days=-3)),
               ("post", "The army on Wednesday denied that rebels had captured Kiwanja.", timedelta(0)))
    assert [a.kind for a in r] == ["denial"]


def test_figures_of_an_earlier_incident_are_not_compared(ex: Extractor) -> None:
    r = alerts(ex, ("wire", "An air strike on a school in Beit Hanoun killed 30 people, health officials said.",
                    timedelta(0)),
               ("post", "Four people were killed in an earlier air strike on another school in Beit Hanoun, "
                        "medics said.", timedelta(hours=2)))
    assert r == []


def test_figures_of_one_incident_that_cannot_both_be_true_are_compared(ex: Extractor) -> None:
    r = alerts(ex, ("wire", "An air strike on a school in Beit Hanoun killed more than forty people, "
                            "health officials said.", timedelta(0)),
               ("post", "An air strike on a school in Beit Hanoun killed four people, the army said.",
                timedelta(hours=2)))
    assert [a.kind for a in r] == ["numeric"]


def test_a_negated_outcome_in_one_report_does_not_dispute_another(ex: Extractor) -> None:
    r = alerts(ex, ("wire", "A car bomb exploded near the market in Kidal on Monday, police said.", timedelta(0)),
               ("post", "A second device found near the market in Kidal did not explode, police said.",
                timedelta(hours=1)),
               ("news", "No one was hurt in the blast near the market in Kidal, the governor said.",
                timedelta(hours=2)))
    assert r == []


def test_a_correction_of_an_earlier_report_is_not_a_dispute(ex: Extractor) -> None:
    r = alerts(ex, ("wire", "Officials said 12 people were killed in the blast at the market in Gao.", timedelta(0)),
               ("post", "The health ministry later revised the number of people killed in the blast at the market "
                        "in Gao down to eight.", timedelta(hours=4)))
    assert r == []


def test_a_toll_without_a_place_continues_the_attack_reported_just_before(ex: Extractor) -> None:
    story = ("A rocket hit the Zamzam camp outside El Fasher on Tuesday, killing six people, the UN said.\n\n"
             "Camp volunteers put the number of dead at more than twenty.\n\n"
             "El Fasher has been besieged since May, and aid convoys to El Fasher are blocked.")
    r = alerts(ex, ("wire", story, timedelta(0)))
    assert [(a.kind, a.claim.location) for a in r] == [("numeric", "Zamzam")]


def test_a_province_named_after_its_capital_is_not_the_city(ex: Extractor) -> None:
    r = alerts(ex, ("wire", "The defence ministry said its jets had not struck the city of Kandahar this week.",
                    timedelta(0)),
               ("post", "Jets struck militant positions in the south of Kandahar province on Monday, police said.",
                timedelta(hours=2)))
    assert r == []

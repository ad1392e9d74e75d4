"""The text side of dedup: canonical links, boilerplate, sentences and sentence sketches."""

from __future__ import annotations

import pytest

from wirewatch.poller.urls import canonical_url
from wirewatch.processor.dedup.boilerplate import content_paragraphs, is_boilerplate
from wirewatch.processor.dedup.shingles import SentenceSketch, TokenStream, sentences, tokens, uncovered


@pytest.mark.parametrize("variant", [
    "https://www.news.example/world/story-1?utm_source=rss&utm_campaign=x",
    "http://news.example/world/story-1/#comments",
    "https://amp.news.example/world/story-1/amp",
    "https://news.example/amp/world/story-1?outputType=amp",
    "https://m.news.example/world/story-1?fbclid=abc&gclid=def",
    "https://NEWS.example:443/world/story-1.amp",
])
def test_link_variants_share_one_canonical_url(variant: str) -> None:
    assert canonical_url(variant) == "https://news.example/world/story-1"


def test_canonical_url_keeps_what_identifies_the_article() -> None:
    assert canonical_url("https://news.example/story?id=7") != canonical_url("https://news.example/story?id=8")
    assert canonical_url("https://news.example/a?b=2&a=1") == canonical_url("https://news.example/a?a=1&b=2")
    assert canonical_url("https://m.co/x") == "https://m.co/x"  # a bare two-label host stays


@pytest.mark.parametrize("line", [
    "Join ST's Telegram channel and get the latest breaking news delivered to you.",
    "Read more: Explainer: who holds what in the city",
    "SEE ALSO: This is what the city is",
    "(Reporting by Beirut and Moscow newsrooms; Editing by Middle East desk)",
    "Writing by Jane Doe; editing by John Roe",
    "The Courier republishes this report from the Reuters news agency.",
    "The Courier was unable to independently verify the accounts given by either side.",
    "By Jane Doe",
    "Kurdish militia",
    "Residents queue for bread in the old city on Sunday. PHOTO: AFP",
    "Sign up for our newsletter",
    "© 2016 Example Media. All rights reserved.",
    "This material may not be published, broadcast, rewritten or redistributed.",
    "This story has been updated with comments from the ministry.",
    "WATCH: Footage of the convoy crossing the river",
    "A girl carries water past a damaged building in the old city (AFP Photo/Jane Doe)",
])
def test_outlet_furniture_is_boilerplate(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize("line", [
    "Join talks on the truce were postponed on Monday, officials said.",
    "By nightfall the army had taken the hill, the monitor said.",
    "Rebels said they could not verify the army's account of the fighting in the north.",
    "The photo showed the damaged hospital, the group said.",
    "Thousands fled.",
])
def test_reporting_is_not_boilerplate(line: str) -> None:
    assert not is_boilerplate(line)


@pytest.mark.parametrize("dateline", [
    "BEIRUT (Reuters) - ", "BEIRUT (REUTERS) - ", "WASHINGTON, Nov 8 (AP) — ", "Aleppo, ONA - ",
    "ABU DHABI - ", "NEW YORK -- ",
])
def test_datelines_are_cut_from_the_first_paragraph(dateline: str) -> None:
    body = dateline + "The army said it took the district on Tuesday.\n\nA second paragraph."
    first = content_paragraphs(body)[0]
    assert first.text == "The army said it took the district on Tuesday."
    assert body[first.start:first.end] == first.text


def test_sentences_keep_offsets_and_skip_abbreviations() -> None:
    body = ('He said U.S. officials met Mr. Smith on Oct. 29 in the city. "It was hard," he said. '
            '"Velna has not fallen." Then 3 left.')
    spans = sentences(content_paragraphs(body)[0])
    assert [body[s.start:s.end] for s in spans] == [
        "He said U.S. officials met Mr. Smith on Oct. 29 in the city.",
        '"It was hard," he said.',
        '"Velna has not fallen."',
        "Then 3 left.",
    ]


def _sk(*sents: str) -> list[SentenceSketch]:
    stream = TokenStream.from_tokens([tokens(s) for s in sents])
    return TokenStream.decode(stream.encode()).sketches()


def test_house_style_edits_do_not_make_a_sentence_new() -> None:
    seen = _sk("The army said it took the district on Tuesday, the U.S. envoy said of Mr Assad's unit.")
    same = _sk("The army said it took the district on Tuesday (Nov 8), the US envoy said of Assad's unit.")
    assert uncovered(same, seen, 0.7) == []


BASE = "Government forces said at least 34 people were killed in the shelling of the market on Monday."


@pytest.mark.parametrize("changed", [
    BASE.replace("34", "41"),
    BASE.replace("at least 34", "no"),
    BASE.replace("the market on Monday", "the port on Monday in Velna"),
])
def test_a_changed_figure_negation_or_name_makes_a_sentence_new(changed: str) -> None:
    seen = _sk(BASE)
    assert uncovered(_sk(changed), seen, 0.7) == [0]

"""Feed conformance: two other parsers' test corpora through the poller's parse stage.

feed-rs's fixtures (68 feeds captured from production sites) and gofeed's testdata
(parser and translator cases for RSS, Atom and JSON Feed) come with the parse each
of those parsers expects (``../shared/corpora/README.md``).  Every input here goes
through ``parse_feed`` -- what a parse worker runs -- and what we keep is compared
with that expectation on meaning: how many entries, and per entry its id, link,
title text and date.  The corpora's conventions differ from ours in a few known
ways; ``ACCEPTED`` lists each with its reason, and nothing else may differ.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from dateutil import parser as dateparser

from wirewatch.errors import FeedError
from wirewatch.models import FeedRecord, RawStory
from wirewatch.poller.html import clean_text
from wirewatch.poller.parse import parse_feed
from wirewatch.poller.urls import canonical_url

from .conftest import shared_path

FETCHED = datetime(2030, 1, 1, tzinfo=UTC)  # far from every corpus date: an inferred date shows
FEED = FeedRecord(feed_id="conformance", url="https://corpus.invalid/feed", outlet="corpus", updated_at=FETCHED)

# Inputs the corpora say must be refused (README), and why each is not a feed.
MUST_REFUSE = {
    "feedrs/rss2/rss_2.0_invalid_1.xml": "truncated document",
    "feedrs/fuzz_parse_input_from_tests_rs.bin": "fuzzer bytes",
    "gofeed/parser/universal/unknown_feed.xml": "XML that is no feed",
    "gofeed/parser/universal/empty_feed.xml": "empty",
    "gofeed/parser/universal/invalid.json": "JSON that is no feed",
    "gofeed/parser/json/invalid/invalid.json": "JSON that is no feed",
}
MUST_PARSE = {"gofeed/parser/universal/rss_feed_bom.xml", "gofeed/parser/universal/rss_feed_leading_spaces.xml"}

# Convention differences accepted, by (corpus file, entry index or None, field): the reason.
# Keep this short: each entry is a deliberate choice of ours, not a parse we cannot do.
# (Two conventions are compared away in ``compare`` instead, being everywhere: feed-rs
# invents an id for an entry without one, and gofeed's parser-level models keep a title's
# markup and entities; we keep the document's ids only and give a title as its words.)
ACCEPTED: dict[tuple[str, int | None, str], str] = {
    ("gofeed/parser/rss/issue_217_enclosure_children.xml", None, "count"):
        "feedparser reads Media RSS's media:title (here inside an enclosure) as the item's title; "
        "gofeed keeps it on the enclosure and sees an item with nothing to read",
    ("feedrs/rss2/rss_2.0_spec_1.xml", None, "link"):
        "an RSS 2.0 guid without isPermaLink=\"false\" is the item's permalink (the spec); feed-rs "
        "never reads a guid as a link",
    ("gofeed/parser/rss/rss_channel_item_guid_naked_markup.xml", None, "count"):
        "markup inside an RSS guid is child elements to feedparser, not an id; the item holds "
        "nothing else and is dropped as empty (counted)",
    ("gofeed/parser/atom/atom10_feed_entry_content_src.xml", None, "count"):
        "an entry whose only data is out-of-line content (atom:content src) has no text to read: "
        "dropped as empty (counted)",
    ("gofeed/translator/rss/feed_item_image_-_rss_channel_item_content.xml", None, "refused"):
        "malformed (an undeclared namespace prefix), and its one item is a picture with no text: "
        "nothing is recovered, so the feed is a parse_error, not a healthy empty feed",
    ("gofeed/translator/rss/feed_item_image_-_rss_channel_item_description.xml", None, "count"):
        "an item whose only content is a picture has no text to read: dropped as empty (counted)",
}


@dataclass
class Entry:
    """What a corpus expects of one entry (None: the corpus says nothing)."""

    id: str | None = None
    link: str | None = None
    title: str | None = None
    date: datetime | None = None
    has_text: bool = False  # a summary or content

    def usable(self) -> bool:
        return bool(self.id or self.link or self.title or self.has_text)


@dataclass
class Case:
    name: str  # path under ../shared/corpora
    path: Path
    entries: list[Entry] = field(default_factory=list)


CORPORA = shared_path("corpora")
_TAG = re.compile(r"<[^<>]*>")


def _instant(value: Any) -> datetime | None:
    """An expected date as an aware UTC instant (the corpora give ISO 8601 or RFC 822 text)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = dateparser.parse(value)
    except (ValueError, OverflowError):
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def _first(*values: Any) -> Any:
    return next((v for v in values if v not in (None, "", [], {})), None)


def _alternate(links: Any) -> str | None:
    for link in links or []:
        if isinstance(link, dict) and link.get("rel") in (None, "", "alternate") and link.get("href"):
            return str(link["href"])
    return None


def _feedrs_entry(e: dict[str, Any]) -> Entry:
    title = e.get("title") or {}
    return Entry(id=e.get("id"), link=_alternate(e.get("links")), title=title.get("content"),
                 date=_instant(_first(e.get("published"), e.get("updated"))),
                 has_text=bool(e.get("content") or e.get("summary")))


def _gofeed_rss_entry(e: dict[str, Any]) -> Entry:
    guid = e.get("guid") or {}
    return Entry(id=guid.get("value") if isinstance(guid, dict) else guid, link=e.get("link"),
                 title=e.get("title"),
                 date=_instant(_first(e.get("pubDateParsed"), e.get("pubDate"),
                                      (e.get("dcExt") or {}).get("date", [None])[0])),
                 has_text=bool(e.get("description") or e.get("content")))


def _gofeed_atom_entry(e: dict[str, Any]) -> Entry:
    return Entry(id=e.get("id"), link=_alternate(e.get("links")), title=e.get("title"),
                 date=_instant(_first(e.get("publishedParsed"), e.get("published"), e.get("updatedParsed"),
                                      e.get("updated"))),
                 has_text=bool(e.get("summary") or e.get("content")))


def _gofeed_json_entry(e: dict[str, Any]) -> Entry:
    return Entry(id=e.get("id"), link=_first(e.get("url"), e.get("external_url")), title=e.get("title"),
                 date=_instant(e.get("date_published")),
                 has_text=bool(e.get("content_html") or e.get("content_text") or e.get("summary")))


def _gofeed_universal_entry(e: dict[str, Any]) -> Entry:
    return Entry(id=e.get("guid"), link=e.get("link"), title=e.get("title"),
                 date=_instant(_first(e.get("publishedParsed"), e.get("published"), e.get("updatedParsed"),
                                      e.get("updated"))),
                 has_text=bool(e.get("description") or e.get("content")))


def _load(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc if isinstance(doc, dict) else {}


def cases() -> Iterator[Case]:
    """Every corpus input with an expected parse."""
    root = CORPORA
    for serde in sorted((root / "feedrs").rglob("*.serde.json")):
        stem = serde.name.removesuffix(".serde.json")
        (source,) = [p for p in serde.parent.glob(stem + ".*") if p != serde]
        yield Case(str(source.relative_to(root)), source,
                   [_feedrs_entry(e) for e in _load(serde).get("entries") or []])
    gofeed = root / "gofeed"
    for folder, entry_key, make in (("parser/rss", "items", _gofeed_rss_entry),
                                    ("parser/atom", "entries", _gofeed_atom_entry),
                                    ("translator/rss", "items", _gofeed_universal_entry),
                                    ("translator/atom", "items", _gofeed_universal_entry),
                                    ("extensions/dublincore", "items", _gofeed_universal_entry),
                                    ("extensions/itunes", "items", _gofeed_universal_entry),
                                    ("extensions/media", "items", _gofeed_universal_entry)):
        for source in sorted((gofeed / folder).glob("*.xml")):
            expected = source.with_suffix(".json")
            yield Case(str(source.relative_to(root)), source,
                       [make(e) for e in _load(expected).get(entry_key) or []])
    for folder, make in (("parser/json", _gofeed_json_entry), ("translator/json", _gofeed_universal_entry)):
        for expected in sorted((gofeed / folder).glob("*_expected.json")):
            source = expected.with_name(expected.name.removesuffix("_expected.json") + ".json")
            yield Case(str(source.relative_to(root)), source,
                       [make(e) for e in _load(expected).get("items") or []])


def _words(value: str | None) -> str:
    """A title's words: markup and (repeated) escaping taken off until nothing changes."""
    text = value or ""
    while True:
        plain = clean_text(_TAG.sub(" ", unescape(text)))
        if plain == text:
            return plain
        text = plain


def _same_link(ours: str, theirs: str) -> bool:
    return ours == theirs or canonical_url(ours) == canonical_url(theirs)


def compare(case: Case, stories: list[RawStory]) -> list[tuple[str, int | None, str, str]]:
    """Differences between our stories and the corpus's entries: (file, entry, field, detail).

    An expected id that is not in the document is one feed-rs invented: ours must then
    be none, or one the document does give (RSS 1.0's rdf:about, which feed-rs ignores).
    """
    raw = case.path.read_bytes().decode("utf-8", "replace")
    source = raw + "\n" + unescape(raw)
    out: list[tuple[str, int | None, str, str]] = []
    # An entry with nothing to identify or read is no story (the poller drops it, counted).
    expected = [e for e in case.entries if e.usable()]
    if len(stories) != len(expected):
        out.append((case.name, None, "count", f"ours {len(stories)}, expected {len(expected)}"))
        return out
    for i, (exp, got) in enumerate(zip(expected, stories, strict=True)):
        invented = case.name.startswith("feedrs/") and exp.id and exp.id not in source
        if invented:
            if got.guid and got.guid not in source:  # an id of ours is one the document gives
                out.append((case.name, i, "id", f"ours {got.guid!r} is not in the document"))
        elif exp.id and (got.guid or "") != clean_text(exp.id):
            out.append((case.name, i, "id", f"ours {got.guid!r}, expected {exp.id!r}"))
        theirs = (exp.link or "").strip()
        if theirs and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", theirs):
            theirs = urljoin(base_url(case), theirs)  # left relative by the corpus; ours resolves it
        if theirs.lower().startswith(("http://", "https://")):
            if not _same_link(got.url, theirs):
                out.append((case.name, i, "link", f"ours {got.url!r}, expected {theirs!r}"))
        elif got.url:  # none, or not a web link: ours must not invent one
            out.append((case.name, i, "link", f"ours {got.url!r}, expected {theirs or None!r}"))
        if got.title != _words(exp.title):
            out.append((case.name, i, "title", f"ours {got.title!r}, expected {_words(exp.title)!r}"))
        if exp.date is not None:
            if got.published_inferred:
                out.append((case.name, i, "date", f"ours inferred, expected {exp.date.isoformat()}"))
            elif got.published != exp.date:
                out.append((case.name, i, "date", f"ours {got.published.isoformat()}, "
                                                  f"expected {exp.date.isoformat()}"))
    return out


def base_url(case: Case) -> str:
    """Where the poller would have fetched the file from (relative links resolve against it)."""
    return f"https://corpus.invalid/{case.name}"


def run_case(case: Case) -> list[RawStory] | FeedError:
    try:
        return parse_feed(case.path.read_bytes(), FEED, FETCHED, max_items=None, base_url=base_url(case)).items
    except FeedError as exc:
        return exc


ALL = list(cases())


def test_the_corpora_are_all_here() -> None:
    assert len(ALL) >= 600, len(ALL)
    names = {c.name for c in ALL}
    assert not MUST_REFUSE.keys() & names  # refused inputs have no expected parse
    for name in list(MUST_REFUSE) + sorted(MUST_PARSE):
        assert (CORPORA / name).exists(), name


@pytest.mark.parametrize("name", sorted(MUST_REFUSE))
def test_not_a_feed_is_refused(name: str) -> None:
    with pytest.raises(FeedError):
        parse_feed((CORPORA / name).read_bytes(), FEED, FETCHED)


def test_every_universal_input_parses() -> None:
    """gofeed's format-detection inputs: each a feed with a title and no item (a BOM or
    leading white space in front must not hide it)."""
    for path in sorted((CORPORA / "gofeed" / "parser" / "universal").iterdir()):
        name = str(path.relative_to(CORPORA))
        if name not in MUST_REFUSE:
            assert parse_feed(path.read_bytes(), FEED, FETCHED).title in ("Feed Title", "title"), name


def test_files_without_an_expected_parse_end_in_stories_or_a_feed_error() -> None:
    """feed-rs's XML-reader fixtures (plain XML, no expected parse): no crash, one outcome."""
    for path in sorted((CORPORA / "feedrs" / "xml").iterdir()):
        try:
            parsed = parse_feed(path.read_bytes(), FEED, FETCHED)
        except FeedError:
            continue  # refused in one stable class
        assert parsed.items or parsed.title, path


def test_conformance_with_feedrs_and_gofeed() -> None:
    differences: list[tuple[str, int | None, str, str]] = []
    compared: Counter[str] = Counter()
    for case in ALL:
        got = run_case(case)
        if isinstance(got, FeedError):
            if any(e.usable() for e in case.entries) or case.name.startswith("feedrs/"):
                differences.append((case.name, None, "refused", f"{got.code}: {got}"))
            continue
        differences += compare(case, got)
        for e in case.entries:
            compared.update(k for k in ("id", "link", "title", "date") if getattr(e, k))
    # The comparison has substance: hundreds of entries checked field by field.
    assert compared["id"] >= 100 and compared["link"] >= 100 and compared["title"] >= 140, compared
    assert compared["date"] >= 90, compared
    def accepted(d: tuple[str, int | None, str, str]) -> tuple[str, int | None, str] | None:
        return next((k for k in ((d[0], d[1], d[2]), (d[0], None, d[2])) if k in ACCEPTED), None)

    unexpected = [d for d in differences if accepted(d) is None]
    stale = set(ACCEPTED) - {accepted(d) for d in differences}
    assert unexpected == [], (len(unexpected), Counter(d[2] for d in unexpected), unexpected[:40])
    assert not stale, f"accepted differences that no longer occur: {sorted(stale)}"

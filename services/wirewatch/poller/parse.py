"""Feed bytes to normalised raw stories (feedparser does RSS and Atom; JSON Feed is read here).

feedparser is always handed bytes in a BytesIO: given a str it may treat it as
a path or a URL and go and read it.

Every story is built in one place (``make_story``), which applies the story's
field caps (``models.py``) and the link, id and date rules of docs/poller.md.
Nothing is lost without a word: an item that is not published is counted in
``ParsedFeed.dropped`` by reason, a field that is cut or dropped in
``ParsedFeed.trimmed`` by field, and the poller turns both into metrics, state
and one log line.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import urljoin

import feedparser
import orjson
from feedparser.encodings import convert_to_utf8
from feedparser.namespaces._base import Namespace as _FeedparserNamespace
from pydantic_core import to_json

from ..errors import NotAFeed, ParseError, UnsafeXML
from ..limits import MAX_BODY_CHARS as MAX_BODY
from ..limits import MAX_RAW_STORY_BYTES
from ..models import (
    MAX_AUTHOR_CHARS,
    MAX_AUTHORS,
    MAX_GUID_CHARS,
    MAX_LANGUAGE_CHARS,
    MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
    MAX_URL_CHARS,
    FeedRecord,
    RawStory,
)
from .dates import parse_date
from .html import clean_text, html_to_line, html_to_text, text_paragraphs
from .urls import canonical_url

MAX_TITLE = MAX_TITLE_CHARS
MAX_SUMMARY = MAX_SUMMARY_CHARS
MAX_AUTHOR = MAX_AUTHOR_CHARS
MAX_GUID = MAX_GUID_CHARS
MAX_ITEMS = 500  # per poll; feeds list newest first, and a 200k-item feed must stay bounded
# Entity text a document may expand to in total.  feedparser keeps "safe" literal
# entities and expands them without limit in its loose-parser fallback (a 160 KB
# feed reached a 2 GB string); real feeds use a few short ones, if any.
MAX_ENTITY_EXPANSION = 1 << 20
# A publication date outside [EARLIEST_DATE, fetch time + FUTURE_SLACK] is no publication
# date (a CMS's 0001-01-01, a 9999 placeholder): the fetch time is used, marked inferred.
EARLIEST_DATE = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=2)  # a zone written wrong puts a date hours ahead, never days


_ENTITY_DECL = re.compile(rb"<!ENTITY\s+(%\s*)?([^\s>]+)\s+(SYSTEM|PUBLIC|\"[^\"]*\"|'[^']*')", re.IGNORECASE)
_ENTITY_OPEN = re.compile(rb"<!ENTITY", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(rb"<\w")  # what feedparser takes for the end of the prolog
_CHAR_REF = re.compile(rb"&#(?:[0-9]{1,7}|x[0-9a-fA-F]{1,6});")  # one character, as feedparser allows
_SAFE_SCHEMES = ("http", "https")
_HAS_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:")
_URL_JUNK = re.compile(r"[\x00-\x20\x7f]+")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_CHAR_ENTITY = re.compile(r"&(?:[a-zA-Z][a-zA-Z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9:-]*(?:\s[^<>]*)?/?>")  # what a tag looks like, not any "<"
_SOFT_BOZO = ("CharacterEncodingOverride", "CharacterEncodingUnknown", "NonXMLContentType")
_BOM = b"\xef\xbb\xbf"


@dataclass
class ParsedFeed:
    title: str
    items: list[RawStory]
    bozo: bool = False
    bozo_reason: str | None = None
    ttl_seconds: float | None = None
    # Items not published, by reason; fields cut or dropped, by field (metrics.DROP_REASONS
    # and TRIMMED_FIELDS).
    dropped: Counter[str] = field(default_factory=Counter)
    trimmed: Counter[str] = field(default_factory=Counter)
    # The first example of each drop reason / trimmed field, one line, for the log.
    examples: dict[str, str] = field(default_factory=dict)

    def drop(self, reason: str, example: str, n: int = 1) -> None:
        self.dropped[reason] += n
        self.examples.setdefault(reason, clean_text(example)[:200])

    def trim(self, name: str, example: str) -> None:
        self.trimmed[name] += 1
        self.examples.setdefault(name, clean_text(example)[:200])


def _struct_dt(struct: Any) -> datetime | None:
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _entry_date(entry: Any, key: str) -> datetime | None:
    """The entry's ``published``/``updated`` instant: its text read by ``dates.parse_date``,
    else the struct feedparser made of it (its handlers know a few exotic forms)."""
    return parse_date(entry.get(key)) or _struct_dt(entry.get(f"{key}_parsed"))


def _entry_html(entry: Any) -> str:
    """The richest HTML the entry carries: content:encoded/atom content, else summary."""
    best = ""
    for c in entry.get("content") or []:
        value = c.get("value") or ""
        if len(value) > len(best):
            best = value
    return best


def _patch_feedparser_links() -> None:
    """An RSS ``<link uri="at://...">https://...</link>``: the element's text is the link.

    feedparser takes a ``href``/``uri``/``url`` attribute over the element's text, so a
    non-web URI there (AT Protocol, ``tag:``) hides the item's http link.  Such an
    attribute is set aside before feedparser sees it; a web one is used as before.
    """
    if getattr(_FeedparserNamespace._start_link, "_wirewatch", False):
        return
    original = _FeedparserNamespace._start_link

    def _start_link(self: Any, attrs_d: dict[str, str]) -> Any:
        for name in ("href", "uri", "url"):
            value = _URL_JUNK.sub("", attrs_d.get(name) or "")
            scheme = value.partition(":")[0].lower() if _HAS_SCHEME.match(value) else ""
            if scheme and scheme not in _SAFE_SCHEMES:
                attrs_d = {k: v for k, v in attrs_d.items() if k != name}
        return original(self, attrs_d)

    _start_link._wirewatch = True  # type: ignore[attr-defined]
    _FeedparserNamespace._start_link = _start_link


_patch_feedparser_links()


def _decoded(data: bytes, content_type: str | None) -> bytes:
    """The document as feedparser will parse it: decoded by feedparser's own rules, as UTF-8."""
    headers = {"content-type": content_type} if content_type else {}
    scratch: dict[str, Any] = {}
    try:
        out: bytes = convert_to_utf8(headers, data, scratch)
    except Exception:  # its own parse would fail the same way; the check then sees the raw bytes
        return data
    return out


_BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
         (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"), (_BOM, "utf-8"))


def _sniffed(data: bytes) -> bytes:
    """The document decoded by its byte-order mark or, without one, by where its NUL bytes
    fall (XML 1.0 appendix F, white space in front allowed), as UTF-8."""
    codec = next((c for bom, c in _BOMS if data.startswith(bom)), None)
    if codec is None:
        head = data[:64]
        nul = [i for i, b in enumerate(head) if b == 0]
        if len(nul) >= len(head) * 5 // 8:  # three NULs in four bytes: UTF-32
            codec = "utf-32-be" if all(i % 4 != 3 for i in nul) else "utf-32-le"
        elif len(nul) >= len(head) * 3 // 8:  # one in two: UTF-16
            codec = "utf-16-be" if sum(i % 2 == 0 for i in nul) > len(nul) // 2 else "utf-16-le"
    if codec is None:
        return data
    return data.decode(codec, "ignore").encode("utf-8", "ignore")


def _entity_text(data: bytes, content_type: str | None) -> list[bytes]:
    """The document's text as feedparser decodes it and, should that differ (feedparser
    6.0.14 misreads a UTF-16 byte-order mark), as its bytes say it is encoded."""
    ours = _sniffed(data)
    theirs = _decoded(data, content_type)
    return [theirs] if ours == theirs else [theirs, ours]


def check_xml_safety(data: bytes, content_type: str | None = None) -> None:
    """Refuse entity tricks before feedparser (and its loose parser) can expand them.

    The check reads the document as feedparser will, and as its bytes say it is
    encoded (UTF-16 and UTF-32 with or without a byte-order mark or leading white
    space), and the whole prolog however long: feedparser takes entity declarations
    from everything before the first element.  External and parameter entities (XXE)
    and entities whose value refers to other entities (billion laughs) are refused
    outright.  Plain literal entities -- the benign ``<!ENTITY id "tag:x,">`` some feeds
    carry -- are allowed while their total expansion over the whole document stays
    under MAX_ENTITY_EXPANSION (quadratic blow-up refused).
    """
    for text in _entity_text(data, content_type):
        _check_entities(text)


def _check_entities(text: bytes) -> None:
    first = _FIRST_ELEMENT.search(text)
    prolog = text[: first.start()] if first else text
    if not _ENTITY_OPEN.search(prolog):
        return
    decls = _ENTITY_DECL.findall(prolog)
    if len(decls) != len(_ENTITY_OPEN.findall(prolog)):
        raise UnsafeXML("malformed entity declaration")
    total = 0
    for pct, name, value in decls:
        shown = name[:40].decode("ascii", "replace")
        if pct or value.upper() in (b"SYSTEM", b"PUBLIC"):
            raise UnsafeXML(f"external or parameter entity {shown!r} refused")
        literal = value[1:-1]
        if (b"&" in literal or b"%" in literal) and not _CHAR_REF.fullmatch(literal):
            raise UnsafeXML(f"entity {shown!r} refers to other entities")
        total += text.count(b"&" + name + b";") * len(literal)
        if total > MAX_ENTITY_EXPANSION:
            raise UnsafeXML(f"entities would expand to more than {MAX_ENTITY_EXPANSION} bytes")


def safe_link(link: str) -> str:
    """``link`` if it is an absolute http(s) URL, else "" (javascript:, data:, relative...)."""
    link = _URL_JUNK.sub("", link or "")
    if not link:
        return ""
    scheme, sep, _ = link.partition(":")
    if not sep or scheme.lower() not in _SAFE_SCHEMES:
        return ""
    return link


def parse_feed(data: bytes, feed: FeedRecord, fetched_at: datetime | None = None, *,
               content_type: str | None = None, base_url: str | None = None,
               max_items: int | None = MAX_ITEMS) -> ParsedFeed:
    """Parse one feed document; at most ``max_items`` items (None: all of them).

    Raises NotAFeed when nothing in it is a feed, UnsafeXML for entity tricks and
    ParseError when feedparser itself fails or a malformed document yields no item.
    Call it through ``worker.ParsePool`` for CPU and memory limits.
    """
    fetched_at = fetched_at or datetime.now(UTC)
    if not data.strip():
        # feedparser calls an empty body a valid empty feed (bozo=False).
        raise NotAFeed("empty response")
    if _looks_like_json(data):
        return parse_json_feed(data, feed, fetched_at, max_items=max_items)
    check_xml_safety(data, content_type)
    headers: dict[str, str] = {}
    if content_type:
        headers["content-type"] = content_type
    # No content-location for feedparser: it would also "resolve" relative guids against
    # the feed URL, changing story ids when a feed moves.  Relative links are resolved below.
    base = base_url if base_url and base_url.lower().startswith(("http://", "https://")) else None
    try:
        parsed = feedparser.parse(io.BytesIO(data), sanitize_html=True, resolve_relative_uris=True,
                                  response_headers=headers)
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:  # feedparser #599: ValueError, UnicodeEncodeError, re.error escape it
        raise ParseError(f"feedparser failed: {type(exc).__name__}: {str(exc)[:200]}") from None
    bozo = bool(parsed.get("bozo"))
    exc_obj = parsed.get("bozo_exception")
    reason = clean_text(str(exc_obj))[:300] if bozo else None
    version = parsed.get("version") or ""
    entries = parsed.get("entries") or []
    if not isinstance(entries, list):
        raise ParseError("feed items are not a list")
    if not version and not entries:
        raise NotAFeed(f"not a feed ({reason or 'no feed elements found'})"[:300])
    ttl: float | None = None
    try:
        if parsed.feed.get("ttl"):
            ttl = min(float(parsed.feed["ttl"]) * 60, 7 * 86400.0)
            if ttl != ttl or ttl < 0:  # NaN, negative
                ttl = None
    except (TypeError, ValueError, AttributeError):
        ttl = None
    out = ParsedFeed(title=_title(parsed.feed)[:MAX_TITLE], items=[], bozo=bozo, bozo_reason=reason,
                     ttl_seconds=ttl)
    for entry in _capped(entries, max_items, out):
        try:
            story = _normalise(entry, feed, fetched_at, bozo, out, base, atom=version.startswith("atom"))
        except (MemoryError, RecursionError):
            raise
        except Exception as exc:  # one odd entry (wrong types...) must not sink the rest
            out.drop("malformed", f"{type(exc).__name__}: {exc}")
            continue
        if story is not None:
            out.items.append(story)
    if bozo and not out.items and type(exc_obj).__name__ not in _SOFT_BOZO:
        # A truncated or garbled document is not a healthy feed that happens to be empty.
        raise ParseError(f"malformed feed, no item recovered ({reason})"[:300])
    return out


def _capped(items: list[Any], max_items: int | None, out: ParsedFeed) -> list[Any]:
    if max_items is not None and len(items) > max_items:
        out.drop("over_item_cap", f"{len(items)} items, the first {max_items} read", len(items) - max_items)
        return items[:max_items]
    return items


def _title(obj: Any) -> str:
    """An entry's or feed's title as one line of text a person reads: no markup, no entities.

    An HTML title loses its markup.  A title that, read as its type says, still holds
    character references was escaped twice by its publisher ("Tom &amp;amp; Jerry"), and
    one still holding tags carries markup, not words: references are decoded once more
    and tags removed.
    """
    detail = obj.get("title_detail")
    value = str(obj.get("title") or "")
    if hasattr(detail, "get") and detail.get("type") in _HTML_TYPES:
        value = html_to_line(value)
    if _CHAR_ENTITY.search(value):
        value = unescape(value)
    return clean_text(_TAG.sub("", value))


def fit_message(story: RawStory, limit: int = MAX_RAW_STORY_BYTES) -> RawStory | None:
    """``story`` as it may be sent: its message (JSON, UTF-8) at most ``limit`` bytes.

    A body capped in characters can still be too many bytes (2 to 4 a character in many
    scripts, 2 for an escaped quote): the body, then the summary, is cut to fit.  With
    every other field capped (models.py) that always suffices; None is kept for a story
    built elsewhere that still does not fit.
    """
    size = len(story.to_json_bytes())
    for name in ("body", "summary"):
        if size <= limit:
            return story
        text: str = getattr(story, name)
        room = len(to_json(text)) - (size - limit)  # bytes this field's JSON may take
        story = story.model_copy(update={name: text[:_longest_prefix(text, room)].rstrip()})
        size = len(story.to_json_bytes())
    return story if size <= limit else None


def _longest_prefix(text: str, room: int) -> int:
    """The most characters of ``text`` whose JSON string is at most ``room`` bytes."""
    lo, hi = 0, max(0, min(len(text), room))  # a character is at least one byte
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(to_json(text[:mid])) <= room:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _looks_like_json(data: bytes) -> bool:
    return data.lstrip(_BOM + b" \t\r\n")[:1] in (b"{", b"[")


def _json_authors(obj: dict[str, Any]) -> list[str]:
    raw = obj.get("authors")
    if not isinstance(raw, list):
        raw = [obj["author"]] if isinstance(obj.get("author"), dict) else []
    return [str(a["name"]) for a in raw if isinstance(a, dict) and a.get("name")]


def _is_json_feed(doc: Any) -> bool:
    """A jsonfeed.org version URL (the spec), or a bare "1"/"1.1" beside an items array
    (what gofeed and other readers accept)."""
    if not isinstance(doc, dict):
        return False
    version = str(doc.get("version", ""))
    return "jsonfeed.org" in version or (bool(re.fullmatch(r"1(\.\d{1,2})?", version))
                                         and isinstance(doc.get("items"), list))


def parse_json_feed(data: bytes, feed: FeedRecord, fetched_at: datetime, *,
                    max_items: int | None = MAX_ITEMS) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org); feedparser 6.0.x does not read it."""
    try:
        # JSON is UTF-8; a byte-order mark in front is tolerated (RFC 8259 section 8.1).
        doc = orjson.loads(data.lstrip(b" \t\r\n").removeprefix(_BOM))
    except orjson.JSONDecodeError as exc:
        raise NotAFeed(f"not a feed (invalid JSON: {str(exc)[:100]})") from None
    if not _is_json_feed(doc):
        raise NotAFeed("not a feed (JSON without a jsonfeed.org version)")
    items = doc.get("items", [])
    if not isinstance(items, list):
        raise ParseError("JSON Feed 'items' is not a list")
    out = ParsedFeed(title=clean_text(str(doc.get("title") or ""))[:MAX_TITLE], items=[])
    language = doc.get("language")
    for item in _capped(items, max_items, out):
        try:
            story = _json_item(item, doc, feed, fetched_at, language, out)
        except (MemoryError, RecursionError):
            raise
        except Exception as exc:  # one odd item (wrong types, an absurd date) must not sink the rest
            out.drop("malformed", f"{type(exc).__name__}: {exc}")
            continue
        if story is not None:
            out.items.append(story)
    return out


def _json_item(item: Any, doc: dict[str, Any], feed: FeedRecord, fetched_at: datetime, language: Any,
               out: ParsedFeed) -> RawStory | None:
    if not isinstance(item, dict):
        out.drop("malformed", f"item is a {type(item).__name__}, not an object")
        return None
    html = item.get("content_html")
    body = html_to_text(html) if isinstance(html, str) else ""
    if not body and isinstance(item.get("content_text"), str):
        body = text_paragraphs(item["content_text"])
    summary = html_to_text(str(item.get("summary") or ""))
    url = item.get("url") if isinstance(item.get("url"), str) else None
    external = item.get("external_url") if isinstance(item.get("external_url"), str) else None
    ident = item.get("id")
    return make_story(
        feed, fetched_at, out, bozo=False,
        guid=str(ident) if isinstance(ident, str | int) and not isinstance(ident, bool) else None,
        links=[u for u in (url, external) if u],
        title=clean_text(item["title"]) if isinstance(item.get("title"), str) else "",
        summary=summary, body=body or summary,
        authors=_json_authors(item) or _json_authors(doc),
        published=parse_date(item.get("date_published")), updated=parse_date(item.get("date_modified")),
        language=item.get("language") or language,
    )


def _entry_links(entry: Any, base: str | None, atom: bool) -> list[str]:
    """Candidate links of an entry, best first: its link, then its other alternate links.

    feedparser makes an id the link when there is no link element.  That is right for
    an RSS guid without isPermaLink="false" (the spec calls it the item's permalink), but
    only if it is an absolute URL: "abc123" is an id, and resolving it against the feed's
    address would invent a page.  An Atom id is an identifier, never a link.  Relative
    link elements are resolved against the feed's own URL.
    """
    out: list[str] = []
    link = str(entry.get("link") or "")
    if entry.get("guidislink"):
        if not atom and _HAS_SCHEME.match(_URL_JUNK.sub("", link)):
            out.append(link)
    elif link:
        out.append(link)
    for alt in entry.get("links") or []:
        if hasattr(alt, "get") and alt.get("rel", "alternate") == "alternate" and alt.get("href"):
            out.append(str(alt["href"]))
    resolved = []
    for raw in out:
        raw = _URL_JUNK.sub("", raw)  # "jav\tascript:" is javascript:
        if base and raw and not _HAS_SCHEME.match(raw):
            raw = urljoin(base, raw)
        resolved.append(raw)
    return resolved


def _normalise(entry: Any, feed: FeedRecord, fetched_at: datetime, bozo: bool, out: ParsedFeed,
               base: str | None = None, atom: bool = False) -> RawStory | None:
    if not hasattr(entry, "get"):
        out.drop("malformed", f"entry is a {type(entry).__name__}")
        return None
    summary = html_to_text(str(entry.get("summary") or ""))
    body = html_to_text(_entry_html(entry)) or summary
    authors = [str(a.get("name", "")) for a in entry.get("authors") or [] if hasattr(a, "get") and a.get("name")]
    guid = entry.get("id")
    return make_story(
        feed, fetched_at, out, bozo=bozo, guid=str(guid) if guid else None, links=_entry_links(entry, base, atom),
        title=_title(entry), summary=summary, body=body, authors=authors,
        published=_entry_date(entry, "published") or _entry_date(entry, "updated"),
        updated=_entry_date(entry, "updated"), language=entry.get("language"),
    )


def _capped_text(value: str, cap: int, name: str, out: ParsedFeed) -> str:
    if len(value) <= cap:
        return value
    out.trim(name, f"{name} of {len(value)} characters cut to {cap}")
    return value[:cap].rstrip()


def _pick_link(links: list[str], out: ParsedFeed) -> tuple[str, str]:
    """The first safe (absolute http(s)) link and its canonical form, within MAX_URL_CHARS.

    A link longer than that, as given or canonicalised, is not kept (no real article
    address is that long, and every claim and alert copies it): the story keeps its
    guid or content id.
    """
    too_long = ""
    for raw in links:
        link = safe_link(raw)
        if not link:
            continue
        if len(link) > MAX_URL_CHARS:
            too_long = too_long or link
            continue
        canon = canonical_url(link)
        if len(canon) > MAX_URL_CHARS:
            too_long = too_long or link
            continue
        return link, canon
    if too_long:
        out.trim("link", f"link of {len(too_long)} characters dropped: {too_long[:80]}")
    return "", ""


def _plausible(published: datetime | None, fetched_at: datetime, out: ParsedFeed) -> datetime | None:
    if published is None or EARLIEST_DATE <= published <= fetched_at + FUTURE_SLACK:
        return published
    out.trim("date", f"publication date {published.isoformat()} is not plausible; fetch time used")
    return None


def make_story(feed: FeedRecord, fetched_at: datetime, out: ParsedFeed, *, bozo: bool, guid: str | None,
                links: list[str], title: str, summary: str, body: str, authors: list[str],
                published: datetime | None, updated: datetime | None, language: Any) -> RawStory | None:
    """The one place an item becomes a RawStory: id rule, link policy, caps, inferred dates."""
    link, canon = _pick_link(links, out)
    full_guid = clean_text(guid or "") or None
    title = _capped_text(clean_text(title), MAX_TITLE, "title", out)
    summary = _capped_text(summary, MAX_SUMMARY, "summary", out)
    body = _capped_text(body, MAX_BODY, "body", out)
    if not (link or full_guid or title or body):
        out.drop("empty", "an item with no link, id, title or text")
        return None
    # The id hashes the whole guid, so two long guids sharing a prefix stay two stories.
    if full_guid:
        story_id = "g:" + hashlib.blake2b(f"{feed.feed_id}\x1f{full_guid}".encode(), digest_size=12).hexdigest()
    elif canon:
        story_id = "u:" + hashlib.blake2b(canon.encode(), digest_size=12).hexdigest()
    else:
        story_id = "h:" + hashlib.blake2b(f"{title}\x1f{body}".encode(), digest_size=12).hexdigest()
    kept_guid = _capped_text(full_guid, MAX_GUID, "guid", out) if full_guid else None
    names = [clean_text(a) for a in authors]
    names = [_capped_text(a, MAX_AUTHOR, "authors", out) for a in names if a]
    if len(names) > MAX_AUTHORS:
        out.trim("authors", f"{len(names)} authors, the first {MAX_AUTHORS} kept")
        names = names[:MAX_AUTHORS]
    lang = clean_text(str(language)) if isinstance(language, str) else ""
    if len(lang) > MAX_LANGUAGE_CHARS:
        out.trim("language", f"language tag of {len(lang)} characters dropped")
        lang = ""
    published = _plausible(published, fetched_at, out)
    return RawStory(
        story_id=story_id,
        feed_id=feed.feed_id,
        outlet=feed.outlet,
        url=link,
        canonical_url=canon,
        guid=kept_guid,
        title=title,
        summary=summary,
        body=body,
        authors=names,
        language=lang or None,
        published=published or fetched_at,
        published_inferred=published is None,
        updated=updated,
        fetched_at=fetched_at,
        bozo=bozo,
    )

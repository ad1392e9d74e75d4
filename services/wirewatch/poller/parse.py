"""Feed bytes to normalised raw stories (feedparser does RSS, Atom and JSON Feed).

feedparser is always handed bytes in a BytesIO: given a str it may treat it as
a path or a URL and go and read it.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
import orjson
from pydantic_core import to_json

from ..errors import NotAFeed, ParseError, UnsafeXML
from ..limits import MAX_BODY_CHARS, MAX_RAW_STORY_BYTES
from ..models import FeedRecord, RawStory
from .html import clean_text, html_to_text
from .urls import canonical_url

MAX_TITLE = 1000
MAX_SUMMARY = 20_000
MAX_BODY = MAX_BODY_CHARS  # and the whole message at most MAX_RAW_STORY_BYTES: fit_message
MAX_AUTHOR = 200
MAX_ITEMS = 500  # per poll; feeds list newest first, and a 200k-item feed must stay bounded
MAX_GUID = 2000
# Entity text a document may expand to in total.  feedparser keeps "safe" literal
# entities and expands them without limit in its loose-parser fallback (a 160 KB
# feed reached a 2 GB string); real feeds use a few short ones, if any.
MAX_ENTITY_EXPANSION = 1 << 20
_PROLOG_SCAN = 64 * 1024
_ENTITY_DECL = re.compile(rb"<!ENTITY\s+(%\s*)?([^\s>]+)\s+(SYSTEM|PUBLIC|\"[^\"]*\"|'[^']*')", re.IGNORECASE)
_CHAR_REF = re.compile(rb"&#(?:[0-9]{1,7}|x[0-9a-fA-F]{1,6});")  # one character, as feedparser allows
_SAFE_SCHEMES = ("http", "https")
_HAS_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:")
_URL_JUNK = re.compile(r"[\x00-\x20\x7f]+")


@dataclass
class ParsedFeed:
    title: str
    items: list[RawStory]
    bozo: bool = False
    bozo_reason: str | None = None
    ttl_seconds: float | None = None
    skipped: list[str] = field(default_factory=list)


def _dt(struct: Any) -> datetime | None:
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _entry_html(entry: Any) -> str:
    """The richest HTML the entry carries: content:encoded/atom content, else summary."""
    best = ""
    for c in entry.get("content") or []:
        value = c.get("value") or ""
        if len(value) > len(best):
            best = value
    return best


def _prolog_text(data: bytes) -> bytes:
    """The start of the document as ASCII-compatible bytes (UTF-16/32 decoded) for scanning."""
    head = data[: _PROLOG_SCAN * 4]
    for bom, codec in ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
                       (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
                       (b"\x00<", "utf-16-be"), (b"<\x00", "utf-16-le")):
        if head.startswith(bom):
            return head.decode(codec, "ignore").encode("utf-8", "ignore")
    return head


def check_xml_safety(data: bytes) -> None:
    """Refuse entity tricks before feedparser (and its loose parser) can expand them.

    External and parameter entities (XXE) and entities whose value refers to other
    entities (billion laughs) are refused outright.  Plain literal entities -- the
    benign ``<!ENTITY id "tag:x,">`` some feeds carry -- are allowed while their total
    expansion stays under MAX_ENTITY_EXPANSION (quadratic blow-up refused).
    """
    head = _prolog_text(data)
    if b"<!ENTITY" not in head.upper() and b"<!entity" not in head.lower():
        return
    decls = _ENTITY_DECL.findall(head)
    if not decls:
        raise UnsafeXML("malformed entity declaration")
    body = data if head is data[: len(head)] else head
    total = 0
    for pct, name, value in decls:
        shown = name[:40].decode("ascii", "replace")
        if pct or value.upper() in (b"SYSTEM", b"PUBLIC"):
            raise UnsafeXML(f"external or parameter entity {shown!r} refused")
        text = value[1:-1]
        if (b"&" in text or b"%" in text) and not _CHAR_REF.fullmatch(text):
            raise UnsafeXML(f"entity {shown!r} refers to other entities")
        refs = body.count(b"&" + name + b";")
        total += refs * len(text)
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


def _unsafe_scheme(value: str) -> bool:
    scheme, sep, _ = _URL_JUNK.sub("", value).partition(":")
    return bool(sep) and scheme.lower() in ("javascript", "data", "vbscript", "file")


def parse_feed(data: bytes, feed: FeedRecord, fetched_at: datetime | None = None, *,
               content_type: str | None = None, base_url: str | None = None) -> ParsedFeed:
    """Parse one feed document.

    Raises NotAFeed when nothing in it is a feed, UnsafeXML for entity tricks and
    ParseError when feedparser itself fails.  Call it through ``worker.ParsePool``
    for CPU and memory limits.
    """
    fetched_at = fetched_at or datetime.now(UTC)
    if not data.strip():
        # feedparser calls an empty body a valid empty feed (bozo=False).
        raise NotAFeed("empty response")
    if _looks_like_json(data):
        return parse_json_feed(data, feed, fetched_at)
    check_xml_safety(data)
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
    reason = clean_text(str(parsed.get("bozo_exception")))[:300] if bozo else None
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
    out = ParsedFeed(title=clean_text(str(parsed.feed.get("title", "")))[:MAX_TITLE], items=[], bozo=bozo,
                     bozo_reason=reason, ttl_seconds=ttl)
    if len(entries) > MAX_ITEMS:
        out.skipped.append(f"{len(entries) - MAX_ITEMS} items beyond the first {MAX_ITEMS}")
        entries = entries[:MAX_ITEMS]
    for entry in entries:
        try:
            story = _normalise(entry, feed, fetched_at, bozo, base)
        except (MemoryError, RecursionError):
            raise
        except Exception as exc:  # one odd entry (wrong JSON types...) must not sink the rest
            out.skipped.append(f"item not usable: {type(exc).__name__}"[:200])
            continue
        if story is None:
            out.skipped.append(clean_text(str(entry.get("id") or entry.get("link") or "?"))[:200])
            continue
        out.items.append(story)
    return out


def fit_message(story: RawStory, limit: int = MAX_RAW_STORY_BYTES) -> RawStory | None:
    """``story`` as it may be sent: its message (JSON, UTF-8) at most ``limit`` bytes.

    A body capped in characters can still be too many bytes (2 to 4 a character in many
    scripts, 2 for an escaped quote): the body, then the summary, is cut to fit.  None if
    even that is not enough (an absurd link or author list): sending it would fail the
    feed's every poll.
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
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


def iso_datetime(value: Any) -> datetime | None:
    """An ISO 8601 / RFC 3339 timestamp in UTC (naive ones taken as UTC), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def _json_authors(obj: dict[str, Any]) -> list[str]:
    raw = obj.get("authors")
    if not isinstance(raw, list):
        raw = [obj["author"]] if isinstance(obj.get("author"), dict) else []
    return [clean_text(str(a["name"]))[:MAX_AUTHOR] for a in raw if isinstance(a, dict) and a.get("name")]


def parse_json_feed(data: bytes, feed: FeedRecord, fetched_at: datetime) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org); feedparser 6.0.x does not read it."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise NotAFeed(f"not a feed (invalid JSON: {str(exc)[:100]})") from None
    if not isinstance(doc, dict) or "jsonfeed.org" not in str(doc.get("version", "")):
        raise NotAFeed("not a feed (JSON without a jsonfeed.org version)")
    items = doc.get("items", [])
    if not isinstance(items, list):
        raise ParseError("JSON Feed 'items' is not a list")
    out = ParsedFeed(title=clean_text(str(doc.get("title") or ""))[:MAX_TITLE], items=[])
    language = clean_text(str(doc.get("language") or ""))[:35] or None
    if len(items) > MAX_ITEMS:
        out.skipped.append(f"{len(items) - MAX_ITEMS} items beyond the first {MAX_ITEMS}")
        items = items[:MAX_ITEMS]
    for item in items:
        if not isinstance(item, dict):
            out.skipped.append("item is not an object")
            continue
        html = item.get("content_html")
        body = html_to_text(html)[:MAX_BODY] if isinstance(html, str) else ""
        if not body and isinstance(item.get("content_text"), str):
            body = html_to_text(item["content_text"])[:MAX_BODY]
        summary = html_to_text(str(item.get("summary") or ""))[:MAX_SUMMARY]
        entry = {
            "id": item.get("id") if isinstance(item.get("id"), str | int) else None,
            "link": item.get("url") if isinstance(item.get("url"), str) else item.get("external_url"),
            "title": item.get("title") if isinstance(item.get("title"), str) else "",
        }
        story = _make_story(entry, feed, fetched_at, False, summary=summary, body=body or summary,
                            authors=_json_authors(item) or _json_authors(doc),
                            published=iso_datetime(item.get("date_published")),
                            updated=iso_datetime(item.get("date_modified")),
                            language=clean_text(str(item.get("language") or ""))[:35] or language)
        if story is None:
            out.skipped.append(clean_text(str(entry["id"] or entry["link"] or "?"))[:200])
            continue
        out.items.append(story)
    return out


def _normalise(entry: Any, feed: FeedRecord, fetched_at: datetime, bozo: bool,
               base: str | None = None) -> RawStory | None:
    if not hasattr(entry, "get"):
        return None
    summary = html_to_text(str(entry.get("summary") or ""))[:MAX_SUMMARY]
    body = html_to_text(_entry_html(entry))[:MAX_BODY] or summary
    authors = [clean_text(str(a.get("name", "")))[:MAX_AUTHOR] for a in entry.get("authors") or []
               if hasattr(a, "get") and a.get("name")]
    return _make_story(
        entry, feed, fetched_at, bozo, summary=summary, body=body, authors=authors,
        published=_dt(entry.get("published_parsed")) or _dt(entry.get("updated_parsed")),
        updated=_dt(entry.get("updated_parsed")),
        language=clean_text(str(entry.get("language") or ""))[:35] or None, base=base,
    )


def _make_story(entry: Any, feed: FeedRecord, fetched_at: datetime, bozo: bool, *, summary: str, body: str,
                authors: list[str], published: datetime | None, updated: datetime | None,
                language: str | None, base: str | None = None) -> RawStory | None:
    """The one place an item becomes a RawStory: id rule, link policy, inferred dates."""
    raw_link = _URL_JUNK.sub("", str(entry.get("link") or ""))  # "jav\tascript:" is javascript:
    if base and raw_link and not _HAS_SCHEME.match(raw_link):
        raw_link = urljoin(base, raw_link)  # a relative link, against the feed's own URL
    link = safe_link(raw_link)
    guid = clean_text(str(entry.get("id") or ""))[:MAX_GUID] or None
    title = clean_text(str(entry.get("title") or ""))[:MAX_TITLE]
    if not (link or guid or title or body):
        return None
    canon = canonical_url(link) if link else ""
    if guid:
        story_id = "g:" + hashlib.blake2b(f"{feed.feed_id}\x1f{guid}".encode(), digest_size=12).hexdigest()
    elif canon:
        story_id = "u:" + hashlib.blake2b(canon.encode(), digest_size=12).hexdigest()
    else:
        story_id = "h:" + hashlib.blake2b(f"{title}\x1f{body}".encode(), digest_size=12).hexdigest()
    return RawStory(
        story_id=story_id,
        feed_id=feed.feed_id,
        outlet=feed.outlet,
        url=link or canon or (guid if guid and not _unsafe_scheme(guid) else ""),
        canonical_url=canon,
        guid=guid,
        title=title,
        summary=summary,
        body=body,
        authors=authors,
        language=language,
        published=published or fetched_at,
        published_inferred=published is None,
        updated=updated,
        fetched_at=fetched_at,
        bozo=bozo,
    )

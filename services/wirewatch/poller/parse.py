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

import feedparser

from ..errors import NotAFeed, ParseError, UnsafeXML
from ..models import FeedRecord, RawStory
from .html import clean_text, html_to_text
from .urls import canonical_url

MAX_TITLE = 1000
MAX_SUMMARY = 20_000
MAX_BODY = 500_000
MAX_AUTHOR = 200
MAX_ITEMS = 500  # per poll; feeds list newest first, and a 200k-item feed must stay bounded
MAX_GUID = 2000
# Entity text a document may expand to in total.  feedparser keeps "safe" literal
# entities and expands them without limit in its loose-parser fallback (a 160 KB
# feed reached a 2 GB string); real feeds use a few short ones, if any.
MAX_ENTITY_EXPANSION = 1 << 20
_PROLOG_SCAN = 64 * 1024
_ENTITY_DECL = re.compile(rb"<!ENTITY\s+(%\s*)?([^\s>]+)\s+(SYSTEM|PUBLIC|\"[^\"]*\"|'[^']*')", re.IGNORECASE)
_SAFE_SCHEMES = ("http", "https")
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
        if b"&" in text or b"%" in text:
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
    check_xml_safety(data)
    headers: dict[str, str] = {}
    if content_type:
        headers["content-type"] = content_type
    if base_url and base_url.lower().startswith(("http://", "https://")):
        headers["content-location"] = base_url
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
            story = _normalise(entry, feed, fetched_at, bozo)
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


def _normalise(entry: Any, feed: FeedRecord, fetched_at: datetime, bozo: bool) -> RawStory | None:
    if not hasattr(entry, "get"):
        return None
    link = safe_link(str(entry.get("link") or ""))
    guid = clean_text(str(entry.get("id") or ""))[:MAX_GUID] or None
    title = clean_text(str(entry.get("title") or ""))[:MAX_TITLE]
    summary = html_to_text(str(entry.get("summary") or ""))[:MAX_SUMMARY]
    body = html_to_text(_entry_html(entry))[:MAX_BODY] or summary
    if not (link or guid or title or body):
        return None
    canon = canonical_url(link) if link else ""
    if guid:
        story_id = "g:" + hashlib.blake2b(f"{feed.feed_id}\x1f{guid}".encode(), digest_size=12).hexdigest()
    elif canon:
        story_id = "u:" + hashlib.blake2b(canon.encode(), digest_size=12).hexdigest()
    else:
        story_id = "h:" + hashlib.blake2b(f"{title}\x1f{body}".encode(), digest_size=12).hexdigest()
    published = _dt(entry.get("published_parsed")) or _dt(entry.get("updated_parsed"))
    updated = _dt(entry.get("updated_parsed"))
    authors = [clean_text(str(a.get("name", "")))[:MAX_AUTHOR] for a in entry.get("authors") or []
               if hasattr(a, "get") and a.get("name")]
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
        language=(clean_text(str(entry.get("language") or ""))[:35] or None),
        published=published or fetched_at,
        published_inferred=published is None,
        updated=updated,
        fetched_at=fetched_at,
        bozo=bozo,
    )

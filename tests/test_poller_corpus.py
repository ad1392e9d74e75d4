"""Every file of feedparser's own test corpus through the poller's fetch-and-parse stage.

Served by a real HTTP server on 127.0.0.1 with each file's recorded headers,
parsed in the limited worker processes.  No file may crash or hang the poller;
each ends either in stories or in one stable error class; and the stories
agree with what feedparser itself finds in the same bytes (bozo feeds with
recoverable entries included).
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
from aiohttp import web

from wirewatch.models import FeedRecord, RawStory
from wirewatch.poller.parse import MAX_ITEMS
from wirewatch.poller.service import Poller, PollResult
from wirewatch.settings import Settings

from .conftest import SHARED

CORPUS = SHARED / "corpora" / "feedparser-tests"
# Our classes for "this is not something we will turn into stories"; anything else
# (above all "internal") would be a crash of ours.
ALLOWED_ERRORS = {"not_a_feed", "parse_error", "unsafe_xml"}
_TAG = re.compile(r"<[^>]*>")
_SVG = re.compile(r"<svg.*?</svg>", re.S | re.I)


class CountingSink:
    def __init__(self) -> None:
        self.by_feed: Counter[str] = Counter()
        self.bozo: Counter[str] = Counter()

    async def publish(self, story: RawStory) -> None:
        self.by_feed[story.feed_id] += 1
        self.bozo[story.feed_id] += story.bozo


def manifest() -> list[dict[str, Any]]:
    with open(CORPUS / "MANIFEST.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def served_headers(rec: dict[str, Any]) -> dict[str, str]:
    headers = {k: str(v) for k, v in (rec.get("http_headers") or {}).items()}
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = ("application/feed+json" if rec["path"].endswith(".json")
                                   else "application/xml")
    return headers


def usable_entries(data: bytes, headers: dict[str, str]) -> tuple[int, bool]:
    """What feedparser itself finds: entries carrying any identity or text, and bozo."""
    if data.lstrip()[:1] == b"{":  # feedparser 6.0.x has no JSON Feed reader; ours counts items
        return len(json.loads(data).get("items", [])), False
    try:
        d = feedparser.parse(io.BytesIO(data), response_headers={k.lower(): v for k, v in headers.items()})
    except Exception:
        return -1, True
    keys = set()
    for e in d.get("entries", [])[:MAX_ITEMS]:
        texts = [str(e.get("summary") or "")] + [str(c.get("value") or "") for c in e.get("content") or []]
        # Pictures (an SVG's <title>) are not article text: the poller drops them.
        text = " ".join(_TAG.sub("", _SVG.sub("", t)).strip() for t in texts).strip()
        ident, link, title = (str(e.get(k) or "").strip() for k in ("id", "link", "title"))
        title = _TAG.sub("", _SVG.sub("", title)).strip()  # a title is its words (an <img> is none)
        if ident or link or title or text:
            # Entries repeating an id are versions of one story: published once.
            keys.add(("id", ident) if ident else (link, title, text))
    return len(keys), bool(d.get("bozo"))


async def test_every_corpus_file_goes_through_fetch_and_parse(tmp_path: Path) -> None:
    records = manifest()
    assert len(records) > 2000
    bodies = {"/" + r["path"]: (CORPUS / r["path"]).read_bytes() for r in records}
    headers = {"/" + r["path"]: served_headers(r) for r in records}

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=bodies[request.path], headers=headers[request.path])

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    settings = Settings(allow_hosts=["127.0.0.1"], parse_workers=2, parse_cpu_seconds=5,
                        parse_timeout_seconds=20, data_dir=tmp_path, poll_concurrency=8)
    sink = CountingSink()
    poller = Poller(settings, sink, state_path=tmp_path / "state.json")
    now = datetime.now(UTC)
    ids = {}
    for i, r in enumerate(records):
        fid = f"c{i}"
        ids[fid] = "/" + r["path"]
        poller.upsert(FeedRecord(feed_id=fid, url=f"http://127.0.0.1:{port}/{r['path']}",
                                 outlet="corpus", updated_at=now))
    sem = asyncio.Semaphore(8)

    async def one(fid: str) -> PollResult:
        async with sem:
            return await poller.poll_once(fid)

    try:
        results = await asyncio.gather(*(one(fid) for fid in ids))
    finally:
        await poller.aclose()
        await runner.cleanup()

    errors = Counter(r.error_class for r in results if r.outcome == "error")
    assert set(errors) <= ALLOWED_ERRORS, errors
    refused = [ids[r.feed_id] for r in results if r.error_class == "unsafe_xml"]
    # Policy: a DTD that declares external/parameter entities is refused (one file does).
    assert refused == ["/tests/wellformed/rdf/doctype_contains_entity_decl.xml"]

    mismatched = []
    bozo_recovered = 0
    for r in results:
        path = ids[r.feed_id]
        if r.error_class == "unsafe_xml":
            continue
        expected, bozo = usable_entries(bodies[path], headers[path])
        got = sink.by_feed[r.feed_id]
        if r.outcome == "error":
            if expected > 0:
                mismatched.append((path, r.error_class, expected, got))
            continue
        if got != expected:
            mismatched.append((path, "count", expected, got))
        if bozo and got:
            bozo_recovered += 1
            assert sink.bozo[r.feed_id] == got, path  # recovered items are flagged
    assert mismatched == [], (len(mismatched), Counter(m[1] for m in mismatched), mismatched[:20])
    assert bozo_recovered >= 5  # ill-formed feeds with entries still yield stories
    assert sum(sink.by_feed.values()) >= 500  # most corpus files test feed-level elements only

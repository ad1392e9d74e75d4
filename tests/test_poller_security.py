"""Hostile inputs against the poller's transport and parser (issue 9; survey section 5.4).

Every case ends in its stable error class (or is parsed with the dangerous part
removed), served by real servers on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import gzip
import ssl
import subprocess
import sys
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import brotli
import pytest
from aiohttp import web

from wirewatch.errors import FeedError
from wirewatch.models import FeedRecord
from wirewatch.poller.fetch import Fetcher
from wirewatch.poller.parse import check_xml_safety, parse_feed, safe_link
from wirewatch.poller.ssrf import AddressPolicy, check_url, is_public, parse_ip
from wirewatch.poller.worker import ParsePool
from wirewatch.settings import Settings

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "poller"))
from feedserver import FeedServer, RawServer, rss

FEED = FeedRecord(feed_id="t", url="http://example.org/feed", outlet="Test",
                  updated_at=datetime.now(UTC))
CAP = 1 << 20


def settings(**kw: Any) -> Settings:
    base: dict[str, Any] = dict(allow_hosts=["127.0.0.1"], fetch_max_bytes=CAP, fetch_timeout_seconds=5,
                                parse_workers=0)
    base.update(kw)
    return Settings(**base)


async def error_of(coro: Any) -> str:
    try:
        await coro
    except FeedError as exc:
        assert "\n" not in exc.message  # one line for the user
        return exc.code
    return "ok"


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    s = await FeedServer().start()
    yield s
    await s.stop()


# -- address policy ------------------------------------------------------------------
@pytest.mark.parametrize("host", [
    "127.0.0.1", "0177.0.0.1", "0x7f.1", "2130706433", "0.0.0.0", "::1", "::", "::ffff:127.0.0.1",
    "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "100.64.0.1", "169.254.169.254", "fd00:ec2::254",
    "224.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.1.1", "fe80::1", "255.255.255.255", "[::1]",
])
def test_non_public_addresses_are_refused(host: str) -> None:
    ip = parse_ip(host)
    assert ip is not None and not is_public(ip)
    netloc = f"[{host}]" if ":" in host and not host.startswith("[") else host
    assert error_code_of(lambda: check_url(f"http://{netloc}/", AddressPolicy())) == "ssrf_blocked"


def error_code_of(fn: Any) -> str:
    try:
        fn()
    except FeedError as exc:
        return exc.code
    return "ok"


@pytest.mark.parametrize("host", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "1.1.1.1"])
def test_public_addresses_pass(host: str) -> None:
    ip = parse_ip(host)
    assert ip is not None and is_public(ip)


@pytest.mark.parametrize(("url", "code"), [
    ("http://user:pass@example.org/feed", "bad_url"),
    ("http://user@example.org/feed", "bad_url"),
    ("gopher://example.org/", "unsupported_scheme"),
    ("file:///etc/passwd", "unsupported_scheme"),
    ("http://localhost./feed", "ssrf_blocked"),
    ("http://localhost/feed", "ssrf_blocked"),
    ("http://ex%61mple.org/", "bad_url"),
    ("http:///feed", "bad_url"),
    ("https://example.org/feed", "ok"),
])
def test_url_policy(url: str, code: str) -> None:
    assert error_code_of(lambda: check_url(url, AddressPolicy())) == code


def test_allow_list_permits_on_purpose() -> None:
    policy = AddressPolicy(["127.0.0.1", "10.0.0.0/8", "intranet.example"])
    assert error_code_of(lambda: check_url("http://127.0.0.1:8080/f", policy)) == "ok"
    assert error_code_of(lambda: check_url("http://10.2.3.4/f", policy)) == "ok"
    assert error_code_of(lambda: check_url("http://127.0.0.2/f", policy)) == "ssrf_blocked"
    assert error_code_of(lambda: check_url("http://localhost:8080/f", policy)) == "ok"  # 127.0.0.1 is allowed
    assert error_code_of(lambda: check_url("http://localhost:8080/f", AddressPolicy(["10.0.0.0/8"]))) == (
        "ssrf_blocked")


# -- SSRF at connect time --------------------------------------------------------------
async def test_loopback_blocked_without_allow_list(server: FeedServer) -> None:
    server.feeds["/a.xml"] = rss("a", 1)
    f = Fetcher(settings(allow_hosts=[]))
    assert await error_of(f.fetch(server.url("/a.xml"))) == "ssrf_blocked"
    assert server.hits == []  # refused before connecting
    await f.aclose()


@pytest.mark.parametrize(("target", "code"), [
    ("http://127.0.0.2:{port}/a.xml", "ssrf_blocked"),
    ("http://169.254.169.254/latest/meta-data/", "ssrf_blocked"),
    ("file:///etc/passwd", "unsupported_scheme"),
    ("gopher://127.0.0.1/", "unsupported_scheme"),
])
async def test_every_redirect_hop_is_rechecked(server: FeedServer, target: str, code: str) -> None:
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(target.format(port=server.port))

    server.routes["/r"] = redirect
    f = Fetcher(settings())
    assert await error_of(f.fetch(server.url("/r"))) == code
    await f.aclose()


async def test_redirect_loops_and_long_chains(server: FeedServer) -> None:
    async def hop(request: web.Request) -> web.Response:
        n = int(request.query.get("n", "0"))
        if request.path == "/loop":
            raise web.HTTPFound("/loop2")
        if request.path == "/loop2":
            raise web.HTTPFound("/loop")
        raise web.HTTPFound(f"/chain?n={n + 1}")

    for p in ("/loop", "/loop2", "/chain"):
        server.routes[p] = hop
    f = Fetcher(settings())
    assert await error_of(f.fetch(server.url("/loop"))) == "redirect"
    assert await error_of(f.fetch(server.url("/chain"))) == "redirect"
    assert server.count("/chain") == 6  # the first request and five hops, then it stops
    await f.aclose()


async def test_permanent_redirect_is_followed_and_reported(server: FeedServer) -> None:
    server.feeds["/new.xml"] = rss("a", 1)

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/new.xml")

    server.routes["/old.xml"] = moved
    f = Fetcher(settings())
    r = await f.fetch(server.url("/old.xml"))
    assert r.status == 200 and r.permanent_url == server.url("/new.xml")
    await f.aclose()


async def test_dns_answers_are_all_checked_and_rebinding_is_caught(server: FeedServer) -> None:
    server.feeds["/a.xml"] = rss("a", 1)

    async def close_each(request: web.Request) -> web.Response:
        return web.Response(body=rss("a", 1), headers={"Connection": "close"})

    server.routes["/c.xml"] = close_each
    answers = [["127.0.0.1", "10.0.0.7"]]

    async def resolver(host: str, port: int) -> list[str]:
        return answers[0]

    f = Fetcher(settings(), resolver=resolver)
    url = f"http://feeds.test:{server.port}"
    # A name resolving to an allowed and a private address is refused.
    assert await error_of(f.fetch(url + "/a.xml")) == "ssrf_blocked"
    # Rebinding: first answer allowed, the next connection's answer private.
    answers[0] = ["127.0.0.1"]
    assert (await f.fetch(url + "/c.xml")).status == 200
    answers[0] = ["192.168.0.10"]
    assert await error_of(f.fetch(url + "/c.xml")) == "ssrf_blocked"
    await f.aclose()


async def test_proxy_environment_is_ignored(server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.feeds["/a.xml"] = rss("a", 1)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    f = Fetcher(settings())
    assert (await f.fetch(server.url("/a.xml"))).status == 200
    await f.aclose()


# -- bounded transport ----------------------------------------------------------------------
def _gzip_bomb(size: int) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1 << 20)
    return b"".join([*(z.compress(block) for _ in range(size >> 20)), z.flush()])


async def test_gzip_bomb_is_capped_on_decoded_bytes(server: FeedServer) -> None:
    bomb = _gzip_bomb(128 << 20)  # 128 MiB of zeros in ~130 KB
    assert len(bomb) < 200_000

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    server.routes["/bomb"] = serve
    f = Fetcher(settings())
    tracemalloc.start()
    try:
        code = await error_of(f.fetch(server.url("/bomb")))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == "too_large"
    assert peak < CAP + len(bomb) + (4 << 20)  # the cap plus one chunk, not 128 MiB
    await f.aclose()


async def test_brotli_bomb_is_capped(server: FeedServer) -> None:
    bomb = brotli.compress(bytes(64 << 20), quality=5)

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "br"})

    server.routes["/bomb"] = serve
    f = Fetcher(settings())
    assert await error_of(f.fetch(server.url("/bomb"))) == "too_large"
    await f.aclose()


@pytest.mark.parametrize(("encoding", "body", "code"), [
    ("gzip, gzip", gzip.compress(gzip.compress(b"<rss/>")), "bad_encoding"),
    ("gzip, br, zstd", b"x", "bad_encoding"),
    ("zstd", b"x", "bad_encoding"),
    ("gzip", b"\x1f\x8b\x08\x00garbage-garbage", "bad_encoding"),
    ("gzip", gzip.compress(rss("a", 30))[:200], "bad_encoding"),  # truncated stream
    ("gzip", gzip.compress(rss("a", 3)), "ok"),
    ("deflate", zlib.compress(rss("a", 3)), "ok"),
    ("br", brotli.compress(rss("a", 3)), "ok"),
])
async def test_content_encodings(server: FeedServer, encoding: str, body: bytes, code: str) -> None:
    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=body, headers={"Content-Encoding": encoding})

    server.routes["/e"] = serve
    f = Fetcher(settings())
    assert await error_of(f.fetch(server.url("/e"))) == code
    await f.aclose()


async def test_oversized_bodies(server: FeedServer) -> None:
    big = b"<rss>" + b"x" * (CAP + 10)

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for i in range(0, len(big), 65536):
            await resp.write(big[i:i + 65536])
        await resp.write_eof()
        return resp

    async def declared(request: web.Request) -> web.Response:
        return web.Response(body=big)

    server.routes["/chunked"] = chunked
    server.routes["/declared"] = declared
    f = Fetcher(settings())
    assert await error_of(f.fetch(server.url("/chunked"))) == "too_large"
    assert await error_of(f.fetch(server.url("/declared"))) == "too_large"
    await f.aclose()


async def _drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(200):
        writer.write(b"<")
        await writer.drain()
        await asyncio.sleep(0.1)


async def _stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
    await writer.drain()
    await asyncio.sleep(30)


async def _huge_header(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nX-Junk: " + b"a" * 200_000 + b"\r\nContent-Length: 2\r\n\r\nok")
    await writer.drain()


async def _reset_mid_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n<rss><channel>")
    await writer.drain()
    writer.transport.abort()


@pytest.mark.parametrize(("script", "code"), [
    (_drip, "timeout"), (_stall, "timeout"), (_huge_header, "bad_response"),
    (_reset_mid_body, "bad_response"),
])
async def test_misbehaving_servers(script: Any, code: str) -> None:
    raw = await RawServer(script).start()
    # The total deadline catches a drip that never trips the per-read timeout.
    f = Fetcher(settings(fetch_timeout_seconds=1.0))
    try:
        assert await error_of(f.fetch(raw.url("/feed"))) == code
    finally:
        await f.aclose()
        await raw.stop()


async def test_tls_errors_are_classified(server: FeedServer, tmp_path: Path) -> None:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    app = web.Application()
    app.router.add_get("/a.xml", lambda r: web.Response(body=rss("a", 1)))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    f = Fetcher(settings())
    try:
        assert await error_of(f.fetch(f"https://127.0.0.1:{port}/a.xml")) == "tls"  # self-signed
    finally:
        await f.aclose()
        await runner.cleanup()


# -- safe parsing --------------------------------------------------------------------------
def _entity_feed(dtd: str, title: str) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n{dtd}\n]>\n<rss version="2.0"><channel><title>t</title>'
            f"<item><title>{title}</title><link>http://example.org/1</link></item></channel></rss>").encode()


QUADRATIC = _entity_feed(f'<!ENTITY a "{"x" * 100_000}">', "&a;" * 20_000)
LAUGHS = _entity_feed("\n".join(['<!ENTITY lol "lol">'] + [
    f'<!ENTITY lol{i} "{("&lol" + str(i - 1 if i > 1 else "") + ";") * 10}">' for i in range(1, 10)]),
    "&lol9;")
XXE = _entity_feed('<!ENTITY xxe SYSTEM "file:///etc/passwd">', "&xxe;")
PARAM = _entity_feed('<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;', "x")
BENIGN = _entity_feed('<!ENTITY id "tag:example.org,">', "&id;2024")


@pytest.mark.parametrize(("doc", "code"), [
    (QUADRATIC, "unsafe_xml"), (LAUGHS, "unsafe_xml"), (XXE, "unsafe_xml"), (PARAM, "unsafe_xml"),
    (BENIGN, "ok"),  # policy: a short literal entity is fine (defusedxml's false positive avoided)
    (QUADRATIC.decode().encode("utf-16"), "unsafe_xml"),  # the same attack in UTF-16
])
def test_entity_tricks_refused_before_feedparser(doc: bytes, code: str) -> None:
    assert error_code_of(lambda: check_xml_safety(doc)) == code


@pytest.mark.parametrize(("doc", "code"), [
    (b"", "not_a_feed"),
    (b"/etc/passwd", "not_a_feed"),  # a body that *is* a path is never opened
    (b"file:///etc/passwd", "not_a_feed"),
    (b"<html><body><form>login</form></body></html>", "not_a_feed"),
    (b"<rss><channel><item><title>a &#1114112; b</title></item></channel></rss>", "parse_error"),
    (b"<rss><channel><item><title>a &#55296; b</title></item></channel></rss>", "parse_error"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": 5}', "parse_error"),
])
def test_garbage_ends_in_a_class(doc: bytes, code: str) -> None:
    assert error_code_of(lambda: parse_feed(doc, FEED)) == code


def test_content_is_sanitised() -> None:
    doc = (b'<rss version="2.0"><channel><title>t</title>'
           b"<item><title>Alert\x00\x07 \xe2\x80\xaegnp.exe</title><link>javascript:alert(1)</link>"
           b"<guid>g1</guid><description>&lt;p&gt;Text&lt;script&gt;alert(1)&lt;/script&gt;"
           b"&lt;img src=x onerror=alert(1)&gt;&lt;/p&gt;</description></item>"
           b"<item><title>b</title><link>jav&#x09;ascript:alert(2)</link><guid>g2</guid></item>"
           b"<item><title>c</title><link>data:text/html,x</link><guid>g3</guid></item>"
           b"</channel></rss>")
    items = parse_feed(doc, FEED).items
    assert [i.url for i in items] == ["", "", ""]  # unsafe links dropped (a guid is an id, not a link)
    assert [i.guid for i in items] == ["g1", "g2", "g3"]
    assert items[0].title == "Alert gnp.exe"  # NUL, BEL and the RTL override removed
    assert items[0].body == "Text" and "alert" not in items[0].body
    assert safe_link("  https://example.org/a ") == "https://example.org/a"


def test_field_lengths_are_capped() -> None:
    doc = (b'<rss version="2.0"><channel><title>t</title><item><title>' + b"T" * 50_000
           + b"</title><link>http://example.org/1</link><description>" + b"word " * 200_000
           + b"</description></item></channel></rss>")
    item = parse_feed(doc, FEED).items[0]
    assert len(item.title) <= 1000 and len(item.summary) <= 20_000


def test_item_count_is_capped() -> None:
    doc = (b'<rss version="2.0"><channel><title>t</title>'
           + b"".join(b"<item><title>i%d</title><guid>%d</guid></item>" % (i, i) for i in range(1200))
           + b"</channel></rss>")
    parsed = parse_feed(doc, FEED)
    assert len(parsed.items) == 500 and parsed.dropped == {"over_item_cap": 700}


async def test_pathological_feed_costs_bounded_cpu_and_the_pool_survives() -> None:
    # feedparser #562: the author regex is quadratic; this feed needs many CPU seconds.
    author = "a@" + "a." * 16_000 + "!"
    doc = ('<rss version="2.0"><channel><title>t</title>'
           + "".join(f"<item><title>x{i}</title><author>{author}</author></item>" for i in range(8))
           + "</channel></rss>").encode()
    pool = ParsePool(1, cpu_seconds=1, memory_bytes=1 << 30, wall_seconds=20)
    try:
        assert await error_of(pool.parse(doc, FEED)) == "parse_limit"
        assert pool.restarts == 1
        ok = await pool.parse(rss("a", 2), FEED)  # the replacement worker parses the next feed
        assert len(ok.items) == 2
        # Parser exceptions travel back as their class, the worker stays.
        assert await error_of(pool.parse(b"", FEED)) == "not_a_feed"
        assert pool.restarts == 1
    finally:
        pool.close()


async def test_wall_clock_limit_kills_a_stuck_parse() -> None:
    doc = ('<rss version="2.0"><channel><title>t</title>'
           + "".join(f"<item><title>x{i}</title><guid>{i}</guid></item>" for i in range(200_000))
           + "</channel></rss>").encode()
    pool = ParsePool(1, cpu_seconds=60, memory_bytes=0, wall_seconds=1)
    try:
        assert await error_of(pool.parse(doc, FEED)) == "parse_limit"
    finally:
        pool.close()

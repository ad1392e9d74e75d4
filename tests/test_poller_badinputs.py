"""The survey's bad-input corpus, served on 127.0.0.1, polled alongside healthy feeds.

Each input must end in its expected class (or be parsed with the dangerous
part removed), nothing may crash the poller, and the healthy feeds -- on
another loopback host -- must keep being polled while the slow and heavy
inputs are in flight.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from wirewatch.models import FeedRecord, RawStory
from wirewatch.poller.fetch import Fetcher
from wirewatch.poller.service import Poller
from wirewatch.poller.worker import ParsePool
from wirewatch.settings import Settings

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "poller"))
from badinputs import Case, cases
from feedserver import FeedServer, RawServer, rss

NOW = datetime.now(UTC)
HEALTHY_HOST = "127.0.0.3"


class Sink:
    def __init__(self) -> None:
        self.by_feed: dict[str, list[RawStory]] = defaultdict(list)

    async def publish(self, story: RawStory) -> None:
        self.by_feed[story.feed_id].append(story)


def _tls_context(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key, cert = tmp / "k.pem", tmp / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


async def test_bad_input_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # (11) must be ignored
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    corpus = cases()
    server = await FeedServer().start()
    healthy = await FeedServer(host=HEALTHY_HOST).start()
    raws: list[RawServer] = []
    runners: list[web.AppRunner] = []
    feeds: dict[str, Case] = {}
    urls: dict[str, str] = {}
    port = server.port
    for case in corpus:
        fid = f"bad-{case.num}"
        feeds[fid] = case
        if case.url is not None:
            urls[fid] = case.url.format(port=port)
        elif case.script is not None:
            raw = await RawServer(case.script).start()
            raws.append(raw)
            urls[fid] = raw.url("/feed")
        else:
            path = f"/case/{case.num}"
            if case.handler is not None:
                server.routes[path] = case.handler
            urls[fid] = server.url(path)

    async def chain(request: web.Request) -> web.Response:
        last = request.path.rsplit("/", 1)[-1]
        n = int(last) if last.isdigit() else 0
        return web.Response(status=302, headers={"Location": f"/chain/{n + 1}"})

    server.routes["/case/8b"] = chain
    for n in range(1, 30):
        server.routes[f"/chain/{n}"] = chain
    server.feeds["/a.xml"] = rss("a", 1)

    async def rebinding(request: web.Request) -> web.Response:  # (6) forces a second connect
        return web.Response(status=302, headers={"Location": "/a.xml", "Connection": "close"})

    server.routes["/rebind"] = rebinding
    urls["bad-6"] = f"http://rebind.test:{port}/rebind"

    # (9) and (22): TLS.  A trusted self-signed server that downgrades, and an untrusted one.
    server_ctx, client_ctx = _tls_context(tmp_path)
    app = web.Application()
    downgrade = {"Location": server.url("/a.xml")}
    app.router.add_get("/down", lambda r: web.Response(status=301, headers=downgrade))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    runners.append(runner)
    tls_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    feeds["bad-9"] = Case("9", "HTTPS to HTTP downgrade", "redirect")
    urls["bad-9"] = f"https://127.0.0.1:{tls_port}/down"
    untrusted = await _untrusted_tls(tmp_path, runners)
    feeds["bad-22"] = Case("22", "self-signed certificate", "tls")
    urls["bad-22"] = f"https://127.0.0.1:{untrusted}/feed"
    feeds["bad-11"] = Case("11", "proxy variables set", "ok")
    urls["bad-11"] = server.url("/a.xml")

    calls: dict[str, int] = defaultdict(int)

    async def resolver(host: str, p: int) -> list[str]:
        calls[host] += 1
        if host == "mixed.test":
            return ["127.0.0.1", "10.0.0.1"]
        if host == "rebind.test":
            return ["127.0.0.1"] if calls[host] == 1 else ["10.9.8.7"]
        raise OSError("unknown test host")

    settings = Settings(
        allow_hosts=["127.0.0.1", HEALTHY_HOST], data_dir=tmp_path, fetch_max_bytes=12 << 20,
        fetch_timeout_seconds=2.0, poll_concurrency=16, poll_per_host=4, poll_backoff_max_seconds=3600,
        # Bad feeds back off from 60 s, so each is polled once here; healthy ones have a fixed 0.3 s.
        poll_min_interval_seconds=60, poll_interval_seconds=60, poll_max_interval_seconds=3600,
        parse_workers=2, parse_cpu_seconds=2, parse_timeout_seconds=10,
    )
    sink = Sink()
    fetcher = Fetcher(settings, resolver=resolver, verify=client_ctx)
    pool = ParsePool(2, cpu_seconds=2, memory_bytes=1 << 30, wall_seconds=10)
    # min_interval below the healthy feeds' 0.3 s: their rhythm is what shows the poller is not stalled
    poller = Poller(settings, sink, state_path=tmp_path / "s.json", fetcher=fetcher, parse_pool=pool,
                    min_interval=0.3)
    for fid, url in urls.items():
        poller.upsert(FeedRecord(feed_id=fid, url=url, outlet="bad", interval_seconds=3600, updated_at=NOW))
    for i in range(10):
        healthy.feeds[f"/h{i}.xml"] = rss(f"h{i}", 3)
        poller.upsert(FeedRecord(feed_id=f"ok-{i}", url=healthy.url(f"/h{i}.xml"), outlet="healthy",
                                 interval_seconds=0.3, updated_at=NOW))

    def attempted() -> bool:
        return all(poller.states[f].last_attempt is not None and f not in poller._inflight for f in urls)

    task = asyncio.create_task(poller.run())
    try:
        async with asyncio.timeout(180):
            while not attempted():
                await asyncio.sleep(0.05)
    except TimeoutError:
        pending = [f for f in urls if poller.states[f].last_attempt is None or f in poller._inflight]
        raise AssertionError(f"never finished: {pending}") from None
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await server.stop()
        await healthy.stop()
        for raw in raws:
            await raw.stop()
        for r in runners:
            await r.cleanup()
    assert not task.cancelled() or task.done()

    status = {s.feed_id: s for s in poller.status()}
    wrong = {}
    for fid, case in feeds.items():
        st = status[fid]
        got = st.error_class or ("not_modified" if case.expect == "not_modified" else "ok")
        if got not in case.expect.split("|"):
            wrong[f"{case.num} {case.name}"] = (case.expect, got, st.last_error)
        elif case.check is not None:
            assert case.check(sink.by_feed[fid]), f"{case.num} {case.name}: {sink.by_feed[fid]}"
        if st.error_class:
            assert st.state == "failing" and st.next_poll is not None  # retried, never dropped
            assert st.last_error and "\n" not in st.last_error
    assert wrong == {}
    assert len(feeds) >= 70  # every numbered input of the survey's list, several in variants
    # Healthy feeds on their own host kept their 0.3 s rhythm while the bad ones were in flight.
    hits = [healthy.count(f"/h{i}.xml") for i in range(10)]
    assert min(hits) >= 3, hits
    assert all(status[f"ok-{i}"].state == "ok" for i in range(10))
    # The pathological parses were killed, and their workers replaced (case 35 may
    # finish inside the limit on a fast CPU, so count what actually hit it).
    limited = [fid for fid in feeds if status[fid].error_class == "parse_limit"]
    assert len(limited) >= 2 and pool.restarts >= len(limited), (limited, pool.restarts)


async def _untrusted_tls(tmp: Path, runners: list[web.AppRunner]) -> int:
    other = tmp / "other"
    other.mkdir()
    ctx, _ = _tls_context(other)
    app = web.Application()
    app.router.add_get("/feed", lambda r: web.Response(body=rss("x", 1)))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    runners.append(runner)
    port: int = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return port



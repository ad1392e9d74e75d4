"""Bounded feed transport: one shared httpx client, SSRF-guarded, size- and time-capped.

- Redirects are followed here, not by httpx, so each hop is re-validated
  (scheme, credentials, literal IPs; the connect-time guard checks resolved
  addresses), loops are detected, HTTPS->HTTP downgrades refused, and redirect
  bodies never read.
- Content decoding is done here, chunk by chunk with an output limit, because
  httpx decodes a whole chunk at once (a 590-byte ``gzip, gzip`` body became a
  268 MB chunk).  At most one coding is accepted.
- A total deadline wraps connect, headers and body: httpx's read timeout is per
  chunk, so a server dripping one byte every few seconds would never trip it.
- ``trust_env`` is off so an ``HTTP(S)_PROXY`` variable cannot route around the guard.
- No connection is reused: a response whose body is longer than its Content-Length
  leaves bytes on the connection that the next request would read as its response
  (and a 304 may carry a body the client never reads).  Every request asks for
  ``Connection: close`` and the pool keeps no idle connection.
- Validators (ETag, Last-Modified) are kept byte for byte, as the server sent them,
  and sent back the same way: a non-ASCII one breaks nothing.  One that could not be
  sent back (control characters) or is absurdly long is not kept.
- A 304 is "not modified" only in answer to a conditional request; to a request
  without validators it is a broken response, not an empty feed.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import url2pathname

import brotli
import httpx

from .. import __version__
from ..errors import (
    BadEncoding,
    BadResponse,
    BadURL,
    ConnectError,
    FeedError,
    FeedUnreadable,
    FetchTimeout,
    HTTPStatusError,
    RedirectError,
    TLSError,
    TooLarge,
    UnsupportedScheme,
)
from ..settings import Settings
from .schedule import cache_lifetime, parse_retry_after
from .ssrf import AddressPolicy, GuardedBackend, Resolver, check_url

MAX_REDIRECTS = 5
MAX_VALIDATOR_BYTES = 1024  # a longer ETag/Last-Modified is not kept (it would ride on every poll)
_REDIRECTS = (301, 302, 303, 307, 308)
ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, "
          "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5")


def user_agent(settings: Settings) -> str:
    return f"wirewatch/{__version__} (+{settings.user_agent_contact})"


@dataclass
class FetchResult:
    status: int  # 200 (body) or 304 (not modified)
    url: str  # the URL finally answered (after redirects)
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    cache_seconds: float | None = None  # Cache-Control max-age / Expires lifetime
    retry_after: float | None = None
    permanent_url: str | None = None  # target of an all-permanent (301/308) redirect chain
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class _Decoder:
    """Decode one Content-Encoding with a hard limit on the output, chunk by chunk."""

    def __init__(self, coding: str, limit: int) -> None:
        self.coding = coding
        self.limit = limit
        self.total = 0
        self.parts: list[bytes] = []
        self._z: zlib._Decompress | None = None
        self._br: brotli.Decompressor | None = None
        self._deflate_raw_tried = False
        if coding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif coding == "deflate":
            self._z = zlib.decompressobj(zlib.MAX_WBITS)
        elif coding == "br":
            self._br = brotli.Decompressor()

    def _emit(self, out: bytes) -> None:
        self.total += len(out)
        if self.total > self.limit:
            raise TooLarge(f"decoded body exceeds {self.limit} bytes")
        if out:
            self.parts.append(out)

    def feed(self, chunk: bytes) -> None:
        room = self.limit - self.total + 1
        if self._z is not None:
            data = chunk
            try:
                while data and not self._z.eof:
                    self._emit(self._z.decompress(data, room))
                    room = self.limit - self.total + 1
                    data = self._z.unconsumed_tail
            except zlib.error as exc:
                if self.coding == "deflate" and not self._deflate_raw_tried and self.total == 0:
                    # "deflate" is often sent as a raw stream, without the zlib header.
                    self._deflate_raw_tried = True
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    self.feed(chunk)
                    return
                raise BadEncoding(f"corrupt {self.coding} stream ({exc})") from None
        elif self._br is not None:
            try:
                self._emit(self._br.process(chunk, output_buffer_limit=room))
                while not self._br.can_accept_more_data():
                    room = self.limit - self.total + 1
                    self._emit(self._br.process(b"", output_buffer_limit=room))
            except brotli.error as exc:
                raise BadEncoding(f"corrupt br stream ({exc})") from None
        else:
            self._emit(chunk)

    def finish(self) -> bytes:
        if self._z is not None and not self._z.eof:
            raise BadEncoding(f"truncated {self.coding} stream")
        if self._br is not None and not self._br.is_finished():
            raise BadEncoding("truncated br stream")
        return b"".join(self.parts)


def _coding(headers: httpx.Headers) -> str:
    codings = [c.strip().lower() for c in headers.get("content-encoding", "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > 1:
        raise BadEncoding(f"stacked content encodings refused ({', '.join(codings[:5])})")
    coding = codings[0] if codings else "identity"
    if coding not in ("identity", "gzip", "x-gzip", "deflate", "br"):
        raise BadEncoding(f"content encoding {coding!r} was not offered")
    return coding


def _is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError | ssl.CertificateError):
            return True
        seen = seen.__cause__ or seen.__context__
    msg = str(exc)
    return "SSL" in msg or "certificate" in msg.lower()


class Fetcher:
    """Fetch feed documents over http(s) or from ``file://``, within fixed bounds."""

    def __init__(self, settings: Settings, *, resolver: Resolver | None = None,
                 max_redirects: int = MAX_REDIRECTS, verify: ssl.SSLContext | bool = True,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.policy = AddressPolicy(settings.allow_hosts)
        self.max_redirects = max_redirects
        self.max_bytes = settings.fetch_max_bytes
        self.deadline = settings.fetch_timeout_seconds
        self.clock = clock or (lambda: datetime.now(UTC))
        self.verify = verify
        self.resolver = resolver
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        """The shared client, created on first use (and again after ``aclose``)."""
        if self._client is None or self._client.is_closed:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> httpx.AsyncClient:
        settings = self.settings
        per_op = min(10.0, self.deadline)
        transport = httpx.AsyncHTTPTransport(
            verify=self.verify,
            # No keep-alive (see the module docstring): a connection serves one response.
            limits=httpx.Limits(max_connections=max(settings.poll_concurrency, 1) * 2,
                                max_keepalive_connections=0),
            trust_env=False,
        )
        # httpx does not expose httpcore's network_backend; wrap the pool's one so that
        # every TCP connect (first hop, redirect, keep-alive refill) passes the guard.
        pool = transport._pool
        pool._network_backend = GuardedBackend(pool._network_backend, self.policy, self.resolver)
        return httpx.AsyncClient(
            transport=transport,
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(connect=min(5.0, per_op), read=per_op, write=per_op, pool=per_op),
            headers={"User-Agent": user_agent(settings), "Accept": ACCEPT,
                     "Accept-Encoding": "gzip, deflate, br", "Connection": "close"},
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    deadline: float | None = None) -> FetchResult:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "file":
            return await asyncio.to_thread(self._read_file, url, last_modified)
        if scheme not in ("http", "https"):
            raise UnsupportedScheme(f"scheme {scheme or '(none)'!r} is not supported (http, https, file)")
        limit = deadline or self.deadline
        try:
            async with asyncio.timeout(limit):
                return await self._fetch_http(url, etag, last_modified)
        except TimeoutError:
            raise FetchTimeout(f"no complete response within {limit:g}s") from None
        except FeedError:
            raise
        except httpx.TimeoutException as exc:
            raise FetchTimeout(f"timed out ({type(exc).__name__})") from None
        except httpx.ConnectError as exc:
            if _is_tls(exc):
                raise TLSError(f"TLS failed: {str(exc)[:200]}") from None
            raise ConnectError(f"cannot connect: {str(exc)[:200] or type(exc).__name__}") from None
        except httpx.UnsupportedProtocol as exc:
            raise UnsupportedScheme(str(exc)[:200]) from None
        except httpx.InvalidURL as exc:
            raise BadURL(f"invalid URL ({str(exc)[:200]})") from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError,
                httpx.LocalProtocolError) as exc:
            if _is_tls(exc):
                raise TLSError(f"TLS failed: {str(exc)[:200]}") from None
            raise BadResponse(f"broken response: {str(exc)[:200] or type(exc).__name__}") from None
        except ssl.SSLError as exc:
            raise TLSError(f"TLS failed: {str(exc)[:200]}") from None
        except OSError as exc:
            raise ConnectError(f"network error: {str(exc)[:200]}") from None

    async def _fetch_http(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        headers: dict[bytes, bytes] = {}
        for name, value in ((b"If-None-Match", etag), (b"If-Modified-Since", last_modified)):
            raw = validator_bytes(value)
            if raw:
                headers[name] = raw
        current = url
        visited = {url}
        all_permanent = True
        for _hop in range(self.max_redirects + 1):
            check_url(current, self.policy)
            request = self.client.build_request("GET", current, headers=headers)
            response = await self.client.send(request, stream=True)
            try:
                status = response.status_code
                if status in _REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise BadResponse(f"HTTP {status} without a Location")
                    nxt = urljoin(current, location.strip())
                    if urlsplit(current).scheme == "https" and urlsplit(nxt).scheme == "http":
                        raise RedirectError("redirect from https to http refused")
                    if nxt in visited:
                        raise RedirectError("redirect loop")
                    visited.add(nxt)
                    all_permanent = all_permanent and status in (301, 308)
                    current = nxt
                    continue
                return await self._final(response, url, current, all_permanent, conditional=bool(headers))
            finally:
                await response.aclose()
        raise RedirectError(f"more than {self.max_redirects} redirects")

    async def _final(self, response: httpx.Response, asked: str, current: str,
                     all_permanent: bool, *, conditional: bool) -> FetchResult:
        now = self.clock()
        status = response.status_code
        h = response.headers
        result = FetchResult(
            status=status, url=current,
            etag=_validator(response, b"etag"), last_modified=_validator(response, b"last-modified"),
            content_type=h.get("content-type"),
            cache_seconds=cache_lifetime(h, now),
            retry_after=parse_retry_after(h.get("retry-after"), now),
            permanent_url=current if (current != asked and all_permanent) else None,
            headers={k: v for k, v in h.items() if k in ("cache-control", "expires", "date")},
        )
        if status == 304:
            if not conditional:
                raise BadResponse("HTTP 304 Not Modified to a request without validators")
            return result
        if status >= 400:
            raise HTTPStatusError(f"HTTP {status} {response.reason_phrase}".strip(), status,
                                  retry_after=result.retry_after)
        if not 200 <= status < 300:
            raise BadResponse(f"unexpected HTTP {status}")
        coding = _coding(h)
        length = h.get("content-length", "").strip()
        declared = int(length) if length.isascii() and length.isdigit() else -1
        if declared > self.max_bytes:
            raise TooLarge(f"Content-Length {declared} exceeds {self.max_bytes} bytes")
        decoder = _Decoder(coding, self.max_bytes)
        raw = 0
        async for chunk in response.aiter_raw():
            raw += len(chunk)
            if raw > self.max_bytes:
                raise TooLarge(f"body exceeds {self.max_bytes} bytes")
            decoder.feed(chunk)
        result.body = decoder.finish()
        result.status = 200
        return result

    def _read_file(self, url: str, last_modified: str | None) -> FetchResult:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise FeedUnreadable(f"file URL names a remote host ({parts.netloc})")
        path = Path(url2pathname(unquote(parts.path)))
        try:
            st = path.stat()
            # The file's mtime plays Last-Modified, so an unchanged replay file costs no parse.
            stamp = str(st.st_mtime_ns)
            if last_modified == stamp:
                return FetchResult(status=304, url=url, last_modified=stamp)
            if not path.is_file():
                raise FeedUnreadable(f"{path} is not a regular file")
            if st.st_size > self.max_bytes:
                raise TooLarge(f"{path} is larger than {self.max_bytes} bytes")
            with open(path, "rb") as f:
                body = f.read(self.max_bytes + 1)
        except FeedError:
            raise
        except OSError as exc:
            raise FeedUnreadable(f"cannot read {path}: {exc.strerror or exc}") from None
        if len(body) > self.max_bytes:
            raise TooLarge(f"{path} is larger than {self.max_bytes} bytes")
        return FetchResult(status=200, url=url, body=body, last_modified=stamp)


def _validator(response: httpx.Response, name: bytes) -> str | None:
    """A validator header as the server sent it: its bytes, held losslessly as latin-1 text."""
    for key, value in response.headers.raw:
        if key.lower() == name:
            value = value.strip()
            if value and len(value) <= MAX_VALIDATOR_BYTES and validator_bytes(value.decode("latin-1")):
                return value.decode("latin-1")
            return None
    return None


def validator_bytes(value: str | None) -> bytes | None:
    """The bytes to send back for a stored validator, or None if it cannot be a header value.

    Stored validators are latin-1 text of the bytes received; an older state may hold
    one decoded otherwise, which is sent as UTF-8.
    """
    if not value:
        return None
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raw = value.encode("utf-8", "replace")
    if len(raw) > MAX_VALIDATOR_BYTES or any((b < 0x20 and b != 0x09) or b == 0x7F for b in raw):
        return None
    return raw


def host_key(url: str) -> str:
    """What per-host politeness limits are keyed on."""
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".") or "-"
    except ValueError:
        return "-"



"""The Poller: schedules feeds, fetches them politely, publishes new items to a sink.

One asyncio task runs the schedule (a heap of due times); each due feed is
polled in its own task under a global and a per-host semaphore.  Nothing here
ever stops polling a feed: failures back off exponentially (with jitter) to a
capped interval and stay visible in ``status()`` and the metrics.

State (validators, seen items, failures) is changed only after the sink has
accepted every new story of a poll, and saved every few seconds and on stop;
a crash can therefore re-publish a few items (dedup catches them) but never
lose one.

Nothing is dropped without a word: an item a poll does not publish, or a field
cut to its cap, is counted per feed and reason in the metrics
(``wirewatch_poller_items_dropped_total``, ``wirewatch_poller_fields_trimmed_total``)
and in the feed's state (shown by `wirewatch feeds list`), and logged the first
time it happens to that feed.  No feed is polled more often than every
``MIN_INTERVAL_SECONDS``, whatever its configured interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import os
import random
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from .. import metrics as m
from ..errors import FeedError, WirewatchError, error_code
from ..limits import MAX_RAW_STORY_BYTES
from ..models import FeedRecord, RawStory
from ..settings import Settings
from .fetch import Fetcher, host_key
from .parse import fit_message
from .schedule import adaptive_interval, backoff_delay, next_success_delay, with_jitter
from .sources import Source, SourceContext, SourceResult, source_class
from .state import FeedState, StateStore
from .worker import ParsePool

log = logging.getLogger(__name__)

SAVE_EVERY = float(os.environ.get("WIREWATCH_POLLER_SAVE_EVERY", "5"))  # state saves, gauge refreshes
STATE_KEEP = 30 * 86400.0  # state of a removed feed is forgotten after this
NETWORK_CLASSES = frozenset({"connect", "timeout", "tls"})
# The shortest time between two polls of one feed (a fixed interval of 0.001 s polled a
# server ~220 times a second); a feed configured below it is polled at it, logged once.
MIN_INTERVAL_SECONDS = 10.0

FeedStateName = Literal["ok", "failing", "paused", "pending"]


def _fault(point: str) -> None:
    """Test-only crash point: ``WIREWATCH_FAULT_POINT=<point>`` SIGKILLs the process there."""
    if point == _FAULT_POINT:
        os.kill(os.getpid(), signal.SIGKILL)


_FAULT_POINT = os.environ.get("WIREWATCH_FAULT_POINT")


class StorySink(Protocol):
    async def publish(self, story: RawStory) -> None: ...


@runtime_checkable
class BatchStorySink(StorySink, Protocol):
    """A sink that takes one poll's new stories at once (the Kafka sink: one produce
    batch instead of one per story; see benchmarks/README.md on the embedded broker)."""

    async def publish_all(self, stories: Sequence[RawStory]) -> None: ...


@dataclass
class PollResult:
    feed_id: str
    outcome: Literal["ok", "not_modified", "error"]
    items: int = 0  # items in the document
    new_items: int = 0  # items published
    error_class: str | None = None
    error: str | None = None
    next_poll_in: float = 0.0
    bozo: bool = False


@dataclass
class FeedStatus:
    feed_id: str
    outlet: str
    url: str
    state: FeedStateName
    last_success: datetime | None
    last_error: str | None
    error_class: str | None
    consecutive_failures: int
    next_poll: datetime | None
    interval: float | None
    source: str = "rss"


def _ts(t: float | None) -> datetime | None:
    return datetime.fromtimestamp(t, tz=UTC) if t else None


class NetworkBreaker:
    """Notices when the network is down on *our* side so feeds are not all marked failing.

    Open while, in the last ``window`` seconds, fetches to at least ``min_hosts``
    distinct hosts failed at the network level (connect/timeout/TLS) and none
    succeeded anywhere.  While open, network failures do not count against a
    feed (no backoff growth, no failure count); the first success closes it.
    """

    def __init__(self, window: float = 60.0, min_hosts: int = 3, min_failures: int = 5) -> None:
        self.window = window
        self.min_hosts = min_hosts
        self.min_failures = min_failures
        self.events: deque[tuple[float, str, bool]] = deque()  # (time, host, network failure?)
        self.last_success = 0.0

    def record(self, now: float, host: str, *, ok: bool, network_failure: bool = False) -> None:
        if ok:
            self.last_success = now
        elif network_failure:
            self.events.append((now, host, True))
        while self.events and (now - self.events[0][0] > self.window
                               or self.events[0][0] <= self.last_success):
            self.events.popleft()
        m.POLLER_BREAKER_OPEN.set(1 if self.is_open(now) else 0)

    def is_open(self, now: float) -> bool:
        recent = [e for e in self.events if now - e[0] <= self.window and e[0] > self.last_success]
        return len(recent) >= self.min_failures and len({h for _, h, _ in recent}) >= self.min_hosts


class Poller:
    """Polls the feeds it ``owns``; see the module docstring."""

    def __init__(self, settings: Settings, sink: StorySink, *, state_path: Path | None = None,
                 owns: Callable[[str], bool] | None = None, fetcher: Fetcher | None = None,
                 parse_pool: ParsePool | None = None, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.time, min_interval: float = MIN_INTERVAL_SECONDS) -> None:
        self.settings = settings
        self.min_interval = min_interval
        self.sink = sink
        self.owns = owns
        self.clock = clock
        self.rng = rng or random.Random()
        self.store = StateStore(state_path or settings.data_dir / "poller-state.json")
        self.states: dict[str, FeedState] = self.store.load()
        self.feeds: dict[str, FeedRecord] = {}
        self.fetcher = fetcher or Fetcher(settings)
        self.pool = parse_pool or ParsePool(settings.parse_workers, cpu_seconds=settings.parse_cpu_seconds,
                                            memory_bytes=settings.parse_memory_bytes,
                                            wall_seconds=settings.parse_timeout_seconds)
        self.ctx = SourceContext(settings=settings, fetcher=self.fetcher, parse=self.pool.parse,
                                 extract=self.pool.extract)
        self.breaker = NetworkBreaker()
        self._sources: dict[str, Source] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._seq = 0
        self._inflight: dict[str, asyncio.Task[PollResult]] = {}
        self._wake = asyncio.Event()
        self._global = asyncio.Semaphore(settings.poll_concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._dirty = False
        self._told: set[tuple[str, str]] = set()  # (feed, what) already logged: each is logged once

    # -- feed list -----------------------------------------------------------------
    def upsert(self, feed: FeedRecord) -> None:
        """Add, replace or (``feed.paused``) pause a feed; a new or changed one is polled promptly."""
        old = self.feeds.get(feed.feed_id)
        self.feeds[feed.feed_id] = feed
        m.init_outlets([feed.outlet])  # per-outlet series start at 0, so rate() sees them rise
        m.init_feed(feed.feed_id)
        if feed.interval_seconds is not None and feed.interval_seconds < self.min_interval:
            self._tell(feed.feed_id, "interval", "feed %s: interval_seconds %g is below the floor; polled every %gs",
                       feed.feed_id, feed.interval_seconds, self.min_interval)
        st = self.states.setdefault(feed.feed_id, FeedState())
        now = self.clock()
        changed = old is None or old.url != feed.url or old.source != feed.source
        if changed and (st.url != feed.url or st.last_attempt is None):
            st.next_poll = now  # new feed or new URL: poll now, not after a restored schedule
        elif old is not None and old.paused and not feed.paused:
            st.next_poll = min(st.next_poll, now)
        self._push(feed.feed_id, max(st.next_poll, now) if st.next_poll else now)
        self._dirty = True

    def remove(self, feed_id: str) -> None:
        """Stop polling a feed.  Its state is kept for a while (``STATE_KEEP``): a feed that
        comes back (a partition moving back, a pause via the topic) must not re-publish."""
        self.feeds.pop(feed_id, None)
        task = self._inflight.get(feed_id)
        if task is not None:
            task.cancel()
        self._dirty = True
        self._wake.set()

    def rebalance(self) -> None:
        """Re-check ``owns`` for every feed now (call after a partition reassignment)."""
        now = self.clock()
        for fid in self.feeds:
            self._push(fid, min(self.states[fid].next_poll, now))

    @property
    def breaker_open(self) -> bool:
        return self.breaker.is_open(self.clock())

    # -- status ----------------------------------------------------------------------
    def status(self) -> list[FeedStatus]:
        out = []
        for fid, feed in sorted(self.feeds.items()):
            st = self.states.get(fid) or FeedState()
            state: FeedStateName
            if feed.paused:
                state = "paused"
            elif st.consecutive_failures > 0 or (st.error_class and not st.last_success):
                state = "failing"
            elif st.last_success is None:
                state = "pending"
            else:
                state = "ok"
            out.append(FeedStatus(
                feed_id=fid, outlet=feed.outlet, url=feed.url, state=state,
                last_success=_ts(st.last_success), last_error=st.last_error, error_class=st.error_class,
                consecutive_failures=st.consecutive_failures,
                next_poll=None if feed.paused else _ts(st.next_poll), interval=st.interval,
                source=feed.source,
            ))
        return out

    # -- running -----------------------------------------------------------------------
    async def run(self) -> None:
        """Poll until cancelled; cancellation closes the client and saves the state."""
        saver = asyncio.create_task(self._save_loop(), name="poller-save")
        try:
            while True:
                self._dispatch()
                delay = self._until_next()
                self._wake.clear()
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
        finally:
            saver.cancel()
            tasks = list(self._inflight.values())
            for t in tasks:
                t.cancel()
            await asyncio.gather(saver, *tasks, return_exceptions=True)
            await self.aclose()

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self.fetcher.aclose()
        await asyncio.to_thread(self.pool.close)
        self.save()

    def _prune(self) -> None:
        horizon = self.clock() - STATE_KEEP
        for fid in [f for f, st in self.states.items()
                    if f not in self.feeds and (st.last_attempt or 0.0) < horizon]:
            del self.states[fid]

    def save(self) -> None:
        self._prune()
        try:
            self.store.save(self.states)
            self._dirty = False
            _fault("after_state_save")
        except OSError as exc:
            log.error("cannot save poller state to %s: %s", self.store.path, exc)

    async def _save_loop(self) -> None:
        while True:
            await asyncio.sleep(SAVE_EVERY)
            self._refresh_gauges()
            if self._dirty:
                self._dirty = False
                self._prune()
                try:
                    await asyncio.to_thread(self.store.save, dict(self.states))
                    _fault("after_state_save")
                except (OSError, RuntimeError) as exc:  # RuntimeError: dict changed while dumping
                    self._dirty = True
                    log.warning("poller state not saved (%s); will retry", exc)

    def _refresh_gauges(self) -> None:
        counts = dict.fromkeys(("ok", "failing", "paused", "pending"), 0)
        worst: dict[str, int] = {}
        for s in self.status():
            counts[s.state] += 1
            worst[s.outlet] = max(worst.get(s.outlet, 0), s.consecutive_failures)
        for k, v in counts.items():
            m.FEEDS_BY_STATE.labels(k).set(v)
        for outlet, n in worst.items():
            m.CONSECUTIVE_FAILURES.labels(outlet).set(n)

    def _push(self, feed_id: str, when: float) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, feed_id))
        self._wake.set()

    def _until_next(self) -> float:
        while self._heap:
            when, _, fid = self._heap[0]
            st = self.states.get(fid)
            if fid not in self.feeds or st is None or fid in self._inflight or when < st.next_poll - 1e-6:
                heapq.heappop(self._heap)  # stale entry
                continue
            return max(0.0, min(when - self.clock(), 60.0))
        return 60.0

    def _dispatch(self) -> None:
        now = self.clock()
        while self._heap and self._heap[0][0] <= now:
            when, _, fid = heapq.heappop(self._heap)
            feed = self.feeds.get(fid)
            st = self.states.get(fid)
            if feed is None or st is None or feed.paused or fid in self._inflight:
                continue
            if when < st.next_poll - 1e-6:
                continue  # superseded by a later schedule
            if self.owns is not None and not self.owns(fid):
                # Not ours now; look again later in case partitions move.
                st.next_poll = now + min(max(self.settings.poll_min_interval_seconds, 1.0), 30.0)
                self._push(fid, st.next_poll)
                continue
            task = asyncio.create_task(self._guarded(fid), name=f"poll:{fid}")
            self._inflight[fid] = task
            task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[PollResult]) -> None:
        # A task cancelled before it started never ran its finally block.
        fid = task.get_name().removeprefix("poll:")
        if self._inflight.get(fid) is task:
            del self._inflight[fid]

    async def _guarded(self, feed_id: str) -> PollResult:
        feed = self.feeds[feed_id]
        host = host_key(feed.url)
        sem = self._hosts.get(host)
        if sem is None:
            sem = self._hosts[host] = asyncio.Semaphore(self.settings.poll_per_host)
        try:
            # The host's slot first: a poll queued behind a slow host must not hold one of the
            # global slots while it waits, or one bad host starves every other host.
            async with sem, self._global:
                return await self.poll_once(feed_id)
        finally:
            self._inflight.pop(feed_id, None)
            st = self.states.get(feed_id)
            if st is not None and feed_id in self.feeds:
                self._push(feed_id, st.next_poll)

    async def poll_all(self) -> list[PollResult]:
        """Poll every owned, unpaused feed once now, under the same limits as ``run`` (a one-shot
        pass for tools, the benchmark and ``--once`` style commands)."""
        fids = [f for f, feed in self.feeds.items()
                if not feed.paused and (self.owns is None or self.owns(f)) and f not in self._inflight]
        tasks = []
        for fid in fids:
            task = asyncio.create_task(self._guarded(fid), name=f"poll:{fid}")
            self._inflight[fid] = task
            task.add_done_callback(self._forget)
            tasks.append(task)
        return list(await asyncio.gather(*tasks))

    # -- one poll ----------------------------------------------------------------------------
    def _source(self, name: str) -> Source:
        src = self._sources.get(name)
        if src is None:
            src = self._sources[name] = source_class(name)(self.ctx)
        return src

    async def poll_once(self, feed_id: str) -> PollResult:
        feed = self.feeds.get(feed_id)
        if feed is None:
            raise KeyError(f"unknown feed {feed_id!r}")
        st = self.states.setdefault(feed_id, FeedState())
        now = self.clock()
        st.last_attempt = now
        unconditional = (st.last_unconditional is None
                         or now - st.last_unconditional >= self.settings.poll_unconditional_seconds)
        started = time.perf_counter()
        try:
            res = await self._source(feed.source).poll(feed, st, unconditional=unconditional)
            new, ids = [], set()
            for s in res.stories:  # a feed repeating a guid: the first (newest) copy only
                if s.story_id not in ids and st.is_new(s, res.fingerprints.get(s.story_id)):
                    new.append(s)
                    ids.add(s.story_id)
            new.sort(key=lambda s: s.published)  # oldest first: downstream sees them in order
            out = []
            for story in new:
                fitted = fit_message(story)
                if fitted is None:
                    res.dropped["too_large"] += 1
                    res.examples.setdefault("too_large", f"item {story.story_id}: over {MAX_RAW_STORY_BYTES} "
                                                         "bytes even without a body")
                    continue
                out.append(fitted)
            if isinstance(self.sink, BatchStorySink):
                if out:
                    await self.sink.publish_all(out)
            else:
                for i, fitted in enumerate(out):
                    await self.sink.publish(fitted)
                    if i == 0:
                        _fault("after_first_publish")
            if new:
                _fault("after_publish_before_state")
        except asyncio.CancelledError:
            raise
        except WirewatchError as exc:
            return self._failed(feed, st, exc, now)
        except Exception as exc:  # a bug or a plug-in's surprise: logged with its trace, feed retried
            log.exception("poll of %s failed unexpectedly", feed_id)
            return self._failed(feed, st, exc, now)
        finally:
            m.FETCH_SECONDS.observe(time.perf_counter() - started)
        return self._succeeded(feed, st, res, new, now, unconditional)

    def _interval(self, feed: FeedRecord, st: FeedState, now: float) -> tuple[float, float, float]:
        s = self.settings
        lo, hi = max(s.poll_min_interval_seconds, self.min_interval), max(s.poll_max_interval_seconds,
                                                                          self.min_interval)
        if feed.interval_seconds is not None:
            fixed = max(feed.interval_seconds, self.min_interval)
            return fixed, min(lo, fixed), max(hi, fixed)
        return adaptive_interval(st.item_times, now, s.poll_interval_seconds, lo, hi), lo, hi

    def _tell(self, feed_id: str, what: str, msg: str, *args: object) -> None:
        """Log ``msg`` the first time ``what`` happens to a feed in this process."""
        if (feed_id, what) not in self._told:
            self._told.add((feed_id, what))
            log.warning(msg, *args)

    def _account(self, feed: FeedRecord, st: FeedState, res: SourceResult, now: float) -> None:
        """Every item a poll did not publish and every field it cut: metrics, state, one log line."""
        st.last_dropped = {k: v for k, v in res.dropped.items() if v}
        for reason, n in st.last_dropped.items():
            m.ITEMS_DROPPED.labels(feed=feed.feed_id, reason=reason).inc(n)
            st.dropped[reason] = st.dropped.get(reason, 0) + n
            self._tell(feed.feed_id, reason, "feed %s: %d item(s) not published (%s), e.g. %s; counted in "
                       "wirewatch_poller_items_dropped_total", feed.feed_id, n, reason, res.examples.get(reason, "-"))
        for name, n in res.trimmed.items():
            if not n:
                continue
            m.FIELDS_TRIMMED.labels(feed=feed.feed_id, field=name).inc(n)
            st.trimmed[name] = st.trimmed.get(name, 0) + n
            self._tell(feed.feed_id, "trim:" + name, "feed %s: the %s of %d item(s) cut or dropped (%s); counted "
                       "in wirewatch_poller_fields_trimmed_total", feed.feed_id, name, n, res.examples.get(name, "-"))
        if st.last_dropped:
            st.last_drop_at = now

    def _succeeded(self, feed: FeedRecord, st: FeedState, res: SourceResult, new: list[RawStory],
                   now: float, unconditional: bool) -> PollResult:
        m.FETCH_BYTES.inc(res.body_bytes)
        if res.not_modified:
            m.FETCHES.labels("not_modified", "none").inc()
            if res.last_modified:  # RFC 9111 4.3.4: a 304 may refresh the validators
                st.last_modified = res.last_modified
            if res.etag:
                st.etag = res.etag
        else:
            m.FETCHES.labels("ok", "none").inc()
            m.ITEMS_PER_FETCH.observe(len(res.stories))
            self._account(feed, st, res, now)
            if new:
                m.ITEMS_PUBLISHED.labels(feed.outlet).inc(len(new))
            st.remember(res.stories, res.fingerprints)
            # Validators are stored only now, after the sink took every new story.
            st.etag, st.last_modified, st.url = res.etag, res.last_modified, feed.url
            if unconditional:
                st.last_unconditional = now
        if res.permanent_url != st.moved_to:
            st.moved_to = res.permanent_url
            if res.permanent_url:
                log.info("feed %s permanently redirects to %s (the configured URL is kept)", feed.feed_id,
                         res.permanent_url[:300])
        self.breaker.record(now, host_key(feed.url), ok=True)
        st.last_success = now
        st.consecutive_failures = 0
        st.last_error = st.error_class = None
        interval, lo, hi = self._interval(feed, st, now)
        st.interval = interval
        delay = next_success_delay(interval, lo=lo, hi=hi, ttl=res.ttl_seconds, cache=res.cache_seconds,
                                   retry_after=res.retry_after, rng=self.rng)
        delay = max(delay, self.min_interval)
        st.next_poll = now + delay
        m.NEXT_POLL_SECONDS.observe(delay)
        m.FEED_LAST_SUCCESS.labels(feed.outlet).set(now)
        self._dirty = True
        return PollResult(feed.feed_id, "not_modified" if res.not_modified else "ok", items=len(res.stories),
                          new_items=len(new), next_poll_in=delay, bozo=res.bozo)

    def _failed(self, feed: FeedRecord, st: FeedState, exc: BaseException, now: float) -> PollResult:
        code = error_code(exc)
        message = " ".join(str(exc).split())[:300] or type(exc).__name__
        m.FETCHES.labels("error", code).inc()
        st.last_error, st.error_class = message, code
        st.last_failure, st.last_failure_at = f"{code}: {message}", now
        host = host_key(feed.url)
        self.breaker.record(now, host, ok=False, network_failure=code in NETWORK_CLASSES)
        interval, _lo, _hi = self._interval(feed, st, now)
        st.interval = interval
        retry_after = getattr(exc, "retry_after", None)
        cap = max(self.settings.poll_backoff_max_seconds, self.settings.poll_min_interval_seconds)
        if code in NETWORK_CLASSES and self.breaker.is_open(now):
            # It is us, not them: keep the normal rhythm (jittered, no herd) and count nothing.
            delay = with_jitter(min(interval, cap), self.rng)
        else:
            st.consecutive_failures += 1
            transient = getattr(exc, "transient", True) if isinstance(exc, FeedError) else True
            base = min(self.settings.poll_min_interval_seconds, feed.interval_seconds or float("inf"))
            # A permanent-looking error (SSRF-blocked, bad scheme) is retried at the cap, never dropped.
            failures = st.consecutive_failures if transient else 64
            delay = backoff_delay(failures, base, cap, self.rng, retry_after=retry_after)
            delay = min(delay, max(cap, retry_after or 0.0))
        delay = max(delay, self.min_interval)
        st.next_poll = now + delay
        m.NEXT_POLL_SECONDS.observe(delay)
        self._dirty = True
        n = st.consecutive_failures
        if n in (1, 10, 100) or (n and n % 1000 == 0):
            log.warning("feed %s failing (%s, %d in a row): %s", feed.feed_id, code, st.consecutive_failures,
                        message)
        return PollResult(feed.feed_id, "error", error_class=code, error=message, next_poll_in=delay)

"""When to poll a feed next: adaptive, polite, jittered, and never silent.

Pure functions of their inputs (plus a ``random.Random`` for jitter) so the
policy is testable without a clock.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

WEEK = 7 * 86400.0
# A hostile Retry-After ("in ten years", "-1") may neither silence a feed nor make us hammer it.
RETRY_AFTER_MAX = WEEK
JITTER = 0.1
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*\"?([0-9]+)", re.IGNORECASE)
_DELAY_SECONDS = re.compile(r"[0-9]+")


def clamp(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def parse_http_date(value: str) -> datetime | None:
    try:
        dt = parsedate_to_datetime(value.strip())
    except Exception:  # email.utils raises assorted errors on garbage; none is ours to raise
        return None
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or HTTP-date), clamped.

    Anything else -- a negative or fractional number, a digit outside ASCII ("²"),
    garbage -- is no Retry-After (None); this never raises.
    """
    if not value:
        return None
    v = value.strip()
    if _DELAY_SECONDS.fullmatch(v):  # RFC 9110: 1*DIGIT, ASCII digits only
        return clamp(float(v), 0.0, RETRY_AFTER_MAX)
    dt = parse_http_date(v)
    if dt is None:
        return None
    try:
        return clamp((dt - now).total_seconds(), 0.0, RETRY_AFTER_MAX)
    except (OverflowError, TypeError):
        return None


def cache_lifetime(headers: Mapping[str, str], now: datetime) -> float | None:
    """How long the server says the response stays fresh (Cache-Control max-age, else Expires)."""
    cc = headers.get("cache-control") or ""
    if "no-store" in cc.lower() or "no-cache" in cc.lower():
        return None
    m = _MAX_AGE.search(cc)
    if m:
        return clamp(float(m.group(1)), 0.0, WEEK)
    exp = headers.get("expires")
    if exp:
        dt = parse_http_date(exp)
        if dt is not None:
            try:
                return clamp((dt - now).total_seconds(), 0.0, WEEK)
            except (OverflowError, TypeError):
                return None
    return None


def adaptive_interval(item_times: Iterable[float], now: float, default: float, lo: float, hi: float) -> float:
    """Poll about as often as the feed posts: the mean gap between its items of the last week.

    Like Miniflux's entry-frequency scheduler, clamped to [lo, hi], except that
    the window is the span actually observed (a feed showing its last 20 items
    of the past hour posts every 3 minutes, not 20 times a week).  With no
    dated history the configured starting interval is used.
    """
    times = sorted(t for t in item_times if t <= now + 3600)  # future dates say nothing about the rate
    if len(times) < 2:
        return clamp(default, lo, hi)
    recent = [t for t in times if now - t <= WEEK]
    if not recent:
        return hi
    if len(recent) == 1:
        return clamp(WEEK, lo, hi)
    return clamp((recent[-1] - recent[0]) / (len(recent) - 1), lo, hi)


def with_jitter(delay: float, rng: random.Random, frac: float = JITTER) -> float:
    """Spread polls by +-``frac`` so feeds added together do not fire together forever."""
    return max(0.0, delay * (1.0 + rng.uniform(-frac, frac)))


def next_success_delay(interval: float, *, lo: float, hi: float, ttl: float | None = None,
                       cache: float | None = None, retry_after: float | None = None,
                       rng: random.Random) -> float:
    """Delay after a good poll: the adaptive interval, never shorter than the feed's TTL,
    Cache-Control/Expires lifetime or Retry-After (each a minimum, as Miniflux does), clamped."""
    floor = max([x for x in (ttl, cache, retry_after) if x is not None], default=0.0)
    return with_jitter(clamp(max(interval, floor), lo, hi), rng)


def backoff_delay(failures: int, base: float, cap: float, rng: random.Random,
                  retry_after: float | None = None) -> float:
    """Exponential backoff with 'equal jitter' in [d/2, d], d = min(cap, base * 2^(n-1)).

    Equal jitter keeps successive delays non-decreasing until the cap (the lower
    bound of step n+1 is the upper bound of step n) and never reaches zero.  A
    Retry-After longer than the backoff wins.  The cap is finite: a failing feed
    is retried forever, never dropped.
    """
    n = max(1, failures)
    d = min(cap, base * (2.0 ** min(n - 1, 60)))
    delay = rng.uniform(d / 2.0, d)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay

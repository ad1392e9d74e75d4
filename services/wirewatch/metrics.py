"""Every Prometheus metric wirewatch exports, declared in this one module.

Conventions: base units (seconds, bytes), ``_total`` counters, and only bounded
labels (stage, outcome, error class, category, kind, outlet, feed) -- never a URL
or a story id.  ``outlet`` and ``feed`` (a feed's configured id) are bounded by the
configured feed list.  The bounded
value sets are declared below (``LABEL_VALUES``); ``label_problems`` and
``naming_problems`` check a registry against them and are run by the tests on
the registry and on what a real Prometheus scraped from a real run.

Known label values are created at zero on import, so dashboards and alert rules
see a series (value 0) for "no errors yet" instead of no data.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, get_args

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, Info, start_http_server

from . import __version__, errors
from .models import Category, ContradictionKind, DuplicateKind

NS = "wirewatch"

# -- bounded label values ---------------------------------------------------------
# Error classes are the stable codes of errors.py; outcomes and stages are fixed words.
FETCH_OUTCOMES = ("ok", "not_modified", "error")
NO_ERROR = "none"  # error_class of a fetch that did not fail
STAGES = ("poller", "dedup", "extract", "ledger")
FEED_STATES = ("ok", "failing", "paused", "pending")
ALERT_TYPES = ("new_claim", "contradiction")
SENTENCE_OUTCOMES = ("parsed", "skipped", "too_long")
CATEGORIES: tuple[str, ...] = get_args(Category)
CONTRADICTION_KINDS: tuple[str, ...] = get_args(ContradictionKind)
DUPLICATE_KINDS: tuple[str, ...] = get_args(DuplicateKind)
# Why the poller did not publish a feed item: beyond the per-poll item cap, nothing to
# identify or read in it, not readable (wrong types, a bad entry), or too big to send.
DROP_REASONS = ("over_item_cap", "empty", "malformed", "too_large")
# Story fields the poller cut to their cap or dropped (models.py; docs/poller.md says how).
TRIMMED_FIELDS = ("link", "guid", "title", "summary", "body", "authors", "language", "date")
# A story's budgets in the processor (settings.story_max_*): what each counts past it.
STORY_BUDGETS = ("sentences", "claims", "alerts")


def _codes(root: type[errors.WirewatchError]) -> frozenset[str]:
    # http_4xx/http_5xx are set per instance by HTTPStatusError; "internal" is what
    # errors.error_code gives an exception we did not foresee.
    codes = {"internal", "http_4xx", "http_5xx"}
    todo: list[type] = [root]
    while todo:
        cls = todo.pop()
        code = cls.__dict__.get("code")
        if isinstance(code, str):
            codes.add(code)
        todo.extend(cls.__subclasses__())
    return frozenset(codes)


def error_classes() -> frozenset[str]:
    """Every stable error code (walked from errors.py, so new classes count at once)."""
    return _codes(errors.WirewatchError)


def feed_error_classes() -> frozenset[str]:
    """The error codes a feed fetch can end with."""
    return _codes(errors.FeedError)


# Outlet names and topic names come from configuration: bounded by it, but not
# enumerable here.  They must look like names, not like URLs or ids.
_NAME_LIKE = re.compile(r"^[^\x00-\x1f/\\?#=@<>{}]{1,80}$")
_TOPIC_LIKE = re.compile(r"^[a-z0-9._-]{1,120}$")
# A feed id as FeedRecord allows it; ids look like ids by design, so only the shape is checked.
_FEED_ID_LIKE = re.compile(r"^[^\x00-\x1f\s/\\?#=@<>{}]{1,200}$")

LabelRule = frozenset[str] | Callable[[], frozenset[str]] | re.Pattern[str]

LABEL_VALUES: dict[str, LabelRule] = {
    "outcome": frozenset(FETCH_OUTCOMES) | frozenset(SENTENCE_OUTCOMES),
    "error_class": lambda: error_classes() | {NO_ERROR},
    "stage": frozenset(STAGES),
    "state": frozenset(FEED_STATES),
    "type": frozenset(ALERT_TYPES),
    "category": frozenset(CATEGORIES),
    "kind": frozenset(CONTRADICTION_KINDS) | frozenset(DUPLICATE_KINDS),
    "outlet": _NAME_LIKE,
    "feed": _FEED_ID_LIKE,
    "reason": frozenset(DROP_REASONS),
    "field": frozenset(TRIMMED_FIELDS),
    "item": frozenset(STORY_BUDGETS),
    "topic": _TOPIC_LIKE,
    # Set by prometheus_client itself on histograms and on the build info.
    "le": re.compile(r"^(\+Inf|[0-9.e+-]+)$"),
    "version": re.compile(r"^[0-9][0-9A-Za-z.+-]{0,40}$"),
}

# -- poller -------------------------------------------------------------------
FETCHES = Counter(f"{NS}_poller_fetches_total",
                  "Feed fetches by outcome and error class (error_class='none' unless outcome='error').",
                  ["outcome", "error_class"])
FETCH_SECONDS = Histogram(f"{NS}_poller_fetch_duration_seconds", "Time to fetch one feed.",
                          buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
FETCH_BYTES = Counter(f"{NS}_poller_fetched_bytes_total", "Bytes of feed bodies received (decoded).")
ITEMS_PER_FETCH = Histogram(f"{NS}_poller_items_per_fetch", "Items in one parsed feed.",
                            buckets=(0, 1, 5, 10, 25, 50, 100, 250, 1000))
ITEMS_PUBLISHED = Counter(f"{NS}_poller_items_published_total", "Items sent to the raw stories topic.",
                          ["outlet"])
FEEDS_BY_STATE = Gauge(f"{NS}_poller_feeds", "Feeds by state (ok, failing, paused, pending).", ["state"])
NEXT_POLL_SECONDS = Histogram(f"{NS}_poller_next_poll_delay_seconds",
                              "Delay chosen until a feed's next poll.",
                              buckets=(1, 10, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400))
CONSECUTIVE_FAILURES = Gauge(f"{NS}_poller_feed_consecutive_failures",
                             "Consecutive failures of the worst feed per outlet.", ["outlet"])
POLLER_BREAKER_OPEN = Gauge(f"{NS}_poller_network_breaker_open",
                            "1 while most fetches across hosts fail at the network level (our side is down).")
PARSE_WORKER_RESTARTS = Counter(f"{NS}_poller_parse_worker_restarts_total",
                                "Parse workers replaced after hitting a CPU, memory or time limit.")
ITEMS_DROPPED = Counter(f"{NS}_poller_items_dropped_total",
                        "Feed items not published, per feed and reason (over_item_cap, empty, malformed, "
                        "too_large).", ["feed", "reason"])
FIELDS_TRIMMED = Counter(f"{NS}_poller_fields_trimmed_total",
                         "Story fields cut to their cap or dropped by the poller, per feed and field.",
                         ["feed", "field"])
FEED_LAST_SUCCESS = Gauge(f"{NS}_poller_feed_last_success_timestamp_seconds",
                          "Last successful fetch per outlet (unix time).", ["outlet"])

# -- dedup ----------------------------------------------------------------------
DEDUP_IN = Counter(f"{NS}_dedup_stories_total", "Raw stories checked by dedup.")
DEDUP_DUPLICATES = Counter(f"{NS}_dedup_duplicates_total", "Duplicates and updates by kind.", ["kind"])
DEDUP_UNIQUE = Counter(f"{NS}_dedup_unique_total", "Stories that passed dedup as new.")
DEDUP_CLUSTERS = Counter(f"{NS}_dedup_clusters_total", "New story clusters opened.")
DEDUP_WINDOW = Gauge(f"{NS}_dedup_window_stories", "Stories in the dedup window.")
DEDUP_SECONDS = Histogram(f"{NS}_dedup_duration_seconds", "Time to dedup one story.",
                          buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05))

# -- extraction -----------------------------------------------------------------
CLAIMS_EXTRACTED = Counter(f"{NS}_extract_claims_total", "Claims extracted by category.", ["category"])
NLP_SECONDS = Histogram(f"{NS}_extract_nlp_duration_seconds", "NLP time per story.",
                        buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
SENTENCES = Counter(f"{NS}_extract_sentences_total",
                    "Sentences parsed, skipped (no trigger word, unchanged) or too long to parse.", ["outcome"])

# -- ledger -----------------------------------------------------------------------
NEW_CLAIMS = Counter(f"{NS}_ledger_new_claims_total", "new_claim alerts raised.", ["category"])
CORROBORATIONS = Counter(f"{NS}_ledger_corroborations_total", "Claims that repeated a known claim.")
CONTRADICTIONS = Counter(f"{NS}_ledger_contradictions_total",
                         "Disputes opened (contradiction alerts with update=false).", ["kind"])
DISPUTE_UPDATES = Counter(f"{NS}_ledger_dispute_updates_total",
                          "Claims that joined a dispute already raised (contradiction alerts with update=true).",
                          ["kind"])
LEDGER_SIZE = Gauge(f"{NS}_ledger_claims", "Claims held in the ledger window.")

# -- state windows ------------------------------------------------------------------
SWEEP_SECONDS = Histogram(f"{NS}_window_sweep_duration_seconds",
                          "Time one bounded step of a window sweep (dedup or ledger) held the event loop.",
                          ["stage"], buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))

# -- end to end ---------------------------------------------------------------------
_FRESH_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86400)
FRESHNESS_PUBLISHED = Histogram(f"{NS}_alert_freshness_published_seconds",
                                "From the story's publication time to its alert.", ["type"],
                                buckets=_FRESH_BUCKETS)
FRESHNESS_FETCHED = Histogram(f"{NS}_alert_freshness_fetched_seconds",
                              "From the story's fetch time to its alert.", ["type"],
                              buckets=_FRESH_BUCKETS)
ALERTS = Counter(f"{NS}_alerts_total", "Alerts published by type.", ["type"])
STAGE_MESSAGES = Counter(f"{NS}_processed_messages_total",
                         "Messages handled (their outputs acknowledged by the broker), per pipeline stage.", ["stage"])
DEAD_LETTERS = Counter(f"{NS}_deadletter_messages_total",
                       "Messages sent to the dead-letter topic (acknowledged by the broker).",
                       ["stage", "error_class"])
DEAD_LETTER_FAILURES = Counter(f"{NS}_deadletter_send_failures_total",
                               "Failed inputs whose dead letter could not be sent (logged with their "
                               "topic[partition]@offset; the record stays in its origin topic).", ["stage"])
STORY_BUDGET_OVERFLOW = Counter(f"{NS}_story_budget_overflow_total",
                                "What stories had past their budget: event sentences not parsed, claims not "
                                "sent, alerts not raised.", ["item"])
PROCESSOR_STALLS = Counter(f"{NS}_processor_stalls_total",
                           "Times the processor had records waiting but handled none for the stall period.")
PROCESSOR_SKIPS = Counter(f"{NS}_processor_skipped_records_total",
                          "Records of a stage topic the consumer moved past, read from the broker and handled "
                          "by the agent.",
                          ["topic"])
CONSUMER_LAG = Gauge(f"{NS}_consumer_lag_messages", "Messages not yet consumed, per stage topic.", ["topic"])

BUILD_INFO = Info(f"{NS}_build", "wirewatch version.")
BUILD_INFO.info({"version": __version__})


def _init_known_labels() -> None:
    # Zero series for every known label value: a panel shows "0 errors" rather than
    # "no data", and rate()/increase() see the first increment of a counter.
    for code in sorted(feed_error_classes()):
        FETCHES.labels(outcome="error", error_class=code)
    for outcome in ("ok", "not_modified"):
        FETCHES.labels(outcome=outcome, error_class=NO_ERROR)
    for state in FEED_STATES:
        FEEDS_BY_STATE.labels(state=state)
    for dkind in DUPLICATE_KINDS:
        DEDUP_DUPLICATES.labels(kind=dkind)
    for category in CATEGORIES:
        CLAIMS_EXTRACTED.labels(category=category)
        NEW_CLAIMS.labels(category=category)
    for soutcome in SENTENCE_OUTCOMES:
        SENTENCES.labels(outcome=soutcome)
    for ckind in CONTRADICTION_KINDS:
        CONTRADICTIONS.labels(kind=ckind)
        DISPUTE_UPDATES.labels(kind=ckind)
    for atype in ALERT_TYPES:
        ALERTS.labels(type=atype)
        FRESHNESS_PUBLISHED.labels(type=atype)
        FRESHNESS_FETCHED.labels(type=atype)
    for stage in STAGES[1:]:  # the poller's throughput is items published, per outlet
        STAGE_MESSAGES.labels(stage=stage)
    for stage in ("dedup", "ledger"):
        SWEEP_SECONDS.labels(stage=stage)
    # Dead letters start at zero for the processing stages and the message error
    # classes; any other class appears on first use.
    for stage in STAGES[1:]:
        DEAD_LETTER_FAILURES.labels(stage=stage)
        for code in ("not_json", "schema_invalid", "message_too_large", "processing_failed", "internal"):
            DEAD_LETTERS.labels(stage=stage, error_class=code)
    for budget in STORY_BUDGETS:
        STORY_BUDGET_OVERFLOW.labels(item=budget)


_init_known_labels()


def record_consumer_lag(end_offsets: Mapping[Any, int], committed_offsets: Mapping[Any, int],
                        read_offsets: Mapping[Any, int] | None = None) -> None:
    """Set ``wirewatch_consumer_lag_messages{topic}`` from per-partition offsets.

    Keys are faust ``TP``s (anything with ``.topic``), values offsets as faust keeps
    them in ``app.monitor``: the end offset is the high-water mark (next offset to be
    written), the committed offset is the next one to read.  A partition that has not
    committed yet counts from the last offset read, so start-up backlog shows as lag.
    """
    lag: dict[str, int] = {}
    read = read_offsets or {}
    for tp, end in end_offsets.items():
        done = committed_offsets.get(tp)
        if done is None:
            last = read.get(tp)
            done = last + 1 if last is not None else 0
        lag[tp.topic] = lag.get(tp.topic, 0) + max(0, int(end) - int(done))
    for topic, value in lag.items():
        CONSUMER_LAG.labels(topic=topic).set(value)


def count_sentences(parsed: int, skipped: int, too_long: int) -> None:
    """What extraction did with the sentences of some stories (SENTENCE_OUTCOMES)."""
    SENTENCES.labels(outcome="parsed").inc(parsed)
    SENTENCES.labels(outcome="skipped").inc(skipped)
    SENTENCES.labels(outcome="too_long").inc(too_long)


def init_outlets(outlets: Iterable[str]) -> None:
    """Create the per-outlet counters at 0 for the outlets of the configured feeds.

    A counter series that first appears at N hides those N from rate() and
    increase(): the poller calls this when it learns its feeds, before it fetches.
    """
    for outlet in outlets:
        ITEMS_PUBLISHED.labels(outlet=outlet)


def init_feed(feed_id: str) -> None:
    """Create a feed's dropped-item and trimmed-field counters at 0 (see ``init_outlets``:
    rate() sees the first; a dashboard shows 0, not "no data").  12 series a feed."""
    for reason in DROP_REASONS:
        ITEMS_DROPPED.labels(feed=feed_id, reason=reason)
    for name in TRIMMED_FIELDS:
        FIELDS_TRIMMED.labels(feed=feed_id, field=name)


_faust_metrics: Any = None


def install_faust_sensor(app: Any, topics: Iterable[str] = ()) -> None:
    """Give a faust app faust's Prometheus monitor, registering ``faust_*`` in REGISTRY once.

    The same as ``faust.sensors.prometheus.setup_prometheus_sensors(app, name_prefix="faust")``
    minus its /metrics page (``serve`` already exposes REGISTRY), and safe to call for
    several apps in one process (tests), where the faust helper would register every
    metric twice and fail.  ``topics``: the app's topic names, whose per-topic message
    counters are created at 0 (the app's table changelogs too) so that the first burst
    after a start shows in rate().  faust labels a sent message's topic "topic.<name>".

    One change to faust's monitor: a rebalance no longer deletes the per-topic message
    counters.  faust removes them at every rebalance start and end, so each came back at
    N with its first N messages invisible to rate(): in `wirewatch run`, whose messages
    all arrive just after the first rebalance, the "Kafka messages per topic" panel stayed
    at zero.  A counter only goes up for the life of a process; the per-partition gauges
    and offsets, which do belong to an assignment, are still cleared.
    """
    from faust.sensors.monitor import Monitor
    from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor

    class _Monitor(PrometheusMonitor):
        # faust's monitor looks each labelled series up again on every message, stream event
        # and table read or write (and builds a stream's label with a regex each time): in a
        # burst of duplicates that was ~5 % of the processor's CPU.  The same series, each
        # looked up once.  The per-partition ones are dropped with the series at a rebalance.
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._series: dict[tuple[str, ...], Any] = {}
            self._partition_series: dict[Any, Any] = {}

        def _one(self, key: tuple[str, ...], make: Callable[[], Any]) -> Any:
            try:
                return self._series[key]
            except KeyError:
                series = self._series[key] = make()
                return series

        def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
            Monitor.on_message_in(self, tp, offset, message)
            m = self._metrics
            m.messages_received.inc()
            m.active_messages.inc()
            self._one(("in", tp.topic), lambda: m.messages_received_per_topics.labels(topic=tp.topic)).inc()
            try:
                at = self._partition_series[tp]
            except KeyError:
                at = self._partition_series[tp] = m.messages_received_per_topics_partition.labels(
                    topic=tp.topic, partition=tp.partition)
            at.set(offset)

        def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> dict[str, Any] | None:
            state = Monitor.on_stream_event_in(self, tp, offset, stream, event)
            m = self._metrics
            m.total_events.inc()
            m.total_active_events.inc()
            self._one(("stream", self.stream_lookup[stream]), lambda: m.total_events_per_stream.labels(
                stream=f"stream.{self._stream_label(stream)}.events")).inc()
            return state

        def _table_op(self, table: Any, operation: str) -> None:
            # (a dedup check reads the table ~7 times: no closure built per read)
            key = ("table", table.name, operation)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = self._metrics.table_operations.labels(
                    table=f"table.{table.name}", operation=operation)
            series.inc()

        def on_table_get(self, table: Any, key: Any) -> None:
            Monitor.on_table_get(self, table, key)
            self._table_op(table, self.KEYS_RETRIEVED)

        def on_table_set(self, table: Any, key: Any, value: Any) -> None:
            Monitor.on_table_set(self, table, key, value)
            self._table_op(table, self.KEYS_UPDATED)

        def on_table_del(self, table: Any, key: Any) -> None:
            Monitor.on_table_del(self, table, key)
            self._table_op(table, self.KEYS_DELETED)

        def on_send_initiated(self, producer: Any, topic: str, message: Any, keysize: int, valsize: int) -> Any:
            self._one(("sent", topic), lambda: self._metrics.topic_messages_sent.labels(topic=f"topic.{topic}")).inc()
            return Monitor.on_send_initiated(self, producer, topic, message, keysize, valsize)

        def _clear_partition_related_metrics(self) -> None:
            self._metrics._clear_topic_partition_related_metrics()
            self._partition_series.clear()
            self.tp_committed_offsets.clear()
            self.tp_read_offsets.clear()
            self.tp_end_offsets.clear()

    global _faust_metrics
    if _faust_metrics is None:
        _faust_metrics = FaustMetrics.create(REGISTRY, "faust")
    names = list(topics)
    with contextlib.suppress(Exception):  # an app without tables (or a stand-in): its topics only
        names += [table.changelog_topic.get_topic_name() for table in app.tables.values()]
    for topic in names:
        _faust_metrics.messages_received_per_topics.labels(topic=topic)
        _faust_metrics.topic_messages_sent.labels(topic=f"topic.{topic}")
    app.monitor = _Monitor(metrics=_faust_metrics)


def record_faust_lag(app: Any) -> None:
    """``record_consumer_lag`` from the offsets a faust app's monitor tracks (any monitor)."""
    mon = app.monitor
    record_consumer_lag(mon.tp_end_offsets, mon.tp_committed_offsets, mon.tp_read_offsets)


# -- conventions checks (run by the tests on this registry and on scraped series) ------
_BAD_UNITS = re.compile(
    r"_(ms|milliseconds|microseconds|us|ns|minutes|hours|days|kb|kib|mb|mib|gb|percent)(_|$)")
_TIME_WORDS = ("duration", "latency", "delay", "freshness", "age", "elapsed", "runtime")
_ID_LIKE = re.compile(r"[0-9a-f]{12,}|[0-9]{6,}|[0-9a-f]{8}-[0-9a-f]{4}-", re.I)
_URL_LIKE = re.compile(r"://|^www\.|/|\?|=|\.(xml|rss|atom|html?|php)\b", re.I)


def _family_names(registry: CollectorRegistry, prefix: str) -> list[tuple[str, str, str, list[str]]]:
    out = []
    for fam in registry.collect():
        if fam.name.startswith(prefix):
            labels = sorted({k for s in fam.samples for k in s.labels})
            out.append((fam.name, fam.type, fam.documentation, labels))
    return out


def naming_problems(registry: CollectorRegistry = REGISTRY, prefix: str = f"{NS}_") -> list[str]:
    """Prometheus naming rules broken by the metrics under ``prefix`` (empty = none)."""
    problems: list[str] = []
    for name, mtype, doc, labels in _family_names(registry, prefix):
        # prometheus_client strips a counter's _total from the family name and adds it
        # back on the sample, so "total" anywhere in a family name is a doubled or misplaced total.
        if "total" in name.split("_"):
            problems.append(f"{name}: 'total' inside a name (counters get _total as a suffix, others none)")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            problems.append(f"{name}: not lowercase snake_case")
        if _BAD_UNITS.search(name):
            problems.append(f"{name}: not in base units (use _seconds / _bytes / ratios)")
        words = name.split("_")
        if any(w in _TIME_WORDS for w in words) and "seconds" not in words:
            problems.append(f"{name}: a time quantity without _seconds")
        if "timestamp" in words and not name.endswith("_timestamp_seconds"):
            problems.append(f"{name}: timestamps end in _timestamp_seconds")
        if "bytes" in words and mtype == "gauge" and not name.endswith("_bytes"):
            problems.append(f"{name}: a byte gauge ends in _bytes")
        if mtype != "counter" and re.search(r"_(count|sum|bucket|created)$", name):
            problems.append(f"{name}: ends in a suffix Prometheus reserves")
        if not doc.strip():
            problems.append(f"{name}: no help text")
        for label in labels:
            if label in words and label != "le":
                problems.append(f"{name}: repeats its label {label!r} in the name")
    return problems


def _allowed(rule: LabelRule) -> frozenset[str] | re.Pattern[str]:
    return rule() if callable(rule) and not isinstance(rule, re.Pattern) else rule


def label_value_problem(label: str, value: str) -> str | None:
    """Why ``label=value`` is not a bounded label value, or None if it is fine."""
    rule = LABEL_VALUES.get(label)
    if rule is None:
        return f"label {label!r} is not in the allow-list of bounded labels (metrics.LABEL_VALUES)"
    allowed = _allowed(rule)
    if isinstance(allowed, re.Pattern):
        if not allowed.fullmatch(value):
            return f"{label}={value!r} does not look like a bounded name"
        if label not in ("le", "version", "feed") and (_URL_LIKE.search(value) or _ID_LIKE.search(value)):
            return f"{label}={value!r} looks like a URL or an id (unbounded)"
        return None
    if value not in allowed:
        return f"{label}={value!r} is not one of the declared values"
    return None


def label_problems(series: Iterable[tuple[str, Mapping[str, str]]]) -> list[str]:
    """Unbounded or undeclared labels among ``(metric name, labels)`` pairs."""
    problems: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for name, labels in series:
        for label, value in labels.items():
            if label in ("__name__", "job", "instance", "quantile") or (label, value, name) in seen:
                continue
            seen.add((label, value, name))
            why = label_value_problem(label, value)
            if why:
                problems.append(f"{name}: {why}")
    return problems


def registry_series(registry: CollectorRegistry = REGISTRY,
                    prefix: str = f"{NS}_") -> list[tuple[str, dict[str, str]]]:
    """Every sample under ``prefix`` in ``registry`` as (name, labels)."""
    return [(s.name, dict(s.labels)) for fam in registry.collect() if fam.name.startswith(prefix)
            for s in fam.samples]


_started: set[int] = set()
# `wirewatch run` is a development command on someone's machine: its /metrics is for that
# machine only.  The services (`poller`, `processor`) run in containers that Prometheus
# scrapes from another container, so they listen on every interface (ALL_INTERFACES).
LOCAL_ONLY = "127.0.0.1"
ALL_INTERFACES = "0.0.0.0"


def serve(port: int, host: str = LOCAL_ONLY, registry: CollectorRegistry = REGISTRY) -> str | None:
    """Expose /metrics on ``host``:``port`` (port 0 = off); the address really listened on,
    to be logged as it is, or None when off or already served.  Idempotent per process."""
    if port == 0 or port in _started:
        return None
    start_http_server(port, addr=host, registry=registry)
    _started.add(port)
    return f"http://{host}:{port}/metrics" + (" (all interfaces)" if host == ALL_INTERFACES else "")

"""Metric names and labels follow the Prometheus conventions, and unbounded labels fail.

The checks live in ``wirewatch.metrics`` (``naming_problems``, ``label_problems``);
here they run on the real registry after exercising code, and on bad examples
to prove they can fail.
"""

from __future__ import annotations

from collections import namedtuple
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from wirewatch import metrics
from wirewatch.models import FeedRecord, RawStory
from wirewatch.poller.parse import parse_feed

from .conftest import SHARED

DEV_FEEDS = sorted((SHARED / "eval" / "dev" / "feeds").glob("*.xml"))


def _declared() -> list[MetricWrapperBase]:
    return [v for v in vars(metrics).values() if isinstance(v, MetricWrapperBase)]


def _stories() -> list[RawStory]:
    out: list[RawStory] = []
    for path in DEV_FEEDS:
        feed = FeedRecord(feed_id=path.stem, url=path.resolve().as_uri(), outlet=path.stem,
                          updated_at=datetime.now(UTC))
        out += parse_feed(path.read_bytes(), feed).items
    return out


# ------------------------------------------------------------------------ naming
def test_every_declared_metric_follows_prometheus_naming() -> None:
    assert metrics.naming_problems() == []


def test_declared_metric_names_are_namespaced_and_unique() -> None:
    names = [m._name for m in _declared()]
    assert len(names) == len(set(names))
    assert all(n.startswith("wirewatch_") for n in names), names


@pytest.mark.parametrize(
    ("make", "complaint"),
    [
        (lambda r: Histogram("wirewatch_fetch_latency_ms", "x", registry=r), "base units"),
        (lambda r: Histogram("wirewatch_fetch_duration", "x", registry=r), "without _seconds"),
        (lambda r: Gauge("wirewatch_total_events", "x", registry=r), "'total' inside"),
        (lambda r: Counter("wirewatch_events_total_total", "x", registry=r), "'total' inside"),
        (lambda r: Gauge("wirewatch_last_fetch_timestamp", "x", registry=r), "_timestamp_seconds"),
        (lambda r: Gauge("wirewatch_queue_count", "x", registry=r), "reserves"),
        (lambda r: Gauge("wirewatch_fetches_by_outlet", "x", ["outlet"], registry=r).labels("A"),
         "repeats its label"),
        (lambda r: Gauge("wirewatch_things", "", registry=r), "no help text"),
    ],
)
def test_naming_check_fails_on_bad_names(make: object, complaint: str) -> None:
    reg = CollectorRegistry()
    make(reg)  # type: ignore[operator]
    problems = metrics.naming_problems(reg)
    assert any(complaint in p for p in problems), problems


def test_faust_sensor_names_are_what_the_check_rejects() -> None:
    # Why faust's metrics keep their own prefix and are not treated as ours.
    from faust.sensors.prometheus import FaustMetrics

    reg = CollectorRegistry()
    FaustMetrics.create(reg, "faust")
    problems = metrics.naming_problems(reg, prefix="faust_")
    assert any("faust_events_runtime_ms" in p for p in problems)
    assert any("faust_total_events" in p for p in problems)


# ------------------------------------------------------------------------ labels
def test_every_declared_label_name_has_a_bounded_value_rule() -> None:
    missing = {(m._name, label) for m in _declared() for label in m._labelnames
               if label not in metrics.LABEL_VALUES}
    assert missing == set()


def test_registry_labels_are_bounded_after_exercising_the_pipeline() -> None:
    from wirewatch.processor.dedup import Deduplicator

    stories = _stories()
    assert stories, "no sample feeds to exercise"
    dedup = Deduplicator()
    for story in stories + stories[:3]:  # the repeats exercise the duplicate kinds
        dedup.check(story)
    for story in stories:
        metrics.ITEMS_PUBLISHED.labels(outlet=story.outlet).inc()
    TP = namedtuple("TP", "topic partition")
    metrics.record_consumer_lag({TP("wirewatch.stories.raw", 0): 10}, {TP("wirewatch.stories.raw", 0): 4})

    series = metrics.registry_series()
    assert metrics.label_problems(series) == []
    # The exercise reached the labelled series it was meant to.
    labelled = {(name, tuple(sorted(lbl.items()))) for name, lbl in series}
    assert ("wirewatch_dedup_duplicates_total", (("kind", "guid"),)) in labelled
    assert any(name == "wirewatch_poller_items_published_total" for name, _ in series)


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("outlet", "https://www.reuters.com/world/feed.xml"),
        ("outlet", "www.reuters.com"),
        ("outlet", "feeds.bbci.co.uk/news/world/rss.xml"),
        ("outlet", "3f9a2c41d07b8e65aa01"),           # a story id
        ("outlet", "item-20261122031500"),            # an id with a timestamp
        ("topic", "https://broker:9092/x"),
        ("error_class", "HTTP 404 for https://example.org/rss"),  # a message, not a class
        ("category", "Airstrike near Idlib"),          # free text
        ("kind", "near:0.91"),
        ("story_id", "abc"),                           # a label nobody declared
        ("url", "https://example.org/a"),
    ],
)
def test_label_check_fails_on_unbounded_values(label: str, value: str) -> None:
    reg = CollectorRegistry()
    Counter("wirewatch_bad_total", "x", [label], registry=reg).labels(value).inc()
    problems = metrics.label_problems(metrics.registry_series(reg))
    assert problems and label in problems[0], problems


def test_label_check_accepts_real_outlet_names() -> None:
    reg = CollectorRegistry()
    c = Counter("wirewatch_ok_total", "x", ["outlet"], registry=reg)
    for outlet in ("Reuters: World News", "Orontes News Agency (ONA) - English Service", "Al Jazeera",
                   "BBC News — World", "Le Monde.fr", "The Straits Times - World"):
        c.labels(outlet).inc()
    assert metrics.label_problems(metrics.registry_series(reg)) == []


def test_error_classes_follow_errors_module() -> None:
    from wirewatch import errors

    classes = metrics.error_classes()
    assert {"ssrf_blocked", "too_large", "timeout", "http_4xx", "http_5xx", "internal"} <= classes
    assert errors.SchemaInvalid.code in classes
    assert metrics.feed_error_classes() <= classes
    assert errors.SchemaInvalid.code not in metrics.feed_error_classes()


# -------------------------------------------------------------------- zero series
def test_known_label_values_exist_at_zero_so_panels_have_data() -> None:
    samples = {(n, tuple(sorted(lbl.items()))) for n, lbl in metrics.registry_series()}
    assert ("wirewatch_poller_fetches_total", (("error_class", "timeout"), ("outcome", "error"))) in samples
    assert ("wirewatch_alerts_total", (("type", "contradiction"),)) in samples
    for state in metrics.FEED_STATES:
        assert ("wirewatch_poller_feeds", (("state", state),)) in samples


# -------------------------------------------------------------------- consumer lag
def test_consumer_lag_sums_partitions_per_topic() -> None:
    TP = namedtuple("TP", "topic partition")
    raw0, raw1, uniq = TP("t.lag.raw", 0), TP("t.lag.raw", 1), TP("t.lag.unique", 0)
    metrics.record_consumer_lag(
        end_offsets={raw0: 100, raw1: 50, uniq: 7},
        committed_offsets={raw0: 90, raw1: 50},
        read_offsets={uniq: 2},  # not committed yet: counts from the last offset read
    )
    assert metrics.CONSUMER_LAG.labels(topic="t.lag.raw")._value.get() == 10
    assert metrics.CONSUMER_LAG.labels(topic="t.lag.unique")._value.get() == 4
    # A committed offset past the (stale) end offset is no lag, never negative.
    metrics.record_consumer_lag({raw0: 100}, {raw0: 120})
    assert metrics.CONSUMER_LAG.labels(topic="t.lag.raw")._value.get() == 0


def test_operations_doc_lists_every_metric() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text(encoding="utf-8")
    exported = {m._name + ("_total" if m._type == "counter" else "_info" if m._type == "info" else "")
                for m in _declared()}
    assert {n for n in exported if f"`{n}`" not in doc} == set()


def test_faust_sensor_installs_once_and_feeds_the_lag_gauge() -> None:
    import faust
    from faust.types import TP
    from prometheus_client import REGISTRY, generate_latest

    apps = [faust.App(f"lag-{i}", broker="kafka://127.0.0.1:1") for i in range(2)]
    for app in apps:  # a second app in one process must not register faust_* twice
        metrics.install_faust_sensor(app, topics=["t.faust.raw"])
    app = apps[0]
    tp = TP("t.faust.raw", 0)
    app.monitor.track_tp_end_offset(tp, 12)
    app.monitor.on_tp_commit({tp: 5})
    metrics.record_faust_lag(app)
    assert metrics.CONSUMER_LAG.labels(topic="t.faust.raw")._value.get() == 7
    text = generate_latest(REGISTRY).decode()
    assert 'faust_topic_partition_end_offset{partition="0",topic="t.faust.raw"} 12.0' in text
    # Per-topic counters exist at 0 before the first message, so rate() sees the first burst.
    assert 'faust_messages_received_per_topic_total{topic="t.faust.raw"} 0.0' in text
    assert 'faust_topic_messages_sent_total{topic="topic.t.faust.raw"} 0.0' in text  # faust's own label


def test_a_rebalance_keeps_the_per_topic_message_counters() -> None:
    """faust deletes them at every rebalance (they came back at N, invisible to rate(): the
    "Kafka messages per topic" panel stayed at zero in `wirewatch run`); they must stay."""
    import faust
    from faust.types import TP
    from prometheus_client import REGISTRY, generate_latest

    app = faust.App("rebalance-keeps", broker="kafka://127.0.0.1:1")
    metrics.install_faust_sensor(app, topics=["t.keep.raw"])
    mon = app.monitor
    mon.on_message_in(TP("t.keep.raw", 0), 3, SimpleNamespace())  # type: ignore[arg-type]
    mon.track_tp_end_offset(TP("t.keep.raw", 0), 9)
    mon.on_rebalance_end(app, mon.on_rebalance_start(app) | {"time_end": 0.0})
    text = generate_latest(REGISTRY).decode()
    assert 'faust_messages_received_per_topic_total{topic="t.keep.raw"} 1.0' in text
    assert 'faust_topic_messages_sent_total{topic="topic.t.keep.raw"} 0.0' in text
    # what belongs to an assignment still goes: the partition's end offset
    assert 'faust_topic_partition_end_offset{partition="0",topic="t.keep.raw"}' not in text


def test_init_outlets_creates_the_outlet_series_at_zero() -> None:
    metrics.init_outlets(["Init Outlet A", "Init Outlet B"])
    samples = {(n, tuple(lbl.items())): v for n, lbl, v in
               ((s.name, s.labels, s.value) for fam in metrics.REGISTRY.collect() for s in fam.samples)}
    assert samples[("wirewatch_poller_items_published_total", (("outlet", "Init Outlet A"),))] == 0
    assert ("wirewatch_poller_items_published_total", (("outlet", "Init Outlet B"),)) in samples


def test_the_faust_sensor_counts_every_event_and_brings_a_partition_back_after_a_rebalance() -> None:
    """The monitor keeps each labelled series once found (faust looked it up per event); a
    rebalance removes the per-partition series, and the next message must make it again."""
    import faust
    from faust.types import TP
    from prometheus_client import REGISTRY

    app = faust.App("sensor-cache", broker="kafka://127.0.0.1:1")
    metrics.install_faust_sensor(app, topics=["t.cache.raw"])
    mon = app.monitor
    tp = TP("t.cache.raw", 1)

    def value(name: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, labels)

    before = value("faust_messages_received_per_topic_total", topic="t.cache.raw") or 0.0
    for offset in (3, 4, 5):
        mon.on_message_in(tp, offset, SimpleNamespace())  # type: ignore[arg-type]
    assert value("faust_messages_received_per_topic_total", topic="t.cache.raw") == before + 3
    assert value("faust_messages_received_per_topics_partition", topic="t.cache.raw", partition="1") == 5
    mon.on_rebalance_end(app, mon.on_rebalance_start(app) | {"time_end": 0.0})
    assert value("faust_messages_received_per_topics_partition", topic="t.cache.raw", partition="1") is None
    mon.on_message_in(tp, 9, SimpleNamespace())  # type: ignore[arg-type]
    assert value("faust_messages_received_per_topics_partition", topic="t.cache.raw", partition="1") == 9
    assert value("faust_messages_received_per_topic_total", topic="t.cache.raw") == before + 4

    table = SimpleNamespace(name="cache-dedup")
    for _ in range(3):
        mon.on_table_get(table, "k")  # type: ignore[arg-type]
    mon.on_table_set(table, "k", 1)  # type: ignore[arg-type]
    mon.on_table_del(table, "k")  # type: ignore[arg-type]
    ops = {op: value("faust_table_operations_total", table="table.cache-dedup", operation=op)
           for op in ("keys_retrieved", "keys_updated", "keys_deleted")}
    assert ops == {"keys_retrieved": 3, "keys_updated": 1, "keys_deleted": 1}
    assert mon.tables["cache-dedup"].keys_retrieved == 3  # faust's own tally goes on too

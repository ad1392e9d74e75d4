"""Every Prometheus metric wirewatch exports, declared in this one module.

Conventions: base units (seconds, bytes), ``_total`` counters, and only bounded
labels (stage, outcome, error class, category, kind, outlet) -- never a URL or
a story id.  ``outlet`` is bounded by the configured feed list.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, start_http_server

NS = "wirewatch"

# Error classes are the stable codes of errors.py; outcomes are fixed words.
FETCH_OUTCOMES = ("ok", "not_modified", "error")

# -- poller -------------------------------------------------------------------
FETCHES = Counter(f"{NS}_poller_fetches_total", "Feed fetches by outcome and error class.",
                  ["outcome", "error_class"])
FETCH_SECONDS = Histogram(f"{NS}_poller_fetch_duration_seconds", "Time to fetch one feed.",
                          buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
FETCH_BYTES = Counter(f"{NS}_poller_fetched_bytes_total", "Bytes of feed bodies received (decoded).")
ITEMS_PER_FETCH = Histogram(f"{NS}_poller_items_per_fetch", "Items in one parsed feed.",
                            buckets=(0, 1, 5, 10, 25, 50, 100, 250, 1000))
ITEMS_PUBLISHED = Counter(f"{NS}_poller_items_published_total", "Items sent to the raw stories topic.",
                          ["outlet"])
FEEDS_BY_STATE = Gauge(f"{NS}_poller_feeds", "Feeds by state (ok, failing, paused, pending).", ["state"])
NEXT_POLL_SECONDS = Histogram(f"{NS}_poller_next_poll_delay_seconds", "Delay chosen until a feed's next poll.",
                              buckets=(1, 10, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400))
CONSECUTIVE_FAILURES = Gauge(f"{NS}_poller_feed_consecutive_failures",
                             "Consecutive failures of the worst feed per outlet.", ["outlet"])
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
SENTENCES = Counter(f"{NS}_extract_sentences_total", "Sentences parsed or skipped (no trigger).",
                    ["outcome"])

# -- ledger -----------------------------------------------------------------------
NEW_CLAIMS = Counter(f"{NS}_ledger_new_claims_total", "new_claim alerts raised.", ["category"])
CORROBORATIONS = Counter(f"{NS}_ledger_corroborations_total", "Claims that repeated a known claim.")
CONTRADICTIONS = Counter(f"{NS}_ledger_contradictions_total", "contradiction alerts raised.", ["kind"])
LEDGER_SIZE = Gauge(f"{NS}_ledger_claims", "Claims held in the ledger window.")

# -- end to end ---------------------------------------------------------------------
_FRESH_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86400)
FRESHNESS_PUBLISHED = Histogram(f"{NS}_alert_freshness_published_seconds",
                                "From the story's publication time to its alert.", ["type"],
                                buckets=_FRESH_BUCKETS)
FRESHNESS_FETCHED = Histogram(f"{NS}_alert_freshness_fetched_seconds",
                              "From the story's fetch time to its alert.", ["type"],
                              buckets=_FRESH_BUCKETS)
ALERTS = Counter(f"{NS}_alerts_total", "Alerts published by type.", ["type"])
STAGE_MESSAGES = Counter(f"{NS}_stage_messages_total", "Messages handled per processor stage.", ["stage"])
DEAD_LETTERS = Counter(f"{NS}_deadletter_messages_total", "Messages sent to the dead-letter topic.",
                       ["stage", "error_class"])
CONSUMER_LAG = Gauge(f"{NS}_consumer_lag_messages", "Messages not yet consumed, per stage topic.", ["topic"])

_started: set[int] = set()


def serve(port: int, registry: CollectorRegistry = REGISTRY) -> bool:
    """Expose /metrics on ``port`` (0 = off).  Idempotent per process."""
    if port == 0 or port in _started:
        return False
    start_http_server(port, addr="0.0.0.0", registry=registry)
    _started.add(port)
    return True

"""Every topic in one place: name, message model, partitions, retention, key.

Used by the faust app, by `wirewatch topics create` and by the compose init
service, so a topic is configured the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import (
    Claim,
    ClaimUpdate,
    ContradictionAlert,
    DeadLetter,
    FeedRecord,
    NewClaimAlert,
    RawStory,
    UniqueStory,
    _Model,
)

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    model: type[_Model]
    schema: str
    partitions: int
    key: str
    why_key: str
    retention_ms: int | None = 7 * DAY_MS
    compacted: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def configs(self) -> dict[str, str]:
        cfg: dict[str, str] = {"cleanup.policy": "compact" if self.compacted else "delete"}
        if self.retention_ms is not None and not self.compacted:
            cfg["retention.ms"] = str(self.retention_ms)
        cfg.update(self.extra)
        return cfg


def _specs(prefix: str, partitions: int) -> dict[str, TopicSpec]:
    p = prefix
    specs = [
        TopicSpec(
            f"{p}.feeds", FeedRecord, "feed", partitions, "feed_id",
            # Compacted by feed_id: the latest record per feed is the feed's config;
            # pollers own the feeds of the partitions they are assigned.
            "one feed = one key, so compaction keeps its latest config and a feed maps to one poller",
            retention_ms=None, compacted=True,
        ),
        TopicSpec(
            f"{p}.stories.raw", RawStory, "raw_story", 1, "feed_id",
            # One partition on purpose: near-duplicate detection needs every story in
            # one seen-set, and dedup costs well under 1 ms a story, so one consumer
            # keeps up with thousands a second; NLP fans out after it.
            "keyed by feed for per-feed order; one partition so dedup sees every story",
        ),
        TopicSpec(
            f"{p}.stories.unique", UniqueStory, "unique_story", partitions, "story_id",
            # Spread by story so extraction (the expensive stage) uses every worker.
            "keyed by story_id to spread the NLP work evenly",
        ),
        TopicSpec(
            f"{p}.claims", Claim, "claim", partitions, "ledger_key",
            # Claims about the same event (category + place) must meet in one ledger.
            "keyed by ledger key (category + normalised place) so related claims meet on one partition",
        ),
        TopicSpec(
            f"{p}.claims.updates", ClaimUpdate, "claim_update", partitions, "ledger_key",
            "keyed by ledger key, like claims, so updates of one fact stay in order",
        ),
        TopicSpec(
            f"{p}.alerts.new_claim", NewClaimAlert, "new_claim_alert", partitions, "ledger_key",
            "keyed by ledger key so a subscriber sees one event's alerts in order",
            retention_ms=30 * DAY_MS,
        ),
        TopicSpec(
            f"{p}.alerts.contradiction", ContradictionAlert, "contradiction_alert", partitions,
            "ledger_key",
            "keyed by ledger key so a subscriber sees one place's disputes and their updates in order",
            retention_ms=30 * DAY_MS,
        ),
        TopicSpec(
            f"{p}.deadletter", DeadLetter, "dead_letter", 1, "origin_topic",
            "keyed by origin topic; one partition, it is low volume and read by people",
            retention_ms=30 * DAY_MS,
        ),
    ]
    return {s.schema: s for s in specs}


class Topics:
    """The topic names of one deployment (a prefix allows several on one cluster)."""

    def __init__(self, prefix: str = "wirewatch", partitions: int = 4) -> None:
        if not prefix or any(c not in "abcdefghijklmnopqrstuvwxyz0123456789._-" for c in prefix):
            raise ValueError(f"topic prefix must be lowercase letters, digits, '.', '_' or '-', got {prefix!r}")
        if partitions < 1:
            raise ValueError(f"partitions must be >= 1, got {partitions}")
        self.prefix = prefix
        self.specs = _specs(prefix, partitions)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.specs.values())

    @property
    def feeds(self) -> TopicSpec:
        return self.specs["feed"]

    @property
    def raw(self) -> TopicSpec:
        return self.specs["raw_story"]

    @property
    def unique(self) -> TopicSpec:
        return self.specs["unique_story"]

    @property
    def claims(self) -> TopicSpec:
        return self.specs["claim"]

    @property
    def claim_updates(self) -> TopicSpec:
        return self.specs["claim_update"]

    @property
    def new_claim(self) -> TopicSpec:
        return self.specs["new_claim_alert"]

    @property
    def contradiction(self) -> TopicSpec:
        return self.specs["contradiction_alert"]

    @property
    def deadletter(self) -> TopicSpec:
        return self.specs["dead_letter"]

    def by_name(self, name: str) -> TopicSpec | None:
        for s in self.specs.values():
            if s.name == name:
                return s
        return None

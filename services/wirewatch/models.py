"""The one model per topic message.

These pydantic models are the single source of truth for the JSON Schemas in
``schemas/`` (``wirewatch schemas`` regenerates them, and a test checks that the
committed files are current).  Every model forbids unknown fields so that a typo
in a producer fails loudly instead of shipping a field nobody reads.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .limits import MAX_MESSAGE_BYTES

Category = Literal["territory_control", "attack", "casualties", "displacement", "ceasefire"]
CATEGORIES: tuple[str, ...] = (
    "territory_control",
    "attack",
    "casualties",
    "displacement",
    "ceasefire",
)
Polarity = Literal["asserted", "denied"]
Modality = Literal["certain", "reported", "hedged"]
ContradictionKind = Literal["denial", "control", "numeric"]
DuplicateKind = Literal["guid", "url", "content", "near", "update"]

UTCDateTime = Annotated[datetime, Field(description="RFC 3339 timestamp in UTC")]


def utcnow() -> datetime:
    return datetime.now(UTC)


def stable_id(*parts: object, size: int = 16) -> str:
    """Deterministic short id from its parts (the same input always gives the same id)."""
    h = hashlib.blake2b(digest_size=size)
    for p in parts:
        h.update(repr(p).encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=False).encode("utf-8")


# --------------------------------------------------------------------- field caps
# Every string a feed controls has a cap, so every message built from a story is bounded
# (a claim copies the story's link; an alert holds two claims).  The poller applies them
# where it builds a story (poller/parse.py: what happens to a longer value is in
# docs/poller.md); the models refuse anything longer that reaches them another way.
MAX_ID_CHARS = 200  # feed ids, outlet names
MAX_URL_CHARS = 4096  # a feed's URL, a story's link and its canonical form
MAX_TITLE_CHARS = 1000
MAX_SUMMARY_CHARS = 20_000
MAX_AUTHOR_CHARS = 200
MAX_AUTHORS = 20
MAX_GUID_CHARS = 2000
MAX_LANGUAGE_CHARS = 35  # the longest BCP 47 tag in use
MAX_SOURCE_CHARS = 64


# --------------------------------------------------------------------- feeds
class FeedRecord(_Model):
    """A feed in the compacted feeds topic (key: ``feed_id``; a null value removes it)."""

    feed_id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    url: str = Field(min_length=1, max_length=MAX_URL_CHARS)
    outlet: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    paused: bool = False
    full_text: bool = Field(False, description="fetch the article page when items carry only a summary")
    source: str = Field("rss", min_length=1, max_length=MAX_SOURCE_CHARS,
                        description="the source plug-in that reads this feed")
    interval_seconds: float | None = Field(None, gt=0, description="fixed poll interval; null = adaptive")
    updated_at: UTCDateTime


# --------------------------------------------------------------------- stories
class RawStory(_Model):
    """One feed item as the poller normalised it (topic ``stories.raw``)."""

    story_id: str = Field(min_length=1, max_length=MAX_ID_CHARS,
                          description="guid, else canonical link, else content hash")
    feed_id: str = Field(max_length=MAX_ID_CHARS)
    outlet: str = Field(max_length=MAX_ID_CHARS)
    url: str = Field(max_length=MAX_URL_CHARS, description="an absolute http(s) link, or empty")
    canonical_url: str = Field(max_length=MAX_URL_CHARS)
    guid: str | None = Field(None, max_length=MAX_GUID_CHARS)
    title: str = Field("", max_length=MAX_TITLE_CHARS)
    summary: str = Field("", max_length=MAX_SUMMARY_CHARS)
    # The poller cuts a body at MAX_BODY_CHARS; the model's bound is what a message can carry
    # at all, so that a longer body put on a topic by another producer still reaches the
    # extract stage's own refusal (spaCy's max_length) and is dead-lettered there.
    body: str = Field("", max_length=MAX_MESSAGE_BYTES,
                      description="clean text; paragraphs separated by a blank line")
    authors: list[Annotated[str, Field(max_length=MAX_AUTHOR_CHARS)]] = Field(
        default_factory=list, max_length=MAX_AUTHORS)
    language: str | None = Field(None, max_length=MAX_LANGUAGE_CHARS)
    published: UTCDateTime
    published_inferred: bool = Field(False, description="the feed gave no date; fetch time used")
    updated: UTCDateTime | None = None
    fetched_at: UTCDateTime
    bozo: bool = Field(False, description="the feed was malformed but this item was recovered")


class DedupVerdict(_Model):
    """What dedup decided about one raw story."""

    story_id: str
    url: str
    status: Literal["unique", "update", "duplicate"]
    kind: DuplicateKind | None = Field(None, description="which test matched, for update/duplicate")
    duplicate_of: str | None = Field(None, description="url of the earlier story it repeats")
    duplicate_of_id: str | None = None
    cluster_id: str
    similarity: float | None = None
    changed_spans: list[tuple[int, int]] | None = Field(
        None, description="for an update: [start, end) character ranges of body that are new"
    )


class UniqueStory(_Model):
    """A story that passed dedup, or an update of one (topic ``stories.unique``)."""

    story: RawStory
    cluster_id: str
    status: Literal["unique", "update"]
    update_of: str | None = Field(None, description="story_id of the earlier version")
    changed_spans: list[tuple[int, int]] | None = Field(
        None, description="only these [start, end) body ranges go to extraction; null = all"
    )


# --------------------------------------------------------------------- claims
class Quantity(_Model):
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    text: str
    approximate: bool = False
    at_least: bool = False


class Claim(_Model):
    """One claim: a (sentence, event) with its evidence (topic ``claims``)."""

    claim_id: str
    story_id: str
    story_url: str
    source: str = Field(description="the outlet")
    feed_id: str
    published: UTCDateTime
    fetched_at: UTCDateTime | None = Field(None, description="when the poller fetched the story")
    cluster_id: str | None = None
    sentence: str = Field(min_length=1, description="verbatim evidence sentence")
    sentence_start: int = Field(ge=0, description="character offset of the sentence in the body")
    sentence_end: int = Field(ge=0)
    category: Category
    event_type: str | None = None
    cameo: str | None = Field(None, description="CAMEO event code (as GDELT/PETRARCH use them)")
    acled: str | None = Field(None, description="ACLED event type / sub-event type")
    trigger: str | None = None
    actor: str | None = None
    target: str | None = None
    location: str | None = None
    location_key: str | None = Field(None, description="normalised place key")
    time: str | None = Field(None, description="ISO date the event refers to, resolved")
    time_text: str | None = None
    quantity: Quantity | None = None
    polarity: Polarity = "asserted"
    modality: Modality = "certain"
    attributed_to: str | None = Field(None, description="speaker; null = the outlet's own voice")
    extracted_at: UTCDateTime

    @staticmethod
    def make_id(story_id: str, start: int, end: int, category: str, trigger: str | None) -> str:
        return stable_id("claim", story_id, start, end, category, trigger)


class ClaimUpdate(_Model):
    """Corroboration of a claim already in the ledger (topic ``claims.updates``)."""

    claim_id: str = Field(description="the first claim of this fact")
    ledger_key: str
    claim: Claim = Field(description="the new report")
    sources: list[str] = Field(description="distinct independent sources so far")
    num_sources: int = Field(ge=1)
    num_articles: int = Field(ge=1)
    updated_at: UTCDateTime


# --------------------------------------------------------------------- alerts
class NewClaimAlert(_Model):
    """A claim nobody had made before (topic ``alerts.new_claim``)."""

    alert_id: str
    type: Literal["new_claim"] = "new_claim"
    ledger_key: str
    claim: Claim
    raised_at: UTCDateTime

    @staticmethod
    def make_id(claim_id: str) -> str:
        return stable_id("new_claim", claim_id)


class DisputeSide(_Model):
    """One position in a dispute, as counted when the alert was raised."""

    sources: list[str] = Field(description="distinct independent sources that take this side")
    num_claims: int = Field(ge=1, description="claims (evidence sentences) on this side")
    num_articles: int = Field(ge=1)


class ContradictionAlert(_Model):
    """Two claims that cannot both be true (topic ``alerts.contradiction``).

    A dispute is two positions on one event.  Its first pair of claims opens it
    (``update: false``); each later claim that takes either side joins it as an update
    (``update: true``) with the same ``dispute_id``, paired with the claim of the other
    side it contradicts.  A subscriber that wants one message per dispute keeps the
    alerts with ``update: false``.
    """

    alert_id: str
    type: Literal["contradiction"] = "contradiction"
    kind: ContradictionKind
    dispute_id: str = Field(description="stable id of the dispute: the alert_id of the alert that opened it")
    update: bool = Field(False, description="false: this alert opens a dispute; true: a later claim joins it")
    ledger_key: str
    claim: Claim = Field(description="the newer claim")
    contradicts: Claim = Field(description="the earlier claim it conflicts with")
    claim_side: DisputeSide = Field(description="the side of `claim`, counted so far")
    contradicts_side: DisputeSide = Field(description="the side of `contradicts`, counted so far")
    explanation: str = Field(min_length=1, description="one line a person can read")
    raised_at: UTCDateTime

    @staticmethod
    def make_id(claim_a: str, claim_b: str, kind: str) -> str:
        lo, hi = sorted((claim_a, claim_b))
        return stable_id("contradiction", lo, hi, kind)


Alert = NewClaimAlert | ContradictionAlert


# --------------------------------------------------------------------- dead letters
class DeadLetter(_Model):
    """A message the processor could not handle (topic ``deadletter``)."""

    origin_topic: str
    origin_partition: int | None = None
    origin_offset: int | None = None
    origin_key: str | None = None
    stage: str
    error_class: str
    error: str = Field(max_length=2000)
    payload: str = Field(description="the original value, as text (invalid UTF-8 replaced), capped")
    payload_truncated: bool = False
    failed_at: UTCDateTime


MODELS: dict[str, type[_Model]] = {
    "feed": FeedRecord,
    "raw_story": RawStory,
    "unique_story": UniqueStory,
    "claim": Claim,
    "claim_update": ClaimUpdate,
    "new_claim_alert": NewClaimAlert,
    "contradiction_alert": ContradictionAlert,
    "dead_letter": DeadLetter,
}


def json_schema(name: str) -> dict[str, Any]:
    model = MODELS[name]
    schema = model.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://wirewatch.invalid/schemas/{name}.schema.json"
    return schema

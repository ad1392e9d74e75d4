"""The one model per topic message.

These pydantic models are the single source of truth for the JSON Schemas in
``schemas/`` (``wirewatch schemas`` regenerates them, and a test checks that the
committed files are current).  Every model forbids unknown fields so that a typo
in a producer fails loudly instead of shipping a field nobody reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import MaxLen
from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

from .limits import MAX_MESSAGE_BYTES, MAX_SENTENCE_CHARS

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

# What the processor builds (claims, updates, alerts, dead letters) is capped the same way,
# so that the longest message each model can serialise to (``max_json_bytes``) is far below
# MAX_MESSAGE_BYTES by construction; a test checks it for every model.  The caps are loose
# for real news (the evaluation sets' longest values are in docs/evaluation-log.md): only
# text no reporter writes reaches them.
MAX_PHRASE_CHARS = 500  # a phrase of a sentence (actor, place, speaker...); the sets' longest is 163
MAX_LABEL_CHARS = 200  # a rule's label (event type, CAMEO, ACLED type) or the trigger word
MAX_LEDGER_KEY_CHARS = 256  # 'place:<first word of the place>' (ledger.ledger_key cuts it)
MAX_EXPLANATION_CHARS = 1000  # the sets' longest is 155
MAX_SOURCES_LISTED = 50  # sources named in an update or a dispute side; the sets' most is 6
MAX_DEADLETTER_KEY_CHARS = 1024  # of a dead letter's origin key (decoded bytes)
MAX_DEADLETTER_PAYLOAD_CHARS = 64 * 1024  # of its payload: the first 64 KiB of the message
MAX_ERROR_CHARS = 2000
# A claim's facts (ClaimFacts): words of a name or a sentence are [a-z0-9] runs, the sets'
# longest 21 characters; a sentence's distinct words of three letters or more, the sets' most
# 44; names of the places a claim is about, the sets' most 4 of 37 characters; a camp
# ('state:<nation>'), the sets' longest 27.
MAX_WORD_CHARS = 30
MAX_NAME_WORDS = 50
MAX_SENTENCE_WORDS = 200
MAX_PLACES = 20
MAX_PLACE_NAME_CHARS = 100
MAX_CAMP_CHARS = 64
# The most bytes one character of a string takes in a JSON message: a control character
# is written as a six-byte \u escape (anything else takes at most four bytes of UTF-8).
JSON_BYTES_PER_CHAR = 6

Id = Annotated[str, Field(max_length=MAX_ID_CHARS)]
Phrase = Annotated[str, Field(max_length=MAX_PHRASE_CHARS)]
Label = Annotated[str, Field(max_length=MAX_LABEL_CHARS)]
Word = Annotated[str, Field(max_length=MAX_WORD_CHARS)]
Camp = Annotated[str, Field(max_length=MAX_CAMP_CHARS,
                            description='"state", "insurgent" or "state:<nation>" (\'Russian troops\')')]


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

    story_id: Id
    url: str = Field(max_length=MAX_URL_CHARS)
    status: Literal["unique", "update", "duplicate"]
    kind: DuplicateKind | None = Field(None, description="which test matched, for update/duplicate")
    duplicate_of: str | None = Field(None, max_length=MAX_URL_CHARS, description="url of the earlier story it repeats")
    duplicate_of_id: Id | None = None
    cluster_id: Id
    similarity: float | None = None
    changed_spans: list[tuple[int, int]] | None = Field(
        None, description="for an update: [start, end) character ranges of body that are new"
    )


class UniqueStory(_Model):
    """A story that passed dedup, or an update of one (topic ``stories.unique``)."""

    story: RawStory
    cluster_id: Id
    status: Literal["unique", "update"]
    update_of: Id | None = Field(None, description="story_id of the earlier version")
    changed_spans: list[tuple[int, int]] | None = Field(
        None, description="only these [start, end) body ranges go to extraction; null = all"
    )


# --------------------------------------------------------------------- claims
class Quantity(_Model):
    low: float | None = None
    high: float | None = None
    unit: Phrase | None = None
    text: Phrase
    approximate: bool = False
    at_least: bool = False


class ClaimFacts(_Model):
    """What the ledger compares about a claim, read from its sentence once, by the extractor.

    The conflict rules (docs/ledger.md) compare these and never the sentence: who says it,
    who acted, on which days it may have happened, who holds the place according to it,
    what a toll counts.  Word lists are content words in lower case.
    """

    speaker: list[Word] = Field(max_length=MAX_NAME_WORDS, description=(
        "name words of who says it: attributed_to, or for an unattributed quotation the speaker "
        "named just before it in the story; empty: the outlet's own voice"))
    speaker_name: Phrase = Field(description="who says it, as an alert names them (else the outlet)")
    speaker_side: Camp | None = Field(description="the speaker's camp, if its name says it")
    actor: list[Word] = Field(max_length=MAX_NAME_WORDS, description="name words of who acted")
    actor_side: Camp | None = Field(description="the actor's camp")
    first_day: date = Field(description="the first day the event may have happened on")
    last_day: date = Field(description="the last day the event may have happened on")
    explicit_day: bool = Field(description="the days are a date the story gave, not its publication")
    hedged: bool = Field(description="neither news nor a conflict: a hedge, or a plan, a threat or a "
                                     "possibility ('vowed to take X')")
    holder: Camp | None = Field(description="territory: the camp that holds the place according to it")
    capture: bool = Field(description="territory: someone took or entered the place")
    loss: bool = Field(description="territory: someone gave the place up")
    state: bool = Field(description="territory: a statement of who holds the place ('remains in rebel hands')")
    retake: bool = Field(description="territory: the place changed hands back")
    continuing: bool = Field(description="territory: the holding is said to go on ('still holds')")
    taken_from: list[Word] = Field(max_length=MAX_NAME_WORDS,
                                   description="territory: name words of whom the place was taken from")
    holder_name: list[Word] = Field(max_length=MAX_NAME_WORDS,
                                    description="territory: name words of a holder in no known camp")
    qty_lo: float | None = Field(description="casualties: the lowest count the figure allows")
    qty_hi: float | None = Field(description="casualties: the highest (null with qty_lo: open-ended)")
    qty_text: Phrase = Field(description="casualties: the figure as reported")
    measure: Literal["killed", "wounded"] | None = Field(description="casualties: what the figure counts")
    unit_group: Label = Field(description='casualties: "any", "part" (of a toll) or "combatants:<noun>"')
    part: bool = Field(description="casualties: the figure is a part of a toll ('eight of them')")
    means: list[Literal["air", "artillery", "ground", "bombing"]] = Field(
        max_length=4, description="attack or casualties: the means named")
    rise: bool = Field(description="casualties: the figure is worded as a rise ('the toll rose to')")
    cumulative: bool = Field(description="casualties: a toll over a period ('since September')")
    victims: Literal["civilians", "combatants", "any"] = Field(description="casualties: whose deaths")
    presupposed: bool = Field(description="attack: a denial whose event is taken as given ('in the strikes')")
    places: list[Annotated[str, Field(max_length=MAX_PLACE_NAME_CHARS)]] = Field(
        max_length=MAX_PLACES, description="normalised names of the places it is about, its own first")
    named: bool = Field(description="the sentence names the place itself (not 'X airport', not only an "
                                    "earlier sentence)")
    words: list[Word] = Field(max_length=MAX_SENTENCE_WORDS,
                              description="the sentence's distinct words of three letters or more, sorted")
    other_incident: bool = Field(description="the sentence sets its event apart ('an earlier strike')")
    correction: bool = Field(description="the sentence corrects an earlier report ('later said')")

    @classmethod
    def capped(cls, **fields: Any) -> ClaimFacts:
        """Facts whose strings and lists are cut to their caps: what the extractor builds (a
        name or a sentence no reporter writes keeps its first words)."""
        for name, value in fields.items():
            if isinstance(value, str):
                cap = text_cap(cls, name)
                fields[name] = value[:cap] if cap is not None else value
            elif isinstance(value, list | tuple):
                n, item = _list_caps(cls, name)
                fields[name] = [v[:item] if item is not None and isinstance(v, str) else v for v in value[:n]]
        return cls(**fields)


class Claim(_Model):
    """One claim: a (sentence, event) with its evidence (topic ``claims``)."""

    claim_id: Id
    story_id: Id
    story_url: str = Field(max_length=MAX_URL_CHARS)
    source: Id = Field(description="the outlet")
    feed_id: Id
    published: UTCDateTime
    fetched_at: UTCDateTime | None = Field(None, description="when the poller fetched the story")
    cluster_id: Id | None = None
    sentence: str = Field(min_length=1, max_length=MAX_SENTENCE_CHARS, description="verbatim evidence sentence")
    sentence_start: int = Field(ge=0, description="character offset of the sentence in the body")
    sentence_end: int = Field(ge=0)
    category: Category
    event_type: Label | None = None
    cameo: Label | None = Field(None, description="CAMEO event code (as GDELT/PETRARCH use them)")
    acled: Label | None = Field(None, description="ACLED event type / sub-event type")
    trigger: Label | None = None
    actor: Phrase | None = None
    target: Phrase | None = None
    location: Phrase | None = None
    location_key: Phrase | None = Field(None, description="normalised place key")
    time: Label | None = Field(None, description="ISO date the event refers to, resolved")
    time_text: Phrase | None = None
    quantity: Quantity | None = None
    polarity: Polarity = "asserted"
    modality: Modality = "certain"
    attributed_to: Phrase | None = Field(None, description="speaker; null = the outlet's own voice")
    extracted_at: UTCDateTime
    facts: ClaimFacts | None = Field(None, description="what the ledger compares, read by the extractor; "
                                                       "null from a producer that does not read them")

    @staticmethod
    def make_id(story_id: str, start: int, end: int, category: str, trigger: str | None) -> str:
        return stable_id("claim", story_id, start, end, category, trigger)

    @classmethod
    def capped(cls, *, quantity: Quantity | None = None, **fields: Any) -> Claim:
        """A claim whose text fields are cut to their caps: what the extractor builds.

        A phrase is a span of the story's text, and a name that the story's own text
        defines ('the <50,000 letters> district') can be longer than any real one; the claim
        keeps its first MAX_PHRASE_CHARS characters rather than the story failing.
        """
        for name, value in fields.items():
            cap = text_cap(cls, name)
            if cap is not None and isinstance(value, str) and len(value) > cap:
                fields[name] = value[:cap]
        if quantity is not None:
            quantity = quantity.model_copy(update={
                "text": quantity.text[:MAX_PHRASE_CHARS],
                "unit": quantity.unit[:MAX_PHRASE_CHARS] if quantity.unit else quantity.unit})
        return cls(quantity=quantity, **fields)


class ClaimUpdate(_Model):
    """Corroboration of a claim already in the ledger (topic ``claims.updates``)."""

    claim_id: Id = Field(description="the first claim of this fact")
    ledger_key: str = Field(max_length=MAX_LEDGER_KEY_CHARS)
    claim: Claim = Field(description="the new report")
    sources: list[Phrase] = Field(max_length=MAX_SOURCES_LISTED,
                                  description=f"distinct independent sources so far (the first {MAX_SOURCES_LISTED})")
    num_sources: int = Field(ge=1, description=f"distinct independent sources, counted up to {MAX_SOURCES_LISTED}")
    num_articles: int = Field(ge=1, description="distinct articles (story clusters), counted up to "
                                                "the ledger's cap (ledger.MAX_ARTICLES_COUNTED)")
    updated_at: UTCDateTime


# --------------------------------------------------------------------- alerts
class NewClaimAlert(_Model):
    """A claim nobody had made before (topic ``alerts.new_claim``)."""

    alert_id: Id
    type: Literal["new_claim"] = "new_claim"
    ledger_key: str = Field(max_length=MAX_LEDGER_KEY_CHARS)
    claim: Claim
    raised_at: UTCDateTime

    @staticmethod
    def make_id(claim_id: str) -> str:
        return stable_id("new_claim", claim_id)


class DisputeSide(_Model):
    """One position in a dispute, as counted when the alert was raised."""

    sources: list[Phrase] = Field(
        max_length=MAX_SOURCES_LISTED,
        description=f"distinct independent sources that take this side (the first {MAX_SOURCES_LISTED})")
    num_claims: int = Field(ge=1, description="claims (evidence sentences) on this side, counted up to the "
                                              "ledger's cap (ledger.MAX_SIDE_CLAIMS)")
    num_articles: int = Field(ge=1, description="distinct articles, counted up to the ledger's cap")


class ContradictionAlert(_Model):
    """Two claims that cannot both be true (topic ``alerts.contradiction``).

    A dispute is two positions on one event.  Its first pair of claims opens it
    (``update: false``); each later claim that takes either side joins it as an update
    (``update: true``) with the same ``dispute_id``, paired with the claim of the other
    side it contradicts.  A subscriber that wants one message per dispute keeps the
    alerts with ``update: false``.
    """

    alert_id: Id
    type: Literal["contradiction"] = "contradiction"
    kind: ContradictionKind
    dispute_id: Id = Field(description="stable id of the dispute: the alert_id of the alert that opened it")
    update: bool = Field(False, description="false: this alert opens a dispute; true: a later claim joins it")
    ledger_key: str = Field(max_length=MAX_LEDGER_KEY_CHARS)
    claim: Claim = Field(description="the newer claim")
    contradicts: Claim = Field(description="the earlier claim it conflicts with")
    claim_side: DisputeSide = Field(description="the side of `claim`, counted so far")
    contradicts_side: DisputeSide = Field(description="the side of `contradicts`, counted so far")
    explanation: str = Field(min_length=1, max_length=MAX_EXPLANATION_CHARS, description="one line a person can read")
    raised_at: UTCDateTime

    @staticmethod
    def make_id(claim_a: str, claim_b: str, kind: str) -> str:
        lo, hi = sorted((claim_a, claim_b))
        return stable_id("contradiction", lo, hi, kind)


Alert = NewClaimAlert | ContradictionAlert


# --------------------------------------------------------------------- dead letters
class DeadLetter(_Model):
    """A message the processor could not handle (topic ``deadletter``)."""

    origin_topic: str = Field(max_length=249)  # Kafka's longest topic name
    origin_partition: int | None = None
    origin_offset: int | None = None
    origin_key: str | None = Field(
        None, max_length=MAX_DEADLETTER_KEY_CHARS,
        description=f"the original key as text (invalid UTF-8 replaced): its first {MAX_DEADLETTER_KEY_CHARS} bytes")
    origin_key_truncated: bool = Field(False, description="the key was longer than what origin_key holds")
    stage: Label
    error_class: Label
    error: str = Field(max_length=MAX_ERROR_CHARS)
    payload: str = Field(
        max_length=MAX_DEADLETTER_PAYLOAD_CHARS,
        description=f"the original value as text (invalid UTF-8 replaced): its first "
                    f"{MAX_DEADLETTER_PAYLOAD_CHARS} bytes")
    payload_truncated: bool = Field(False, description="the value was longer than what payload holds")
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


# --------------------------------------------------------------------- size by construction
class UnboundedField(TypeError):
    """A model field whose serialised size has no bound (a string or a list without a cap)."""


def _max_len(metadata: Iterable[Any]) -> int | None:
    for m in metadata:
        if isinstance(m, MaxLen):
            return int(m.max_length)
        if isinstance(m, FieldInfo):
            found = _max_len(m.metadata)
            if found is not None:
                return found
    return None


def text_cap(model: type[BaseModel], name: str) -> int | None:
    """The cap on a text field of ``model`` (None: not a capped text field)."""
    field = model.model_fields.get(name)
    if field is None:
        return None
    cap = _max_len(field.metadata)
    if cap is None:
        for arg in get_args(field.annotation):  # `Phrase | None`: the cap is on the str inside
            if get_origin(arg) is Annotated:
                cap = _max_len(get_args(arg)[1:])
    return cap


def _list_caps(model: type[BaseModel], name: str) -> tuple[int | None, int | None]:
    """The caps on a list field of ``model``: on its length, and on the text of each item."""
    field = model.model_fields[name]
    item_cap = None
    for arg in get_args(field.annotation):
        if get_origin(arg) is Annotated:
            item_cap = _max_len(get_args(arg)[1:])
    return _max_len(field.metadata), item_cap


# The longest JSON text of a value without a length: an int of 20 digits, a float's
# shortest round-trip form, an RFC 3339 datetime with microseconds and an offset.
_SCALAR_JSON_BYTES: dict[type, int] = {bool: 5, int: 20, float: 24, datetime: 34, date: 12, type(None): 4}


def max_json_bytes(tp: Any, metadata: Sequence[Any] = (), where: str = "") -> int:
    """The longest JSON text a value of type ``tp`` (a model, a field's type) serialises to,
    from the caps on its strings and lists; UnboundedField names the first field without one."""
    where = where or getattr(tp, "__name__", str(tp))
    origin = get_origin(tp)
    if origin is Annotated:
        inner, *meta = get_args(tp)
        return max_json_bytes(inner, [*metadata, *meta], where)
    if origin in (Union, UnionType):
        return max(max_json_bytes(arg, metadata, where) for arg in get_args(tp))
    if origin is Literal:
        return max(len(json.dumps(v)) for v in get_args(tp))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        total = 2
        for name, field in tp.model_fields.items():
            total += len(name) + 4 + max_json_bytes(field.annotation, field.metadata, f"{where}.{name}")
        return total
    if tp is str:
        cap = _max_len(metadata)
        if cap is None:
            raise UnboundedField(f"{where}: a string without a cap")
        return 2 + cap * JSON_BYTES_PER_CHAR
    if origin is list:
        cap = _max_len(metadata)
        if cap is None:
            raise UnboundedField(f"{where}: a list without a cap")
        (item,) = get_args(tp)
        return 2 + cap * (1 + max_json_bytes(item, (), f"{where}[]"))
    if origin is tuple:
        return 2 + sum(1 + max_json_bytes(item, (), f"{where}[]") for item in get_args(tp))
    if tp in _SCALAR_JSON_BYTES:
        return _SCALAR_JSON_BYTES[tp]
    raise UnboundedField(f"{where}: no known bound for {tp!r}")


def json_schema(name: str) -> dict[str, Any]:
    model = MODELS[name]
    schema = model.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://wirewatch.invalid/schemas/{name}.schema.json"
    return schema

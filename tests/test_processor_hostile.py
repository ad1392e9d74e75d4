"""Issue 18, the processor side: no story, claim or record can bring the processor down,
flood its subscribers or hold it for a minute.

Each test names its defect (the issue's numbering) and checks the property, not the
example: (1) every message is bounded where it is built -- every field and list capped, so
the longest message of each model fits by construction, and a message over the cap all the
same is refused before the send; (2) a dead letter is bounded whatever the record, and one
that cannot be sent is counted and logged once while the stage goes on; (3) a story has
budgets of sentences parsed, claims sent and alerts raised, and what is past them is
counted and said.  The inputs are in tests/fixtures/processor/hostile.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.fixtures.processor.hostile import (
    KafkaLikeBroker,
    attack_sentences,
    corroborations,
    dispute,
    endless_feed,
    endless_story,
    one_story_many_facts,
    poison,
)
from wirewatch import metrics as m
from wirewatch.errors import NotJSON
from wirewatch.limits import MAX_MESSAGE_BYTES, MAX_SENTENCE_CHARS, RECORD_OVERHEAD_BYTES
from wirewatch.models import (
    MAX_CAMP_CHARS,
    MAX_LABEL_CHARS,
    MAX_NAME_WORDS,
    MAX_PHRASE_CHARS,
    MAX_PLACE_NAME_CHARS,
    MAX_PLACES,
    MAX_SENTENCE_WORDS,
    MAX_SOURCES_LISTED,
    MAX_WORD_CHARS,
    MODELS,
    Claim,
    ClaimFacts,
    ClaimUpdate,
    ContradictionAlert,
    DeadLetter,
    Quantity,
    RawStory,
    UnboundedField,
    UniqueStory,
    _Model,
    max_json_bytes,
    text_cap,
)
from wirewatch.processor.ledger.disputes import MAX_ARTICLES_COUNTED
from wirewatch.processor.pipeline import ExtractBatch, Pipeline, extract_batch
from wirewatch.processor.stream.runner import StageRunner
from wirewatch.processor.stream.staged import StagedStore
from wirewatch.processor.stream.stages import DeadLetterTopic, DedupStage, ExtractStage, LedgerStage
from wirewatch.processor.stream.types import Record
from wirewatch.replay import replay
from wirewatch.settings import Settings

# What a message's key and headers can add to its value: a ledger key of 256 characters of
# four-byte UTF-8, or a dead letter's five headers (its error cut to 500 characters).
KEY_AND_HEADERS_BYTES = 4 * 1024


def counted(metric: Any, **labels: str) -> float:
    value: float = metric.labels(**labels)._value.get()
    return value


class DeadLetterLog:
    """A dead-letter sink that keeps each failed input's offset and error class."""

    def __init__(self) -> None:
        self.codes: list[tuple[int | None, str]] = []

    async def dead_letter(self, stage: str, record: Record, exc: BaseException) -> None:
        from wirewatch.errors import error_code

        self.codes.append((record.offset, error_code(exc)))


def _ledger(broker: KafkaLikeBroker, settings: Settings | None = None,
            table: dict[str, Any] | None = None) -> tuple[StageRunner, Pipeline, DeadLetterLog, dict[str, Any]]:
    table = {} if table is None else table
    store = StagedStore(table)
    pipeline = Pipeline(settings or Settings(), ledger_store=store, load_extractor=False)
    dead = DeadLetterLog()
    runner = StageRunner(LedgerStage(pipeline), store=store, publisher=broker, dead_letters=dead,
                         on_commit=pipeline.overflow.on_commit)
    return runner, pipeline, dead, table


def _file(runner: StageRunner, claims: Sequence[Claim]) -> None:
    records = [Record(c.to_json_bytes(), "wirewatch.claims", 0, i) for i, c in enumerate(claims)]

    async def run() -> None:
        for i in range(0, len(records), 64):
            await runner.run(records[i:i + 64])

    asyncio.run(run())


# -- 1: every message bounded where it is built ------------------------------------------------------
def test_1_every_field_of_every_processor_message_is_capped_and_the_longest_message_fits() -> None:
    # A raw story is bounded in bytes where the poller builds it (900,000), and its unique copy
    # is measured before the send (below); every other message by its fields' caps alone.
    for name, model in MODELS.items():
        if model in (RawStory, UniqueStory):
            continue
        assert max_json_bytes(model) + KEY_AND_HEADERS_BYTES + RECORD_OVERHEAD_BYTES <= MAX_MESSAGE_BYTES, name

    class Loose(_Model):
        note: str
        tags: list[Claim]

    with pytest.raises(UnboundedField, match=r"Loose\.note"):
        max_json_bytes(Loose)


def _facts_past_every_cap() -> ClaimFacts:
    """A claim's facts with every string and list past its cap (as the extractor would read from
    a story no reporter writes), of the character that costs the most bytes in JSON."""
    word, camp, phrase = "\x07" * (MAX_WORD_CHARS + 9), "\x07" * (MAX_CAMP_CHARS + 9), "\x07" * (MAX_PHRASE_CHARS + 9)
    name = [word] * (MAX_NAME_WORDS + 9)
    return ClaimFacts.capped(
        speaker=name, speaker_name=phrase, speaker_side=camp, actor=name, actor_side=camp,
        first_day="2025-01-01", last_day="2025-01-02", explicit_day=False, hedged=False, holder=camp,
        capture=False, loss=False, state=False, retake=False, continuing=False, taken_from=name,
        holder_name=name, qty_lo=-1.2345678901234567e-300, qty_hi=-1.2345678901234567e-300, qty_text=phrase,
        measure="wounded", unit_group="\x07" * (MAX_LABEL_CHARS + 9), part=False, means=["artillery"] * 9,
        rise=False, cumulative=False, victims="combatants", presupposed=False,
        places=["\x07" * (MAX_PLACE_NAME_CHARS + 9)] * (MAX_PLACES + 9), named=False,
        words=[word] * (MAX_SENTENCE_WORDS + 9), other_incident=False, correction=False)


def test_1_the_bound_is_what_a_claim_at_every_cap_really_serialises_to() -> None:
    # the facts a claim carries are cut to their caps where they are built, and the bound is tight
    facts = _facts_past_every_cap()
    assert (len(facts.words), len(facts.places), len(facts.speaker), len(facts.means)) == (
        MAX_SENTENCE_WORDS, MAX_PLACES, MAX_NAME_WORDS, 4)
    assert {len(w) for w in facts.words} == {MAX_WORD_CHARS} and len(facts.speaker_name) == MAX_PHRASE_CHARS
    assert len(facts.to_json_bytes()) <= max_json_bytes(ClaimFacts)
    assert len(facts.to_json_bytes()) > 0.9 * max_json_bytes(ClaimFacts)
    with pytest.raises(ValueError):  # one word more is refused, whoever builds the facts
        ClaimFacts.model_validate({**facts.model_dump(), "words": ["w"] * (MAX_SENTENCE_WORDS + 1)})
    # every text field at its cap, of the character that costs the most bytes in JSON
    caps = {name: text_cap(Claim, name) for name in Claim.model_fields}
    fields: dict[str, Any] = {name: "\x07" * cap for name, cap in caps.items() if cap}
    assert {"sentence", "story_url", "location", "attributed_to", "trigger"} <= set(fields)
    full = Claim.capped(**{**fields, "sentence_start": 0, "sentence_end": 1, "category": "territory_control",
                           "published": "2025-01-01T00:00:00Z", "extracted_at": "2025-01-01T00:00:00Z",
                           "facts": facts},
                        quantity=Quantity(text="\x07" * MAX_PHRASE_CHARS, unit="\x07" * MAX_PHRASE_CHARS))
    assert len(full.to_json_bytes()) <= max_json_bytes(Claim)
    assert len(full.to_json_bytes()) > 0.9 * max_json_bytes(Claim)  # and it is not a loose bound
    with pytest.raises(ValueError):  # one character more is refused, whoever builds it
        Claim.model_validate({**full.model_dump(), "location": "x" * (MAX_PHRASE_CHARS + 1)})


@pytest.mark.model
def test_1_a_name_the_story_defines_is_cut_in_its_claims_and_they_are_sent() -> None:
    # 'the Q<300,000 letters> district': the story's own text makes it a place, and every
    # claim about 'the district' carried it (a claim of 600 KB: refused at the producer)
    name = "Q" + "a" * 300_000
    story = endless_story(1).model_copy(update={"body": (
        f"Residents of the {name} district fled on Monday.\n\n"
        f"Gunmen attacked the {name} district on Tuesday, killing four people, residents said. "
        "Gunmen attacked it again on Wednesday, killing two, the army said.")})
    pipeline = Pipeline(Settings(), load_extractor=True)
    broker, dead = KafkaLikeBroker(), DeadLetterLog()

    async def extract(stories: Sequence[UniqueStory]) -> ExtractBatch:
        return extract_batch(pipeline.extractor, stories)

    runner = StageRunner(ExtractStage(pipeline, extract, 16), publisher=broker, dead_letters=dead)
    unique = UniqueStory(story=story, cluster_id="c", status="unique")
    asyncio.run(runner.run([Record(unique.to_json_bytes(), "wirewatch.stories.unique", 0, 0)]))
    assert dead.codes == []
    claims = [msg.value for msg in broker.to("claims")]
    assert claims and all(isinstance(c, Claim) for c in claims)
    assert all(len(c.location or "") <= MAX_PHRASE_CHARS for c in claims)  # type: ignore[union-attr]
    assert any((c.location or "").startswith("Qaaa") for c in claims)  # type: ignore[union-attr]


def test_1_a_fact_corroborated_by_hundreds_of_long_named_sources_stays_small() -> None:
    # every update named every source so far: past ~360 sources of this kind an update was
    # over the cap, refused at the producer, and the report that made it dead-lettered
    broker = KafkaLikeBroker()
    runner, _pipeline, dead, table = _ledger(broker)
    reports = corroborations(400)
    _file(runner, reports[:150])
    fact_key = next(k for k in table if "/f/" in k)
    at_the_caps = len(orjson.dumps(table[fact_key]))
    _file(runner, reports[150:])
    assert dead.codes == []
    updates: list[ClaimUpdate] = [msg.value for msg in broker.to("claim_updates")]  # type: ignore[misc]
    assert len(updates) == 399
    last = updates[-1]
    assert len(last.sources) == last.num_sources == MAX_SOURCES_LISTED  # the first 50, counted up to 50
    assert last.num_articles == MAX_ARTICLES_COUNTED
    assert broker.largest < 200_000
    # the fact's store value (a changelog message on every corroboration) stopped growing at the caps
    assert len(orjson.dumps(table[fact_key])) == at_the_caps < 200_000


def test_1_a_dispute_joined_by_many_sources_lists_the_first_of_each_side() -> None:
    broker = KafkaLikeBroker()
    runner, _pipeline, dead, table = _ledger(broker)
    _file(runner, dispute(60))
    assert dead.codes == []
    alerts: list[ContradictionAlert] = [msg.value for msg in broker.to("contradiction")]  # type: ignore[misc]
    assert alerts
    last = alerts[-1]
    for side in (last.claim_side, last.contradicts_side):
        assert len(side.sources) <= MAX_SOURCES_LISTED
    assert max(len(a.claim_side.sources) for a in alerts) == MAX_SOURCES_LISTED
    assert max(a.claim_side.num_claims for a in alerts) == 60  # claims are still counted past the listed sources
    (stored,) = [v for k, v in table.items() if "/d/" in k]  # a changelog message on every join
    assert all(len(side["sources"]) <= MAX_SOURCES_LISTED for side in stored["sides"])
    assert len(orjson.dumps(stored)) < MAX_MESSAGE_BYTES // 2


def test_1_a_unique_copy_over_the_cap_is_refused_before_the_send() -> None:
    # a raw story from another producer just under the decode cap: dedup's copy adds its
    # fields and is over what a producer sends
    base = endless_story(1, story_id="near-cap")
    room = MAX_MESSAGE_BYTES - len(base.to_json_bytes()) - 40
    raw = base.model_copy(update={"body": base.body + " " + "word " * (room // 5)}).to_json_bytes()
    assert MAX_MESSAGE_BYTES - 200 < len(raw) <= MAX_MESSAGE_BYTES
    broker, dead = KafkaLikeBroker(), DeadLetterLog()
    table: dict[str, Any] = {}
    store = StagedStore(table)
    pipeline = Pipeline(Settings(), dedup_store=store, load_extractor=False)
    runner = StageRunner(DedupStage(pipeline), store=store, publisher=broker, dead_letters=dead)
    fine = endless_story(1, story_id="fine").model_copy(update={
        "body": "The council agreed on Monday to pay for a new bridge over the river."})
    asyncio.run(runner.run([Record(raw, "wirewatch.stories.raw", 0, 0), Record(fine.to_json_bytes(),
                                                                              "wirewatch.stories.raw", 0, 1)]))
    assert dead.codes == [(0, "message_too_large")]  # refused here, by its size, not by a producer
    assert broker.largest <= MAX_MESSAGE_BYTES  # no producer was ever handed it
    assert [msg.key for msg in broker.to("unique")] == ["fine"]
    assert pipeline.dedup.check(RawStory.model_validate_json(raw)).status == "unique"  # nor remembered


# -- 2: a dead letter bounded, and one that cannot be sent neither stops a stage nor goes unsaid ------
def test_2_a_dead_letter_of_a_huge_invalid_key_and_value_is_bounded_and_says_what_it_cut() -> None:
    # 400 KB of 0xFF bytes decode to 1.2 MB of U+FFFD: the dead letter was over the cap
    broker = KafkaLikeBroker()
    before = counted(m.DEAD_LETTERS, stage="dedup", error_class="not_json")
    asyncio.run(DeadLetterTopic(broker).dead_letter(
        "dedup", poison(b"\xff" * 400_000, b"\xfe" * 2_000_000), NotJSON("not JSON: unexpected byte")))
    (sent,) = broker.to("deadletter")
    letter = sent.value
    assert isinstance(letter, DeadLetter)
    assert letter.origin_key_truncated and letter.payload_truncated
    assert letter.origin_key is not None and 0 < len(letter.origin_key) <= 1024
    assert 0 < len(letter.payload) <= 64 * 1024
    assert (letter.origin_topic, letter.origin_partition, letter.origin_offset) == ("wirewatch.stories.raw", 0, 7)
    assert broker.largest < 500_000
    assert counted(m.DEAD_LETTERS, stage="dedup", error_class="not_json") == before + 1
    short = DeadLetter.model_validate_json(sent.value.to_json_bytes())
    assert short == letter


@pytest.mark.parametrize("how", ["unacknowledged", "raises"])
def test_2_a_dead_letter_that_cannot_be_sent_is_counted_and_logged_once_and_the_stage_goes_on(
        how: str, caplog: pytest.LogCaptureFixture) -> None:
    broker = (KafkaLikeBroker(unreachable=frozenset({"deadletter"})) if how == "unacknowledged"
              else KafkaLikeBroker(raises=lambda msg: msg.dest == "deadletter"))
    store = StagedStore({})
    pipeline = Pipeline(Settings(), dedup_store=store, load_extractor=False)
    runner = StageRunner(DedupStage(pipeline), store=store, publisher=broker, dead_letters=DeadLetterTopic(broker))
    first, second = endless_story(2, story_id="first"), endless_story(4, story_id="second")
    records = [Record(first.to_json_bytes(), "wirewatch.stories.raw", 0, 40),
               Record(b"\xff" * 1000, "wirewatch.stories.raw", 0, 41, b"\xff" * 1000),
               Record(second.to_json_bytes(), "wirewatch.stories.raw", 0, 42)]
    failed = counted(m.DEAD_LETTER_FAILURES, stage="dedup")
    sent = counted(m.DEAD_LETTERS, stage="dedup", error_class="not_json")
    with caplog.at_level(logging.WARNING):
        asyncio.run(runner.run(records))  # returns: the stage is not stopped
    assert [msg.key for msg in broker.to("unique")] == ["first", "second"]
    assert counted(m.DEAD_LETTER_FAILURES, stage="dedup") == failed + 1
    assert counted(m.DEAD_LETTERS, stage="dedup", error_class="not_json") == sent  # nothing was sent
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "wirewatch.stories.raw[0]@41" in errors[0].getMessage()
    assert "not sent" in errors[0].getMessage()


# -- 3: a story's budgets: sentences parsed, claims sent, alerts raised ----------------------------------
def test_3_a_story_filing_hundreds_of_facts_about_one_town_raises_its_budget_of_alerts(
        caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings()
    flood = one_story_many_facts(120)
    broker = KafkaLikeBroker()
    runner, _pipeline, dead, table = _ledger(broker, settings)
    over = counted(m.STORY_BUDGET_OVERFLOW, item="alerts")
    with caplog.at_level(logging.WARNING):
        _file(runner, flood[:100])
    assert dead.codes == []
    alerts = broker.to("new_claim")
    assert len(alerts) == settings.story_max_alerts == 50  # the story's first fifty facts
    assert counted(m.STORY_BUDGET_OVERFLOW, item="alerts") == over + 50
    said = [r.getMessage() for r in caplog.records if "alert budget" in r.getMessage()]
    assert len(said) == 1 and "story flood (https://wire.example/flood)" in said[0] and "place:tarvik" in said[0]
    # every claim is still filed: a later report of one of them corroborates it
    assert len([k for k in table if "/c/" in k]) == 100
    # the budget is kept in the store: a restarted worker spends it as this one did
    broker2 = KafkaLikeBroker()
    runner2, _p2, _d2, _t2 = _ledger(broker2, settings, table)
    other = one_story_many_facts(3, story="other", first=200)
    _file(runner2, [*flood[100:], *other])
    assert broker2.to("new_claim") and {m_.value.claim.story_id for m_ in broker2.to("new_claim")} == {"other"}
    # a clean run of the same claims raises the same alerts
    broker3 = KafkaLikeBroker()
    runner3, _p3, _d3, _t3 = _ledger(broker3, settings)
    _file(runner3, [*flood, *other])
    ids = [a.value.alert_id for a in broker3.to("new_claim")]  # type: ignore[attr-defined]
    assert ids == [a.value.alert_id for a in [*alerts, *broker2.to("new_claim")]]  # type: ignore[attr-defined]


def test_3_a_story_sends_its_budget_of_claims_in_body_order() -> None:
    settings = Settings()
    many = one_story_many_facts(250)
    pipeline = Pipeline(settings, load_extractor=False)

    async def extract(stories: Sequence[UniqueStory]) -> ExtractBatch:
        return ExtractBatch([list(many) for _ in stories])

    broker, dead = KafkaLikeBroker(), DeadLetterLog()
    runner = StageRunner(ExtractStage(pipeline, extract, 16), publisher=broker, dead_letters=dead,
                         on_commit=pipeline.overflow.on_commit)
    over = counted(m.STORY_BUDGET_OVERFLOW, item="claims")
    unique = UniqueStory(story=endless_story(1, story_id="flood"), cluster_id="c", status="unique")
    asyncio.run(runner.run([Record(unique.to_json_bytes(), "wirewatch.stories.unique", 0, 0)]))
    sent = [msg.value.claim_id for msg in broker.to("claims")]  # type: ignore[attr-defined]
    assert sent == [c.claim_id for c in many[:settings.story_max_claims]]
    assert counted(m.STORY_BUDGET_OVERFLOW, item="claims") == over + 150
    assert pipeline.overflow.describe() == "past story budgets: 150 claims not sent in 1 story"


@pytest.mark.model
def test_3_a_story_of_endless_attack_sentences_parses_its_budget_and_replay_says_so(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # one item of 400 sentences, each an attack: every one was parsed (a minute of NLP for
    # 8,800), every claim sent and every new fact alerted
    feed = tmp_path / "endless.xml"
    feed.write_bytes(endless_feed(400))
    settings = Settings(story_max_sentences=30, story_max_claims=20, story_max_alerts=8)
    before = {item: counted(m.STORY_BUDGET_OVERFLOW, item=item) for item in m.STORY_BUDGETS}
    with caplog.at_level(logging.WARNING):
        summary = replay([feed], tmp_path / "out", settings)
    assert summary.stories == 1
    past = {item: counted(m.STORY_BUDGET_OVERFLOW, item=item) - before[item] for item in m.STORY_BUDGETS}
    assert past["sentences"] == 370
    assert summary.claims == 20 and past["claims"] > 0  # the first thirty sentences gave more
    claims = [orjson.loads(line) for line in (tmp_path / "out" / "claims.jsonl").read_bytes().splitlines()]
    assert {c["sentence"] for c in claims} <= set(attack_sentences(30))  # in body order
    alerts = [orjson.loads(line) for line in (tmp_path / "out" / "alerts.jsonl").read_bytes().splitlines()]
    assert max(Counter(a["ledger_key"] for a in alerts).values()) <= 8
    assert summary.over_budget.startswith("past story budgets: 370 event sentences not parsed in 1 story")
    assert [r.getMessage() for r in caplog.records if "sentence budget" in r.getMessage()] == [
        f"story {claims[0]['story_id']} (https://endless.example/endless) over its sentence budget: "
        "370 of 400 event sentences not parsed (WIREWATCH_STORY_MAX_SENTENCES=30)"]


def test_3_the_budgets_leave_room_for_the_longest_news_in_the_evaluation_sets() -> None:
    # the sets' largest story: 45 event sentences, 25 claims, 24 alerts (10 about one place);
    # the defaults leave several times that, and a sentence is bounded on its own
    s = Settings()
    assert (s.story_max_sentences, s.story_max_claims, s.story_max_alerts) == (300, 100, 50)
    assert s.story_max_sentences * MAX_SENTENCE_CHARS <= 1_000_000  # what spaCy takes of one story at most

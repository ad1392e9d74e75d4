"""schemas/ is generated from the models, and the schemas reject what they should."""

from __future__ import annotations

from datetime import UTC, datetime

from wirewatch.models import MODELS, Claim, ContradictionAlert, DisputeSide, NewClaimAlert
from wirewatch.schemas import REPO_SCHEMAS, check_schemas, validate
from wirewatch.topics import Topics

T0 = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def _claim(**kw: object) -> Claim:
    base: dict[str, object] = dict(
        claim_id="c1", story_id="s1", story_url="https://x.example/a", source="X", feed_id="x",
        published=T0, sentence="The army took the town.", sentence_start=0, sentence_end=23,
        category="territory_control", location="the town", polarity="asserted", attributed_to=None,
        extracted_at=T0,
    )
    base.update(kw)
    return Claim.model_validate(base)


def test_committed_schemas_are_what_the_models_generate() -> None:
    assert check_schemas(REPO_SCHEMAS) == [], "run `wirewatch schemas` and commit schemas/"


def test_every_topic_has_a_schema_file_and_a_model() -> None:
    for spec in Topics():
        assert (REPO_SCHEMAS / f"{spec.schema}.schema.json").is_file(), spec.name
        assert MODELS[spec.schema] is spec.model


def test_valid_alerts_pass_and_broken_ones_fail() -> None:
    a = NewClaimAlert(alert_id="a", ledger_key="k", claim=_claim(), raised_at=T0).model_dump(mode="json")
    assert validate("new_claim_alert", a) == []
    side = DisputeSide(sources=["Y"], num_claims=1, num_articles=1)
    c = ContradictionAlert(alert_id="b", kind="denial", dispute_id="b", ledger_key="k",
                           claim=_claim(polarity="denied"), contradicts=_claim(claim_id="c2"), claim_side=side,
                           contradicts_side=side, explanation="X denies Y", raised_at=T0)
    assert validate("contradiction_alert", c.model_dump(mode="json")) == []
    # the evidence fields FORMAT.md requires are enforced by the schema
    broken = dict(a)
    broken["claim"] = {k: v for k, v in a["claim"].items() if k != "sentence"}
    assert any("sentence" in e for e in validate("new_claim_alert", broken))
    wrong = dict(a, claim=dict(a["claim"], category="weather"))
    assert validate("new_claim_alert", wrong)
    extra = dict(a, surprise=1)
    assert validate("new_claim_alert", extra), "unknown fields must be rejected"
    bad_time = dict(a, raised_at="yesterday")
    assert validate("new_claim_alert", bad_time), "timestamps are RFC 3339"

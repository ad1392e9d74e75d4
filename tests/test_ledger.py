"""The claim ledger: new claims, corroboration, contradictions (once per pair), eviction.

Claims are built by hand in the shapes the extractor emits, using the *kinds* of wire
language the ledger must handle; places and speakers are invented so that nothing
here is keyed to the dev set.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from wirewatch.errors import LedgerStateError
from wirewatch.models import Claim, ContradictionAlert, NewClaimAlert, Quantity
from wirewatch.processor.ledger import ClaimLedger, LedgerResult, store_route
from wirewatch.processor.ledger.facts import read_facts, story_facts
from wirewatch.processor.ledger.keys import claim_places, ledger_key, normalise_place
from wirewatch.processor.render import format_alert

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday


def mk(
    sentence: str,
    category: str,
    location: str | None,
    *,
    story: str = "s1",
    outlet: str = "Wire One",
    start: int = 0,
    at: datetime = T0,
    polarity: str = "asserted",
    said_by: str | None = None,
    actor: str | None = None,
    trigger: str | None = None,
    time: str | None = None,
    qty: Quantity | None = None,
    modality: str = "certain",
    cluster: str | None = None,
) -> Claim:
    end = start + len(sentence)
    return Claim(
        claim_id=Claim.make_id(story, start, end, category, trigger),
        story_id=story,
        story_url=f"https://news.example/{story}",
        source=outlet,
        feed_id=outlet.lower().replace(" ", ""),
        published=at,
        cluster_id=cluster,
        sentence=sentence,
        sentence_start=start,
        sentence_end=end,
        category=category,
        trigger=trigger,
        actor=actor,
        location=location,
        time=time,
        quantity=qty,
        polarity=polarity,
        modality=modality,
        attributed_to=said_by,
        extracted_at=at,
    )


def feed(ledger: ClaimLedger, claims: Iterable[Claim]) -> LedgerResult:
    out = LedgerResult()
    for c in claims:
        r = ledger.add(c)
        out.alerts.extend(r.alerts)
        out.updates.extend(r.updates)
    return out


def contradictions(r: LedgerResult) -> list[ContradictionAlert]:
    return [a for a in r.alerts if isinstance(a, ContradictionAlert)]


def new_claims(r: LedgerResult) -> list[NewClaimAlert]:
    return [a for a in r.alerts if isinstance(a, NewClaimAlert)]


def q(text: str, low: float | None = None, high: float | None = None, **kw: Any) -> Quantity:
    return Quantity(text=text, low=low, high=high, **kw)


# ------------------------------------------------------------------ the captured town
TV_TOOK = mk("State television said troops had seized the whole of Karsa and were clearing it of mines.",
             "territory_control", "Karsa", story="a1", said_by="state television", actor="troops",
             trigger="seized", at=T0)
MONITOR_TOOK = mk("The monitoring group said the government had taken Karsa.", "territory_control",
                  "the Karsa district", story="a1", start=200, said_by="the monitoring group",
                  actor="the government", trigger="taken", at=T0)
REBELS_DENY = mk("Rebels denied that the army had taken the Karsa area.", "territory_control", "Karsa",
                 story="a1", start=400, said_by="Rebels", actor="the army", trigger="taken",
                 polarity="denied", at=T0)
COMMANDER_NOT_FALLEN = mk('"Karsa has not fallen and the fighting goes on," said a rebel commander.',
                          "territory_control", "al-Karsa", story="b1", outlet="Frontline Post",
                          said_by="Omar Haddad, a commander of a rebel brigade", trigger="fallen",
                          polarity="denied", at=T0 + timedelta(hours=5))


def test_first_report_is_a_new_claim_and_others_corroborate() -> None:
    ledger = ClaimLedger()
    first = ledger.add(MONITOR_TOOK)
    assert [type(a) for a in first.alerts] == [NewClaimAlert]
    assert first.alerts[0].alert_id == NewClaimAlert.make_id(MONITOR_TOOK.claim_id)
    assert first.updates == []

    second = ledger.add(TV_TOOK)  # another speaker, same fact
    assert second.alerts == []
    (upd,) = second.updates
    assert upd.claim_id == MONITOR_TOOK.claim_id
    assert upd.num_sources == 2 and upd.num_articles == 1

    other_outlet = mk("Government forces captured Karsa on Monday, a monitor said.", "territory_control",
                      "Karsa", story="c1", outlet="Daily Two", actor="Government forces", trigger="captured",
                      said_by="a monitor group", at=T0 + timedelta(hours=3))
    third = ledger.add(other_outlet)
    assert third.alerts == []
    assert third.updates[0].num_sources == 3 and third.updates[0].num_articles == 2


def test_syndicated_copy_and_same_speaker_do_not_count_as_new_sources() -> None:
    ledger = ClaimLedger()
    ledger.add(MONITOR_TOOK)
    again = mk("The Syrian-based monitoring group said the government took Karsa.", "territory_control",
               "Karsa", story="a2", outlet="Reprint Daily", cluster=None, start=0,
               said_by="Monitoring Group", actor="government", trigger="took", at=T0 + timedelta(hours=1))
    r = ledger.add(again)
    assert r.alerts == [] and r.updates[0].num_sources == 1 and r.updates[0].num_articles == 2
    own1 = mk("The army took Tellor.", "territory_control", "Tellor", story="w1", outlet="Wire One",
              cluster="cl-9", actor="The army", trigger="took")
    own2 = mk("The army took Tellor.", "territory_control", "Tellor", story="w2", outlet="Wire One",
              cluster="cl-9", actor="The army", trigger="took", at=T0 + timedelta(minutes=30))
    ledger.add(own1)
    r2 = ledger.add(own2)
    assert r2.updates[0].num_sources == 1 and r2.updates[0].num_articles == 1


def test_denial_against_each_assertion_once() -> None:
    ledger = ClaimLedger()
    r = feed(ledger, [TV_TOOK, MONITOR_TOOK, REBELS_DENY, COMMANDER_NOT_FALLEN])
    pairs = {(a.claim.claim_id, a.contradicts.claim_id, a.kind) for a in contradictions(r)}
    assert pairs == {
        (REBELS_DENY.claim_id, TV_TOOK.claim_id, "denial"),
        (REBELS_DENY.claim_id, MONITOR_TOOK.claim_id, "denial"),
        (COMMANDER_NOT_FALLEN.claim_id, TV_TOOK.claim_id, "denial"),
        (COMMANDER_NOT_FALLEN.claim_id, MONITOR_TOOK.claim_id, "denial"),
    }
    # the two denials agree with each other; the denials are new claims of their own
    assert len(new_claims(r)) == 2
    alert = next(a for a in contradictions(r) if a.contradicts.claim_id == TV_TOOK.claim_id
                 and a.claim.claim_id == REBELS_DENY.claim_id)
    assert alert.alert_id == ContradictionAlert.make_id(REBELS_DENY.claim_id, TV_TOOK.claim_id, "denial")
    assert alert.explanation.startswith("Rebels deny what state television reports: troops took Karsa")
    assert "3 Mar" in alert.explanation


def test_denial_is_found_whichever_comes_first() -> None:
    r = feed(ClaimLedger(), [COMMANDER_NOT_FALLEN, TV_TOOK])
    (a,) = contradictions(r)
    assert a.kind == "denial" and a.claim.claim_id == TV_TOOK.claim_id


@pytest.mark.parametrize(("at", "time", "days"), [
    # a denial reaches 3 days back from publication, but not before 0001-01-01
    (datetime(1, 1, 2, 0, 30, tzinfo=UTC), None, ("0001-01-01", "0001-01-02", False)),
    # there is no month after December 9999 to count back from
    (datetime(9999, 12, 31, 23, 0, tzinfo=UTC), "9999-12", ("9999-12-01", "9999-12-31", True)),
])
def test_the_days_of_a_claim_stay_within_the_date_range(at: datetime, time: str | None,
                                                         days: tuple[str, str, bool]) -> None:
    # a feed may date its items 0001-01-01 or 9999-12-31; the poller keeps any date it can parse
    deny = REBELS_DENY.model_copy(update={"published": at, "extracted_at": at, "time": time})
    f = read_facts(deny)
    assert (f.first_day.isoformat(), f.last_day.isoformat(), f.explicit_day) == days


def test_denied_capture_agrees_with_a_report_that_the_defenders_still_hold() -> None:
    still = mk('"Karsa is still with the rebels," the spokesman said.', "territory_control", "Karsa",
               story="d1", outlet="Frontline Post", said_by="Rebel spokesman Ali Saad")
    assert contradictions(feed(ClaimLedger(), [REBELS_DENY, still])) == []


def test_denial_of_fighting_conflicts_with_an_advance_into_the_village_once_per_sentence() -> None:
    s = "The monitor said the army and its allies had captured around half of Belin after heavy air strikes."
    took = mk(s, "territory_control", "Belin", story="e1", said_by="The monitor",
              actor="the army and its allies", trigger="captured")
    strikes = mk(s, "attack", "Belin", story="e1", said_by="The monitor", actor="the army and its allies",
                 trigger="air strikes")
    deny = mk("But Karimi, of the Liberty rebel group, denied there had been any clashes inside the village.",
              "attack", "Belin", story="e1", start=300, said_by="Karimi, Liberty rebel group",
              trigger="clashes", polarity="denied")
    r = feed(ClaimLedger(), [took, strikes, deny])
    (a,) = contradictions(r)
    assert a.kind == "denial" and a.claim.claim_id == deny.claim_id


def test_control_two_holders_for_one_place() -> None:
    advanced = mk("State media said the army had advanced into Belin.", "territory_control", "Belin",
                  story="f1", said_by="State media", actor="the army", trigger="advanced")
    holds = mk("The regime is trying to take it, but it's still with the rebels.", "territory_control",
               "Belin", story="f1", start=500, said_by="Karimi, Liberty rebel group", actor="The regime",
               trigger="take")
    (a,) = contradictions(feed(ClaimLedger(), [advanced, holds]))
    assert a.kind == "control"
    assert "Belin" in a.explanation and "rebels" in a.explanation and "government forces" in a.explanation


def test_numeric_exact_tolls_for_one_shelling() -> None:
    high = mk("Regime artillery shelling killed 45 civilians in the Qara neighbourhood on Wednesday, "
              "rescuers said.", "casualties", "Qara", story="g1", outlet="North Dispatch",
              said_by="rescue workers", trigger="killed", time="2025-03-05", qty=q("45", 45, 45),
              at=T0 + timedelta(days=2, hours=3))
    low = mk("Shelling killed 21 people in the Qara district on Wednesday, the monitor said.", "casualties",
             "Qara district", story="g2", outlet="Levant Wire", said_by="the monitor", trigger="killed",
             time="2025-03-05", qty=q("21", 21, 21), at=T0 + timedelta(days=2, hours=6))
    (a,) = contradictions(feed(ClaimLedger(), [high, low]))
    assert a.kind == "numeric" and "21" in a.explanation and "45" in a.explanation


@pytest.mark.parametrize(
    ("first", "second", "conflict"),
    [
        (q("12", 12, 12), q("at least 40", 40, None, at_least=True), True),
        (q("dozens"), q("45", 45, 45), False),
        (q("hundreds"), q("45", 45, 45), True),
        (q("about 30", 30, 30, approximate=True), q("27", 27, 27), False),
        (q("between 10 and 15", 10, 15), q("at least 12", 12, None, at_least=True), False),
        (q("twenty-one"), q("21", 21, 21), False),
        (q("twenty-one"), q("9", 9, 9), True),
    ],
)
def test_numeric_ranges_and_vague_amounts(first: Quantity, second: Quantity, conflict: bool) -> None:
    a = mk(f"Air strikes killed {first.text} people in Mesra.", "casualties", "Mesra", story="h1",
           said_by="medics", trigger="killed", qty=first)
    b = mk(f"Air strikes killed {second.text} people in Mesra, officials said.", "casualties", "Mesra",
           story="h2", outlet="Other Wire", said_by="officials", trigger="killed", qty=second,
           at=T0 + timedelta(hours=1))
    assert bool(contradictions(feed(ClaimLedger(), [a, b]))) is conflict


# ------------------------------------------------------------------ no false alarms
def test_no_alarm_for_different_places() -> None:
    other_place = mk("The monitor said government forces had also taken the Dorra and Hilal districts.",
                     "territory_control", "Dorra and Hilal", story="i1", said_by="the monitor",
                     actor="government forces", trigger="taken")
    assert contradictions(feed(ClaimLedger(), [COMMANDER_NOT_FALLEN, other_place])) == []


def test_no_alarm_for_clearly_different_dates() -> None:
    taken = mk("The army took Ostra on Monday.", "territory_control", "Ostra", story="j1", actor="The army",
               trigger="took", time="2025-03-03")
    retaken_week_later = mk("Rebels recaptured Ostra on Monday, a commander said.", "territory_control",
                            "Ostra", story="j2", outlet="Frontline Post", said_by="a rebel commander",
                            actor="Rebels", trigger="recaptured", time="2025-03-10",
                            at=T0 + timedelta(days=7))
    held_week_later = mk("Ostra is still in rebel hands, residents said.", "territory_control", "Ostra",
                         story="j3", outlet="Frontline Post", said_by="residents", at=T0 + timedelta(days=8))
    r = feed(ClaimLedger(), [taken, retaken_week_later, held_week_later])
    assert contradictions(r) == []
    toll_mon = mk("Shelling killed 9 people in Ostra on Monday.", "casualties", "Ostra", story="j4",
                  trigger="killed", time="2025-03-03", qty=q("9", 9, 9))
    toll_tue = mk("Shelling killed 30 people in Ostra on Tuesday, medics said.", "casualties", "Ostra",
                  story="j5", outlet="Other Wire", said_by="medics", trigger="killed", time="2025-03-04",
                  qty=q("30", 30, 30), at=T0 + timedelta(days=1))
    assert contradictions(feed(ClaimLedger(), [toll_mon, toll_tue])) == []


def test_no_alarm_for_different_destinations_of_displaced_people() -> None:
    a = mk("Between 6,000 and 10,000 people had fled to Nahr, a party leader said.", "displacement", "Nahr",
           story="k1", said_by="party leader", trigger="fled", qty=q("between 6,000 and 10,000", 6000, 10000))
    b = mk("Just over 2,000 people have left the east for Zeitun, the Red Cross said.", "displacement",
           "Zeitun", story="k1", start=300, said_by="the Red Cross", trigger="left",
           qty=q("just over 2,000", 2000, None))
    # even if both were filed under the place they left, displacement counts are not compared
    c = mk("Just over 2,000 people have left the east for Zeitun, the Red Cross said.", "displacement",
           "Nahr", story="k2", outlet="Other Wire", said_by="the Red Cross", trigger="left",
           qty=q("just over 2,000", 2000, None))
    r = feed(ClaimLedger(), [a, b, c])
    assert contradictions(r) == []
    assert ledger_key(a) != ledger_key(b)


def test_no_alarm_for_hedged_report_against_certain_one() -> None:
    hedged = mk("Rebels may have pulled out of Karsa, a resident said.", "territory_control", "Karsa",
                story="l1", said_by="a resident", actor="Rebels", trigger="pulled out", modality="hedged")
    hedged_denial = mk("The army may not have taken Karsa, a diplomat said.", "territory_control", "Karsa",
                       story="l2", said_by="a diplomat", actor="the army", trigger="taken", polarity="denied",
                       modality="hedged")
    r = feed(ClaimLedger(), [REBELS_DENY, hedged, TV_TOOK, hedged_denial])
    pairs = {(a.claim.claim_id, a.contradicts.claim_id) for a in contradictions(r)}
    assert pairs == {(TV_TOOK.claim_id, REBELS_DENY.claim_id)}
    assert all(a.claim.modality != "hedged" for a in r.alerts)


def test_no_alarm_for_the_same_speaker_repeating_or_updating_itself() -> None:
    early = mk("The Red Crescent reports that just over 2,000 people have left for Zeitun.", "displacement",
               "Zeitun", story="m1", said_by="Red Crescent, via a UN spokesman", trigger="left",
               qty=q("just over 2,000", 2000, None))
    later = mk("Later, the Red Crescent said the number who reached Zeitun had risen to about 4,000.",
               "displacement", "Zeitun", story="m2", said_by="the Red Crescent", trigger="reached",
               qty=q("about 4,000", 4000, 4000, approximate=True), at=T0 + timedelta(hours=8))
    r = feed(ClaimLedger(), [early, later])
    assert contradictions(r) == [] and len(new_claims(r)) == 1
    assert r.updates[0].num_sources == 1
    toll1 = mk("Shelling killed 12 people in Mesra, the monitor said.", "casualties", "Mesra", story="m3",
               said_by="The monitor", trigger="killed", qty=q("12", 12, 12))
    toll2 = mk("Shelling killed 31 people in Mesra, the monitor said.", "casualties", "Mesra", story="m4",
               outlet="Other Wire", said_by="the monitor", trigger="killed", qty=q("31", 31, 31),
               at=T0 + timedelta(hours=4))
    assert contradictions(feed(ClaimLedger(), [toll1, toll2])) == []


def test_no_alarm_for_a_toll_that_rose() -> None:
    early = mk("A car bomb killed 12 people in Mesra, police said.", "casualties", "Mesra", story="n1",
               said_by="police", trigger="killed", qty=q("12", 12, 12))
    risen = mk("The toll from the car bomb in Mesra rose to 40, medics said.", "casualties", "Mesra",
               story="n2", outlet="Other Wire", said_by="medics", trigger="toll", qty=q("40", 40, 40),
               at=T0 + timedelta(hours=6))
    assert contradictions(feed(ClaimLedger(), [early, risen])) == []


def test_no_alarm_for_agreement_worded_from_opposite_sides() -> None:
    pulled_back = mk("He said rebels had pulled back from Dorra on Sunday to shorten their lines.",
                     "territory_control", "Dorra", story="o1", outlet="Frontline Post",
                     said_by="a rebel commander", actor="rebels", trigger="pulled back", time="2025-03-02")
    secured = mk("A military source said army units had restored security to Dorra, Hilal and Tal.",
                 "territory_control", "Dorra, Hilal and Tal", story="o2", outlet="State Agency",
                 said_by="a military source", actor="army units", trigger="restored security",
                 at=T0 + timedelta(hours=2))
    r = feed(ClaimLedger(), [pulled_back, secured])
    assert contradictions(r) == []
    assert len(new_claims(r)) == 1 and r.updates[0].num_sources == 2  # the same fact, corroborated


def test_no_alarm_for_different_actors_or_victims() -> None:
    russia = mk("The defence ministry said its aircraft had not carried out any strikes on Varna.", "attack",
                "Varna", story="p1", said_by="Russian Defence Ministry", actor="its aircraft Russia",
                trigger="strikes", polarity="denied")
    govt = mk("Government warplanes dropping barrel bombs struck Varna, rescuers said.", "attack", "Varna",
              story="p2", outlet="Other Wire", said_by="rescuers", actor="Government warplanes",
              trigger="struck", at=T0 + timedelta(hours=2))
    assert contradictions(feed(ClaimLedger(), [russia, govt])) == []
    total = mk("Shelling killed 45 civilians in Qara, rescuers said.", "casualties", "Qara", story="p3",
               said_by="rescuers", trigger="killed", qty=q("45", 45, 45))
    part = mk("Eight of the dead were children, the monitor said.", "casualties", "Qara", story="p4",
              outlet="Other Wire", said_by="the monitor", trigger="dead", qty=q("Eight", 8, 8))
    fighters = mk("Clashes killed 12 soldiers in Qara, the monitor said.", "casualties", "Qara", story="p5",
                  outlet="Other Wire", said_by="the monitor", trigger="killed", qty=q("12", 12, 12))
    wounded = mk("Shelling wounded 130 people in Qara, medics said.", "casualties", "Qara", story="p6",
                 outlet="Third Wire", said_by="medics", trigger="wounded", qty=q("130", 130, 130))
    assert contradictions(feed(ClaimLedger(), [total, part, fighters, wounded])) == []


def test_claims_that_name_no_place_never_conflict() -> None:
    a = mk("The army took the town.", "territory_control", None, story="q1", actor="The army", trigger="took")
    b = mk("Rebels denied the army had taken the town.", "territory_control", None, story="q2",
           outlet="Other Wire", said_by="Rebels", actor="the army", trigger="taken", polarity="denied")
    assert contradictions(feed(ClaimLedger(), [a, b])) == []
    assert ledger_key(a) == "noplace:territory_control"


# ------------------------------------------------------------------ exactly once
SEQUENCE = [TV_TOOK, MONITOR_TOOK, REBELS_DENY, COMMANDER_NOT_FALLEN]


def _ids(r: LedgerResult) -> set[str]:
    return {a.alert_id for a in r.alerts}


def test_same_claims_twice_raise_nothing_new() -> None:
    ledger = ClaimLedger()
    first = feed(ledger, SEQUENCE)
    again = feed(ledger, SEQUENCE)
    assert again.alerts == [] and again.updates == []
    assert len(_ids(first)) == len(first.alerts) == 6  # two new facts (taken, not taken) + four denials
    assert len(ledger) == 4


def test_restart_over_the_same_store_continues_exactly() -> None:
    clean = feed(ClaimLedger(), SEQUENCE)
    store: dict[str, Any] = {}
    before = feed(ClaimLedger(store), SEQUENCE[:3])
    # the store survives only as JSON, as in a faust changelog
    recovered = json.loads(json.dumps(store))
    after_restart = ClaimLedger(recovered)
    assert len(after_restart) == 3
    redelivered = feed(after_restart, SEQUENCE[1:])  # uncommitted offsets come again
    assert _ids(before) | _ids(redelivered) == _ids(clean)
    assert _ids(before).isdisjoint(_ids(redelivered))


def test_alert_ids_are_deterministic_across_runs() -> None:
    assert _ids(feed(ClaimLedger(), SEQUENCE)) == _ids(feed(ClaimLedger(), SEQUENCE))


def test_store_keys_extend_the_ledger_keys_one_record_each_and_values_are_json() -> None:
    store: dict[str, Any] = {}
    feed(ClaimLedger(store), SEQUENCE)
    assert {store_route(k) for k in store} == {ledger_key(c) for c in SEQUENCE} == {"place:karsa"}
    assert {k for k in store if k.startswith("place:karsa/c/")} == {f"place:karsa/c/{c.claim_id}" for c in SEQUENCE}
    json.dumps(store)


def _as_version_1(store: dict[str, Any]) -> dict[str, Any]:
    """The same ledger state in the layout of version 1: one whole entry per ledger key."""
    old: dict[str, Any] = {}
    for skey, value in store.items():
        route, _, rest = skey.partition("/")
        entry = old.setdefault(route, {"v": 1, "claims": {}, "facts": {}, "pairs": {}, "horizon": -62135596800.0})
        kind, _, ident = rest.partition("/")
        if kind == "c":
            entry["claims"][ident] = {k: v for k, v in value.items() if k != "n"}
        elif kind == "f":
            entry["facts"][ident] = value
        elif kind == "p":
            entry["pairs"][ident] = value
        elif kind == "d":
            continue  # version 1 had no dispute records
        else:
            entry["horizon"] = value
    for entry in old.values():
        entry["oldest"] = min(r["t"] for r in entry["claims"].values())
    return old


def test_a_version_1_store_is_read_rewritten_in_records_and_continued_exactly() -> None:
    clean = feed(ClaimLedger(), SEQUENCE)
    store: dict[str, Any] = {}
    before = feed(ClaimLedger(store), SEQUENCE[:3])
    old = json.loads(json.dumps(_as_version_1(store)))  # as a version-1 changelog held it
    assert set(old) == {"place:karsa"}
    upgraded = ClaimLedger(old)
    assert len(upgraded) == 3
    # the same records, but for the dispute records version 1 did not have
    assert "place:karsa" not in old
    assert json.loads(json.dumps(old)) == json.loads(json.dumps({k: v for k, v in store.items() if "/d/" not in k}))
    after = feed(upgraded, SEQUENCE[3:])
    assert _ids(before) | _ids(after) == _ids(clean)
    assert feed(upgraded, SEQUENCE).alerts == []  # its claims are known: re-delivery is a no-op


def test_a_store_key_that_is_no_ledger_record_fails_with_a_clear_error() -> None:
    with pytest.raises(LedgerStateError, match="place:karsa/c/x"):
        ClaimLedger({"place:karsa/c/x": {"claim": "not a claim"}})


def test_corrupt_store_entry_fails_with_a_clear_error() -> None:
    with pytest.raises(LedgerStateError, match="place:karsa"):
        ClaimLedger({"place:karsa": {"claims": []}})


# ------------------------------------------------------------------ disputes
def test_one_dispute_opens_once_and_later_pairs_are_updates_of_it() -> None:
    r = contradictions(feed(ClaimLedger(), SEQUENCE))
    assert len(r) == 4  # every contradicting pair is still a message, for subscribers who want the pairs
    assert len({a.dispute_id for a in r}) == 1
    opening = [a for a in r if not a.update]
    assert len(opening) == 1 and opening[0].alert_id == opening[0].dispute_id
    assert (opening[0].claim.claim_id, opening[0].contradicts.claim_id) == (REBELS_DENY.claim_id, TV_TOOK.claim_id)
    last = r[-1]
    assert last.claim.claim_id == COMMANDER_NOT_FALLEN.claim_id and last.update
    # the sides as counted when the commander joined: two deniers, two reports from one article
    assert last.claim_side.sources == ["Rebels", "Omar Haddad"] and last.claim_side.num_claims == 2
    assert last.contradicts_side.num_claims == 2 and last.contradicts_side.num_articles == 1


def test_a_denial_after_many_reports_opens_one_dispute_with_all_of_them_on_the_other_side() -> None:
    wordings = ["Troops seized Karsa on Monday.", "Government soldiers have captured the town of Karsa.",
                "Karsa was taken by the army after a night of shelling.", "The army now controls all of Karsa.",
                "Army units swept into Karsa and raised the flag over the town hall."]
    triggers = ["seized", "captured", "taken", "controls", "swept"]
    reports = [mk(w, "territory_control", "Karsa", story=f"r{i}", outlet=f"Outlet {i}", actor="the army",
                  trigger=trig, at=T0 + timedelta(minutes=i))
               for i, (w, trig) in enumerate(zip(wordings, triggers, strict=True))]
    r = contradictions(feed(ClaimLedger(), [*reports, REBELS_DENY]))
    assert len(r) == 5 and sum(not a.update for a in r) == 1
    assert r[0].contradicts_side.num_claims == 5 and r[0].contradicts_side.num_articles == 5
    assert r[0].claim_side.sources == ["Rebels"]


def test_a_dispute_carries_on_across_a_restart() -> None:
    store: dict[str, Any] = {}
    first = contradictions(feed(ClaimLedger(store), SEQUENCE[:3]))
    later = contradictions(feed(ClaimLedger(store), SEQUENCE[3:]))
    assert later and all(a.update and a.dispute_id == first[0].dispute_id for a in later)


def test_disputes_about_two_places_are_two_disputes() -> None:
    other = [mk("State television said troops had seized Morva.", "territory_control", "Morva", story="m1",
                said_by="state television", actor="troops", trigger="seized", at=T0),
             mk("Rebels denied that the army had taken Morva.", "territory_control", "Morva", story="m2",
                said_by="Rebels", actor="the army", trigger="taken", polarity="denied", at=T0)]
    r = contradictions(feed(ClaimLedger(), [*SEQUENCE, *other]))
    assert len({a.dispute_id for a in r}) == 2 and sum(not a.update for a in r) == 2


def test_a_dispute_is_forgotten_with_its_claims() -> None:
    store: dict[str, Any] = {}
    ledger = ClaimLedger(store, window_seconds=86400)
    feed(ledger, SEQUENCE)
    assert any("/d/" in k for k in store)
    ledger.evict(T0 + timedelta(days=3))
    assert store == {}


# ------------------------------------------------------------------ eviction
def test_eviction_drops_claims_older_than_the_window() -> None:
    store: dict[str, Any] = {}
    ledger = ClaimLedger(store, window_seconds=3 * 86400)
    feed(ledger, SEQUENCE)
    late = mk("Troops took Ostra.", "territory_control", "Ostra", story="r1", actor="Troops", trigger="took",
              at=T0 + timedelta(days=3))
    ledger.add(late)
    assert len(ledger) == 5
    assert ledger.evict(T0 + timedelta(days=3, hours=1)) == 3  # all but the commander (T0+5h) and `late`
    assert len(ledger) == 2
    assert ledger.evict(T0 + timedelta(days=7)) == 2
    assert len(ledger) == 0 and store == {}
    # a re-delivered claim from before the window raises nothing
    assert ledger.add(TV_TOOK, now=T0 + timedelta(days=7)).alerts == []
    assert len(ledger) == 0


def test_bounded_eviction_stops_after_the_place_that_reaches_the_limit() -> None:
    store: dict[str, Any] = {}
    ledger = ClaimLedger(store, window_seconds=86400)
    towns = ("Ostra", "Karsa", "Belin", "Dunmore")
    for i, town in enumerate(towns):
        for j in range(2):
            ledger.add(mk(f"Troops took {town} on day {j}.", "territory_control", town, story=f"s{i}{j}",
                          start=j, actor="Troops", trigger="took", at=T0 + timedelta(hours=i)))
    assert len(ledger) == 8
    later = T0 + timedelta(days=2)
    assert ledger.evict(later, limit=3) == 4  # two places of two claims: a place is purged whole
    assert len(ledger) == 4
    assert ledger.evict(later, limit=3) == 4
    assert ledger.evict(later, limit=3) == 0
    assert store == {}
    with pytest.raises(ValueError, match=r"^limit must be at least 1, got -1$"):
        ledger.evict(later, limit=-1)


def test_add_evicts_lazily_within_the_key() -> None:
    ledger = ClaimLedger(window_seconds=86400)
    ledger.add(TV_TOOK)
    later_denial = mk("Rebels denied that the army had taken Karsa.", "territory_control", "Karsa",
                      story="s9", said_by="Rebels", actor="the army", trigger="taken", polarity="denied",
                      at=T0 + timedelta(days=2))
    r = ledger.add(later_denial)
    assert contradictions(r) == []  # the old report left the window (and is two days away)
    assert len(ledger) == 1


def test_metrics_count_alerts_and_size() -> None:
    def val(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    n0 = val("wirewatch_ledger_new_claims_total", category="territory_control")
    c0 = val("wirewatch_ledger_contradictions_total", kind="denial")
    u0 = val("wirewatch_ledger_dispute_updates_total", kind="denial")
    r0 = val("wirewatch_ledger_corroborations_total")
    ledger = ClaimLedger()
    feed(ledger, SEQUENCE)
    assert val("wirewatch_ledger_new_claims_total", category="territory_control") - n0 == 2
    # four contradicting pairs of one dispute: it is opened once and updated three times
    assert val("wirewatch_ledger_contradictions_total", kind="denial") - c0 == 1
    assert val("wirewatch_ledger_dispute_updates_total", kind="denial") - u0 == 3
    assert val("wirewatch_ledger_corroborations_total") - r0 == 2
    assert val("wirewatch_ledger_claims") == 4


# ------------------------------------------------------------------ keys and rendering
@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("al-Sakhour neighbourhood", "Sakhour", True),
        ("the Sakhour area", "SAKHOUR", True),
        ("Haidariya, Sheikh Khodr and Ain al-Tal", "Haidariya district", True),
        ("eastern Aleppo", "western Aleppo", False),
        ("Jub al-Qubba", "Jub al-Qubba district", True),
        ("Bosnia", "Kosovo", False),
        ("Ṣalāḥ", "Salah", True),
    ],
)
def test_place_normalisation(a: str, b: str, same: bool) -> None:
    assert (normalise_place(a) == normalise_place(b)) is same


def test_ledger_key_puts_every_category_of_a_place_together() -> None:
    keys = {ledger_key(mk("x", cat, "the Karsa district")) for cat in
            ("territory_control", "attack", "casualties", "displacement", "ceasefire")}
    assert keys == {"place:karsa"}


def test_format_alert_shows_both_sides_at_a_glance() -> None:
    (alert,) = [a for a in contradictions(feed(ClaimLedger(), [TV_TOOK, COMMANDER_NOT_FALLEN]))]
    text = format_alert(alert)
    lines = text.splitlines()
    assert lines[0].startswith("CONTRADICTION  denial · al-Karsa · 3 Mar 2025")
    assert lines[1].strip() == alert.explanation
    says = next(i for i, line in enumerate(lines) if line.lstrip().startswith("SAYS"))
    denies = next(i for i, line in enumerate(lines) if line.lstrip().startswith("DENIES"))
    assert says < denies  # the earlier claim first
    assert "state television" in lines[says] and "Wire One" in lines[says]
    assert "03 Mar 09:00 UTC" in lines[says]
    assert "Omar Haddad" in lines[denies] and "Frontline Post" in lines[denies]
    assert "seized the whole of Karsa" in text and "Karsa has not fallen" in text
    assert "https://news.example/a1" in text and "https://news.example/b1" in text
    assert len(lines) <= 14 and all(len(line) <= 120 for line in lines)
    new = format_alert(ClaimLedger().add(TV_TOOK).alerts[0])
    assert new.startswith("NEW CLAIM  territory_control · Karsa · 3 Mar 2025") and "state television" in new


def test_explanations_read_as_one_line() -> None:
    r = feed(ClaimLedger(), [TV_TOOK, REBELS_DENY])
    (a,) = contradictions(r)
    assert a.explanation == "Rebels deny what state television reports: troops took Karsa (3 Mar)"
    assert "\n" not in a.explanation


# ------------------------------------------------------------------ wire conventions
def test_unattributed_quote_belongs_to_the_speaker_named_just_before() -> None:
    named = mk('"Belin is still with the rebels," he said.', "territory_control", "Belin", story="t1",
               start=100, said_by="Karimi, Liberty rebel group")
    follow_on = mk('"The regime is trying to take it, but they have not got in."', "attack", "Belin",
                   story="t1", start=150, actor="The regime", trigger="take")
    deny = mk("Karimi denied there had been any clashes inside the village.", "attack", "Belin", story="t1",
              start=20, said_by="Karimi", trigger="clashes", polarity="denied")
    advanced = mk("State media said the army had advanced into Belin.", "territory_control", "Belin",
                  story="t1", start=0, said_by="State media", actor="the army", trigger="advanced")
    # the extractor reads the story's claims in body order, so the quote sees who spoke before it
    story = story_facts([advanced, deny, named, follow_on])
    assert story[3].facts is not None and story[3].facts.speaker_name == "Karimi"
    r = feed(ClaimLedger(), story)
    kinds = sorted((a.kind, a.claim.claim_id) for a in contradictions(r))
    # the follow-on quote is Karimi's too: it does not dispute Karimi's own denial
    assert kinds == sorted([("denial", deny.claim_id), ("control", named.claim_id)])


def test_denying_one_kind_of_attack_is_not_denying_another() -> None:
    no_air = mk("The ministry said its aircraft had not carried out any strikes on Varna.", "attack", "Varna",
                story="u1", said_by="the defence ministry", trigger="strikes", polarity="denied")
    shelling = mk("There is very ferocious shelling in Varna, a fighter said.", "attack", "Varna", story="u2",
                  outlet="Other Wire", said_by="a fighter", trigger="shelling", at=T0 + timedelta(hours=3))
    raid = mk("Warplanes carried out air strikes on Varna, residents said.", "attack", "Varna", story="u3",
              outlet="Third Wire", said_by="residents", trigger="air strikes", at=T0 + timedelta(hours=4))
    r = feed(ClaimLedger(), [no_air, shelling, raid])
    assert [a.claim.claim_id for a in contradictions(r)] == [raid.claim_id]


def test_toll_over_a_period_is_not_the_toll_of_one_event() -> None:
    period = mk("Air strikes have killed hundreds of people in eastern Mesra since the offensive began.",
                "casualties", "eastern Mesra", story="v1", said_by="the monitor", trigger="killed",
                qty=q("hundreds"))
    one = mk("An air strike killed 21 people in eastern Mesra on Monday, medics said.", "casualties",
             "eastern Mesra", story="v2", outlet="Other Wire", said_by="medics", trigger="killed",
             qty=q("21", 21, 21), time="2025-03-03")
    assert contradictions(feed(ClaimLedger(), [period, one])) == []


def test_moving_towards_or_besieging_a_place_is_not_holding_it() -> None:
    towards = mk("Troops advanced towards Ostra on Monday.", "territory_control", "Ostra", story="w1",
                 actor="Troops", trigger="advanced")
    besieged = mk("Government forces besieged Ostra.", "territory_control", "Ostra", story="w2",
                  actor="Government forces", trigger="besieged")
    held = mk("Ostra remains in rebel hands, a commander said.", "territory_control", "Ostra", story="w3",
              outlet="Other Wire", said_by="a rebel commander", at=T0 + timedelta(hours=2))
    no_fighting = mk("Rebels denied any fighting inside Ostra.", "attack", "Ostra", story="w4",
                     outlet="Third Wire", said_by="Rebels", trigger="fighting", polarity="denied",
                     at=T0 + timedelta(hours=3))
    assert contradictions(feed(ClaimLedger(), [towards, besieged, held, no_fighting])) == []


def test_the_ledger_compares_the_facts_a_claim_carries_not_its_sentence() -> None:
    took = mk("Troops took Ostra.", "territory_control", "Ostra", story="y1", actor="Troops", trigger="took")
    held = mk("Ostra is still in rebel hands, a commander said.", "territory_control", "Ostra", story="y2",
              outlet="Other Wire", said_by="a rebel commander", at=T0 + timedelta(hours=2))
    read = story_facts([took]) + story_facts([held])
    # the sentences gone: the ledger decides from what the extractor read from them
    blank = [c.model_copy(update={"sentence": "..."}) for c in read]
    store: dict[str, Any] = {}
    (alert,) = contradictions(feed(ClaimLedger(store), blank))
    assert alert.kind == "control" and alert.claim.facts == read[1].facts
    # a claim is stored without its facts (they are the record's own "facts", kept once), and
    # the alert's earlier claim gets them back, also from a store a restarted worker reads
    assert all("facts" not in rec["claim"] for k, rec in store.items() if "/c/" in k)
    assert alert.contradicts.facts == read[0].facts
    again = ClaimLedger(json.loads(json.dumps(store)))
    late = mk("Ostra remains in rebel hands, residents said.", "territory_control", "Ostra", story="y3",
              outlet="Third Wire", said_by="residents", at=T0 + timedelta(hours=3))
    assert [a.contradicts.facts for a in contradictions(again.add(story_facts([late])[0]))] == [read[0].facts]
    # a claim that comes without facts has them read at the ledger, to the same verdict
    assert [a.kind for a in contradictions(feed(ClaimLedger(), [took, held]))] == ["control"]


def test_undated_reports_two_days_apart_are_not_the_same_event() -> None:
    took = mk("Troops took Ostra.", "territory_control", "Ostra", story="x1", actor="Troops", trigger="took")
    held = mk("Ostra is still in rebel hands, a commander said.", "territory_control", "Ostra", story="x2",
              outlet="Other Wire", said_by="a rebel commander", at=T0 + timedelta(days=2))
    held_next_day = held.model_copy(
        update={"claim_id": "x3", "story_id": "x3", "published": T0 + timedelta(days=1)})
    assert contradictions(feed(ClaimLedger(), [took, held])) == []
    assert [a.kind for a in contradictions(feed(ClaimLedger(), [took, held_next_day]))] == ["control"]


def test_key_uses_the_extractors_place_key_and_the_first_named_place_of_a_list() -> None:
    one = mk("x", "attack", "al-Sakhour").model_copy(update={"location_key": "sakhour"})
    listed = mk("x", "attack", "Haidariya, Sheikh Khodr and Ain al-Tal").model_copy(
        update={"location_key": "ain-tal+haidariya+sheikh-khodr"})
    east = mk("x", "attack", "eastern Aleppo").model_copy(update={"location_key": "aleppo:east"})
    assert ledger_key(one) == "place:sakhour"
    assert ledger_key(listed) == ledger_key(mk("x", "attack", "Haidariya")) == "place:haidariya"
    # the key is the head word (directions dropped); the place itself keeps the direction
    assert ledger_key(east) == ledger_key(mk("x", "casualties", "eastern Aleppo")) == "place:aleppo"
    assert claim_places(east) == ["aleppo east"]


def test_fallen_to_names_the_holder_and_a_place_is_never_the_actor() -> None:
    # a parser gives the place as the subject of 'had fallen'
    not_fallen = mk("Insurgents denied that Karvel had fallen to the army.", "territory_control", "Karvel",
                    story="y1", said_by="Insurgents", actor="Karvel", trigger="fallen", polarity="denied")
    in_hands = mk('"Karvel remains in rebel hands," said a spokesman for the rebel alliance.',
                  "territory_control", "Karvel", story="y1", start=100,
                  said_by="Idris Mahmoud, a spokesman for the rebel alliance")
    took = mk("Government troops captured the town of Karvel, the ministry said.", "territory_control",
              "Karvel", story="y2", outlet="Other Wire", said_by="the defence ministry",
              actor="Government troops", trigger="captured", at=T0 + timedelta(hours=2))
    r = feed(ClaimLedger(), [not_fallen, in_hands, took])
    assert sorted((a.kind, a.contradicts.claim_id) for a in contradictions(r)) == sorted(
        [("denial", not_fallen.claim_id), ("control", in_hands.claim_id)])
    assert "Insurgents deny what the defence ministry reports" in next(
        a.explanation for a in contradictions(r) if a.kind == "denial")


def test_a_future_dated_item_does_not_expire_the_place() -> None:
    ledger = ClaimLedger(window_seconds=3 * 86400)
    now = datetime.now(UTC)
    today = mk("Troops took Ostra.", "territory_control", "Ostra", story="z1", actor="Troops", trigger="took",
               at=now - timedelta(hours=1))
    misdated = mk("Rebels denied that troops had taken Ostra.", "territory_control", "Ostra", story="z2",
                  outlet="Other Wire", said_by="Rebels", actor="troops", trigger="taken", polarity="denied",
                  at=now + timedelta(days=400))
    ledger.add(today)
    ledger.add(misdated)
    assert len(ledger) == 2


def test_without_an_actor_the_nearest_camp_before_the_verb_acts_and_passives_look_after_by() -> None:
    withdrew = mk("The army said rebels had withdrawn from Ostra.", "territory_control", "Ostra", story="aa1",
                  said_by="The army", trigger="withdrawn")
    took = mk("State media said the army had entered Ostra.", "territory_control", "Ostra", story="aa2",
              outlet="Other Wire", said_by="State media", trigger="entered")
    passive = mk("A commander said rebel positions in Ostra were captured.", "territory_control", "Ostra",
                 story="aa3", outlet="Third Wire", said_by="a rebel commander", trigger="captured")
    held = mk("Ostra remains in rebel hands, a rebel spokesman said.", "territory_control", "Ostra",
              story="aa4", outlet="Fourth Wire", said_by="a rebel spokesman")
    r = feed(ClaimLedger(), [withdrew, took, passive, held])
    # withdrawn, entered: the army holds Ostra (agreement); the passive names no one
    assert {(a.claim.claim_id, a.contradicts.claim_id) for a in contradictions(r)} == {
        (held.claim_id, withdrew.claim_id), (held.claim_id, took.claim_id)}


def test_two_states_at_war_are_two_camps() -> None:
    took = mk("Russian troops captured Dovha on Saturday, the defence ministry said.", "territory_control",
              "Dovha", story="ab1", said_by="the Russian defence ministry", actor="Russian troops",
              trigger="captured")
    held = mk("Dovha remains under Ukrainian control, a Ukrainian commander said.", "territory_control",
              "Dovha", story="ab2", outlet="Other Wire", said_by="a Ukrainian commander",
              at=T0 + timedelta(hours=3))
    deny = mk("Kyiv denied that Russian troops had taken Dovha.", "territory_control", "Dovha", story="ab3",
              outlet="Third Wire", said_by="Kyiv", actor="Russian troops", trigger="taken", polarity="denied",
              at=T0 + timedelta(hours=4))
    r = feed(ClaimLedger(), [took, held, deny])
    got = {(a.kind, a.claim.claim_id, a.contradicts.claim_id) for a in contradictions(r)}
    # the denial agrees with 'under Ukrainian control'; both dispute the Russian claim
    assert got == {("control", held.claim_id, took.claim_id), ("denial", deny.claim_id, took.claim_id)}
    assert "Russian forces" in next(a.explanation for a in contradictions(r) if a.kind == "control")


def test_denied_air_strikes_do_not_dispute_a_capture() -> None:
    no_strikes = mk("The ministry said its aircraft had not carried out any strikes on Varna.", "attack",
                    "Varna", story="ac1", said_by="the defence ministry", trigger="strikes",
                    polarity="denied")
    took = mk("Government forces captured Varna, the monitor said.", "territory_control", "Varna",
              story="ac2", outlet="Other Wire", said_by="the monitor", actor="Government forces",
              trigger="captured", at=T0 + timedelta(hours=1))
    assert contradictions(feed(ClaimLedger(), [no_strikes, took])) == []


def test_an_archive_from_before_1970_raises_its_claims_and_contradictions() -> None:
    # A replay of an old archive: the ledger's clock is the claims' own time.
    old = datetime(1968, 1, 31, 6, tzinfo=UTC)
    took = TV_TOOK.model_copy(update={"published": old, "extracted_at": old})
    deny = REBELS_DENY.model_copy(update={"published": old + timedelta(hours=2), "extracted_at": old})
    r = feed(ClaimLedger(), [took, deny])
    assert [a.claim.claim_id for a in new_claims(r)] == [took.claim_id, deny.claim_id]
    assert len(contradictions(r)) == 1


def test_a_busy_place_writes_each_claim_once_and_forgets_none_within_its_window() -> None:
    from wirewatch.limits import MAX_MESSAGE_BYTES

    class Store(dict[str, Any]):
        """Every value written: what the table's changelog has to carry."""

        def __init__(self) -> None:
            super().__init__()
            self.written: list[int] = []

        def __setitem__(self, key: str, value: Any) -> None:
            self.written.append(len(orjson.dumps(value)))
            super().__setitem__(key, value)

    store = Store()
    ledger = ClaimLedger(store)
    filler = " ".join(f"word{i}" for i in range(230))  # ~1,900 characters: the longest sentences parsed
    claims = [mk(f"Shelling killed {i + 3} people in Karsa on day {i}, officials said; {filler}.",
                 "casualties", "Karsa", story=f"s{i}", said_by=f"official {i}", trigger="killed",
                 at=T0 + timedelta(minutes=i)) for i in range(300)]
    feed(ledger, claims)
    assert len(ledger) == 300  # all within the window: none forgotten to stay under a size cap
    # One entry rewritten whole per claim wrote ~1.3 GB here and passed 1 MiB per message;
    # a record per claim (and its fact) costs the same for the 300th claim as for the first.
    assert max(store.written) < MAX_MESSAGE_BYTES // 64
    assert sum(store.written) < 300 * 2 * max(store.written)


def test_the_arabic_article_as_a_word_neither_joins_places_nor_parts_spellings() -> None:
    # 'El Fasher' and 'El Obeid' filed under 'place:el' shared one key with every such town
    assert ledger_key(mk("Fighting in El Fasher.", "attack", "El Fasher")) == "place:fasher"
    assert ledger_key(mk("Fighting in El Obeid.", "attack", "El Obeid")) == "place:obeid"
    assert normalise_place("El Fasher") == normalise_place("el-Fasher") == normalise_place("Fasher")
    assert normalise_place("eastern Al Bab") == "bab east"
    assert normalise_place("Al") == "al"  # a name that is only the article is kept


def test_records_left_without_their_claims_are_swept_from_the_store() -> None:
    # e.g. a worker killed between the changelog writes of one claim's fact and its record
    store: dict[str, Any] = {"place:karsa/f/x": {"sources": [], "source_keys": [], "articles": ["a"]},
                             "place:karsa/p/a:0|b:0": 1.0e9, "place:karsa/h": 1.0e9}
    ledger = ClaimLedger(store)
    assert len(ledger) == 0
    ledger.evict(T0)
    assert store == {}

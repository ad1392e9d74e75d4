"""Story clusters: one cluster per event.  Two incidents of one kind, reported in the same
words, stay apart; one event told by outlets in their own words comes together; a story
that touches two events does not fuse them; clusters close after 36 hours; a restarted
worker gives the same ids.  (Invented events and places.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from wirewatch import lexicon
from wirewatch.errors import ConfigError
from wirewatch.models import DedupVerdict, RawStory
from wirewatch.poller.urls import canonical_url
from wirewatch.processor.dedup import Deduplicator
from wirewatch.processor.dedup.shingles import (
    TokenStream,
    event_terms,
    lead_words,
    tokens,
    word_hash,
)

T0 = datetime(2024, 6, 11, 6, 0, tzinfo=UTC)


def story(sid: str, paras: list[str], *, hours: float = 0.0, feed: str = "wire") -> RawStory:
    link = f"https://{feed}.example/{sid}"
    when = T0 + timedelta(hours=hours)
    return RawStory(story_id=sid, feed_id=feed, outlet=feed, url=link, canonical_url=canonical_url(link),
                    guid=sid, title="", body="\n\n".join(paras), published=when, fetched_at=when)


# Two earthquakes in one country on one day: the same kind of event, told in the same words
# (earthquake, magnitude, killed, rescue teams, the national survey), at different places,
# with different tolls and different people.
KESSAR = [
    story("k1", [
        "A magnitude 6.1 earthquake struck near Kessar in Norland's Ebro valley on Tuesday, killing at "
        "least 14 people and bringing down a wing of the town's hospital, officials said.",
        "Kessar's mayor, Ilse Varga, said rescue teams were searching the rubble for survivors through "
        "the night.",
        "The Norland Geological Survey said the quake was centred 10 km below the valley floor.",
    ], feed="wire"),
    story("k2", [
        "At least 14 people died when a strong tremor shook the Ebro valley town of Kessar, Norland's "
        "emergency ministry said.",
        "The 6.1-magnitude quake brought down part of Kessar hospital, and mayor Ilse Varga appealed for "
        "blood donors as patients were carried out on stretchers.",
        "Aftershocks were felt across the valley.",
    ], hours=1, feed="courier"),
    story("k3", [
        "Rescuers dug through the ruins of Kessar's hospital, hours after the Ebro valley earthquake that "
        "killed 14 people.",
        "Ilse Varga, the town's mayor, said 40 patients had been moved to tents in the football ground, "
        "and that the hospital wing that collapsed had been built in the 1970s.",
    ], hours=2, feed="herald"),
]
DORIA = [
    story("d1", [
        "A magnitude 5.4 earthquake hit the Norland port city of Doria on Tuesday, killing three dockers "
        "and toppling two cranes in the harbour.",
        "Harbour master Pel Anders said shipping had been halted while engineers checked the quays.",
    ], hours=0.5, feed="wire"),
    story("d2", [
        "Three people were killed when a quake of magnitude 5.4 struck Doria, Norland's main port, the "
        "city fire service said.",
        "Pel Anders, who runs the harbour, said two cranes had fallen onto the quay and that no ship would "
        "dock before Thursday.",
    ], hours=1.5, feed="courier"),
    story("d3", [
        "Dockers in Doria cleared the wreckage of two harbour cranes on Tuesday after the 5.4 earthquake "
        "that killed three of their colleagues.",
        "The port will stay shut for two days, harbour master Pel Anders said, and cargo is being sent to "
        "other ports along the coast.",
    ], hours=2.5, feed="herald"),
]


def _in_order(*groups: list[RawStory]) -> list[RawStory]:
    return sorted((s for g in groups for s in g), key=lambda s: s.published)


def _clusters(verdicts: list[DedupVerdict]) -> dict[str, str]:
    return {v.story_id: v.cluster_id for v in verdicts}


def test_two_incidents_of_one_kind_stay_apart_and_each_gathers_its_coverage() -> None:
    d = Deduplicator()
    got = _clusters([d.check(s) for s in _in_order(KESSAR, DORIA)])
    assert all(v.startswith("c:") for v in got.values())
    # One event in three outlets' words: one cluster.
    assert got["k1"] == got["k2"] == got["k3"]
    assert got["d1"] == got["d2"] == got["d3"]
    # The words of the kind (earthquake, magnitude, killed) and the country they share do
    # not make two incidents one.
    assert got["k1"] != got["d1"]


def test_a_story_about_both_incidents_does_not_chain_them_into_one_cluster() -> None:
    # A round-up of both quakes arrives after the first Kessar reports and before any Doria
    # report; it names Doria and its harbour master.  Matched against single stories, the
    # first Doria report would find the round-up and follow it into the Kessar cluster, and
    # every later Doria report after it.
    roundup = story("r1", [
        "Two earthquakes struck Norland on Tuesday: a magnitude 6.1 quake killed 14 people in Kessar, "
        "where mayor Ilse Varga said the hospital had partly collapsed, and a 5.4 quake hit the port of "
        "Doria, where harbour master Pel Anders reported cranes down.",
    ], hours=0.3, feed="digest")
    d = Deduplicator()
    stream = [KESSAR[0], roundup, *DORIA, KESSAR[1], KESSAR[2]]
    got = _clusters([d.check(s) for s in sorted(stream, key=lambda s: s.published)])
    assert got["d1"] == got["d2"] == got["d3"]
    assert got["k1"] == got["k2"] == got["k3"]
    assert got["d1"] != got["k1"]
    # Later coverage of each incident still finds its own cluster, even when it shares more
    # names with the round-up than with any single report of its incident.
    later = [
        story("d4", [
            "Prime Minister Tomas Reyk toured the harbour of Doria on Wednesday, where the 5.4 earthquake "
            "killed three dockers and brought down two cranes.",
            "Harbour master Pel Anders told the prime minister the port could reopen on Thursday.",
        ], hours=4, feed="gazette"),
        story("k4", [
            "Prime Minister Tomas Reyk visited the ruins of Kessar hospital, where the 6.1 earthquake killed "
            "14 people, and promised Ilse Varga, the town's mayor, that it would be rebuilt.",
        ], hours=4.5, feed="gazette"),
    ]
    got |= _clusters([d.check(s) for s in later])
    assert got["d4"] == got["d1"]
    assert got["k4"] == got["k1"]


# One river flood, told day after day by different papers in their own words.
FLOOD = [
    ["Floodwater rose in Merrow after the Lune burst its banks, the Merrow council said, and the Lune "
     "bridge was closed to traffic.",
     "Council leader Ada Kemp said sandbags were being handed out at the market hall."],
    ["The Lune was still rising in Merrow, where council leader Ada Kemp said 200 homes had been "
     "flooded and the bridge would stay shut.",
     "Volunteers filled sandbags through the night."],
    ["Merrow's council opened the school gym to families whose homes the Lune flood reached, Ada Kemp "
     "said, as the river crept towards the station.",
     "Trains to Merrow were cancelled."],
    ["Water began to fall in Merrow for the first time since the Lune flood started, Ada Kemp told "
     "reporters, but the bridge stayed closed."],
]


def flood_report(day: int, hours: float) -> RawStory:
    return story(f"flood{day}", FLOOD[day - 1], hours=hours, feed=f"paper{day}")


def test_a_cluster_closes_thirty_six_hours_after_its_first_story() -> None:
    d = Deduplicator()
    # The same story told again every 20 hours: each day's report resembles the day before,
    # but a cluster spans at most 36 hours, so the third day opens a new one.
    got = [d.check(flood_report(i + 1, 20 * i)).cluster_id for i in range(3)]
    assert got[1] == got[0]
    assert got[2] != got[0]


def test_restarted_worker_gives_the_same_cluster_ids() -> None:
    stream = _in_order(KESSAR, DORIA)
    expected = [v.cluster_id for v in (lambda d: [d.check(s) for s in stream])(Deduplicator())]
    store: dict[str, object] = {}
    first = Deduplicator(store)
    got = [first.check(s).cluster_id for s in stream[:3]]
    # A changelog round trip (JSON values), then a new worker over the same store.
    second = Deduplicator(json.loads(json.dumps(store)))
    got += [second.check(s).cluster_id for s in stream[3:]]
    assert got == expected


def test_eviction_leaves_the_cluster_index_as_a_rebuild_would() -> None:
    d = Deduplicator(window_seconds=86400)
    for s in _in_order(KESSAR, DORIA):
        d.check(s)
    flood = [d.check(flood_report(1, 20)), d.check(flood_report(2, 26))]
    assert flood[0].cluster_id == flood[1].cluster_id
    # The quake reports and the first flood report leave the window.
    assert d.evict(T0 + timedelta(hours=45)) == 7
    rebuilt = Deduplicator(json.loads(json.dumps(dict(d.store))))
    assert len(rebuilt) == len(d) == 1
    # The flood cluster now starts at its second report (26 h), in the running worker as in
    # one rebuilt from the store: a report 32 h after that one still joins it.
    late = flood_report(3, 58)
    assert d.check(late).cluster_id == rebuilt.check(late).cluster_id == flood[0].cluster_id
    again = KESSAR[0].model_copy(update={"story_id": "k9", "guid": "k9"})
    assert d.check(again).cluster_id == rebuilt.check(again).cluster_id != flood[0].cluster_id


# ------------------------------------------------------------------ the features
def test_a_source_line_that_is_a_web_address_is_not_part_of_the_lead() -> None:
    lead = [tokens("http: / / www. courier. example / world / kessar-quake-hospital-2024. html"),
            tokens("A quake in Kessar killed 14 people, Norland officials said.")]
    assert event_terms(lead, 60) == ["14", "kessar", "norland"]
    stream = TokenStream.from_tokens(lead)
    keys, counts = lead_words(stream, 200)
    words = lead_words(TokenStream.from_tokens(lead[1:]), 200)
    assert np.array_equal(keys, words[0]) and np.array_equal(counts, words[1])


def test_lead_words_keep_what_happened_and_drop_function_words() -> None:
    text = [tokens("The quake killed 14 people in Kessar, and the quake's aftershocks were felt in Doria.")]
    keys, counts = lead_words(TokenStream.from_tokens(text), 200)
    by_word = {w: int(counts[list(keys).index(word_hash(w))]) for w in ("quake", "killed", "kessar", "doria")}
    assert by_word == {"quake": 2, "killed": 1, "kessar": 1, "doria": 1}
    for function_word in ("the", "and", "in", "s", "were"):
        assert word_hash(function_word) not in set(keys.tolist())
    # Only the first words of a long story are its lead.
    assert lead_words(TokenStream.from_tokens(text), 3)[0].tolist() == sorted({word_hash("quake"), word_hash("killed")})


def test_a_broken_cluster_word_list_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "clusters.yaml"
    bad.write_text("link_words: http\napostrophe_fragments: [s]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="link_words"):
        lexicon.load(tmp_path)
    bad.unlink()
    (tmp_path / "clusters.yaml").mkdir()  # a path that cannot be read as a file
    with pytest.raises(ConfigError, match="cannot read"):
        lexicon.load(tmp_path)

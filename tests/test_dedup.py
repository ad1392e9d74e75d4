"""Dedup: every kind of copy the wire produces, the near miss that is not a copy,
updates, replay, eviction and restart from the store."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from wirewatch import metrics
from wirewatch.errors import ConfigError, DedupStateError
from wirewatch.models import RawStory
from wirewatch.poller.urls import canonical_url
from wirewatch.processor.dedup import Deduplicator
from wirewatch.processor.dedup.shingles import TokenStream, event_terms

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)

# An invented wire story in agency style (no real events).
ORIGINAL = [
    "KARSTAD (Reuters) - Government forces said on Monday they had captured the river port of Velna "
    "after a three-day assault, the biggest gain in the northern province since the spring.",
    "Opposition commanders denied that the port had fallen and said their fighters were still holding "
    "the eastern docks and the grain terminal on the far bank of the river.",
    "The Independent Monitoring Group, which tracks the conflict through a network of observers, said "
    "at least 34 fighters on both sides had been killed since Friday.",
    "A military spokesman told state television that engineers were clearing mines from the main road "
    "into the town and that aid convoys could arrive within days.",
    "Local officials said about 6,000 residents had fled south towards the provincial capital, many of "
    "them on foot, since the shelling of the town centre began last week.",
    "The United Nations humanitarian office said it was preparing shelters for the displaced but that "
    "access to the area remained difficult because of damaged bridges.",
    "Velna sits on the main supply route between the coast and the mountain districts, and control of "
    "its bridge has changed hands twice since the war began.",
    "Analysts said the loss of the port would leave the opposition with only one crossing point on the "
    "river, making it harder to move fuel and ammunition to the north.",
    "Foreign ministers from the region are due to meet on Thursday to discuss a proposal for a "
    "temporary truce that would allow the evacuation of the wounded.",
    "The government has rejected previous truce proposals, saying they would only give the "
    "opposition time to regroup and rearm.",
    "(Reporting by Karstad newsroom; Editing by Anna Smith)",
]


def body(paras: list[str]) -> str:
    return "\n\n".join(paras)


def story(
    story_id: str,
    paras: list[str],
    *,
    url: str | None = None,
    guid: str | None = None,
    title: str = "Government forces say they have taken river port of Velna",
    published: datetime = T0,
    feed: str = "wire",
) -> RawStory:
    link = url or f"https://wire.example/{story_id}"
    return RawStory(
        story_id=story_id, feed_id=feed, outlet=feed, url=link, canonical_url=canonical_url(link),
        guid=guid, title=title, body=body(paras), published=published, fetched_at=published,
    )


def counter(kind: str) -> float:
    return metrics.DEDUP_DUPLICATES.labels(kind=kind)._value.get()


# ------------------------------------------------------------------ the kinds of copy
def test_repolled_item_is_a_guid_duplicate() -> None:
    d = Deduplicator()
    first = story("g:1", ORIGINAL, guid="tag:wire,2024:1")
    assert d.check(first).status == "unique"
    before = counter("guid")
    again = d.check(story("g:1", ORIGINAL, guid="tag:wire,2024:1", published=T0 + timedelta(minutes=5)))
    assert (again.status, again.kind, again.duplicate_of) == ("duplicate", "guid", first.url)
    assert counter("guid") == before + 1
    assert len(d) == 1


def test_same_link_with_tracking_parameters_is_a_url_duplicate() -> None:
    d = Deduplicator()
    plain = "https://www.wire.example/world/velna-port-captured"
    tracked = "http://wire.example/world/velna-port-captured/?utm_source=rss&utm_medium=feed&fbclid=x#top"
    assert canonical_url(plain) == canonical_url(tracked)
    d.check(story("u:a", ORIGINAL, url=plain))
    # Another feed carries the link with its own guid and a slightly different body.
    v = d.check(story("g:other", ORIGINAL[:-1], url=tracked, guid="other-1", feed="aggregator"))
    assert (v.status, v.kind, v.duplicate_of) == ("duplicate", "url", plain)


def test_one_story_under_several_links_is_a_content_duplicate() -> None:
    d = Deduplicator()
    d.check(story("g:1", ORIGINAL, url="https://wire.example/a/1", guid="1"))
    for i, link in enumerate(["https://wire.example/world/velna", "https://m.wire.example/story?id=1"]):
        v = d.check(story(f"g:{i + 2}", ORIGINAL, url=link, guid=str(i + 2)))
        assert (v.status, v.kind, v.duplicate_of) == ("duplicate", "content", "https://wire.example/a/1")


def test_syndicated_copy_with_its_own_furniture_is_a_near_duplicate() -> None:
    d = Deduplicator()
    orig = d.check(story("g:1", ORIGINAL, guid="1"))
    syndicated = [
        "The Daily Courier republishes this report from the Reuters news agency.",
        # house style: dateline in capitals, a dated aside, US spelling, cut after paragraph 8
        ORIGINAL[0].replace("KARSTAD (Reuters)", "KARSTAD (REUTERS)")
        .replace("on Monday", "on Monday (March 4)"),
        *ORIGINAL[1:3],
        ORIGINAL[3],
        "Government soldiers patrol the waterfront in Velna on Monday. PHOTO: EPA",
        ORIGINAL[4].replace("town centre", "town center"),
        *ORIGINAL[5:8],
        "The Daily Courier was unable to independently verify the accounts given by either side.",
        "Join the Courier's Telegram channel and get the latest breaking news delivered to you.",
        "Read more: Explainer: who holds what along the river",
    ]
    v = d.check(story("g:2", syndicated, guid="courier-77", url="https://courier.example/velna",
                      title="Velna falls, army says, as thousands flee", feed="courier"))
    assert (v.status, v.kind) == ("duplicate", "near"), v
    assert v.duplicate_of == "https://wire.example/g:1"
    assert v.cluster_id == orig.cluster_id
    assert v.similarity is not None and v.similarity >= 0.5


def test_updated_version_passes_on_only_its_new_sentences() -> None:
    d = Deduplicator()
    orig = d.check(story("g:1", ORIGINAL, guid="1"))
    new_para = ("Later on Monday, the monitoring group said government forces had also taken the village of "
                "Orsk, five km north of the port.")
    changed = ORIGINAL[2].replace("at least 34 fighters", "at least 41 fighters")
    updated = [*ORIGINAL[:2], new_para, changed, *ORIGINAL[3:]]
    s = story("g:1b", updated, guid="1-update", title="UPDATE 1-Government forces take Velna port")
    v = d.check(s)
    assert (v.status, v.kind, v.duplicate_of, v.duplicate_of_id) == ("update", "update", orig.url, "g:1")
    assert v.cluster_id == orig.cluster_id
    got = [s.body[a:b] for a, b in v.changed_spans or []]
    # The new paragraph and the sentence whose toll changed, nothing else.
    assert got == [new_para, changed]
    # The update re-sent under another link adds nothing: a copy of the group's original.
    again = d.check(story("g:1c", updated, guid="1-update-2", url="https://wire.example/other-link"))
    assert (again.status, again.kind) == ("duplicate", "content")
    assert again.duplicate_of == orig.url


def test_negation_makes_a_sentence_new() -> None:
    d = Deduplicator()
    d.check(story("g:1", ORIGINAL, guid="1"))
    denial = ORIGINAL[3].replace("engineers were clearing", "engineers were not clearing")
    v = d.check(story("g:2", [*ORIGINAL[:3], denial, *ORIGINAL[4:]], guid="2"))
    assert v.status == "update"
    s = story("g:2", [*ORIGINAL[:3], denial, *ORIGINAL[4:]], guid="2")
    assert [s.body[a:b] for a, b in v.changed_spans or []] == [denial]


def test_different_story_sharing_dateline_and_stock_sentences_is_unique() -> None:
    d = Deduplicator()
    first = d.check(story("g:1", ORIGINAL, guid="1"))
    other = [
        "KARSTAD (Reuters) - Opposition fighters shot down a government helicopter near the town of Brask on "
        "Wednesday, killing its crew of four, a spokesman for the group said.",
        "The army said the aircraft had come down because of a technical fault during a supply flight and "
        "that an investigation was under way.",
        # stock background paragraphs shared with the first story
        ORIGINAL[2].replace("34 fighters", "12 soldiers").replace("since Friday", "this week"),
        ORIGINAL[6],
        "Brask lies in the foothills west of the capital and has been the scene of sporadic fighting for "
        "months, with neither side able to hold the ridge above it.",
        "Residents said they heard two explosions before the helicopter fell into a field outside the town.",
        ORIGINAL[-1],
    ]
    v = d.check(story("g:2", other, guid="2", published=T0 + timedelta(days=2),
                      title="Rebels say they shot down army helicopter near Brask"))
    assert v.status == "unique" and v.duplicate_of is None
    assert v.cluster_id != first.cluster_id


def test_replaying_the_same_feed_twice_adds_no_unique_story() -> None:
    d = Deduplicator()
    items = [
        story("g:1", ORIGINAL, guid="1"),
        story("g:2", ORIGINAL[:6], guid="2", url="https://other.example/velna", feed="other"),
        story("g:3", [*ORIGINAL[:3], "Later, officials said a second bridge had been blown up by retreating "
                      "fighters, cutting the road to the north.", *ORIGINAL[3:]], guid="3"),
        story("g:4", ["An unrelated report about the national football league, where the champions drew "
                      "1-1 at home on Saturday and slipped to third place in the table.",
                      "The coach said the team had missed too many chances."], guid="4"),
    ]
    first = [d.check(s).status for s in items]
    assert first.count("unique") == 2
    uniques_before = metrics.DEDUP_UNIQUE._value.get()
    second = [d.check(s) for s in items]
    assert all(v.status == "duplicate" for v in second)
    assert metrics.DEDUP_UNIQUE._value.get() == uniques_before
    assert [v.duplicate_of for v in second] == ["https://wire.example/g:1"] * 3 + ["https://wire.example/g:4"]


# ------------------------------------------------------------------ state
def test_eviction_forgets_old_stories_everywhere() -> None:
    store: dict[str, object] = {}
    d = Deduplicator(store, window_seconds=86400)
    d.check(story("g:1", ORIGINAL, guid="1", url="https://wire.example/old"))
    d.check(story("g:2", ORIGINAL[:7], guid="2", url="https://copy.example/old"))
    d.check(story("g:3", ["A later story about the harbour authority, which said on Tuesday that traffic "
                          "through the port rose by a fifth in the last quarter of the year."], guid="3",
                  published=T0 + timedelta(hours=20)))
    assert len(d) == 3
    assert d.evict(T0 + timedelta(hours=30)) == 2
    assert len(d) == 1
    assert not any("old" in str(v) or k.startswith(("s:g:1", "s:g:2")) for k, v in store.items())
    # The evicted story is new again once it has left the window.
    assert d.check(story("g:9", ORIGINAL, guid="9", published=T0 + timedelta(days=3))).status == "unique"
    assert d.evict(T0 + timedelta(days=10)) == 2
    assert len(d) == 0
    assert set(store) == {"meta"}


def test_bounded_eviction_forgets_the_oldest_first_and_goes_on_where_it_stopped() -> None:
    store: dict[str, object] = {}
    d = Deduplicator(store, window_seconds=86400)
    bodies = [[f"Story {i} says the {w} council met on Tuesday and agreed a budget of {i} million for roads."]
              for i, w in enumerate(("harbour", "river", "county", "city", "school"))]
    for i, body in enumerate(bodies):
        d.check(story(f"g:{i}", body, guid=str(i), url=f"https://wire.example/{i}",
                      published=T0 + timedelta(hours=i)))
    assert len(d) == 5
    later = T0 + timedelta(days=1, hours=3, minutes=30)  # g:0 .. g:3 have left the window
    assert d.evict(later, limit=2) == 2
    assert not any(k.startswith(("s:g:0", "s:g:1")) for k in store) and "s:g:2" in store
    assert d.evict(later, limit=2) == 2
    assert d.evict(later, limit=2) == 0  # fewer than the limit: the sweep is done
    assert len(d) == 1 and "s:g:4" in store
    with pytest.raises(ValueError, match=r"^limit must be at least 1, got 0$"):
        d.evict(later, limit=0)


def test_restart_from_the_store_behaves_like_the_running_worker() -> None:
    stream = [
        story("g:1", ORIGINAL, guid="1"),
        story("g:2", ORIGINAL[1:9], guid="2", url="https://copy.example/a", feed="copy"),
        story("g:3", [*ORIGINAL[:5], "Officials later said the toll had risen to at least 50.",
                      *ORIGINAL[5:]], guid="3"),
        story("g:4", ORIGINAL, guid="4", url="https://wire.example/g:1?utm_source=x"),
        story("g:1", ORIGINAL, guid="1"),
    ]
    running = Deduplicator({})
    expected = [running.check(s) for s in stream]

    store: dict[str, object] = {}
    first = Deduplicator(store)
    got = [first.check(s) for s in stream[:2]]
    # The store must survive a changelog round trip: JSON values only.
    restored = json.loads(json.dumps(store))
    second = Deduplicator(restored)
    assert len(second) == 2
    got += [second.check(s) for s in stream[2:]]
    assert [v.model_dump() for v in got] == [v.model_dump() for v in expected]


def test_store_written_with_other_settings_is_refused() -> None:
    store: dict[str, object] = {}
    Deduplicator(store, num_perm=128).check(story("g:1", ORIGINAL, guid="1"))
    with pytest.raises(DedupStateError):
        Deduplicator(store, num_perm=64).check(story("g:2", ORIGINAL, guid="2"))


def test_empty_body_matches_only_on_identity() -> None:
    d = Deduplicator()
    a = d.check(story("g:1", [], guid="1", url="https://wire.example/flash"))
    b = d.check(story("g:2", [], guid="2", url="https://wire.example/flash2"))
    assert a.status == b.status == "unique"
    assert d.check(story("g:1", [], guid="1", url="https://wire.example/flash")).kind == "guid"


def test_copy_cut_to_its_first_paragraphs_is_a_duplicate() -> None:
    d = Deduplicator()
    d.check(story("g:1", ORIGINAL, guid="1"))
    # Syndication that keeps only the top of the story: low Jaccard, full containment.
    v = d.check(story("g:2", ORIGINAL[:4], guid="2", url="https://brief.example/velna", feed="brief"))
    assert (v.status, v.kind, v.duplicate_of) == ("duplicate", "near", "https://wire.example/g:1")


def test_second_update_passes_on_only_what_the_first_did_not_say() -> None:
    d = Deduplicator()
    d.check(story("g:1", ORIGINAL, guid="1"))
    first_new = "Later on Monday, officials said the bridge north of the port had been blown up overnight."
    second_new = "On Tuesday, the monitoring group said the opposition had retaken the grain terminal."
    d.check(story("g:2", [*ORIGINAL[:3], first_new, *ORIGINAL[3:]], guid="2"))
    s = story("g:3", [*ORIGINAL[:3], first_new, second_new, *ORIGINAL[3:]], guid="3")
    v = d.check(s)
    assert v.status == "update" and v.duplicate_of_id == "g:1"
    assert [s.body[a:b] for a, b in v.changed_spans or []] == [second_new]


def test_story_edited_in_place_under_its_guid_is_an_update_of_itself() -> None:
    d = Deduplicator()
    d.check(story("g:1", ORIGINAL, guid="1"))
    extra = "The army later said it had also taken the northern suburb of Dalsk."
    s = story("g:1", [*ORIGINAL, extra], guid="1", published=T0 + timedelta(hours=2))
    v = d.check(s)
    assert (v.status, v.kind, v.duplicate_of_id) == ("update", "update", "g:1")
    assert [s.body[a:b] for a, b in v.changed_spans or []] == [extra]
    assert len(d) == 1
    assert d.check(s).status == "duplicate"


def test_item_a_feed_keeps_listing_stays_in_the_window() -> None:
    store: dict[str, object] = {}
    d = Deduplicator(store, window_seconds=7 * 86400)
    d.check(story("g:1", ORIGINAL, guid="1"))
    # The feed still lists the item five days later: the re-poll refreshes when it was seen.
    repoll = story("g:1", ORIGINAL, guid="1").model_copy(update={"fetched_at": T0 + timedelta(days=5)})
    assert d.check(repoll).kind == "guid"
    assert d.evict(T0 + timedelta(days=8)) == 0
    assert d.check(repoll).status == "duplicate"
    # An in-place edit changed its body hash: eviction still removes every key it owned.
    edited = story("g:1", [*ORIGINAL, "The army later said it had also taken the suburb of Dalsk."], guid="1")
    assert d.check(edited).status == "update"
    assert d.evict(T0 + timedelta(days=13)) == 1
    assert set(store) == {"meta"}


def test_metrics_count_stories_kinds_clusters_and_the_window() -> None:
    d = Deduplicator()
    seen, unique, clusters = (metrics.DEDUP_IN._value.get(), metrics.DEDUP_UNIQUE._value.get(),
                              metrics.DEDUP_CLUSTERS._value.get())
    kinds = {k: counter(k) for k in ("guid", "url", "content", "near", "update")}
    d.check(story("g:1", ORIGINAL, guid="1"))
    d.check(story("g:1", ORIGINAL, guid="1"))                                      # guid
    d.check(story("g:2", ORIGINAL, guid="2"))                                      # content
    d.check(story("g:3", ORIGINAL[:8], guid="3", url="https://o.example/x"))      # near
    d.check(story("g:4", [*ORIGINAL, "Officials later said the toll had risen to at least 50 people."],
                  guid="4"))                                                       # update
    assert metrics.DEDUP_IN._value.get() == seen + 5
    assert metrics.DEDUP_UNIQUE._value.get() == unique + 1
    assert metrics.DEDUP_CLUSTERS._value.get() == clusters + 1
    assert {k: counter(k) - v for k, v in kinds.items()} == {
        "guid": 1, "url": 0, "content": 1, "near": 1, "update": 1}
    assert metrics.DEDUP_WINDOW._value.get() == len(d) == 4


def test_reload_rebuilds_the_cache_from_a_store_changed_underneath() -> None:
    store: dict[str, object] = {}
    d = Deduplicator(store)
    d.check(story("g:1", ORIGINAL, guid="1"))
    other = Deduplicator(store)
    other.check(story("g:2", ["A separate report on the harbour authority, which said traffic through the "
                              "port rose by a fifth in the last quarter of the year."], guid="2"))
    d.reload()
    assert len(d) == 2
    v = d.check(story("g:3", ORIGINAL[:8], guid="3", url="https://o.example/x"))
    assert (v.status, v.duplicate_of_id) == ("duplicate", "g:1")


@pytest.mark.parametrize("kwargs", [
    {"window_seconds": 0}, {"near_threshold": 0}, {"cluster_threshold": 1.5},
    {"containment_threshold": -1}, {"num_perm": 100},
])
def test_bad_settings_are_refused_with_a_config_error(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        Deduplicator(**kwargs)  # type: ignore[arg-type]


def test_same_event_from_two_outlets_shares_a_cluster_but_is_not_a_duplicate() -> None:
    d = Deduplicator()
    a = d.check(story("g:a", [
        "Shelling killed 45 displaced people sheltering in a school in the Dorvan district of Velna on "
        "Wednesday, the Civil Defence rescue service said.",
        "Rescue workers pulled bodies from the rubble for hours, said Iro Mattis, a volunteer with the "
        "service, adding that many of the dead were children.",
        "The opposition blamed government artillery positioned on the hills south of the city.",
    ], guid="a", feed="dispatch", title="Shelling kills 45 in Velna's Dorvan"))
    b = d.check(story("g:b", [
        "At least 21 people were killed when shells hit a school housing families in Velna's Dorvan "
        "neighbourhood, the Independent Monitoring Group said on Wednesday.",
        "It was not immediately clear who fired the shells. The monitor said government forces were pushing "
        "into the nearby Kessa area at the time.",
    ], guid="b", feed="monitor", published=T0 + timedelta(hours=2), title="21 killed in Velna shelling"))
    c = d.check(story("g:c", [
        "Farmers in the Brask valley began the olive harvest on Wednesday, weeks later than usual because "
        "of the drought, the Brask agricultural cooperative said.",
        "Prices at the Karstad wholesale market rose by a tenth, traders said.",
    ], guid="c", feed="monitor", published=T0 + timedelta(hours=3), title="Late olive harvest in Brask"))
    assert a.status == b.status == c.status == "unique"
    assert b.cluster_id == a.cluster_id
    assert c.cluster_id != a.cluster_id
    # The same names two weeks later are another event.
    later = d.check(story("g:d", [
        "Shelling hit the Dorvan district of Velna again on Monday, killing three people in a school, "
        "the Civil Defence rescue service said."], guid="d", feed="dispatch",
        published=T0 + timedelta(days=14)))
    assert later.cluster_id != a.cluster_id


# ------------------------------------------------------------------ the exact fast path
def _slow(d: Deduplicator) -> Deduplicator:
    """The same deduplicator with the exact-copy short cut turned off."""
    d._exact = lambda story, raw: None  # type: ignore[method-assign]
    return d


def test_exact_copies_are_decided_without_building_features(monkeypatch: pytest.MonkeyPatch) -> None:
    d = Deduplicator()
    first = story("g:1", ORIGINAL, guid="tag:wire,2024:1")
    assert d.check(first).status == "unique"
    built: list[str] = []
    real = d._features
    monkeypatch.setattr(d, "_features", lambda s, raw: built.append(s.story_id) or real(s, raw))
    resent = d.check(story("g:1", ORIGINAL, guid="tag:wire,2024:1", published=T0 + timedelta(hours=2)))
    reposted = d.check(story("g:2", ORIGINAL, url=first.url + "?utm_source=x", guid="other"))
    copied = d.check(story("g:3", ORIGINAL, url="https://mirror.example/velna"))
    assert [(v.kind, v.duplicate_of, v.similarity) for v in (resent, reposted, copied)] == [
        ("guid", first.url, 1.0), ("url", first.url, 1.0), ("content", first.url, 1.0)]
    assert built == []
    # a changed body is never taken for an exact copy: it may be an update
    edited = d.check(story("g:1", [*ORIGINAL[:2], "Fighting resumed on Tuesday near the grain terminal, "
                                   "witnesses said, as reinforcements arrived from the south.", *ORIGINAL[2:]],
                           guid="tag:wire,2024:1"))
    assert (edited.status, built) == ("update", ["g:1"])


def test_fast_path_gives_the_verdicts_and_the_store_of_the_full_path() -> None:
    other = ["MIRSK (Reuters) - " + p.replace("Velna", "Dorvik").replace("34", "12") for p in ORIGINAL[1:-1]]
    update = [*ORIGINAL[:3], "The army said on Tuesday it had also taken the village of Ostrel, ten "
              "kilometres upstream, and that 41 fighters had been killed.", *ORIGINAL[3:]]
    seq = [
        story("g:a", ORIGINAL), story("g:b", other, published=T0 + timedelta(hours=1)),
        story("g:a", ORIGINAL, published=T0 + timedelta(hours=3)),               # re-poll
        story("g:c", ORIGINAL, url="https://wire.example/g:a?utm_medium=rss"),  # re-posted link
        story("g:d", ORIGINAL, url="https://copy.example/1"),                   # same body elsewhere
        story("g:e", [*ORIGINAL, "Sign up for our newsletter."], url="https://copy.example/2"),  # footer
        story("g:a", update, published=T0 + timedelta(hours=5)),                # edited in place
        story("g:f", ORIGINAL, url="https://copy.example/3"),                   # the old body again
        story("g:a", ORIGINAL, published=T0 + timedelta(hours=6)),              # reverted
        story("g:g", update, url="https://copy.example/4"),
        story("g:h", other, url="https://copy.example/5", published=T0 + timedelta(hours=7)),
        story("g:b", other, published=T0 + timedelta(hours=9)),
        story("u:x", [], url="https://wire.example/empty"), story("u:x", [], url="https://wire.example/empty"),
        story("g:i", [], url="https://wire.example/empty2"),
    ]
    fast, slow = Deduplicator(), _slow(Deduplicator())
    for s in seq:
        assert fast.check(s) == slow.check(s), s.story_id
    assert json.dumps(dict(fast.store), sort_keys=True) == json.dumps(dict(slow.store), sort_keys=True)
    # and workers restarted on that store agree, taking the short cut from the stored records
    fast2 = Deduplicator(json.loads(json.dumps(dict(fast.store))))
    slow2 = _slow(Deduplicator(json.loads(json.dumps(dict(slow.store)))))
    for s in [*seq[2:6], story("g:j", update, url="https://copy.example/6")]:
        assert fast2.check(s) == slow2.check(s), s.story_id


def test_paragraph_memo_gives_the_features_of_the_whole_body() -> None:
    from wirewatch.processor.dedup.boilerplate import content_paragraphs
    from wirewatch.processor.dedup.shingles import digest, sentences, tokens

    dateline = "KARSTAD (Reuters) - Forces said they held the Ostrel crossing after two days of fighting."
    bodies = [
        body(ORIGINAL),
        body([dateline, *ORIGINAL[1:4]]),   # the same paragraph first (dateline cut) ...
        body([ORIGINAL[2], dateline, *ORIGINAL[4:6]]),  # ... and later (kept whole)
        body(["Read more: our coverage", dateline, "Şehir Ελλάδα Σ naïve café (Nov 8) U.S. Mr Smith."]),
        body(["By Anna Smith", "PHOTO: EPA"]), "", "   \n\n  ",
    ]
    d = Deduplicator()
    for text in bodies * 2:  # cold, then from the memo
        s = story("g:x", [text])
        f = d._features(s, "r")
        sents = [x for p in content_paragraphs(text) for x in sentences(p)]
        raw = [tokens(x.text) for x in sents]
        words = " ".join(w for r in raw for w in r).lower()
        assert f.sentences == sents
        assert f.n_words == [len(r) for r in raw]
        assert f.body_hash == (digest([words]) if words else None)
        assert f.stream.encode() == TokenStream.from_tokens(raw).encode()
        assert f.terms == event_terms(raw, 60)


def test_token_streams_keep_counts_over_16_bits_and_read_what_was_stored_before() -> None:
    def stream(lengths: list[int]) -> TokenStream:
        total = sum(lengths)
        return TokenStream(np.array(lengths), np.arange(total) % 65536, np.arange(total) % 3 == 0)

    for lengths in ([70_000, 5], [1] * 70_000, [65_535], []):
        back = TokenStream.decode(stream(lengths).encode())
        assert back.lengths.tolist() == lengths
        assert back.h16.tolist() == (np.arange(sum(lengths)) % 65536).tolist()
        assert back.sig.tolist() == (np.arange(sum(lengths)) % 3 == 0).tolist()
    # A story without full stops: one 90,000-word sentence (its count wrapped to 24,464 before).
    d = Deduplicator()
    d.check(story("long", [" ".join(f"w{i % 5000}" for i in range(90_000))]))
    stored = TokenStream.decode(d.store["s:long"]["k"])
    assert stored.lengths.tolist() == [90_000]
    # Streams of ordinary stories are encoded as they always were (stores stay readable).
    small = stream([3, 2])
    assert small.encode() == base64.b64encode(
        np.array([2, 3, 2], "<u2").tobytes() + np.arange(5).astype("<u2").tobytes()
        + np.packbits(np.arange(5) % 3 == 0).tobytes()).decode()

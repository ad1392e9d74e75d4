"""The processor's watchdogs: when to look for a stall and what counts as one; holes in a partition's offsets."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from wirewatch.processor.stream.watchdog import Continuity, Skip, Watchdog


class TP(NamedTuple):
    topic: str
    partition: int


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_due_only_when_quiet_for_the_period_and_nothing_in_flight() -> None:
    clock = Clock()
    dog = Watchdog(60, clock=clock)
    clock.now += 59
    assert not dog.due()
    clock.now += 2
    assert dog.due()
    dog.started()  # a long NLP batch is work, not a stall
    clock.now += 299
    assert not dog.due()
    clock.now += 1  # five stall periods in one handler: a send that never completes
    assert dog.due()
    dog.finished()
    assert not dog.due()
    clock.now += 60
    assert dog.due()


def test_zero_disables_and_negative_is_refused() -> None:
    clock = Clock()
    dog = Watchdog(0, clock=clock)
    clock.now += 10**6
    assert not dog.due()
    with pytest.raises(ValueError, match="stall_seconds must be >= 0, got -1"):
        Watchdog(-1)


def test_judge_names_the_partitions_with_records_waiting() -> None:
    clock = Clock()
    dog = Watchdog(30, clock=clock)
    clock.now += 45
    raw, unique, claims = TP("w.raw", 0), TP("w.unique", 1), TP("w.claims", 2)
    ends = {raw: 13, unique: 12, claims: 0}
    # raw read to its end; unique read up to offset 4 (next 5); claims empty and never read
    stall = dog.judge(ends, {raw: 13, unique: 5, claims: None})
    assert stall is not None
    assert stall.waiting == {"w.unique[1]@5": 7}
    assert stall.describe() == "nothing handled for 45s while w.unique[1]@5 (7 waiting)"
    assert dog.judge({raw: 13}, {raw: 13}) is None
    # a partition never read nor committed counts from its start
    assert dog.judge({claims: 3}, {claims: None}).waiting == {"w.claims[2]@0": 3}  # type: ignore[union-attr]


def test_continuity_names_the_records_a_consumer_moved_past() -> None:
    raw, unique = TP("w.raw", 0), TP("w.unique", 1)
    seen = Continuity()
    assert [seen.see(raw, o) for o in (4, 5, 6)] == [None, None, None]  # the first offset is the baseline
    skip = seen.see(raw, 10)  # 7, 8 and 9 never reached the agent
    assert skip == Skip("w.raw[0]", 7, 10)
    assert skip.describe() == "w.raw[0]: records @7..9 were skipped by the consumer (the agent got @10 next)"
    assert seen.see(raw, 11) is None  # reported once, from the new position on
    assert seen.see(raw, 3) is None and seen.see(raw, 4) is None  # re-delivery is at-least-once, not a hole
    assert seen.see(unique, 100) is None  # each partition has its own baseline
    seen.reset()  # a rebalance: the next record of each partition is a new baseline
    assert seen.see(raw, 50) is None and seen.see(unique, 7) is None

"""Notice a processor that has work waiting but has stopped taking it, or that skipped some.

faust-streaming's consumer can wedge after a rebalance (a member dies or
leaves while this one is busy): the worker stays in the group, heartbeats, and
never fetches again, so stories queue up unseen.  The watchdog compares what
the worker owns and has read with the log ends (read from a fetch, see
:mod:`wirewatch.offsets`) once nothing has been handled for a while; a stall is
reported with where every task waits, and the worker is restarted when it runs
under a supervisor of its own (`wirewatch processor`), which is safe because
state is recovered from changelogs and every output id is deterministic.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

STUCK_FACTOR = 5  # a handler running this many stall periods is stuck, not busy


@dataclass
class Stall:
    """Partitions with records waiting beyond what this worker has read."""

    idle_seconds: float
    waiting: dict[str, int]  # "topic[partition]@next_offset" -> records waiting

    def describe(self) -> str:
        parts = ", ".join(f"{where} ({n} waiting)" for where, n in sorted(self.waiting.items()))
        return f"nothing handled for {self.idle_seconds:.0f}s while {parts}"


@dataclass
class Watchdog:
    """Tracks handler activity; :meth:`due` says when to look at offsets, :meth:`judge` decides."""

    stall_seconds: float
    clock: Any = time.monotonic
    inflight: int = 0
    last_activity: float = field(default=0.0)

    def __post_init__(self) -> None:
        if self.stall_seconds < 0:
            raise ValueError(f"stall_seconds must be >= 0, got {self.stall_seconds}")
        self.last_activity = self.clock()

    def started(self) -> None:
        self.inflight += 1
        self.last_activity = self.clock()

    def finished(self) -> None:
        self.inflight = max(0, self.inflight - 1)
        self.last_activity = self.clock()

    def reset(self) -> None:
        """A (re)assignment completed: the quiet period starts now."""
        self.last_activity = self.clock()

    def idle(self) -> float:
        return self.clock() - self.last_activity

    def due(self) -> bool:
        """Worth checking offsets: enabled, and quiet for ``stall_seconds`` with no handler
        running, or for ``STUCK_FACTOR`` times that with one (a long NLP batch is work; a
        send that never completes, after faust's producer failed, is a stall)."""
        if self.stall_seconds <= 0:
            return False
        quiet = self.stall_seconds if self.inflight == 0 else self.stall_seconds * STUCK_FACTOR
        return self.idle() >= quiet

    def judge(self, ends: Mapping[Any, int], next_offsets: Mapping[Any, int | None]) -> Stall | None:
        """A :class:`Stall` if any owned partition's end is past the next offset to read."""
        waiting: dict[str, int] = {}
        for tp, end in ends.items():
            nxt = next_offsets.get(tp) or 0  # nothing read or committed: from the start
            if end > nxt:
                waiting[f"{tp.topic}[{tp.partition}]@{nxt}"] = end - nxt
        return Stall(self.idle(), waiting) if waiting else None


@dataclass
class Skip:
    """Records of a stage partition that never reached its agent: the consumer moved past them."""

    where: str  # "topic[partition]"
    expected: int
    got: int

    def describe(self) -> str:
        return (f"{self.where}: records @{self.expected}..{self.got - 1} were skipped by the consumer "
                f"(the agent got @{self.got} next)")


class Continuity:
    """Checks that each stage partition's records reach its agent in offset order with no hole.

    A record whose offset is past the one after the last seen leaves a hole: records
    dropped between the broker and the agent, or offsets that hold no records (transaction
    markers of another producer, compaction), which the caller tells apart by asking the
    broker.  Re-delivery (an offset at or below one seen) is at-least-once delivery, not a
    fault.  The baseline is reset on every rebalance; after one it is where the consumer
    starts (:meth:`expect`: the committed offset), else the first record seen.
    """

    def __init__(self) -> None:
        self._next: dict[Any, int] = {}

    def reset(self) -> None:
        self._next.clear()

    def knows(self, tp: Any) -> bool:
        """Whether ``tp`` has a baseline (a record seen, or :meth:`expect`)."""
        return tp in self._next

    def expect(self, tp: Any, offset: int) -> None:
        """The baseline of ``tp`` before its first record: where its consumer starts."""
        self._next.setdefault(tp, offset)

    def see(self, tp: Any, offset: int) -> Skip | None:
        expected = self._next.get(tp)
        self._next[tp] = offset + 1
        if expected is not None and offset > expected:
            return Skip(f"{tp.topic}[{tp.partition}]", expected, offset)
        return None

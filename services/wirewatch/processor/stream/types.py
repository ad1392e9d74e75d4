"""The stage runner's vocabulary: what goes in and out of a stage, and the ports it runs against.

:class:`~wirewatch.processor.stream.runner.StageRunner` knows only these types.  The faust
shell (:mod:`wirewatch.processor.stream.app`) implements the ports with topics and tables;
`wirewatch replay` and the tests implement them in memory
(:mod:`wirewatch.processor.stream.runner`, :class:`~wirewatch.processor.stream.staged.StagedStore`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from pydantic import BaseModel

from ...errors import MessageTooLarge
from ...limits import MAX_MESSAGE_BYTES, RECORD_OVERHEAD_BYTES
from ...models import _Model


@dataclass(frozen=True)
class Record:
    """One input message and where it came from (what a dead letter names).

    ``value`` is the message's bytes in the service; in memory (replay) it may be the
    model an earlier stage produced, handed over as it is.
    """

    value: bytes | BaseModel | None
    topic: str
    partition: int | None = None
    offset: int | None = None
    key: bytes | None = None


@dataclass(frozen=True)
class Outbound:
    """A message a stage wants sent: to a destination named by the stage (``"unique"``,
    ``"claims"``, ...), which the publisher maps to a topic."""

    dest: str
    key: str
    value: _Model
    headers: Mapping[str, bytes] | None = None

    @cached_property
    def payload(self) -> bytes:
        """The value as its topic carries it (encoded once: for the size check and the send)."""
        return self.value.to_json_bytes()

    def size(self) -> int:
        """What a producer counts against its max_request_size, and a little more."""
        headers = sum(len(k.encode()) + len(v) for k, v in (self.headers or {}).items())
        return len(self.key.encode()) + len(self.payload) + headers + RECORD_OVERHEAD_BYTES

    def check_size(self) -> None:
        """Refuse a message over the cap here, before the send, rather than at the producer
        (where faust's buffer would raise it outside the stage's failure handling)."""
        size = self.size()
        if size > MAX_MESSAGE_BYTES:
            raise MessageTooLarge(f"{type(self.value).__name__} for {self.dest!r} is {size} bytes, "
                                  f"over the {MAX_MESSAGE_BYTES} byte cap")


@dataclass
class Staged:
    """What a stage's step did with one input: the messages to send, and a note for
    whoever watches commits (dedup's verdict, which nothing sends)."""

    out: list[Outbound] = field(default_factory=list)
    note: Any = None


class StateStore(Protocol):
    """A stage's state: a mapping whose writes stay staged until :meth:`commit`."""

    def commit(self) -> None:
        """Apply the staged writes."""

    def rollback(self) -> None:
        """Drop every staged write."""

    def savepoint(self) -> Any:
        """What is staged now, for :meth:`rollback_to`."""

    def rollback_to(self, savepoint: Any) -> None:
        """Drop the writes staged since ``savepoint``."""


class Publisher(Protocol):
    """Where a stage's messages go."""

    async def send(self, message: Outbound) -> Awaitable[Any]:
        """Queue ``message``; returns the broker's acknowledgement, to await (it raises if
        the message is refused)."""

    async def drained(self) -> None:
        """Return once what was queued (a sweep's deletions included) is back to a
        bounded backlog, so that a long sweep does not queue every stage behind it."""


class DeadLetters(Protocol):
    """Where an input that failed goes, with its error; processing goes on."""

    async def dead_letter(self, stage: str, record: Record, exc: BaseException) -> None:
        """Record ``record``'s failure; raising stops the runner (nothing of its batch is committed)."""


class Stage(Protocol):
    """One stage of the processor as the runner drives it.

    ``decode`` turns a record's value into the stage's input (failure: that input alone
    is dead-lettered); ``prepare`` does the batch's work that is not per input (extraction:
    one NLP call); ``step`` decides one input, writing to the stage's state store, and
    returns what to send (failure: its writes are undone and it is dead-lettered alone).
    The methods with bodies are defaults for stages that need nothing there.
    """

    name: str
    batch_size: int

    def decode(self, value: bytes | BaseModel | None) -> Any: ...

    async def prepare(self, items: Sequence[Any]) -> Sequence[Any]:
        return items

    def step(self, item: Any) -> Staged: ...

    def reload(self) -> None:
        """The store's staged writes were rolled back: rebuild what caches them."""
        return None

    def checkpoint(self) -> Any:
        """The stage's own progress outside the store (the ledger's clock), at a batch's start."""
        return None

    def restore(self, checkpoint: Any) -> None:
        """Go back to ``checkpoint`` (the batch is handled again, one input at a time)."""
        return None

"""The at-least-once protocol of one stage, written once, without faust.

A batch of input records goes: decode -> the stage's batch work -> per input, a step that
stages its state writes and queues its messages -> every acknowledgement -> commit.
The caller acks the batch's input offsets after :meth:`StageRunner.run` returns.

- An input that cannot be decoded or stepped is dead-lettered alone; its staged writes
  are undone, and processing goes on.  So is one with a message over the size cap: every
  message is measured before any of its input's messages is sent (never refused by a
  producer), and a send that raises is the input's failure too.
- A message the broker refuses: a stage without state dead-letters the inputs whose
  messages were refused.  A stage with state rolls the whole batch back (its inputs'
  writes built on each other) and handles its inputs again one at a time, each committed
  once its own messages are acknowledged, so only the input whose message cannot be
  sent is dead-lettered and none is remembered without its output.  The others' messages
  may be sent twice; output ids are deterministic.
- Cancelled, or the dead-letter sink raised: nothing of the batch stays staged and the
  exception propagates; the batch is not acked, and is read again after a restart.  (The
  service's sink, :class:`~wirewatch.processor.stream.stages.DeadLetterTopic`, does not raise when
  a dead letter cannot be sent: it counts and logs it, and processing goes on.)

A sweep (:meth:`StageRunner.sweep`) shares the runner's lock, so it never commits a
decision whose messages are not yet acknowledged.

The faust shell and `wirewatch replay` both drive this class; the ports it runs against
are in :mod:`wirewatch.processor.stream.types`, and in-memory ones are below.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ... import metrics
from .types import DeadLetters, Outbound, Publisher, Record, Stage, Staged, StateStore

OnCommit = Callable[[Record, Staged], None]


class StageRunner:
    """Runs batches of one stage against a state store (or none), a publisher and a
    dead-letter sink.

    ``store`` is the store the stage's step writes through (the one its pipeline was built
    over); a stage without one keeps no state.  ``on_commit`` sees each input whose writes
    were committed and messages acknowledged, with what its step returned.
    """

    def __init__(self, stage: Stage, *, publisher: Publisher, dead_letters: DeadLetters,
                 store: StateStore | None = None, on_commit: OnCommit | None = None) -> None:
        self.stage = stage
        self.store = store
        self.publisher = publisher
        self.dead_letters = dead_letters
        self.on_commit = on_commit
        # Held from a batch's first step to its commit, and by each sweep step: a sweep
        # commits its own writes and must not commit a step whose messages are in flight.
        self.lock = asyncio.Lock()

    async def run(self, records: Sequence[Record]) -> None:
        """Handle one batch; returns once every input's messages are acknowledged or the
        input is dead-lettered."""
        stage, store = self.stage, self.store
        done: list[tuple[Record, Any, Staged]] = []
        failed: list[tuple[Record, BaseException]] = []
        async with self.lock:
            try:
                decoded: list[tuple[Record, Any]] = []
                for record in records:
                    try:
                        decoded.append((record, stage.decode(record.value)))
                    except Exception as exc:  # nothing written yet: nothing to undo
                        await self._dead(record, exc)
                prepared = await stage.prepare([item for _, item in decoded])
                checkpoint = stage.checkpoint()
                acks: list[list[Awaitable[Any]]] = []
                abandoned: list[Awaitable[Any]] = []  # sends of an input that failed half way
                for (record, _), item in zip(decoded, prepared, strict=True):
                    mark = store.savepoint() if store is not None else None
                    sent: list[Awaitable[Any]] = []
                    try:
                        staged = stage.step(item)
                        _check_sizes(staged)
                        for message in staged.out:
                            sent.append(await self.publisher.send(message))
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        abandoned += sent
                        if store is not None:
                            store.rollback_to(mark)
                            stage.reload()
                        await self._dead(record, exc)
                        continue
                    done.append((record, item, staged))
                    acks.append(sent)
                outcomes = (await _settle([*acks, abandoned]))[:-1]  # (the abandoned sends' outcome: nobody's)
            except BaseException:
                if store is not None:
                    store.rollback()
                    stage.reload()
                raise
            failed = [(record, exc) for (record, _, _), exc in zip(done, outcomes, strict=True) if exc is not None]
            if not failed:
                if store is not None:
                    store.commit()
            elif store is not None:  # a refused message: handle the batch again one input at a time
                store.rollback()
                stage.reload()
                stage.restore(checkpoint)
        if failed and store is not None:
            await self._one_by_one([(record, item) for record, item, _ in done])
            return
        refused = {id(record) for record, _ in failed}
        for record, error in failed:
            await self._dead(record, error)
        for record, _, staged in done:
            if id(record) not in refused:
                self._committed(record, staged)

    async def _one_by_one(self, inputs: Sequence[tuple[Record, Any]]) -> None:
        """A rolled-back batch's retry: each input committed on its own, a failure dead-lettered alone."""
        for record, item in inputs:
            try:
                staged = await self._one(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._dead(record, exc)
                continue
            self._committed(record, staged)

    async def _one(self, item: Any) -> Staged:
        store = self.store
        assert store is not None  # only stages with state retry
        async with self.lock:
            try:  # the store holds nothing staged here: the batch was rolled back
                staged = self.stage.step(item)
                _check_sizes(staged)
                await _acknowledged([await self.publisher.send(m) for m in staged.out])
            except BaseException:
                store.rollback()
                self.stage.reload()
                raise
            store.commit()
        return staged

    async def sweep(self, step: Callable[[int], int], chunk: int) -> int:
        """Run a state sweep in steps of at most ``chunk`` removals until one removes fewer.

        Each step runs and commits under the lock, then the runner yields to the event
        loop and waits for the publisher to drain (a step's deletions go to the table's
        changelog), so other stages keep going during a long sweep.  Returns the total.
        """
        store = self.store
        assert store is not None, "a sweep needs a state store"
        total = 0
        while True:
            async with self.lock:
                with metrics.SWEEP_SECONDS.labels(stage=self.stage.name).time():
                    n = step(chunk)
                    store.commit()
            total += n
            if n < chunk:
                return total
            await asyncio.sleep(0)
            await self.publisher.drained()

    async def _dead(self, record: Record, exc: BaseException) -> None:
        await self.dead_letters.dead_letter(self.stage.name, record, exc)

    def _committed(self, record: Record, staged: Staged) -> None:
        if self.on_commit is not None:
            self.on_commit(record, staged)


def _check_sizes(staged: Staged) -> None:
    """Every message of an input within the cap, or none sent: MessageTooLarge dead-letters the input."""
    for message in staged.out:
        message.check_size()


async def _settle(groups: Sequence[Sequence[Awaitable[Any]]]) -> list[BaseException | None]:
    """Await every acknowledgement; per group, its first failure or None.  Cancellation
    (of this task or of an acknowledgement) propagates."""
    flat = await asyncio.gather(*(a for group in groups for a in group), return_exceptions=True)
    outcomes: list[BaseException | None] = []
    i = 0
    for group in groups:
        results = flat[i:i + len(group)]
        i += len(group)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result
        outcomes.append(next((r for r in results if isinstance(r, BaseException)), None))
    return outcomes


async def _acknowledged(futures: Sequence[Awaitable[Any]]) -> None:
    """Wait for every send; raise the first failure (after all are done, so none is left
    with an exception nobody retrieved)."""
    for outcome in await asyncio.gather(*futures, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome


# ---------------------------------------------------------------- in-memory ports
class MemoryPublisher:
    """Keeps every message sent, in order; acknowledges at once."""

    def __init__(self) -> None:
        self.sent: list[Outbound] = []

    async def send(self, message: Outbound) -> Awaitable[Any]:
        self.sent.append(message)
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ack.set_result(None)
        return ack

    async def drained(self) -> None:
        return None

    def take(self, dest: str) -> list[Outbound]:
        """The messages sent to ``dest``, in order, removed from :attr:`sent`."""
        taken = [m for m in self.sent if m.dest == dest]
        self.sent = [m for m in self.sent if m.dest != dest]
        return taken


class StopOnFailure:
    """Dead letters for a run that must not go on past a failure (replay): re-raises it."""

    async def dead_letter(self, stage: str, record: Record, exc: BaseException) -> None:
        raise exc


def records_of(messages: Sequence[Outbound]) -> list[Record]:
    """What a stage downstream reads of ``messages``, handed over in memory."""
    return [Record(m.value, m.dest, 0, offset, m.key.encode()) for offset, m in enumerate(messages)]

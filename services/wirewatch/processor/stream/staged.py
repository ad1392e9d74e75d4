"""A table seen through a write buffer: the state store of a stage runner.

It implements :class:`~wirewatch.processor.stream.types.StateStore` over any mapping: a faust
Table in the service, a dict in replay and in the tests.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

_DELETED = object()
_ABSENT = object()  # (in the undo log: the key had nothing staged)


class StagedStore(MutableMapping[str, Any]):
    """A table seen through a write buffer that is applied only by :meth:`commit`.

    Dedup and the ledger write their state while deciding; the stage runner commits
    it only after what they decided (a unique story, an alert) is acknowledged by
    the broker.  A worker killed in between then re-decides the same way after a
    restart (same deterministic ids) instead of remembering a decision whose
    output was never sent.
    """

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self.table = table
        self.pending: dict[str, Any] = {}
        # per staged write, what the key had staged before it: a savepoint is a position
        # here, so taking one per input costs nothing however large the batch
        self._undo: list[tuple[str, Any]] = []

    def __getitem__(self, key: str) -> Any:
        if key in self.pending:
            value = self.pending[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        return self.table[key]

    def get(self, key: str, default: Any = None) -> Any:
        # (Mapping.get goes through a KeyError for each key the table lacks, and a dedup
        # check looks up several that are not there)
        if key in self.pending:
            value = self.pending[key]
            return default if value is _DELETED else value
        if key not in self.table:
            return default
        return self.table[key]

    def setdefault(self, key: str, default: Any = None) -> Any:
        # (MutableMapping.setdefault also goes through a KeyError per missing key: dedup
        # sets its lookup keys this way, most of them new)
        value = self.get(key, _ABSENT)
        if value is _ABSENT:
            self[key] = value = default
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._undo.append((key, self.pending.get(key, _ABSENT)))
        self.pending[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._undo.append((key, self.pending.get(key, _ABSENT)))
        self.pending[key] = _DELETED

    def __contains__(self, key: object) -> bool:
        if key in self.pending:
            return self.pending[key] is not _DELETED
        return key in self.table

    def __iter__(self) -> Iterator[str]:
        for key in self.table:
            if key not in self.pending:
                yield key
        for key, value in list(self.pending.items()):
            if value is not _DELETED:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def commit(self) -> None:
        pending, self.pending = self.pending, {}
        self._undo = []
        for key, value in pending.items():
            if value is _DELETED:
                self.table.pop(key, None)
            else:
                self.table[key] = value

    def rollback(self) -> None:
        self.pending = {}
        self._undo = []

    def savepoint(self) -> int:
        """Where the staged writes are now, for :meth:`rollback_to`."""
        return len(self._undo)

    def rollback_to(self, savepoint: int) -> None:
        """Undo the writes staged since ``savepoint``, the latest first."""
        undo, pending = self._undo, self.pending
        while len(undo) > savepoint:
            key, before = undo.pop()
            if before is _ABSENT:
                del pending[key]
            else:
                pending[key] = before

"""A table seen through a write buffer: the state store of a stage runner.

It implements :class:`~wirewatch.processor.stream.types.StateStore` over any mapping: a faust
Table in the service, a dict in replay and in the tests.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

_DELETED = object()


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

    def __getitem__(self, key: str) -> Any:
        if key in self.pending:
            value = self.pending[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        return self.table[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.pending[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
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
        for key, value in pending.items():
            if value is _DELETED:
                self.table.pop(key, None)
            else:
                self.table[key] = value

    def rollback(self) -> None:
        self.pending = {}

    def savepoint(self) -> dict[str, Any]:
        """What is staged now, for :meth:`rollback_to` (a copy: later writes do not change it)."""
        return dict(self.pending)

    def rollback_to(self, savepoint: dict[str, Any]) -> None:
        self.pending = dict(savepoint)

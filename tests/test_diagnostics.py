"""The SIGUSR2 task dump follows awaits through async generators, where faust agents wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from wirewatch import diagnostics


async def _ticks() -> AsyncIterator[None]:
    while True:
        yield await asyncio.sleep(30)


async def _consume() -> None:
    async for _ in _ticks():
        pass


def test_dump_reaches_into_async_generators() -> None:
    async def main() -> str:
        task = asyncio.create_task(_consume(), name="consumer-under-test")
        await asyncio.sleep(0.05)
        try:
            return diagnostics.dump_tasks()
        finally:
            task.cancel()

    dump = asyncio.run(main())
    section = dump.split("task consumer-under-test:", 1)[1].split("task ", 1)[0]
    assert "in _consume" in section and "in _ticks" in section and "in sleep" in section, dump

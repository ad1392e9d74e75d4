"""`kill -USR2 <pid>`: log where every asyncio task of a running service is waiting.

mode's SIGUSR1 dump stops at the first ``async for`` (an ``async_generator_asend``
hides its generator), which is exactly where faust agents and the consumer's
drain loop wait; this follows the chain through async generators too.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import types
from typing import Any

log = logging.getLogger(__name__)

MAX_DEPTH = 40


def _next(obj: Any) -> tuple[types.FrameType | None, Any]:
    """(frame, what it awaits) for a coroutine, generator, async generator or asend wrapper."""
    if isinstance(obj, types.CoroutineType):
        return obj.cr_frame, obj.cr_await
    if isinstance(obj, types.AsyncGeneratorType):
        return obj.ag_frame, obj.ag_await
    if isinstance(obj, types.GeneratorType):
        return obj.gi_frame, obj.gi_yieldfrom
    # Wrappers (async_generator_asend, coroutine_wrapper, ...) keep what they
    # drive only as a C field; the GC can see it.
    inner = [r for r in gc.get_referents(obj)
             if isinstance(r, types.CoroutineType | types.AsyncGeneratorType | types.GeneratorType)]
    return None, inner[0] if inner else None


def await_chain(task: asyncio.Task[Any]) -> list[str]:
    """``file:line in function`` from the task's coroutine down to what it waits on."""
    lines: list[str] = []
    obj: Any = task.get_coro()
    for _ in range(MAX_DEPTH):
        if obj is None:
            break
        frame, nxt = _next(obj)
        if frame is not None:
            lines.append(f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        elif nxt is None:
            lines.append(repr(obj)[:200])
        obj = nxt
    return lines


def dump_tasks() -> str:
    """Every pending task of every event loop in the process (faust's consumer runs its own, in a thread)."""
    by_loop: dict[int, list[asyncio.Task[Any]]] = {}
    # From the GC rather than asyncio.all_tasks(loop): that sees only tasks asyncio
    # registered, and finds none of another thread's loop here.
    for obj in gc.get_objects():
        if isinstance(obj, asyncio.Task) and not obj.done():
            by_loop.setdefault(id(obj.get_loop()), []).append(obj)
    out = []
    for n, tasks in enumerate(by_loop.values()):
        out.append(f"loop {n}: {len(tasks)} tasks")
        for task in sorted(tasks, key=lambda t: t.get_name()):
            out.append(f"  task {task.get_name()}:")
            out.extend(f"      {line}" for line in await_chain(task))
    return "\n".join(out)


def log_dump() -> None:
    """Log :func:`dump_tasks` at WARNING (the processor's SIGUSR2 handler)."""
    log.warning("asyncio tasks (SIGUSR2):\n%s", dump_tasks())

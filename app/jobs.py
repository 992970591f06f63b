"""Latest-wins background work: a new request supersedes the ones before it.

Widgets can change faster than layers compute (a slider dragged, a map panned). Queuing every
change would show stale images for seconds; instead each change starts a new *generation*, and
work belonging to an older generation is dropped at its next checkpoint: before it starts, and
after each step. The work runs in one worker thread per dashboard, so the server's event loop
stays free to receive the next change.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Result = TypeVar("Result")


class SupersededError(Exception):
    """The work's generation is no longer the latest: its result would be stale."""


class LatestOnly:
    """Generations and a one-thread executor that skips superseded work."""

    def __init__(self, name: str = "composite-explorer") -> None:
        self.generation = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.skipped = 0

    def next_generation(self) -> int:
        """Start a new generation; everything older becomes stale."""
        self.generation += 1
        return self.generation

    def is_current(self, generation: int) -> bool:
        return generation == self.generation

    def check(self, generation: int) -> None:
        """Raise :class:`SupersededError` if ``generation`` is stale."""
        if not self.is_current(generation):
            self.skipped += 1
            raise SupersededError(generation)

    async def run(self, generation: int, work: Callable[[], Result]) -> Result:
        """Run ``work`` in the worker thread unless it is stale by the time its turn comes;
        raise :class:`SupersededError` if it became stale meanwhile."""
        self.check(generation)
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            self._executor, functools.partial(self._guarded, generation, work)
        )
        self.check(generation)
        return result

    def _guarded(self, generation: int, work: Callable[[], Result]) -> Result:
        # Work queued behind a long computation may be stale when its turn comes: skip it.
        self.check(generation)
        return work()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

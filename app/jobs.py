"""Background work: latest-wins per session, bounded and fair across sessions.

Widgets can change faster than layers compute (a slider dragged, a map panned). Queuing every
change would show stale images for seconds; instead each change starts a new *generation*, and
work belonging to an older generation is dropped at its next checkpoint: before it starts, and
after each step (:class:`LatestOnly`). A superseded job never cancels a computation already
under way: another session may be waiting for the same result (see :mod:`app.cache`).

Every session's steps run in one process-wide thread pool (:data:`WORKERS`), so thirty sessions
cost no more threads than one, and the server's event loop stays free to receive the next
change. What is expensive (a cache miss: loading images, a cloud mask, a composite) also takes
one of :data:`COMPUTE_SLOTS`, as many as the cores, first come first served: the machine is
never asked for more computations than it has cores, and a session's cheap steps (recolouring
cached values for a stretch change) never wait behind another session's long load.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Result = TypeVar("Result")

CORES = max(1, os.cpu_count() or 1)
#: Threads running sessions' steps. Most steps are short or wait for a compute slot, so a few
#: per core keep cheap steps moving while the slots are busy.
WORKERS = 4 * CORES


class SupersededError(Exception):
    """The work's generation is no longer the latest: its result would be stale."""


class FairSlots:
    """At most ``count`` holders at a time, served in the order they asked (FIFO).

    Re-entrant per thread: a computation holding a slot that needs another cached value (a
    composite needs its collection) goes on without a second slot, so holders never deadlock
    waiting for each other.
    """

    def __init__(self, count: int) -> None:
        if count < 1:
            raise ValueError(f"count must be at least 1, not {count}")
        self.count = count
        self._lock = threading.Lock()
        self._free = count
        self._waiting: collections.deque[threading.Event] = collections.deque()
        self._held = threading.local()

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        depth = getattr(self._held, "depth", 0)
        if depth:
            self._held.depth = depth + 1
            try:
                yield
            finally:
                self._held.depth = depth
            return
        self._acquire()
        self._held.depth = 1
        try:
            yield
        finally:
            self._held.depth = 0
            self._release()

    @property
    def in_use(self) -> int:
        with self._lock:
            return self.count - self._free

    def _acquire(self) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # the releasing thread hands its slot over directly

    def _release(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1


#: The process's compute slots: as many as the cores.
COMPUTE_SLOTS = FairSlots(CORES)
_POOL = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="composite-explorer")


class LatestOnly:
    """One session's generations; its work runs in the process-wide pool, one step at a time."""

    def __init__(self) -> None:
        self.generation = 0
        self.skipped = 0
        self._closed = False

    def next_generation(self) -> int:
        """Start a new generation; everything older becomes stale."""
        self.generation += 1
        return self.generation

    def is_current(self, generation: int) -> bool:
        return not self._closed and generation == self.generation

    def check(self, generation: int) -> None:
        """Raise :class:`SupersededError` if ``generation`` is stale."""
        if not self.is_current(generation):
            self.skipped += 1
            raise SupersededError(generation)

    async def run(self, generation: int, work: Callable[[], Result]) -> Result:
        """Run ``work`` in the pool unless it is stale by the time its turn comes; raise
        :class:`SupersededError` if it became stale meanwhile."""
        self.check(generation)
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            _POOL, functools.partial(self._guarded, generation, work)
        )
        self.check(generation)
        return result

    def _guarded(self, generation: int, work: Callable[[], Result]) -> Result:
        # Work queued behind others may be stale when its turn comes: skip it.
        self.check(generation)
        return work()

    def shutdown(self) -> None:
        """The session is gone: every generation is stale (the pool is the process's)."""
        self._closed = True

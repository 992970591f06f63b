"""What keeps an object in memory (app.holders): the chain a served process logs for a closed
dashboard that outlives its session."""

from __future__ import annotations

import asyncio
import threading

from app.holders import holder_chains


class Board:
    """Stands for a dashboard."""


class Refresh:
    def __init__(self, board: Board) -> None:
        self.board = board

    def tick(self) -> None:
        """A timer's callback."""


def test_a_timer_of_an_event_loop_is_named_as_the_holder():
    board, loop = Board(), asyncio.new_event_loop()
    try:
        loop.call_later(100, Refresh(board).tick)
        chains = holder_chains(board)
        assert chains[0] == (
            "Board <- Refresh <- method Refresh.tick <- TimerHandle <- list of 1 "
            "<- _UnixSelectorEventLoop"
        )
    finally:
        loop.close()


def test_a_module_global_is_named_as_the_holder():
    board = Board()
    HELD.append(board)
    try:
        assert any(chain.endswith(f"module {__name__}") for chain in holder_chains(board))
    finally:
        HELD.clear()


def test_a_local_of_a_running_frame_is_named_as_the_holder():
    """A frame's locals are no container the collector sees: e.g. a worker thread's job."""
    board = Board()
    chains = holder_chains(board)
    assert any("local 'board' of frame test_a_local_of_a_running_frame" in c for c in chains)


def test_a_worker_threads_frame_is_named_with_its_thread():
    started, release = threading.Event(), threading.Event()

    def job(refresh: Refresh) -> None:
        started.set()
        release.wait(10)

    board = Board()
    worker = threading.Thread(target=job, args=(Refresh(board),), name="refresh-worker")
    worker.start()
    started.wait(10)
    try:
        chains = holder_chains(board)
        assert any(
            c.startswith("Board <- Refresh <- local 'refresh' of frame ")
            and "<locals>.job (" in c
            and c.endswith("in refresh-worker")
            for c in chains
        ), chains
    finally:
        release.set()
        worker.join()


HELD: list[Board] = []

"""The heap settler of `serve` (web/heap.py): what it freezes, when it runs, that tests never start it."""

from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest

from safecity.web import heap


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def _wait_for(check, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the settler did not run"
        time.sleep(0.01)


def test_settle_collects_garbage_and_freezes_what_lives() -> None:
    try:
        live = Node()
        dead = Node()
        gone = weakref.ref(dead)
        del dead
        frozen = heap.settle()
        assert gone() is None  # the cycle was collected before freezing
        assert frozen == gc.get_freeze_count() > 0
        # A short settle walks only what is not frozen: a frozen cycle dropped since stays...
        kept = weakref.ref(live)
        del live
        heap.settle(full=False)
        assert kept() is not None
        # ...until a full settle unfreezes first: then it is collected, not kept for ever.
        heap.settle()
        assert kept() is None
    finally:
        gc.unfreeze()


def test_settler_runs_at_its_times_survives_a_failure_and_stops() -> None:
    calls: list[bool] = []

    def work(full: bool) -> int:
        calls.append(full)
        if len(calls) == 1:
            raise RuntimeError("boom")  # logged; the loop goes on
        return 1

    settler = heap.Settler(first=(0.01, 0.02), every_s=0.02, work=work, full_every=3)
    settler.start()
    try:
        _wait_for(lambda: len(calls) >= 4)
    finally:
        settler.stop()
    assert settler.thread is not None and not settler.thread.is_alive()
    assert calls[:4] == [True, False, False, True]  # full at the start, then every third
    n = len(calls)
    time.sleep(0.1)
    assert len(calls) == n  # stopped means no more runs
    assert gc.get_freeze_count() == 0  # stopping unfreezes


def test_only_serve_turns_it_on(monkeypatch: pytest.MonkeyPatch) -> None:
    def settlers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "settle-heap"]

    monkeypatch.delenv("SAFECITY_WEB_SETTLE_HEAP", raising=False)
    start, stop = heap.server_handlers()
    start()
    assert settlers() == []
    stop()
    monkeypatch.setenv("SAFECITY_WEB_SETTLE_HEAP", "true")
    start, stop = heap.server_handlers()
    start()
    try:
        assert len(settlers()) == 1
    finally:
        stop()
    assert settlers() == []

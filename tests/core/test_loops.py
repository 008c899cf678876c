"""The background job runner survives a failing run and stops when asked."""

from __future__ import annotations

import time

from safecity.core.loops import PeriodicTask


def test_runs_repeatedly_and_outlives_a_failing_run() -> None:
    calls: list[int] = []

    def job() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first run breaks")

    task = PeriodicTask("test-job", job, 0.02)
    task.start()
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    task.stop()
    assert len(calls) >= 3  # the exception in run 1 did not end the thread
    assert task.thread is not None and not task.thread.is_alive()
    stopped_at = len(calls)
    time.sleep(0.1)
    assert len(calls) == stopped_at

"""Imported at start-up by every Python process of `make test-future` (PYTHONPATH), nowhere else.

The suite runs there under Debian's libfaketime 0.9.10 with FAKETIME_DONT_FAKE_MONOTONIC=1: only
the wall clock moves, so thread waits and timeouts (sem_clockwait on the real monotonic clock,
which 0.9.10 cannot translate) keep working. But 0.9.10 still shifts the absolute deadline of
clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) by the fake offset, so time.sleep fails with
EINVAL (fixed upstream in 0.9.11). Sleeping through select(), which takes a relative timeout,
avoids that call.
"""

from __future__ import annotations

import os
import select
import time

if os.environ.get("FAKETIME") and os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1":

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        select.select([], [], [], seconds)

    time.sleep = _sleep

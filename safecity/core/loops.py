"""Background jobs inside `safecity serve`: a function run every N seconds in a daemon thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class PeriodicTask:
    """Calls `fn()` every `interval` seconds until stopped; a failing run is logged, never fatal."""

    def __init__(self, name: str, fn: Callable[[], Any], interval: float) -> None:
        self.name, self.fn, self.interval = name, fn, interval
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.runs = 0

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        # Wait one interval first so a freshly started server settles before the first run.
        while not self.stop_event.wait(self.interval):
            try:
                self.fn()
            except Exception:  # a job must outlive one bad run; the log keeps the reason
                log.exception("background job %s failed", self.name)
            self.runs += 1

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=5)

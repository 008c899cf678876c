"""Keeps the server's long-lived objects out of Python's full garbage collections (`serve` only).

A served app holds about half a million objects the cyclic collector tracks (imported modules,
FastAPI's route graph, compiled templates and SQL, the caches the first pages fill). CPython's
full (generation 2) collection walks all of them: 100-500 ms on a loaded machine, and a page
that allocates much (a map layer, a coverage analysis) sets one off every few requests — the
request that happens to trigger it waits, which is most of the pages' p95 (bench/pages.py).
`gc.freeze()` moves every object alive at that moment into a generation the collector skips,
so later collections walk only what was made since. The settler collects and freezes after the
start-up work (a while after the start, once the first pages have filled their caches) and then
every `every_s`; such a settle walks only what is not frozen yet, so it is short. Every
`full_every`-th settle unfreezes first and walks everything (one pause like the old full
collections, once an hour by default), so that frozen objects that became garbage meanwhile are
collected: nothing is kept longer than that. Tests build apps by the hundred in one process and
never start it (`serve` turns it on through SAFECITY_WEB_SETTLE_HEAP).
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

# Seconds after the start: the warm-up jobs and the first pages, then the steady period.
FIRST_S: Sequence[float] = (20.0, 90.0)
EVERY_S = 600.0


FULL_EVERY = 6  # settles: with EVERY_S, a full walk once an hour


def settle(full: bool = True) -> int:
    """Collect, then freeze what survived; returns the objects now frozen. `full`: unfreeze
    first, so that everything is walked (and frozen garbage collected)."""
    if full:
        gc.unfreeze()
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def wanted() -> bool:
    return os.environ.get("SAFECITY_WEB_SETTLE_HEAP", "").strip().lower() in ("1", "true", "yes")


class Settler:
    """A daemon thread settling the heap at `first` seconds after start, then every `every_s`."""

    def __init__(
        self,
        first: Sequence[float] = FIRST_S,
        every_s: float = EVERY_S,
        work: Callable[[bool], int] = settle,
        full_every: int = FULL_EVERY,
    ) -> None:
        self.first, self.every_s, self.work = tuple(first), every_s, work
        self.full_every = max(1, full_every)
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._loop, name="settle-heap", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        gc.unfreeze()  # a stopped app's objects may be collected again

    def _loop(self) -> None:
        waited, runs = 0.0, 0
        waits = [t - prev for prev, t in zip((0.0, *self.first), self.first, strict=False)]
        while True:
            wait = waits.pop(0) if waits else self.every_s
            if self.stopped.wait(max(0.0, wait)):
                return
            waited += wait
            full = runs % self.full_every == 0  # the first settle walks everything
            runs += 1
            try:
                frozen = self.work(full)
            except Exception:  # noqa: BLE001  # settling is an optimisation: never stop the server
                log.exception("settling the heap failed")
                continue
            log.debug("heap settled %.0f s after start: %d objects frozen", waited, frozen)


def server_handlers() -> tuple[Callable[[], None], Callable[[], None]]:
    """(startup, shutdown) handlers for the app; they do nothing unless `serve` asked."""
    holder: dict[str, Settler] = {}

    def start() -> None:
        if wanted():
            holder["settler"] = Settler()
            holder["settler"].start()

    def stop() -> None:
        settler = holder.pop("settler", None)
        if settler is not None:
            settler.stop()

    return start, stop

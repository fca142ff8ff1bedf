"""The node's background work on a timer: the operator's intervals and the vehicle's watch over the clearings.

One daemon thread; each task runs when its period has passed since its last run (wall-clock here only paces the
node; nothing in a test depends on it: tests trigger intervals and watches through the owner API)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("v2vchain.node")

TICK_S = 0.5


class Timers:
    def __init__(self) -> None:
        self._tasks: list[tuple[str, float, Callable[[], object]]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def every(self, name: str, period_s: float, task: Callable[[], object]) -> None:
        if period_s > 0:
            self._tasks.append((name, period_s, task))

    def start(self) -> None:
        if self._tasks and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="node-timers", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        last = {name: time.monotonic() for name, _, _ in self._tasks}
        while not self._stop.wait(TICK_S):
            for name, period_s, task in self._tasks:
                if time.monotonic() - last[name] < period_s:
                    continue
                try:
                    task()
                except Exception as exc:  # a failed run is logged and tried again next period
                    log.warning("%s failed: %s", name, str(exc)[:300])
                last[name] = time.monotonic()

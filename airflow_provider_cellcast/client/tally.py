"""Progress and summaries of loops over many IDs or contacts, in bounded log lines.

A campaign can be 100,000 messages: one log line per ID would be a log nobody can page through.
A :class:`Tally` counts as the work goes and logs a progress line at most every ``every``
seconds (and at the end); the per-ID detail goes to DEBUG.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class Tally:
    """Counts done and failed items of one loop and logs its progress now and then.

    :param label: what is counted, e.g. ``"cancel"``.
    :param total: how many items the loop has.
    :param every: seconds between progress lines.
    """

    def __init__(
        self, label: str, total: int, log: Any, *, every: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.label = label
        self.total = total
        self.log = log
        self.every = every
        self._clock = clock
        self.started = self._last = clock()
        self.done = 0
        self.failed = 0

    def add(self, *, failed: bool = False) -> None:
        """Count one item; log a progress line if it is time to."""
        self.done += 1
        self.failed += failed
        now = self._clock()
        if self.total > 1 and (now - self._last >= self.every or self.done == self.total):
            self._last = now
            self.log.info(
                "Cellcast %s progress: %d/%d done, %d failed, %.1f requests/s",
                self.label,
                self.done,
                self.total,
                self.failed,
                self.done / max(now - self.started, 1e-9),
            )

"""Progress and summaries of loops over many IDs or contacts, in bounded log lines.

A campaign can be 100,000 messages: one log line per ID would be a log nobody can page through.
A :class:`Tally` counts as the work goes and logs a progress line every 10 % of the work or every
30 seconds, whichever comes first (done, remaining, rate, time left), so a loop of any size logs
at most about a dozen lines at INFO; the per-ID detail goes to DEBUG. :func:`grouped` writes long
lists of IDs as a few lines of at most :data:`GROUP_SIZE` each.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

#: IDs named in one log line of a group (see :func:`grouped`).
GROUP_SIZE = 100


class Tally:
    """Counts done and failed items of one loop and logs its progress now and then.

    :param label: what is counted, e.g. ``"cancel"``.
    :param total: how many items the loop has.
    :param every: the most seconds between two progress lines (default 30).
    :param unit: what an item is, in the progress line (``"message(s)"``).
    """

    def __init__(
        self,
        label: str,
        total: int,
        log: Any,
        *,
        every: float = 30.0,
        unit: str = "message(s)",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = total
        self.log = log
        self.every = every
        self.unit = unit
        self._clock = clock
        self.started = self._last = clock()
        self.done = 0
        self.failed = 0
        self._step = max(1, total // 10)
        self._next_count = self._step

    def add(self, count: int = 1, *, failed: int = 0) -> None:
        """Count ``count`` items (``failed`` of them failed); log a progress line if it is time to."""
        self.done += count
        self.failed += failed
        now = self._clock()
        if self.total > 1 and (self.done >= self._next_count or now - self._last >= self.every):
            while self._next_count <= self.done:
                self._next_count += self._step
            self._last = now
            self.log.info("%s", self.progress(now))

    def progress(self, now: float | None = None) -> str:
        """``"Cellcast cancel: 5,000/20,000 message(s) done (25 %), 3 failed, 15,000 left, 410/s, about 37 s left"``."""
        now = self._clock() if now is None else now
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        left = self.total - self.done
        eta = f", about {left / rate:.0f} s left" if rate > 0 and left > 0 else ""
        share = f" ({100 * self.done // self.total} %)" if self.total else ""
        return (
            f"Cellcast {self.label}: {self.done:,}/{self.total:,} {self.unit} done{share}, {self.failed:,} failed, "
            f"{left:,} left, {rate:.1f}/s{eta}"
        )


def grouped(ids: Sequence[str] | Iterable[str], size: int = GROUP_SIZE) -> Iterator[tuple[int, int, list[str]]]:
    """``(first, last, ids)`` for each run of at most ``size`` IDs (positions from 1): a log line each."""
    batch: list[str] = []
    first = 1
    for position, message_id in enumerate(ids, start=1):
        batch.append(message_id)
        if len(batch) == size:
            yield first, position, batch
            first, batch = position + 1, []
    if batch:
        yield first, first + len(batch) - 1, batch

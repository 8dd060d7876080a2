"""A client-side request pacer shared by every worker thread of one hook."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: Share of ``requests_per_second`` that :class:`RequestPacer` keeps in reserve by default.
DEFAULT_HEADROOM = 0.1


class RequestPacer:
    """Spaces requests evenly just below ``requests_per_second`` and lets a 429 pause everybody.

    Requests are spread at even intervals rather than allowed in bursts, because the server's own
    limit is counted over short windows: a burst of a full second's quota at once is what earns a
    429. ``pause(seconds)`` is called when Cellcast answers 429, so that every worker waits, not
    only the one that was refused: the batch slows down instead of failing IDs.

    The pace is ``requests_per_second * (1 - headroom)``: 36 requests a second for a limit of 40
    with the default headroom of 10 %. Pacing at exactly the server's limit earns 429s, because the
    server counts requests when they arrive, not when they were sent: a cold connection, a busy
    client or server, or the network delays request *k* a little more than request *k + N*, and
    N + 1 arrivals fall into one window. With the headroom, any N + 1 consecutive requests are sent
    over ``1 / (1 - headroom)`` windows, so arrivals may jitter by 11 % of the window (111 ms
    for a one-second window) before the server sees too many. ``benchmarks/`` measures both.

    ``requests_per_second=None`` (or 0) disables pacing; pauses still apply.
    """

    def __init__(
        self,
        requests_per_second: float | None,
        *,
        headroom: float = DEFAULT_HEADROOM,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0.0 <= headroom < 1.0:
            raise ValueError(f"headroom must be at least 0 and below 1, not {headroom!r}")
        self.headroom = headroom
        self.interval = 1.0 / (requests_per_second * (1.0 - headroom)) if requests_per_second else 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._paused_until = 0.0

    def acquire(self) -> None:
        """Block until this caller may send its request."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot, self._paused_until)
            self._next_slot = slot + self.interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now (never shortens an existing pause)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

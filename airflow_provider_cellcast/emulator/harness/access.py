"""Test-harness methods of :class:`~..state.EmulatorState`, under the names tests already use.

The harness parts (clock, faults, journal and counters, rate limit) are objects of their own;
this mixin offers their methods on the state, so that ``state.advance_clock(60)``,
``state.add_fault({...})`` and ``state.journal()`` keep working.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_cellcast.emulator.harness.clock import EmulatorClock
from airflow_provider_cellcast.emulator.harness.faults import Fault, FaultBook
from airflow_provider_cellcast.emulator.harness.journal import Journal
from airflow_provider_cellcast.emulator.harness.ratelimit import RateLimiter
from airflow_provider_cellcast.emulator.timestamps import format_timestamp, parse_timestamp

if TYPE_CHECKING:
    from airflow_provider_cellcast.emulator.config import EmulatorConfig

__all__ = ["HarnessMixin"]


class HarnessMixin:
    """Clock, faults, journal, counters and rate limit, delegated to the harness objects."""

    clock: EmulatorClock
    fault_book: FaultBook
    journal_book: Journal
    rate_limiter: RateLimiter
    config: EmulatorConfig

    # ----------------------------------------------------------------- clock
    def now(self) -> datetime:
        """The emulator's current time (aware UTC)."""
        return self.clock.now()

    def advance_clock(self, seconds: float) -> datetime:
        """Move the emulator's time forward (or back, if negative); return the new time."""
        return self.clock.advance(seconds)

    def set_clock(self, when: datetime | str) -> datetime:
        """Move the emulator's time so that it reads ``when`` now (a time without offset is UTC)."""
        return self.clock.set(parse_timestamp(when, "now"))

    @property
    def clock_offset_seconds(self) -> float:
        """How far the emulator's time is from the real clock, in seconds."""
        return self.clock.offset_seconds

    # ----------------------------------------------------------------- rate limit, faults, journal
    def check_rate_limit(self, token: str) -> float | None:
        """Count one request for ``token``; return ``None`` if allowed, else seconds until allowed."""
        wait = self.rate_limiter.check(token, self.config.rate_limit_per_second)
        if wait is not None:
            self.journal_book.count_rate_limited()
        return wait

    def add_fault(self, spec: Mapping[str, Any]) -> Fault:
        """Register a fault from control-plane fields; see :class:`~.harness.faults.Fault`."""
        return self.fault_book.add(spec)

    def take_fault(self, method: str, path: str, message_id: str | None) -> Fault | None:
        """Return the first fault matching this request and count it as used (oldest fault wins)."""
        return self.fault_book.take(method, path, message_id)

    def faults(self) -> list[Fault]:
        """Faults still pending."""
        return self.fault_book.pending()

    def clear_faults(self) -> None:
        """Remove every pending fault."""
        self.fault_book.clear()

    def record_request(self, entry: dict[str, Any]) -> int:
        """Append one API request to the journal and count it; return a token for :meth:`record_answer`.

        Callers mask phone numbers and omit tokens. The entry itself is kept, so that the caller
        can complete it (status, duration) later.
        """
        return self.journal_book.record_request(entry, format_timestamp(self.now()))

    def record_answer(self, status: int | None, epoch: int) -> None:
        """Count the HTTP status answered to a request (``epoch``: what :meth:`record_request` returned).

        An answer to a request that arrived before the last :meth:`reset` (or :meth:`clear_stats`)
        is not counted. ``None``: no answer was sent (connection lost).
        """
        self.journal_book.record_answer(status, epoch)

    def stats(self) -> dict[str, Any]:
        """Request counters since the last reset: unlike the journal, they never drop old requests.

        ``requests`` (all API requests), ``by_path`` (report paths counted together under
        :data:`REPORT_PATH_KEY`), ``by_status`` (HTTP statuses answered, keys as strings),
        ``rate_limited`` (429 answers of the rate limiter; ``by_status["429"]`` also counts
        injected 429 faults), ``in_flight`` and ``peak_in_flight`` (the most requests being handled at
        once: with ``latency_ms``, how many of a client's calls overlapped).
        """
        return self.journal_book.stats()

    def clear_stats(self) -> None:
        """Zero the request counters (answers still pending are not counted afterwards)."""
        self.journal_book.clear_stats()

    def journal(self) -> list[dict[str, Any]]:
        """The last :data:`JOURNAL_SIZE` API requests, oldest first."""
        return self.journal_book.entries()

    def clear_journal(self) -> None:
        """Empty the request journal (the counters stay)."""
        self.journal_book.clear()

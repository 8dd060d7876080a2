"""The emulator's time: an injectable real clock plus an offset that tests move.

Moving time never sleeps: a test calls :meth:`EmulatorClock.advance` and every message whose
time has come changes status the next time it is read.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from airflow_provider_cellcast.emulator.timestamps import Clock, utc_now

__all__ = ["EmulatorClock"]


class EmulatorClock:
    """Emulator time: ``base()`` (default: the system clock, UTC) plus an offset.

    Thread-safe. Example::

        clock = EmulatorClock(lambda: datetime(2030, 1, 1, tzinfo=timezone.utc))
        clock.advance(3600)
        assert clock.now().hour == 1
    """

    def __init__(self, base: Clock | None = None) -> None:
        self._base: Clock = base or utc_now
        self._lock = threading.Lock()
        self._offset = timedelta(0)

    def now(self) -> datetime:
        """The emulator's current time (aware UTC)."""
        with self._lock:
            offset = self._offset
        current = self._base()
        if current.tzinfo is None:
            current = current.replace(tzinfo=timezone.utc)
        return current.astimezone(timezone.utc) + offset

    def advance(self, seconds: float) -> datetime:
        """Move time forward (backward if negative); return the new time."""
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def set(self, when: datetime) -> datetime:
        """Move time so that it reads ``when`` now (a naive ``when`` is UTC)."""
        target = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
        with self._lock:
            self._offset = timedelta(0)
        base_now = self.now()
        with self._lock:
            self._offset = target - base_now
        return self.now()

    def reset(self) -> None:
        """Back to the real clock (offset zero)."""
        with self._lock:
            self._offset = timedelta(0)

    @property
    def offset_seconds(self) -> float:
        """How far emulator time is from the real clock, in seconds."""
        with self._lock:
            return self._offset.total_seconds()

"""The request journal and the request counters: what a test reads to see what a client did.

The journal keeps the last :data:`JOURNAL_SIZE` ``/api/`` requests (method, path, masked query and
body, status, fault); the counters count every request since the last reset and never drop old
ones. Callers mask phone numbers and never pass a token: nothing here masks on its own.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

__all__ = ["JOURNAL_SIZE", "REPORT_PATH_KEY", "Journal", "path_key"]

#: How many requests the journal keeps (the oldest go first).
JOURNAL_SIZE = 1000
#: The request counters show every report of one message under this path.
REPORT_PATH_KEY = "/api/v2/report/message/{messageId}"
_REPORT_PATH_PREFIX = "/api/v2/report/message/"


def path_key(path: str) -> str:
    """The request counters' key for a path: one key for the reports of every message."""
    if path.startswith(_REPORT_PATH_PREFIX) and "/" not in path[len(_REPORT_PATH_PREFIX) :]:
        return REPORT_PATH_KEY
    return path


class Journal:
    """Journal entries and counters; thread-safe.

    Counting an answer needs the *epoch* its request was counted in: a request still pending when
    the counters are zeroed must not count its answer afterwards.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_id = 1
        self._epoch = 0
        self._entries: deque[dict[str, Any]] = deque(maxlen=JOURNAL_SIZE)
        self._in_flight = 0  # requests counted and not answered yet, whatever their epoch
        self._zero()

    def _zero(self) -> None:
        self._paths: Counter[str] = Counter()
        self._statuses: Counter[int] = Counter()
        self._rate_limited = 0
        self._peak_in_flight = self._in_flight
        self._epoch += 1

    def record_request(self, entry: dict[str, Any], time_text: str | None) -> int:
        """Append ``entry`` (kept, so the caller can complete it), count it; return its epoch."""
        with self._lock:
            entry.update(id=self._next_id, time=time_text)
            self._next_id += 1
            self._entries.append(entry)
            self._paths[path_key(str(entry.get("path", "")))] += 1
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
            return self._epoch

    def record_answer(self, status: int | None, epoch: int) -> None:
        """Count the HTTP status answered (``None``: no answer, the connection was lost)."""
        with self._lock:
            self._in_flight -= 1
            if status is not None and epoch == self._epoch:
                self._statuses[status] += 1

    def count_rate_limited(self) -> None:
        """Count one 429 of the rate limit (injected 429 faults are not counted here)."""
        with self._lock:
            self._rate_limited += 1

    def stats(self) -> dict[str, Any]:
        """``requests``, ``by_path``, ``by_status`` (keys as strings), ``rate_limited``, ``in_flight``
        and ``peak_in_flight`` (the most requests being handled at once since the last reset)."""
        with self._lock:
            return {
                "requests": sum(self._paths.values()),
                "by_path": dict(sorted(self._paths.items())),
                "by_status": {str(code): n for code, n in sorted(self._statuses.items())},
                "rate_limited": self._rate_limited,
                "in_flight": self._in_flight,
                "peak_in_flight": self._peak_in_flight,
            }

    def clear_stats(self) -> None:
        """Zero the counters; answers to requests counted before are not counted afterwards."""
        with self._lock:
            self._zero()

    def entries(self) -> list[dict[str, Any]]:
        """Copies of the journal entries, oldest first."""
        with self._lock:
            return [dict(entry) for entry in self._entries]

    def clear(self) -> None:
        """Empty the journal (the counters stay)."""
        with self._lock:
            self._entries.clear()

    def reset(self) -> None:
        """Empty the journal and zero the counters."""
        with self._lock:
            self._entries.clear()
            self._zero()

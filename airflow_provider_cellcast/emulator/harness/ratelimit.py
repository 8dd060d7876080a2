"""The emulator's rate limit: a sliding window per token, on the monotonic clock.

Cellcast documents no limit for this API; its older v3 API allowed 15 requests a second per
account. Moving the emulator's clock does not refill the window: the limit is about real time,
as a client's pacing is.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque

__all__ = ["RateLimiter"]


class RateLimiter:
    """Count requests per token in a sliding window; thread-safe.

    Tokens are kept only as SHA-256 digests, so the limiter holds no secret.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}

    def check(self, token: str, limit: float | None) -> float | None:
        """Count one request for ``token``; ``None`` if allowed, else seconds until it would be.

        ``limit`` is requests per second (``None``: no limit). Below one a second the window
        widens so that the average rate still holds.
        """
        if limit is None:
            return None
        span = max(1.0, 1.0 / limit)
        capacity = max(1, int(limit * span))
        key = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            window = self._windows.setdefault(key, deque())
            current = time.monotonic()
            while window and current - window[0] >= span:
                window.popleft()
            if len(window) >= capacity:
                return max(0.0, span - (current - window[0]))
            window.append(current)
            return None

    def reset(self) -> None:
        """Forget every window."""
        with self._lock:
            self._windows.clear()

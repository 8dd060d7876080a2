"""Client-side request pacing: per hook (:class:`RequestPacer`) or per account (:class:`SharedRequestPacer`).

Both keep one interface, ``acquire()`` before each request and ``pause(seconds)`` after a 429;
:func:`build_pacer` picks one from the settings. At import time only the standard library and
the provider's exceptions: Redis, ``pyrate-limiter`` and the Redis provider load when a shared
pacer first paces.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_cellcast.exceptions import CellcastConfigurationError, CellcastError

if TYPE_CHECKING:
    from airflow_provider_cellcast.settings import CellcastSettings

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


class Pacer(Protocol):
    """What the hook needs of a pacer."""

    def acquire(self) -> None:
        """Block until this caller may send its request."""

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now (never shortens an existing pause)."""


class CellcastSharedRateLimitError(CellcastError):
    """The Redis of the shared rate limit could not be used, and no local fallback was allowed.

    Not an ``AirflowFailException``: a task retry may find Redis back. Not ``transient`` either:
    the hook does not retry the request, because it must never be sent unpaced.
    """


#: Prefix of every Redis key of the shared rate limit; the rest is a hash of the account.
KEY_PREFIX = "cellcast:ratelimit:"
#: How long a shared 429 pause is remembered in Redis (it only matters while in the future).
_PAUSE_TTL_MS = 3_600_000
#: Redis socket timeouts set when the Redis connection sets none, so an unreachable host fails fast.
REDIS_TIMEOUT_SECONDS = 5.0


def account_key(base_url: str, token: str) -> str:
    """The Redis key of one Cellcast account: a hash of its base URL and token, never the token."""
    digest = hashlib.sha256(f"cellcast-rate-limit\n{base_url.rstrip('/')}\n{token}".encode()).hexdigest()
    return KEY_PREFIX + digest[:32]


class SharedRequestPacer:
    """Paces every hook of one Cellcast account together, across tasks, processes and machines.

    The state lives in Redis under :func:`account_key`: the pace is ``pyrate-limiter``'s GCRA
    (one "theoretical arrival time" per account, updated by the library's Lua script) with a
    burst of 1, so requests are spread evenly ``requests_per_second * (1 - headroom)`` apart, like
    :class:`RequestPacer`, and a 429 seen by any task pauses all of them (a shared "paused until"
    time). Within one process a lock lets one thread at a time ask Redis, so Redis answers about
    as many checks per request as there are processes waiting, not threads.

    Times are wall-clock epoch times of each machine, so machines sharing one account need
    synchronised clocks (NTP): a skew of a few milliseconds shifts single gaps, not the pace.

    If Redis cannot be reached, ``acquire()`` raises :class:`CellcastSharedRateLimitError`
    naming the Redis connection, or, with ``fallback_local``, logs a warning and paces with a
    :class:`RequestPacer` from then on. It never lets a request through unpaced.

    :param connect: returns a connected ``redis.Redis`` client; called once, on first use.
    """

    def __init__(
        self,
        requests_per_second: float,
        *,
        connect: Callable[[], Any],
        key: str,
        redis_conn_id: str,
        fallback_local: bool = False,
        headroom: float = DEFAULT_HEADROOM,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        log: Any = None,
    ) -> None:
        if not requests_per_second or requests_per_second <= 0:
            raise ValueError("a shared pacer needs a positive requests_per_second")
        if not 0.0 <= headroom < 1.0:
            raise ValueError(f"headroom must be at least 0 and below 1, not {headroom!r}")
        self.requests_per_second = requests_per_second
        self.headroom = headroom
        self.pace = requests_per_second * (1.0 - headroom)
        self.key = key
        self.pause_key = f"{key}:paused_until"
        self.redis_conn_id = redis_conn_id
        self.fallback_local = fallback_local
        self._connect = connect
        self._clock = clock
        self._sleep = sleep
        self._log: Any = log or logging.getLogger(__name__)
        self._lock = threading.Lock()  # one thread of this process asks Redis at a time
        self._setup_lock = threading.Lock()
        self._redis: Any = None
        self._bucket: Any = None
        self._local: RequestPacer | None = None
        self._failure: CellcastSharedRateLimitError | None = None

    # -- setup and failure ------------------------------------------------------------------------

    def _ready(self) -> bool:
        """Connect on first use; false when pacing has fallen back to local."""
        if self._local is not None:
            return False
        if self._failure is not None:
            raise self._failure
        if self._bucket is None:
            with self._setup_lock:
                if self._bucket is None and self._local is None and self._failure is None:
                    try:
                        redis = self._connect()
                        self._bucket = self._make_bucket(redis)
                        self._redis = redis
                    except CellcastConfigurationError:
                        raise
                    except Exception as error:  # a RedisError, or OSError from the socket
                        self._unavailable(error)
                    else:
                        self._log.info(
                            "Cellcast requests paced at %.4g/s (%.4g/s less %.0f %%) for every task of this "
                            "account, shared through Redis connection %r (key %s)",
                            self.pace,
                            self.requests_per_second,
                            self.headroom * 100,
                            self.redis_conn_id,
                            self.key,
                        )
            return self._ready()
        return True

    def _make_bucket(self, redis: Any) -> Any:
        from pyrate_limiter import Rate
        from pyrate_limiter.abstracts.algorithm import GCRA
        from pyrate_limiter.buckets.redis_state import RedisStateStore
        from pyrate_limiter.buckets.state_bucket import StateBucket

        # pyrate-limiter's Rate is integers: `limit` per `interval` milliseconds. 1000 units per
        # (1000 / pace) seconds keeps microsecond precision in GCRA's emission interval; burst=1
        # spreads them evenly instead of letting a full second's quota out at once.
        rate = Rate(1000, math.ceil(1_000_000 / self.pace), burst=1)
        return StateBucket([rate], algorithm=GCRA(), store=RedisStateStore(redis, self.key))

    def _unavailable(self, error: BaseException) -> None:
        what = f"{type(error).__name__}: {error}"
        if self.fallback_local:
            self._log.warning(
                "The shared Cellcast rate limit cannot reach Redis connection %r (%s); pacing within this "
                "task only from now on (rate_limit_redis_fallback is 'local'): other tasks of the account "
                "are no longer counted, so Cellcast may answer 429",
                self.redis_conn_id,
                what,
            )
            self._local = RequestPacer(self.requests_per_second, headroom=self.headroom, sleep=self._sleep)
            return
        self._failure = CellcastSharedRateLimitError(
            f"The shared Cellcast rate limit cannot reach Redis connection {self.redis_conn_id!r} ({what}); "
            "no request is sent unpaced. Check that connection, or set the Cellcast connection extra "
            '"rate_limit_redis_fallback": "local" to pace within each task while Redis is down.'
        )
        raise self._failure from error

    # -- the pacer interface ----------------------------------------------------------------------

    def acquire(self) -> None:
        """Block until this caller may send its request (its slot in the account's shared pace)."""
        if not self._ready():
            assert self._local is not None
            self._local.acquire()
            return
        from pyrate_limiter.abstracts.rate import RateItem

        with self._lock:
            try:
                while True:
                    now = self._clock()
                    paused_until = self._redis.zscore(self.pause_key, "until")
                    if paused_until is not None and float(paused_until) > now:
                        self._sleep(float(paused_until) - now)
                        continue
                    item = RateItem("cellcast", int(now * 1000))
                    if self._bucket.put(item):
                        return
                    # GCRA's exact wait (whole milliseconds) until this account's next slot.
                    self._sleep(max(int(self._bucket.waiting(item)), 1) / 1000)
            except CellcastError:
                raise
            except Exception as error:
                self._unavailable_while_pacing(error)
        # Only reached after a fallback to local pacing.
        assert self._local is not None
        self._local.acquire()

    def _unavailable_while_pacing(self, error: BaseException) -> None:
        with self._setup_lock:
            if self._local is None and self._failure is None:
                self._unavailable(error)
        if self._failure is not None:
            raise self._failure from error

    def pause(self, seconds: float) -> None:
        """Hold every request of the account back for ``seconds`` from now, in every task."""
        if not self._ready():
            assert self._local is not None
            self._local.pause(seconds)
            return
        until = self._clock() + seconds
        try:
            pipe = self._redis.pipeline(transaction=True)
            pipe.zadd(self.pause_key, {"until": until}, gt=True)  # an atomic max: never shortens a pause
            pipe.pexpire(self.pause_key, _PAUSE_TTL_MS)
            pipe.execute()
        except Exception as error:
            self._unavailable_while_pacing(error)
            assert self._local is not None
            self._local.pause(seconds)


def connect_redis(redis_conn_id: str) -> Any:
    """A connected ``redis.Redis`` client for an Airflow Redis connection (``RedisHook``)."""
    try:
        from airflow.providers.redis.hooks.redis import RedisHook
    except ImportError as error:
        raise CellcastConfigurationError(
            f"The Cellcast connection names Redis connection {redis_conn_id!r} for its shared rate limit "
            "(rate_limit_redis_conn_id), but apache-airflow-providers-redis is not installed: "
            "pip install 'airflow-provider-cellcast[redis]'"
        ) from error
    try:
        client = RedisHook(redis_conn_id=redis_conn_id).get_conn()
    except ValueError as error:
        raise CellcastConfigurationError(
            f"Redis connection {redis_conn_id!r} of the shared Cellcast rate limit is unusable: {error}"
        ) from error
    except Exception as error:
        if type(error).__name__ == "AirflowNotFoundException":
            raise CellcastConfigurationError(
                f"Redis connection {redis_conn_id!r}, named by the Cellcast connection's "
                "rate_limit_redis_conn_id, is not defined"
            ) from error
        raise
    # RedisHook sets no socket timeouts: without them an unreachable host would hold every
    # request for minutes instead of failing (or falling back) at once.
    for option in ("socket_connect_timeout", "socket_timeout"):
        if client.connection_pool.connection_kwargs.get(option) is None:
            client.connection_pool.connection_kwargs[option] = REDIS_TIMEOUT_SECONDS
    client.ping()
    return client


def build_pacer(
    settings: CellcastSettings,
    *,
    base_url: str,
    token: str,
    sleep: Callable[[float], None] = time.sleep,
    log: Any = None,
) -> Pacer:
    """The pacer the settings ask for: shared through Redis when ``rate_limit_redis_conn_id`` is set."""
    redis_conn_id = settings.rate_limit_redis_conn_id
    if not redis_conn_id or not settings.requests_per_second:
        return RequestPacer(settings.requests_per_second, sleep=sleep)
    return SharedRequestPacer(
        settings.requests_per_second,
        connect=lambda: connect_redis(redis_conn_id),
        key=account_key(base_url, token),
        redis_conn_id=redis_conn_id,
        fallback_local=settings.rate_limit_redis_fallback == "local",
        sleep=sleep,
        log=log,
    )

"""The account's pace shared through Redis: every task, process and machine of one Cellcast account.

:class:`SharedRequestPacer` (``redis.Redis``) and :class:`AsyncSharedRequestPacer`
(``redis.asyncio``) take their decisions from one place, :class:`_SharedPace`: the key, the GCRA
bucket of ``pyrate-limiter`` and the Redis conversation of one ``acquire`` as a list of steps
(:meth:`_SharedPace._steps`) that each pacer carries out with its own client. Loaded only when a
connection sets ``rate_limit_redis_conn_id`` (needs ``airflow-provider-cellcast[redis]``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any

from airflow_provider_cellcast.exceptions import CellcastConfigurationError, CellcastError
from airflow_provider_cellcast.ratelimit import DEFAULT_HEADROOM, CellcastSharedRateLimitError, RequestPacer

#: How long a shared 429 pause is remembered in Redis (it only matters while in the future).
_PAUSE_TTL_MS = 3_600_000
#: Redis socket timeouts set when the Redis connection sets none, so an unreachable host fails fast.
REDIS_TIMEOUT_SECONDS = 5.0

#: One step of the shared pace's conversation with Redis, or a wait (see :meth:`_SharedPace._steps`).
_Step = tuple[str, Any]


class _SharedPace:
    """What the sync and async shared pacers have in common: the key, the rules, the Redis steps.

    The state lives in Redis under :func:`account_key`: the pace is ``pyrate-limiter``'s GCRA
    (one "theoretical arrival time" per account, updated by the library's Lua script) with a
    burst of 1, so requests are spread evenly ``requests_per_second * (1 - headroom)`` apart, like
    :class:`RequestPacer`, and a 429 seen by any task pauses all of them (a shared "paused until"
    time).
    """

    def __init__(
        self,
        requests_per_second: float,
        *,
        key: str,
        redis_conn_id: str,
        fallback_local: bool,
        headroom: float,
        clock: Callable[[], float],
        log: Any,
        sleep: Callable[[float], None] = time.sleep,
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
        self._clock = clock
        self._sleep = sleep
        self._log: Any = log or logging.getLogger(__name__)
        self._redis: Any = None
        self._bucket: Any = None
        self._local: RequestPacer | None = None
        self._failure: CellcastSharedRateLimitError | None = None

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

    def _connected(self, redis: Any) -> None:
        self._bucket = self._make_bucket(redis)
        self._redis = redis
        self._log.info(
            "Cellcast requests paced at %.4g/s (%.4g/s less %.0f %%) for every task of this account, shared "
            "through Redis connection %r (key %s)",
            self.pace,
            self.requests_per_second,
            self.headroom * 100,
            self.redis_conn_id,
            self.key,
        )

    def _unavailable(self, error: BaseException) -> None:
        """Fall back to local pacing, or remember (and raise) the failure: never pace nothing."""
        if self._local is not None or self._failure is not None:
            if self._failure is not None:
                raise self._failure from error
            return
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

    def _steps(self) -> Generator[_Step, Any, None]:
        """The Redis conversation of one ``acquire``: each step's answer is sent back in."""
        from pyrate_limiter.abstracts.rate import RateItem

        while True:
            now = self._clock()
            paused_until = yield ("call", lambda: self._redis.zscore(self.pause_key, "until"))
            if paused_until is not None and float(paused_until) > now:
                yield ("sleep", float(paused_until) - now)
                continue
            item = RateItem("cellcast", int(now * 1000))
            if (yield ("call", lambda item=item: self._bucket.put(item))):
                return
            # GCRA's exact wait (whole milliseconds) until this account's next slot.
            waiting = yield ("call", lambda item=item: self._bucket.waiting(item))
            yield ("sleep", max(int(waiting), 1) / 1000)

    def _pause_call(self, seconds: float) -> Callable[[], Any]:
        until = self._clock() + seconds

        def call() -> Any:
            pipe = self._redis.pipeline(transaction=True)
            pipe.zadd(self.pause_key, {"until": until}, gt=True)  # an atomic max: never shortens a pause
            pipe.pexpire(self.pause_key, _PAUSE_TTL_MS)
            return pipe.execute()

        return call


class SharedRequestPacer(_SharedPace):
    """Paces every hook of one Cellcast account together, across tasks, processes and machines.

    Within one process a lock lets one thread at a time ask Redis, so Redis answers about as many
    checks per request as there are processes waiting, not threads. Times are wall-clock epoch
    times of each machine, so machines sharing one account need synchronised clocks (NTP): a skew
    of a few milliseconds shifts single gaps, not the pace.

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
        super().__init__(
            requests_per_second,
            key=key,
            redis_conn_id=redis_conn_id,
            fallback_local=fallback_local,
            headroom=headroom,
            clock=clock,
            log=log,
            sleep=sleep,
        )
        self._connect = connect
        self._lock = threading.Lock()  # one thread of this process asks Redis at a time
        self._setup_lock = threading.Lock()

    def _ready(self) -> bool:
        """Connect on first use; false when pacing has fallen back to local."""
        with self._setup_lock:
            if self._local is None and self._failure is None and self._bucket is None:
                try:
                    self._connected(self._connect())
                except CellcastConfigurationError:
                    raise
                except Exception as error:  # a RedisError, or OSError from the socket
                    self._unavailable(error)
            if self._failure is not None:
                raise self._failure
            return self._local is None

    def acquire(self) -> None:
        """Block until this caller may send its request (its slot in the account's shared pace)."""
        if self._ready():
            with self._lock:
                try:
                    steps = self._steps()
                    answer: Any = None
                    while True:
                        kind, value = steps.send(answer)
                        if kind == "call":
                            answer = value()
                        else:
                            self._sleep(value)
                            answer = None
                except StopIteration:
                    return
                except CellcastError:
                    raise
                except Exception as error:
                    with self._setup_lock:
                        self._unavailable(error)
        assert self._local is not None
        self._local.acquire()

    def pause(self, seconds: float) -> None:
        """Hold every request of the account back for ``seconds`` from now, in every task."""
        if self._ready():
            try:
                self._pause_call(seconds)()
                return
            except Exception as error:
                with self._setup_lock:
                    self._unavailable(error)
        assert self._local is not None
        self._local.pause(seconds)


class AsyncSharedRequestPacer(_SharedPace):
    """:class:`SharedRequestPacer` for the async driver, through ``redis.asyncio`` (same key, same steps).

    :param connect: a coroutine function returning a connected ``redis.asyncio.Redis``.
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
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        log: Any = None,
    ) -> None:
        super().__init__(
            requests_per_second,
            key=key,
            redis_conn_id=redis_conn_id,
            fallback_local=fallback_local,
            headroom=headroom,
            clock=clock,
            log=log,
        )
        self._connect = connect
        self._async_sleep = sleep
        self._lock: asyncio.Lock | None = None

    async def _ready(self) -> bool:
        if self._local is None and self._failure is None and self._bucket is None:
            try:
                self._connected(await self._connect())
            except CellcastConfigurationError:
                raise
            except Exception as error:
                self._unavailable(error)
        if self._failure is not None:
            raise self._failure
        return self._local is None

    async def acquire(self) -> None:
        if await self._ready():
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                try:
                    steps = self._steps()
                    answer: Any = None
                    while True:
                        kind, value = steps.send(answer)
                        if kind == "call":
                            # The bucket answers some questions at once, others from Redis.
                            answer = value()
                            if inspect.isawaitable(answer):
                                answer = await answer
                        else:
                            await self._async_sleep(value)
                            answer = None
                except StopIteration:
                    return
                except CellcastError:
                    raise
                except Exception as error:
                    self._unavailable(error)
        assert self._local is not None
        delay = self._local.reserve()
        if delay > 0:
            await self._async_sleep(delay)

    async def pause(self, seconds: float) -> None:
        if await self._ready():
            try:
                await self._pause_call(seconds)()  # a redis.asyncio pipeline: always awaitable
                return
            except Exception as error:
                self._unavailable(error)
        assert self._local is not None
        self._local.pause(seconds)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


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


#: The fields of an Airflow Redis connection's extra that ``RedisHook`` passes on as TLS options.
_REDIS_SSL_EXTRAS = ("ssl", "ssl_cert_reqs", "ssl_ca_certs", "ssl_keyfile", "ssl_certfile", "ssl_check_hostname")


async def connect_redis_async(redis_conn_id: str) -> Any:
    """A connected ``redis.asyncio.Redis`` client for an Airflow Redis connection.

    ``RedisHook`` has no async client, so the connection's fields are read the way it reads them
    (host, port, login, password, extra ``db`` and TLS options); the connection is fetched
    without blocking the event loop. Redis Cluster is not supported here.
    """
    from airflow_provider_cellcast._compat import get_async_connection, get_async_extra_dejson

    try:
        import redis.asyncio as aioredis
    except ImportError as error:
        raise CellcastConfigurationError(
            f"The Cellcast connection names Redis connection {redis_conn_id!r} for its shared rate limit "
            "(rate_limit_redis_conn_id), but the redis package is not installed: "
            "pip install 'airflow-provider-cellcast[redis]'"
        ) from error
    try:
        conn = await get_async_connection(redis_conn_id)
    except Exception as error:
        if type(error).__name__ == "AirflowNotFoundException":
            raise CellcastConfigurationError(
                f"Redis connection {redis_conn_id!r}, named by the Cellcast connection's "
                "rate_limit_redis_conn_id, is not defined"
            ) from error
        raise
    extra = await get_async_extra_dejson(conn)
    if extra.get("cluster"):
        raise CellcastConfigurationError(
            f"Redis connection {redis_conn_id!r} is a Redis Cluster: the shared Cellcast rate limit of triggers "
            "needs a single Redis (or leave rate_limit_redis_conn_id empty for the triggers' connection)"
        )
    password = None if str(conn.password).lower() in ("none", "false", "") else conn.password
    client = aioredis.Redis(
        host=conn.host or "localhost",
        port=conn.port or 6379,
        username=conn.login or None,
        password=password,
        db=int(extra.get("db") or 0),
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        **{name: extra[name] for name in _REDIS_SSL_EXTRAS if name in extra},
    )
    await client.ping()
    return client

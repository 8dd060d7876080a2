"""SharedRequestPacer: one pace and one 429 pause per Cellcast account, through a real redis-server.

Two pacers on two Redis clients stand for two processes (or machines). A fake clock and a fake
sleep that moves it make the spacing exact and the tests instant; Redis holds the real state.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import sys

import pytest

pytest.importorskip("pyrate_limiter", reason="needs airflow-provider-cellcast[redis]")
redis = pytest.importorskip("redis", reason="needs airflow-provider-cellcast[redis]")

# The fixtures redis_server and redis_url (test arguments below redefine them: F811).
from redis_server import free_port, redis_server, redis_url, running_redis  # noqa: E402, F401

from airflow_provider_cellcast.exceptions import CellcastConfigurationError  # noqa: E402
from airflow_provider_cellcast.ratelimit import (  # noqa: E402
    KEY_PREFIX,
    AsyncRequestPacer,
    CellcastSharedRateLimitError,
    RequestPacer,
    account_key,
    build_async_pacer,
    build_pacer,
)
from airflow_provider_cellcast.settings import CellcastSettings  # noqa: E402
from airflow_provider_cellcast.shared_ratelimit import (  # noqa: E402
    AsyncSharedRequestPacer,
    SharedRequestPacer,
    connect_redis,
    connect_redis_async,
)

TOKEN = "secret-token-of-the-account-1234"
BASE_URL = "https://api.cellcast.com"


class FakeTime:
    """Wall-clock seconds that move only when somebody sleeps."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def shared(rate: float, time: FakeTime, *, key: str | None = None, **kwargs) -> SharedRequestPacer:
    """A pacer with its own Redis client, as another process would have."""
    return SharedRequestPacer(
        rate,
        connect=lambda: connect_redis("cellcast_redis"),
        key=key or account_key(BASE_URL, TOKEN),
        redis_conn_id="cellcast_redis",
        clock=time.clock,
        sleep=time.sleep,
        **kwargs,
    )


def test_account_key_is_per_account_and_never_holds_the_token():
    key = account_key(BASE_URL, TOKEN)
    assert key.startswith(KEY_PREFIX)
    assert TOKEN not in key and "cellcast.com" not in key
    assert key == account_key(BASE_URL + "/", TOKEN)
    assert key != account_key(BASE_URL, TOKEN + "x")
    assert key != account_key("http://127.0.0.1:8079", TOKEN)


def test_two_processes_share_one_even_pace(redis_url):  # noqa: F811
    time = FakeTime()
    first, second = shared(40, time), shared(40, time)
    sent_at = []
    for pacer in itertools.islice(itertools.cycle([first, second]), 200):
        pacer.acquire()
        sent_at.append(time.now)
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    # Evenly spread 10 % below the limit (36/s): GCRA's emission interval, in whole milliseconds.
    assert min(gaps) >= 1 / 36 - 1e-9
    assert max(gaps) <= 1 / 36 + 0.0015
    # Any 41 consecutive requests (one more than the limit) span at least 1/0.9 s, as locally.
    assert min(sent_at[i + 40] - sent_at[i] for i in range(len(sent_at) - 40)) >= 1 / 0.9 - 1e-9


def test_different_accounts_do_not_share_a_pace(redis_url):  # noqa: F811
    time = FakeTime()
    one = shared(10, time, key=account_key(BASE_URL, "token-one"))
    other = shared(10, time, key=account_key(BASE_URL, "token-two"))
    one.acquire()
    other.acquire()
    assert time.slept == []


def test_a_429_seen_by_one_process_pauses_all_and_never_shortens(redis_url):  # noqa: F811
    time = FakeTime()
    first, second = shared(40, time), shared(40, time)
    first.acquire()
    started = time.now
    first.pause(5)
    second.pause(2)  # shorter: must not shorten the pause
    second.acquire()
    assert time.now - started >= 5
    assert time.now - started < 5 + 1 / 36 + 0.002


def test_threads_of_one_process_get_distinct_slots(redis_url):  # noqa: F811
    import threading

    time = FakeTime()
    pacer = shared(18, time)  # paces at 16.2/s: 61.73 ms apart
    started = time.now
    threads = [threading.Thread(target=pacer.acquire) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One thread at a time asks Redis, and the fake time only moves while it waits: six requests
    # took five emission intervals (whole milliseconds each), none of them shared a slot.
    assert 5 / 16.2 <= time.now - started <= 5 / 16.2 + 5 * 0.0015


def test_unreachable_redis_fails_clearly_and_once(monkeypatch):
    port = free_port()  # nothing listens there
    monkeypatch.setenv(
        "AIRFLOW_CONN_CELLCAST_REDIS",
        json.dumps({"conn_type": "redis", "host": "127.0.0.1", "port": port, "password": "redis-pass-word"}),
    )
    connects = []

    def connect():
        connects.append(1)
        return connect_redis("cellcast_redis")

    time = FakeTime()
    pacer = SharedRequestPacer(40, connect=connect, key=account_key(BASE_URL, TOKEN), redis_conn_id="cellcast_redis")
    with pytest.raises(CellcastSharedRateLimitError, match="Redis connection 'cellcast_redis'") as raised:
        pacer.acquire()
    assert "rate_limit_redis_fallback" in str(raised.value)
    assert "redis-pass-word" not in str(raised.value) and TOKEN not in str(raised.value)
    with pytest.raises(CellcastSharedRateLimitError):
        pacer.pause(3)
    assert connects == [1]  # the failure is remembered: no new connect per request
    assert time.slept == []


def test_unreachable_redis_falls_back_to_local_pacing_with_a_warning(monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW_CONN_CELLCAST_REDIS", json.dumps({"conn_type": "redis", "port": free_port()}))
    time = FakeTime()
    pacer = shared(40, time, fallback_local=True)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            pacer.acquire()
    assert "pacing within this task only" in caplog.text
    assert "cellcast_redis" in caplog.text
    assert isinstance(pacer._local, RequestPacer)
    # Still paced: the local pacer reserves slots 1/36 s apart on its own monotonic clock (which
    # barely moves here, the sleep being fake): the 2nd and 3rd requests wait about 1/36 and 2/36 s.
    assert time.slept[-2:] == [pytest.approx(1 / 36, abs=0.01), pytest.approx(2 / 36, abs=0.01)]


@pytest.mark.parametrize("fallback", [False, True])
def test_redis_lost_mid_run(monkeypatch, fallback):
    with running_redis() as server:
        monkeypatch.setenv("AIRFLOW_CONN_CELLCAST_REDIS", server.connection_json())
        time = FakeTime()
        pacer = shared(40, time, fallback_local=fallback)
        pacer.acquire()
        server.stop()
        if fallback:
            pacer.acquire()
            pacer.pause(1)
            assert isinstance(pacer._local, RequestPacer)
        else:
            with pytest.raises(CellcastSharedRateLimitError, match="cellcast_redis"):
                pacer.acquire()


def test_undefined_redis_connection_is_a_configuration_error(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_NO_SUCH_REDIS", raising=False)
    with pytest.raises(CellcastConfigurationError, match=r"'no_such_redis'.*not defined"):
        connect_redis("no_such_redis")


def test_missing_redis_provider_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "airflow.providers.redis.hooks.redis", None)
    with pytest.raises(CellcastConfigurationError, match=r"airflow-provider-cellcast\[redis\]"):
        connect_redis("cellcast_redis")


def test_build_pacer_chooses_by_settings():
    local = build_pacer(CellcastSettings(), base_url=BASE_URL, token=TOKEN)
    assert isinstance(local, RequestPacer)
    unpaced = build_pacer(
        CellcastSettings(requests_per_second=0, rate_limit_redis_conn_id="r"), base_url=BASE_URL, token=TOKEN
    )
    assert isinstance(unpaced, RequestPacer)
    chosen = build_pacer(
        CellcastSettings(rate_limit_redis_conn_id="r", rate_limit_redis_fallback="local"),
        base_url=BASE_URL,
        token=TOKEN,
    )
    assert isinstance(chosen, SharedRequestPacer)
    assert chosen.fallback_local and chosen.redis_conn_id == "r" and chosen.key == account_key(BASE_URL, TOKEN)


def test_settings_read_the_new_extras():
    settings = CellcastSettings.from_extras(
        {"rate_limit_redis_conn_id": " cellcast_redis ", "rate_limit_redis_fallback": "local"}, "c"
    )
    assert settings.rate_limit_redis_conn_id == "cellcast_redis"
    assert settings.rate_limit_redis_fallback == "local"
    with pytest.raises(CellcastConfigurationError, match="rate_limit_redis_fallback"):
        CellcastSettings.from_extras({"rate_limit_redis_fallback": "ignore"}, "c")
    with pytest.raises(CellcastConfigurationError, match="rate_limit_redis_conn_id"):
        CellcastSettings().override(rate_limit_redis_conn_id=5)


def test_hook_paces_through_redis_and_keeps_the_token_out_of_it(redis_url, cellcast_emulator, monkeypatch):  # noqa: F811
    from airflow_provider_cellcast.hooks.cellcast import CellcastHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_CELLCAST_DEFAULT",
        json.dumps(
            {
                "conn_type": "cellcast",
                "host": cellcast_emulator.url,
                "password": cellcast_emulator.token,
                "extra": {"rate_limit_redis_conn_id": "cellcast_redis", "requests_per_second": 40},
            }
        ),
    )
    [message_id] = cellcast_emulator.schedule_campaign(contacts=["61400000001"])
    hook = CellcastHook()
    assert hook.cancel_scheduled_message(message_id, "sms")["outcome"] == "cancelled"
    client = redis.Redis.from_url(redis_url)
    keys = [key.decode() for key in client.keys("*")]
    assert account_key(cellcast_emulator.url, cellcast_emulator.token) in keys
    stored = " ".join(keys + [str(client.hgetall(key)) for key in keys if client.type(key) == b"hash"])
    assert cellcast_emulator.token not in stored


def test_hook_sends_nothing_when_redis_is_unreachable(cellcast_emulator, monkeypatch):
    from airflow_provider_cellcast.hooks.cellcast import CellcastHook

    monkeypatch.setenv("AIRFLOW_CONN_CELLCAST_REDIS", json.dumps({"conn_type": "redis", "port": free_port()}))
    monkeypatch.setenv(
        "AIRFLOW_CONN_CELLCAST_DEFAULT",
        json.dumps(
            {
                "conn_type": "cellcast",
                "host": cellcast_emulator.url,
                "password": cellcast_emulator.token,
                "extra": {"rate_limit_redis_conn_id": "cellcast_redis"},
            }
        ),
    )
    ids = cellcast_emulator.schedule_campaign(contacts=["61400000001", "61400000002", "61400000003"])
    cellcast_emulator.clear_requests_log()
    outcomes = CellcastHook().cancel_scheduled_messages(ids, "sms")
    assert [outcome.result["outcome"] for outcome in outcomes] == ["failed"] * 3
    assert all(isinstance(outcome.error, CellcastSharedRateLimitError) for outcome in outcomes)
    assert all("cellcast_redis" in (outcome.result["error"] or "") for outcome in outcomes)
    assert all(cellcast_emulator.message(message_id)["status"] == "scheduled" for message_id in ids)
    assert [entry for entry in cellcast_emulator.requests_log() if entry["path"].startswith("/api/")] == []


# -- the async twin: the same key, the same steps, redis.asyncio ----------------------------------------------


def async_shared(rate: float, time: FakeTime, **kwargs) -> AsyncSharedRequestPacer:
    """An async pacer with its own ``redis.asyncio`` client, reading the same Airflow connection."""

    async def sleep(seconds: float) -> None:
        time.sleep(seconds)

    return AsyncSharedRequestPacer(
        rate,
        connect=lambda: connect_redis_async("cellcast_redis"),
        key=kwargs.pop("key", None) or account_key(BASE_URL, TOKEN),
        redis_conn_id="cellcast_redis",
        clock=time.clock,
        sleep=sleep,
        **kwargs,
    )


def test_a_sync_and_an_async_pacer_share_one_even_pace(redis_url):  # noqa: F811
    time = FakeTime()
    sync_pacer, async_pacer = shared(40, time), async_shared(40, time)

    async def alternate() -> list[float]:
        sent_at = []
        for turn in range(100):
            if turn % 2:
                sync_pacer.acquire()
            else:
                await async_pacer.acquire()
            sent_at.append(time.now)
        await async_pacer.close()
        return sent_at

    sent_at = asyncio.run(alternate())
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert min(gaps) >= 1 / 36 - 1e-9 and max(gaps) <= 1 / 36 + 0.0015


def test_a_429_seen_by_the_async_pacer_pauses_the_sync_one(redis_url):  # noqa: F811
    time = FakeTime()
    sync_pacer, async_pacer = shared(40, time), async_shared(40, time)

    async def pause() -> None:
        await async_pacer.acquire()
        await async_pacer.pause(5)
        await async_pacer.close()

    asyncio.run(pause())
    started = time.now
    sync_pacer.acquire()
    assert 5 - 1e-9 <= time.now - started < 5 + 0.01


def test_the_async_pacer_falls_back_to_local_pacing_when_redis_is_unreachable(monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW_CONN_CELLCAST_REDIS", json.dumps({"conn_type": "redis", "port": free_port()}))
    time = FakeTime()
    fallback = async_shared(40, time, fallback_local=True)
    failing = async_shared(40, time)

    async def acquire_both() -> None:
        with caplog.at_level(logging.WARNING):
            for _ in range(3):
                await fallback.acquire()
        with pytest.raises(CellcastSharedRateLimitError, match="cellcast_redis"):
            await failing.acquire()

    asyncio.run(acquire_both())
    assert "pacing within this task only" in caplog.text
    assert isinstance(fallback._local, RequestPacer)


def test_the_async_redis_client_reads_the_airflow_connection(redis_url):  # noqa: F811
    async def ping() -> bool:
        client = await connect_redis_async("cellcast_redis")
        try:
            return bool(await client.ping())
        finally:
            await client.aclose()

    assert asyncio.run(ping()) is True


def test_an_undefined_redis_connection_is_a_configuration_error_in_async_code_too(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_NO_SUCH_REDIS", raising=False)
    with pytest.raises(CellcastConfigurationError, match=r"'no_such_redis'.*not defined"):
        asyncio.run(connect_redis_async("no_such_redis"))


def test_build_async_pacer_chooses_by_settings():
    local = build_async_pacer(CellcastSettings(), base_url=BASE_URL, token=TOKEN)
    assert isinstance(local, AsyncRequestPacer)
    chosen = build_async_pacer(CellcastSettings(rate_limit_redis_conn_id="r"), base_url=BASE_URL, token=TOKEN)
    assert isinstance(chosen, AsyncSharedRequestPacer) and chosen.key == account_key(BASE_URL, TOKEN)

"""The harness parts on their own (clock, faults, journal, rate limit, pages), and the settings'
way in: ``EmulatorConfig``, ``create_app``, the control plane, the package's exports."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

import airflow_provider_cellcast.emulator as emulator_package
from airflow_provider_cellcast.emulator.app import create_app
from airflow_provider_cellcast.emulator.config import CHOICES, RUNTIME_FIELDS, EmulatorConfig, credits, credits_json
from airflow_provider_cellcast.emulator.harness.clock import EmulatorClock
from airflow_provider_cellcast.emulator.harness.faults import FaultBook
from airflow_provider_cellcast.emulator.harness.journal import REPORT_PATH_KEY, Journal, path_key
from airflow_provider_cellcast.emulator.harness.ratelimit import RateLimiter
from airflow_provider_cellcast.emulator.pages import mongoose_page, query_int
from airflow_provider_cellcast.emulator.rules import RuleError, custom_string, is_stop_reply
from airflow_provider_cellcast.emulator.server import CellcastEmulator

T0 = datetime(2031, 1, 1, tzinfo=timezone.utc)


def test_clock_moves_only_when_told() -> None:
    clock = EmulatorClock(lambda: T0)
    assert clock.now() == T0
    assert clock.advance(90) == T0 + timedelta(seconds=90)
    assert clock.set(datetime(2031, 6, 1)) == datetime(2031, 6, 1, tzinfo=timezone.utc)
    assert clock.offset_seconds == (datetime(2031, 6, 1, tzinfo=timezone.utc) - T0).total_seconds()
    clock.reset()
    assert clock.now() == T0


def test_fault_book_takes_the_oldest_match_and_counts_down() -> None:
    book = FaultBook()
    first = book.add({"kind": "status", "path": "/api/x", "count": 2})
    second = book.add({"kind": "html", "path": "/api/*"})
    assert [f.id for f in book.pending()] == [first.id, second.id]
    taken = [book.take("GET", "/api/x", None) for _ in range(3)]
    assert [f.kind if f else None for f in taken] == ["status", "status", "html"]
    assert book.take("GET", "/api/x", None) is None
    with pytest.raises(RuleError, match="kind must be one of"):
        book.add({"kind": "explode"})
    assert book.add({"kind": "cast_error"}).path == "/api/v2/report/message/*"


def test_journal_counts_and_forgets_answers_of_an_old_epoch() -> None:
    journal = Journal()
    epoch = journal.record_request({"path": "/api/v2/report/message/abc"}, "t")
    journal.record_answer(200, epoch)
    journal.count_rate_limited()
    assert journal.stats() == {
        "requests": 1,
        "by_path": {REPORT_PATH_KEY: 1},
        "by_status": {"200": 1},
        "rate_limited": 1,
        "in_flight": 0,
        "peak_in_flight": 1,
    }
    late = journal.record_request({"path": "/api/v1/gateway"}, "t")
    journal.clear_stats()
    journal.record_answer(500, late)
    assert journal.stats()["by_status"] == {}
    assert [e["id"] for e in journal.entries()] == [1, 2]
    assert path_key("/api/v2/report/message") == "/api/v2/report/message"


def test_rate_limiter_window_per_token() -> None:
    limiter = RateLimiter()
    assert [limiter.check("a", 2) for _ in range(2)] == [None, None]
    wait = limiter.check("a", 2)
    assert wait is not None and 0 < wait <= 1
    assert limiter.check("b", 2) is None, "each token has its own window"
    assert limiter.check("a", None) is None


def test_mongoose_pages_and_query_ints() -> None:
    page = mongoose_page(list(range(25)), 3, 10, str)
    assert page == {
        "items": [str(n) for n in range(20, 25)],
        "total": 25,
        "limit": 10,
        "current": 3,
        "pagingCounter": 21,
        "totalPages": 3,
        "hasPrevPage": True,
        "hasNextPage": False,
        "prevPage": 2,
        "nextPage": None,
    }
    assert query_int({}, "page", 1, 10) == 1
    for bad in ("0", "11", "x", "-1"):
        with pytest.raises(RuleError, match="page must be a whole number from 1 to 10"):
            query_int({"page": bad}, "page", 1, 10)


def test_rule_units() -> None:
    assert custom_string("a-B-9") == "a-B-9" and custom_string("") is None and custom_string(None) is None
    assert custom_string("a b/c", "strip") == "abc"
    with pytest.raises(RuleError) as raised:
        custom_string("a b")
    assert raised.value.field == "customString" and raised.value.status_code == 400
    assert is_stop_reply("  Stop   All ") and not is_stop_reply("stopped") and not is_stop_reply(None)


def test_credits_are_cents() -> None:
    assert credits(0.1) + credits(0.2) == credits(0.3)
    assert credits_json(credits(10_000)) == 10_000 and isinstance(credits_json(credits(10_000)), int)
    assert credits_json(credits("9972.20")) == 9972.2


def test_every_mode_has_its_default_first_and_is_a_runtime_field() -> None:
    config = EmulatorConfig()
    for name, choices in CHOICES.items():
        assert getattr(config, name) == choices[0]
        assert name in RUNTIME_FIELDS
    with pytest.raises(ValueError, match="contacts_mode must be one of strict, lenient"):
        create_app(contacts_mode="loose")
    with pytest.raises(TypeError, match="unknown emulator setting"):
        create_app(no_such_setting=1)


def test_control_plane_shows_every_mode_and_never_the_token(emulator: CellcastEmulator) -> None:
    shown = requests.get(f"{emulator.url}/_emulator/config", timeout=5).json()
    assert "token" not in shown
    assert {name: shown[name] for name in CHOICES} == {name: choices[0] for name, choices in CHOICES.items()}
    changed = emulator.configure(contacts_mode="lenient", replies_order="oldest-first", sms_balance=12.5)
    assert (changed["contacts_mode"], changed["replies_order"], changed["sms_balance"]) == (
        "lenient",
        "oldest-first",
        12.5,
    )
    # All or nothing: one bad value changes nothing.
    response = requests.post(
        f"{emulator.url}/_emulator/config", json={"contacts_mode": "strict", "replies_order": "random"}, timeout=5
    )
    assert response.status_code == 400
    assert emulator.state.config.contacts_mode == "lenient"
    emulator.reset()
    assert emulator.state.config.contacts_mode == "strict"


def test_the_package_exports_every_public_name() -> None:
    for name in (
        "CellcastEmulator",
        "EmulatorClient",
        "EmulatorState",
        "EmulatorConfig",
        "create_app",
        "emulator_process",
    ):
        assert getattr(emulator_package, name).__name__ == name

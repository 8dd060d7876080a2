"""Pure units of the emulator: timestamps, numbers, masking, IDs, the state with an injected clock."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_cellcast.emulator.contacts import mask_json, mask_phone, normalise_contact
from airflow_provider_cellcast.emulator.state import (
    EmulatorConfig,
    EmulatorState,
    EmulatorStateError,
    InsufficientBalanceError,
    format_timestamp,
    parse_timestamp,
    sms_parts,
)

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(timezone.utc)))
def test_timestamps_round_trip_in_both_forms(moment: datetime) -> None:
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    assert parse_timestamp(format_timestamp(moment)) == moment
    assert parse_timestamp(moment.strftime("%Y-%m-%d %H:%M:%S")) == moment.replace(microsecond=0)


@pytest.mark.parametrize("text", ["2030-01-01", "01/01/2030 10:00", "", "2030-13-01 00:00:00", "2030-01-01T25:00:00Z"])
def test_bad_timestamps(text: str) -> None:
    with pytest.raises(EmulatorStateError):
        parse_timestamp(text)


@pytest.mark.parametrize("raw", ["+61412345678", "61412345678", "0412345678", "412345678", "0412 345 678", 61412345678])
def test_documented_number_forms_normalise(raw: object) -> None:
    check = normalise_contact(raw)
    assert (check.number, check.national) == ("+61412345678", "412345678")


@pytest.mark.parametrize("raw", ["12345", "+15551234567", "0212345678", "04123456789", "04x2345678", None, True])
def test_bad_numbers_are_refused(raw: object) -> None:
    check = normalise_contact(raw)
    assert check.number is None and check.error and check.error_type


def test_masking() -> None:
    assert mask_phone("+61412345678") == "+********678"
    masked = mask_json(
        {"contacts": ["0412345678"], "message": "ring 0412 345 678", "messageId": "675161d8a000000000000000"}
    )
    assert masked == {
        "contacts": ["*******678"],
        "message": "ring **** *** 678",
        "messageId": "675161d8a000000000000000",
    }


def test_sms_parts() -> None:
    assert [sms_parts("a" * n) for n in (1, 160, 161, 306, 307)] == [1, 1, 2, 2, 3]
    assert sms_parts("é" * 71) == 2


def test_ids_look_like_object_ids_and_are_unique() -> None:
    state = EmulatorState(EmulatorConfig(sms_balance=5000))
    ids = [m.id for m in state.send("sms", [f"+6141234{i:04d}" for i in range(1000)], "x")]
    assert len(set(ids)) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids)


def test_state_with_an_injected_clock() -> None:
    clock = FakeClock(T0)
    state = EmulatorState(EmulatorConfig(delivery_delay_seconds=5), clock=clock)
    [message] = state.send("sms", ["+61412345678"], "Hi", schedule_at=T0 + timedelta(minutes=10))
    assert message.status == "scheduled" and message.created_at == T0
    clock.now = T0 + timedelta(minutes=10)
    sent = state.get_message(message.id)
    assert sent is not None and (sent.status, sent.send_time) == ("sent", T0 + timedelta(minutes=10))
    clock.now += timedelta(seconds=5)
    delivered = state.get_message(message.id)
    assert delivered is not None and delivered.status == "delivered"
    assert state.cancel(message.id, "sms") == (False, "Job not found or already processed")


def test_balance_is_all_or_nothing() -> None:
    state = EmulatorState(EmulatorConfig(sms_balance=2))
    with pytest.raises(InsufficientBalanceError):
        state.send("sms", ["+61412345678", "+61412345679", "+61412345670"], "x")
    assert state.account.sms_balance == 2 and state.list_messages() == []


def test_package_and_plugin_import_light() -> None:
    code = (
        "import sys, airflow_provider_cellcast.emulator, airflow_provider_cellcast.emulator.pytest_plugin\n"
        "heavy = [m for m in ('fastapi', 'uvicorn', 'starlette', 'airflow') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)

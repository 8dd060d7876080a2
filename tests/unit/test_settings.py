"""CellcastSettings: defaults < connection extras < hook arguments, UI strings coerced, ranges checked."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_cellcast.exceptions import CellcastConfigurationError
from airflow_provider_cellcast.hooks.cellcast import CellcastHook
from airflow_provider_cellcast.settings import CellcastSettings, checked_hook_params


def test_defaults() -> None:
    settings = CellcastSettings()
    assert (settings.timeout, settings.connect_timeout, settings.max_attempts) == (30.0, 10.0, 5)
    assert (settings.requests_per_second, settings.max_concurrency) == (10.0, 8)
    assert settings.allow_insecure_http is False and settings.verify is True
    assert settings.call_timeout is None and settings.call_budget == 60.0  # twice the timeout
    assert settings.max_response_bytes == 4 * 1024 * 1024
    assert (settings.rate_limit_redis_conn_id, settings.rate_limit_redis_fallback) == ("", "fail")


def test_call_timeout_defaults_to_twice_the_timeout() -> None:
    assert CellcastSettings(timeout=7).call_budget == 14.0
    assert CellcastSettings(timeout=7, call_timeout=20).call_budget == 20.0
    from_extras = CellcastSettings.from_extras({"timeout": "4", "call_timeout": ""}, "cc")  # empty: twice timeout
    assert from_extras.call_timeout is None and from_extras.call_budget == 8.0
    assert CellcastSettings.from_extras({"call_timeout": "90"}, "cc").call_budget == 90.0
    assert CellcastSettings().override(call_timeout="2.5").call_timeout == 2.5


def test_max_response_bytes() -> None:
    assert CellcastSettings.from_extras({"max_response_bytes": "65536"}, "cc").max_response_bytes == 65536
    assert CellcastSettings(max_response_bytes=1024).max_response_bytes == 1024
    assert CellcastSettings(max_response_bytes=256 * 1024 * 1024).max_response_bytes == 256 * 1024 * 1024
    for value in (1023, 256 * 1024 * 1024 + 1):
        with pytest.raises(CellcastConfigurationError, match="from 1024 bytes to 256 MiB"):
            CellcastSettings(max_response_bytes=value)
    with pytest.raises(CellcastConfigurationError, match="is not a int"):
        CellcastSettings.from_extras({"max_response_bytes": "4 MB"}, "cc")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timeout", "inf"),
        ("timeout", "nan"),
        ("timeout", "-inf"),
        ("connect_timeout", "Infinity"),
        ("call_timeout", "inf"),
        ("max_retry_seconds", "inf"),
        ("backoff_seconds", "nan"),
        ("requests_per_second", "1e-300"),
        ("requests_per_second", "0.001"),
        ("requests_per_second", "inf"),
        ("timeout", "1e999"),
    ],
)
def test_values_must_be_finite_and_usable(field: str, value: str) -> None:
    with pytest.raises(
        CellcastConfigurationError, match=f"Cellcast setting {field}=.* is out of range: use "
    ) as raised:
        CellcastSettings.from_extras({field: value}, "cc")
    assert isinstance(raised.value, AirflowFailException)
    with pytest.raises(CellcastConfigurationError, match=f"setting {field}="):
        CellcastSettings().override(**{field: float(value)})


def test_the_smallest_pace_and_no_pace_are_accepted() -> None:
    assert CellcastSettings(requests_per_second=0.01).requests_per_second == 0.01
    assert CellcastSettings(requests_per_second=0).requests_per_second == 0


def test_unknown_extras_are_warned_with_the_closest_name(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="airflow_provider_cellcast.settings"):
        settings = CellcastSettings.from_extras({"timeuot": "5", "colour": "red", "timeout": "7"}, "cc")
    assert settings.timeout == 7.0  # the misspelt one is not used
    messages = [record.getMessage() for record in caplog.records if record.name == "airflow_provider_cellcast.settings"]
    assert messages == [
        "Connection 'cc' has an extra 'colour' that is no Cellcast setting: it is ignored",
        "Connection 'cc' has an extra 'timeuot' that is no Cellcast setting: it is ignored (did you mean 'timeout'?)",
    ]


def test_known_extras_are_not_warned(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="airflow_provider_cellcast.settings"):
        CellcastSettings.from_extras({"timeout": "7", "verify": "false"}, "cc")
    assert not [record for record in caplog.records if record.name == "airflow_provider_cellcast.settings"]


def test_precedence_defaults_then_extras_then_hook_arguments() -> None:
    from_extras = CellcastSettings.from_extras({"timeout": 12, "max_attempts": 2}, "cc")
    assert (from_extras.timeout, from_extras.max_attempts, from_extras.connect_timeout) == (12.0, 2, 10.0)
    overridden = from_extras.override(max_attempts=7, timeout=None)  # None: not given
    assert (overridden.timeout, overridden.max_attempts) == (12.0, 7)
    assert from_extras.max_attempts == 2  # frozen: override returns a copy


def test_precedence_through_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = {"timeout": "12", "max_attempts": "2", "backoff_seconds": "0.5"}
    conn = {"conn_type": "cellcast", "password": "tok-settings-5d4c3b", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_CELLCAST_SETTINGS", json.dumps(conn))
    settings = CellcastHook("cellcast_settings", max_attempts=7).settings
    assert (settings.timeout, settings.max_attempts, settings.backoff_seconds, settings.max_concurrency) == (
        12.0, 7, 0.5, 8,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("extras", "field", "expected"),
    [
        ({"timeout": "12.5"}, "timeout", 12.5),
        ({"max_attempts": " 3 "}, "max_attempts", 3),
        ({"allow_insecure_http": "true"}, "allow_insecure_http", True),
        ({"allow_insecure_http": "No"}, "allow_insecure_http", False),
        ({"allow_insecure_http": "1"}, "allow_insecure_http", True),
        ({"verify": "false"}, "verify", False),
        ({"verify": "TRUE"}, "verify", True),
        ({"verify": " /etc/ssl/ca.pem "}, "verify", "/etc/ssl/ca.pem"),
        ({"verify": None}, "verify", True),  # empty form fields mean "default"
        ({"timeout": ""}, "timeout", 30.0),
        ({"rate_limit_redis_conn_id": " redis_default "}, "rate_limit_redis_conn_id", "redis_default"),
    ],
)
def test_strings_from_the_ui_form_are_coerced(extras, field, expected) -> None:
    assert getattr(CellcastSettings.from_extras(extras, "cc"), field) == expected


@pytest.mark.parametrize(
    ("extras", "named"),
    [
        ({"max_attempts": "many"}, "max_attempts='many' in connection 'cc' is not a int"),
        ({"allow_insecure_http": "perhaps"}, "allow_insecure_http='perhaps' in connection 'cc' is not true or false"),
        ({"timeout": [1]}, "timeout=[1]"),
    ],
)
def test_unreadable_values_name_the_setting_and_the_connection(extras, named) -> None:
    with pytest.raises(CellcastConfigurationError) as raised:
        CellcastSettings.from_extras(extras, "cc")
    assert named in str(raised.value)
    assert isinstance(raised.value, AirflowFailException)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timeout", 0),
        ("connect_timeout", -1),
        ("max_attempts", 0),
        ("backoff_seconds", -0.1),
        ("max_backoff_seconds", -1),
        ("max_retry_seconds", -1),
        ("requests_per_second", -1),
        ("max_concurrency", 0),
        ("max_concurrency", 65),
        ("max_attempts", 101),
        ("timeout", 3601),
        ("call_timeout", 0),
        ("call_timeout", 86401),
        ("requests_per_second", 10001),
    ],
)
def test_out_of_range_values_name_the_setting(field, value) -> None:
    with pytest.raises(
        CellcastConfigurationError, match=rf"Cellcast setting {field}={value!r} is out of range: use \w"
    ):
        CellcastSettings(**{field: value})
    with pytest.raises(CellcastConfigurationError, match=field):
        CellcastSettings.from_extras({field: str(value)}, "cc")
    with pytest.raises(CellcastConfigurationError, match=field):
        CellcastSettings().override(**{field: value})


def test_boundaries_are_accepted() -> None:
    settings = CellcastSettings(max_concurrency=64, max_attempts=1, requests_per_second=0, backoff_seconds=0)
    assert settings.max_concurrency == 64 and CellcastSettings(max_concurrency=1).max_concurrency == 1


def test_rate_limit_redis_fallback_is_fail_or_local() -> None:
    local = CellcastSettings.from_extras({"rate_limit_redis_fallback": "local"}, "cc")
    assert local.rate_limit_redis_fallback == "local"
    with pytest.raises(CellcastConfigurationError, match="rate_limit_redis_fallback"):
        CellcastSettings(rate_limit_redis_fallback="ignore")


def test_unknown_names_are_refused_in_hook_arguments() -> None:
    with pytest.raises(CellcastConfigurationError, match="Unknown Cellcast setting 'colour' in the hook arguments"):
        CellcastSettings().override(colour="red")


def test_every_field_is_a_connection_extra_of_the_same_name() -> None:
    names = [spec.name for spec in dataclasses.fields(CellcastSettings)]
    extras = {name: getattr(CellcastSettings(), name) for name in names}
    assert CellcastSettings.from_extras(extras, "cc") == CellcastSettings()


def test_checked_hook_params() -> None:
    assert checked_hook_params(None) == {}
    params = {"timeout": "5", "max_attempts": 2}
    checked = checked_hook_params(params)
    assert checked == params and checked is not params  # a copy, values as given
    with pytest.raises(CellcastConfigurationError, match="Unknown Cellcast setting 'retries'"):
        checked_hook_params({"retries": 3})
    with pytest.raises(CellcastConfigurationError, match="max_concurrency"):
        checked_hook_params({"max_concurrency": 100})

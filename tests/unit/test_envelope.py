"""Envelope parsing: every answer Cellcast can give becomes an Envelope or a typed error."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from documented import DOCUMENTED_CANCEL_400, DOCUMENTED_CANCEL_401, DOCUMENTED_CANCEL_SUCCESS
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_cellcast.envelope import parse_response, parse_retry_after
from airflow_provider_cellcast.exceptions import (
    CellcastAuthenticationError,
    CellcastBadRequestError,
    CellcastError,
    CellcastInvalidResponseError,
    CellcastRateLimitError,
    CellcastServerError,
    CellcastUnsuccessfulError,
)

DOC_SUCCESS, DOC_400, DOC_401 = DOCUMENTED_CANCEL_SUCCESS, DOCUMENTED_CANCEL_400, DOCUMENTED_CANCEL_401


def body(document) -> bytes:
    return json.dumps(document).encode()


def test_documented_success():
    envelope = parse_response(200, body(DOC_SUCCESS))
    assert envelope.kind == "app"
    assert envelope.message == "Job Removed successfully"
    assert envelope.data == {"message": "Job Removed successfully"}


def test_status_false_on_http_200_is_a_failure_whatever_the_wording():
    failed = {**DOC_SUCCESS, "status": False, "message": "Job Removed successfully", "data": {}}
    with pytest.raises(CellcastUnsuccessfulError) as caught:
        parse_response(200, body(failed), message_id="675161d8a000000000000000")
    assert caught.value.status_code == 200 and caught.value.message_id == "675161d8a000000000000000"


def test_status_true_with_failure_wording_is_success():
    assert parse_response(200, body({**DOC_SUCCESS, "message": "Error: not found"})).kind == "app"


def test_documented_400_is_bad_request_without_stack():
    with pytest.raises(CellcastBadRequestError) as caught:
        parse_response(400, body(DOC_400), what="cancel")
    assert caught.value.status_code == 400
    assert caught.value.api_message == "messageId is required"
    assert "APIError" not in str(caught.value)


def test_documented_401_is_authentication_error():
    with pytest.raises(CellcastAuthenticationError) as caught:
        parse_response(401, body(DOC_401))
    assert caught.value.status_code == 401 and "Token expired" in str(caught.value)
    assert "stack" not in str(caught.value) and "...." not in str(caught.value)


def test_meta_envelope():
    account = {
        "meta": {"code": 200, "status": "SUCCESS"},
        "message": "ok",
        "data": {"sms_balance": 10},
        "error": {},
    }
    envelope = parse_response(200, body(account))
    assert envelope.kind == "meta" and envelope.data == {"sms_balance": 10}
    with pytest.raises(CellcastUnsuccessfulError):
        parse_response(200, body({**account, "meta": {"code": 400, "status": "FAILED"}}))


def test_low_balance_422_app_envelope_is_unsuccessful():
    with pytest.raises(CellcastUnsuccessfulError) as caught:
        parse_response(422, body({**DOC_SUCCESS, "status": False, "message": "Insufficient balance"}))
    assert caught.value.status_code == 422


def test_429_reads_retry_after():
    with pytest.raises(CellcastRateLimitError) as caught:
        parse_response(429, b"", headers={"Retry-After": "3"})
    assert caught.value.retry_after == 3.0 and caught.value.transient


@pytest.mark.parametrize("status,transient", [(500, False), (502, True), (503, True), (504, True)])
def test_server_errors(status, transient):
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    with pytest.raises(CellcastServerError) as caught:
        parse_response(status, html, headers={"Content-Type": "text/html"})
    assert caught.value.transient is transient
    assert "text/html" in str(caught.value)


@pytest.mark.parametrize(
    "raw",
    [b"", b"   ", b"<html>proxy</html>", b"{not json", b"[1, 2]", b'"text"', b'{"foo": 1}', b"\xff\xfe"],
)
def test_unreadable_2xx_bodies(raw):
    with pytest.raises(CellcastInvalidResponseError) as caught:
        parse_response(200, raw)
    assert caught.value.status_code == 200


def test_retry_after_http_date():
    now = datetime(2026, 11, 27, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("Fri, 27 Nov 2026 12:00:05 GMT", now=now) == 5.0
    assert parse_retry_after("Fri, 27 Nov 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=15,
)
envelope_like = st.fixed_dictionaries(
    {},
    optional={
        "status": st.one_of(st.booleans(), st.text(max_size=5), st.none()),
        "meta": st.one_of(
            st.fixed_dictionaries(
                {}, optional={"code": st.integers(0, 600), "status": st.sampled_from(["SUCCESS", "FAIL", 1])}
            ),
            json_values,
        ),
        "message": json_values,
        "data": json_values,
        "code": st.integers(0, 600),
        "stack": st.text(max_size=20).map(lambda text: f"APIError: internals-{text}"),
    },
)


@settings(max_examples=500)
@given(
    status=st.integers(100, 599),
    raw=st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())),
    retry_after=st.one_of(st.none(), st.text(max_size=30)),
)
def test_any_answer_gives_envelope_or_typed_error(status, raw, retry_after):
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    try:
        envelope = parse_response(status, raw, headers=headers)
    except CellcastError as error:
        assert str(error)
    else:
        assert 200 <= status < 300 and envelope.kind in ("app", "meta")


@settings(max_examples=500)
@given(status=st.integers(100, 599), document=envelope_like)
def test_any_envelope_shaped_answer_gives_envelope_or_typed_error(status, document):
    try:
        envelope = parse_response(status, json.dumps(document).encode())
    except CellcastError as error:
        assert "internals-" not in str(error) or "internals-" in json.dumps(document.get("message"))
    else:
        assert envelope.kind in ("app", "meta")

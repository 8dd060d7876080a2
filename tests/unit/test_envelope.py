"""Envelope parsing: every answer Cellcast can give becomes an Envelope or a typed error."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from documented import DOCUMENTED_CANCEL_400, DOCUMENTED_CANCEL_401, DOCUMENTED_CANCEL_SUCCESS
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_cellcast.envelope import (
    MAX_JSON_DEPTH,
    decode_json,
    parse_response,
    parse_retry_after,
    says_not_found,
)
from airflow_provider_cellcast.exceptions import (
    CellcastAuthenticationError,
    CellcastBadRequestError,
    CellcastError,
    CellcastInvalidResponseError,
    CellcastRateLimitError,
    CellcastRedirectError,
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
    # Whether it is retried is client/retry.py's is_transient (tests/unit/client/test_retry.py).
    with pytest.raises(CellcastRateLimitError) as caught:
        parse_response(429, b"", headers={"retry-after": "3"})
    assert caught.value.retry_after == 3.0 and caught.value.status_code == 429


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors(status):
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    with pytest.raises(CellcastServerError) as caught:
        parse_response(status, html, headers={"Content-Type": "text/html", "Retry-After": "5"})
    assert caught.value.status_code == status and caught.value.retry_after == 5.0
    assert "text/html" in str(caught.value)


# -- redirects ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_refused_naming_the_location_host(status):
    headers = {"location": "https://login.example.test/sso?next=/api/v1/gateway&token=secret-in-url"}
    with pytest.raises(CellcastRedirectError) as caught:
        parse_response(status, body(DOC_SUCCESS), headers=headers, what="cancel")
    error = caught.value
    assert isinstance(error, CellcastInvalidResponseError)
    assert error.location_host == "login.example.test" and error.status_code == status
    assert "login.example.test" in str(error) and f"HTTP {status}" in str(error)
    assert "secret-in-url" not in str(error)  # the host only, never the rest of the Location


def test_a_redirect_without_location_names_nowhere():
    with pytest.raises(CellcastRedirectError) as caught:
        parse_response(302, b"")
    assert caught.value.location_host == "nowhere"


# -- JSON that no Cellcast answer can be ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b'{"status": false, "message": "x", "status": true}', "duplicate key 'status'"),
        (b'{"status": true, "data": {"a": 1, "a": 2}}', "duplicate key 'a'"),
        (b'{"status": true, "data": {"n": NaN}}', "NaN"),
        (b'{"status": true, "data": {"n": Infinity}}', "Infinity"),
        (b'{"status": true, "data": {"n": -Infinity}}', "-Infinity"),
        (b'{"status": true, "data": {"n": 1e999}}', "out of range"),
        (b'{"status": true, "data": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}", "nested deeper than 32"),
        (b'{"status": true, "data": ' + b"[" * 40 + b"]" * 40 + b"}", "nested deeper than 32"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32"),  # never exhausts the stack
    ],
)
def test_refused_json_is_an_invalid_response(raw, why):
    with pytest.raises(CellcastInvalidResponseError) as caught:
        parse_response(200, raw)
    assert why in str(caught.value) and "refused" in str(caught.value)


def test_decode_json_says_why():
    assert decode_json(b'{"a": 1}') == ({"a": 1}, None)
    assert decode_json(b"") == (None, None)
    assert decode_json(b"<html>") == (None, None)
    document, why = decode_json(b'{"a": 1, "a": 1}')
    assert document is None and why == "duplicate key 'a'"
    nested = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert decode_json(nested)[1] is None  # 32 levels are fine
    assert decode_json(b"[" + nested + b"]")[1] == f"nested deeper than {MAX_JSON_DEPTH} levels"


def test_refused_json_on_a_server_error_is_still_a_server_error():
    with pytest.raises(CellcastServerError) as caught:
        parse_response(503, b'{"code": 503, "code": 503}')
    assert "refused" in str(caught.value)


# -- the expected envelope of each endpoint ---------------------------------------------------------


ACCOUNT = {"meta": {"code": 200, "status": "SUCCESS"}, "message": "ok", "data": {"sms_balance": 10}, "error": {}}


def test_a_meta_envelope_where_the_app_envelope_is_expected_is_not_a_success():
    with pytest.raises(CellcastInvalidResponseError, match="meta envelope where its documentation gives the app"):
        parse_response(200, body(ACCOUNT), expect="app")
    assert parse_response(200, body(ACCOUNT), expect="meta").data == {"sms_balance": 10}


def test_an_app_envelope_where_the_meta_envelope_is_expected_is_not_a_success():
    with pytest.raises(CellcastInvalidResponseError, match="app envelope where its documentation gives the meta"):
        parse_response(200, body(DOC_SUCCESS), expect="meta")


def test_a_meta_object_without_a_status_cannot_say_success():
    with pytest.raises(CellcastInvalidResponseError, match="unexpected shape"):
        parse_response(200, body({"meta": {"code": 200}, "data": {"sms_balance": 10}}))
    with pytest.raises(CellcastUnsuccessfulError):
        parse_response(200, body({"meta": {"code": 500}, "data": {}}))


def test_a_meta_success_with_a_failing_code_is_a_failure():
    with pytest.raises(CellcastUnsuccessfulError):
        parse_response(200, body({**ACCOUNT, "meta": {"code": 403, "status": "SUCCESS"}}))


def test_a_bare_data_answer_only_where_it_is_documented():
    assert parse_response(200, b'{"data": [1, 2]}', expect="data").data == [1, 2]
    with pytest.raises(CellcastInvalidResponseError):
        parse_response(200, b'{"data": [1, 2]}')
    with pytest.raises(CellcastInvalidResponseError):
        parse_response(201, b'{"data": [1]}', expect="app")


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_http_4xx_with_status_true_is_a_failure(status):
    with pytest.raises(CellcastBadRequestError, match="despite status true") as caught:
        parse_response(status, body(DOC_SUCCESS))
    assert caught.value.status_code == status


@pytest.mark.parametrize("status", [100, 101, 304])
def test_a_success_envelope_outside_2xx_is_not_a_success(status):
    with pytest.raises(CellcastInvalidResponseError):
        parse_response(status, body(DOC_SUCCESS))


def test_the_stack_never_reaches_the_error_text():
    with pytest.raises(CellcastServerError) as caught:
        parse_response(500, body({"code": 500, "stack": "APIError: at db.js:12"}))
    assert "db.js" not in str(caught.value) and "APIError" not in str(caught.value)


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


@pytest.mark.parametrize(
    ("message", "not_found"),
    [
        ("Message not found", True),
        ("message NOT FOUND", True),
        ("Job not found or already processed", True),  # the cancel's refusal of a job it does not know
        ("internal server error", False),  # live: a CastError of a malformed lookup, not the ID's absence
        ("Cast to ObjectId failed", False),
        ("notfound", False),
        ("", False),
    ],
)
def test_says_not_found_reads_which_kind_of_refusal_a_status_false_is(message: str, not_found: bool) -> None:
    with pytest.raises(CellcastUnsuccessfulError) as caught:
        parse_response(200, body({"status": False, "message": message, "data": {}}))
    assert caught.value.api_message == (message or None)  # an empty message is no message
    assert says_not_found(caught.value) is not_found


def test_says_not_found_without_a_message() -> None:
    assert says_not_found(CellcastUnsuccessfulError("refused")) is False
    assert says_not_found(CellcastUnsuccessfulError("refused", api_message="Message not found")) is True

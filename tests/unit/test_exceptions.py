"""The typed errors: which ones Airflow may retry, what each carries, and that texts stay as given."""

from __future__ import annotations

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_cellcast import exceptions as module
from airflow_provider_cellcast.exceptions import (
    CellcastAuthenticationError,
    CellcastBadRequestError,
    CellcastBatchError,
    CellcastConfigurationError,
    CellcastConnectionError,
    CellcastError,
    CellcastInputError,
    CellcastInvalidResponseError,
    CellcastMessageNotCancellableError,
    CellcastMessageNotFoundError,
    CellcastPartialSendError,
    CellcastPermanentBatchError,
    CellcastRateLimitError,
    CellcastRedirectError,
    CellcastReferenceNotFoundError,
    CellcastScheduleMismatchError,
    CellcastScheduleUnverifiedError,
    CellcastSendConnectionLostError,
    CellcastSendOutcomeUnknownError,
    CellcastSendRecoverableError,
    CellcastServerError,
    CellcastUnsuccessfulError,
)

#: Errors after which a task retry cannot help (or could send twice): Airflow must not retry them.
NEVER_RETRIED = {
    CellcastInputError,
    CellcastConfigurationError,
    CellcastBadRequestError,
    CellcastMessageNotCancellableError,
    CellcastReferenceNotFoundError,
    CellcastPermanentBatchError,
    CellcastSendOutcomeUnknownError,
    CellcastSendConnectionLostError,
    CellcastPartialSendError,
    # What was queued for the wrong time was cancelled: a retry would schedule it wrong again.
    CellcastScheduleMismatchError,
}


def test_every_error_is_a_cellcast_error_and_an_airflow_exception() -> None:
    classes = [value for value in vars(module).values() if isinstance(value, type) and issubclass(value, CellcastError)]
    assert len(classes) >= 19
    for error_class in classes:
        assert issubclass(error_class, AirflowException), error_class


def test_which_errors_airflow_never_retries() -> None:
    classes = {value for value in vars(module).values() if isinstance(value, type) and issubclass(value, CellcastError)}
    assert {error_class for error_class in classes if issubclass(error_class, AirflowFailException)} == NEVER_RETRIED
    # Retryable on purpose: a retry may help, and nothing is sent twice.
    assert not issubclass(CellcastSendRecoverableError, AirflowFailException)
    assert not issubclass(CellcastMessageNotFoundError, AirflowFailException)
    assert not issubclass(CellcastBatchError, AirflowFailException)
    # A retry adopts the queued messages by their reference and reads their time back again.
    assert not issubclass(CellcastScheduleUnverifiedError, AirflowFailException)


def test_common_fields() -> None:
    error = CellcastUnsuccessfulError("refused", status_code=422, api_message="Low balance", message_id="a" * 24)
    assert (str(error), error.status_code, error.api_message) == ("refused", 422, "Low balance")
    assert error.message_id == "a" * 24
    assert CellcastError("x").status_code is None


def test_retry_hints_and_request_sent() -> None:
    # Whether an error is retried within a try is client/retry.py's is_transient (test_retry.py).
    assert CellcastRateLimitError("x", retry_after=2.5).retry_after == 2.5
    assert CellcastRateLimitError("x").retry_after is None
    assert CellcastServerError("x", status_code=503, retry_after=4).retry_after == 4
    assert CellcastConnectionError("x", request_sent=False).request_sent is False
    for error in (CellcastUnsuccessfulError("x"), CellcastInvalidResponseError("x"), CellcastAuthenticationError("x")):
        assert not hasattr(error, "transient")


def test_a_redirect_is_an_invalid_response_naming_its_host() -> None:
    redirect = CellcastRedirectError("moved", location_host="login.example.test", status_code=302)
    assert isinstance(redirect, CellcastInvalidResponseError) and not isinstance(redirect, AirflowFailException)
    assert (redirect.location_host, redirect.status_code) == ("login.example.test", 302)


def test_send_errors_say_the_request_was_sent() -> None:
    lost = CellcastSendConnectionLostError("x", request_sent=True)
    assert isinstance(lost, CellcastConnectionError) and isinstance(lost, CellcastSendOutcomeUnknownError)
    assert lost.request_sent is True and CellcastSendOutcomeUnknownError("x").request_sent is True
    recoverable = CellcastSendRecoverableError("x", reference="af-d-t-0123456789abcdef", status_code=502)
    assert recoverable.request_sent is True and recoverable.reference == "af-d-t-0123456789abcdef"


def test_partial_send_keeps_a_copy_of_what_was_queued() -> None:
    queued = {"message_ids": ["a" * 24], "queued": [], "invalid_contacts": [], "unsubscribed_contacts": []}
    error = CellcastPartialSendError("part", partial_result=queued, status_code=502)
    queued["message_ids"].append("b" * 24)
    assert error.partial_result["message_ids"] == ["a" * 24, "b" * 24]  # shallow copy: same lists
    assert error.partial_result is not queued and error.status_code == 502


def test_input_batch_and_lookup_errors_carry_their_details() -> None:
    bad = CellcastInputError("message_type", "fax", "message_type 'fax' is not accepted")
    assert (bad.field, bad.value, str(bad)) == ("message_type", "fax", "message_type 'fax' is not accepted")
    assert isinstance(bad, ValueError)
    batch = CellcastPermanentBatchError("2 failed", results=[{"message_id": "a"}])
    assert batch.results == [{"message_id": "a"}] and isinstance(batch, CellcastBatchError)
    sent = CellcastMessageNotCancellableError("sent", message_status="delivered", sent_at="2026-11-27T01:00:00Z")
    assert (sent.message_status, sent.sent_at) == ("delivered", "2026-11-27T01:00:00Z")
    assert isinstance(sent, CellcastUnsuccessfulError)
    assert CellcastReferenceNotFoundError("none", reference="camp").reference == "camp"


def test_a_schedule_mismatch_carries_both_times_and_what_was_cancelled() -> None:
    error = CellcastScheduleMismatchError(
        "off",
        requested="2030-01-02T03:04:00.000Z",
        understood="2030-01-01T17:04:00.000Z",
        cancelled=["a" * 24],
        not_cancelled=["b" * 24],
        status_code=200,
    )
    assert (error.requested, error.understood, error.cancelled, error.not_cancelled) == (
        "2030-01-02T03:04:00.000Z", "2030-01-01T17:04:00.000Z", ["a" * 24], ["b" * 24],
    )  # fmt: skip
    assert (str(error), error.status_code) == ("off", 200)
    unverified = CellcastScheduleUnverifiedError("unread", status_code=503, api_message="busy")
    assert (str(unverified), unverified.status_code, unverified.api_message) == ("unread", 503, "busy")

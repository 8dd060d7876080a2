"""Sending SMS, and what makes a send safe: a send is not idempotent.

``POST /api/v1/gateway``. The retry policy repeats a send request only when it certainly did not
reach Cellcast (HTTP 429, a connection never established). Past that, this module decides what a
failed request means for the task:

* a refusal Cellcast stated (4xx, ``status: false``) queued nothing: raised as it is;
* the request reached Cellcast but its answer was lost (connection dropped, timeout, any 5xx, an
  unreadable answer, a redirect): :class:`~airflow_provider_cellcast.exceptions.CellcastSendOutcomeUnknownError`
  (an ``AirflowFailException``), or, when the send carries a reference unique to its task
  instance, the retryable ``CellcastSendRecoverableError``: the next try looks the reference up
  (:func:`~.reports.find_sent_by_reference`) and adopts what was queued instead of sending again;
* a later request of a large send failed after earlier ones queued messages:
  ``CellcastPartialSendError`` carrying what was queued.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_cellcast.client.plan import CallContext, Plan, call
from airflow_provider_cellcast.client.reports import find_sent_by_reference
from airflow_provider_cellcast.client.results import SendResult, empty_send_result
from airflow_provider_cellcast.client.wire import ApiRequest
from airflow_provider_cellcast.exceptions import (
    CellcastConnectionError,
    CellcastError,
    CellcastInputError,
    CellcastInvalidResponseError,
    CellcastPartialSendError,
    CellcastSendConnectionLostError,
    CellcastSendOutcomeUnknownError,
    CellcastSendRecoverableError,
    CellcastServerError,
)
from airflow_provider_cellcast.texts import first_and_more
from airflow_provider_cellcast.validation import (
    MAX_CONTACTS_PER_REQUEST,
    mask_phone,
    validate_contacts,
    validate_country_code,
    validate_message_text,
    validate_reference,
    validate_send_timing,
)

SEND_SMS_ENDPOINT = "/api/v1/gateway"


def send_sms(
    ctx: CallContext,
    message: str,
    contacts: Sequence[str] | str,
    *,
    sender: str | None = None,
    schedule_at: datetime | timedelta | str | None = None,
    delay_ms: int | None = None,
    country_code: int | str | None = None,
    custom_string: str | None = None,
    recover_by_reference: bool = False,
    adopt_existing: bool = False,
) -> Plan[SendResult]:
    """Send or schedule an SMS to ``contacts``; the rules are on :meth:`.clients.CellcastClient.send_sms`."""
    message = validate_message_text(message)
    numbers = validate_contacts(contacts)
    schedule_text, delay = validate_send_timing(schedule_at, delay_ms, now=datetime.now(timezone.utc))
    body: dict[str, Any] = {"message": message}
    if sender:
        body["sender"] = sender
    country = validate_country_code(country_code)
    if country is not None:
        body["countryCode"] = country
    reference = validate_reference(custom_string) if custom_string else None
    if recover_by_reference and reference is None:
        raise CellcastInputError(
            "custom_string", custom_string, "recover_by_reference needs a custom_string unique to the send"
        )
    if reference:
        body["customString"] = reference
    if adopt_existing and recover_by_reference and reference:
        adopted = yield from find_sent_by_reference(ctx, reference)
        if adopted is not None:
            ctx.log.warning(
                "Adopted %d message(s) that an earlier try queued with reference %r: not sending again",
                len(adopted["message_ids"]),
                reference,
            )
            return adopted
        ctx.log.info("No message carries reference %r yet: the earlier try queued nothing; sending", reference)
    if schedule_text is not None:
        body["scheduleAt"] = schedule_text
    if delay is not None:
        body["delay"] = delay
    when = f"scheduled for {schedule_text}" if schedule_text else (f"after {delay} ms" if delay else "now")
    ctx.log.info("Sending an SMS to %d contact(s) %s through %s", len(numbers), when, ctx.name)
    total = empty_send_result(reference)
    recoverable = recover_by_reference and len(numbers) <= MAX_CONTACTS_PER_REQUEST
    for start in range(0, len(numbers), MAX_CONTACTS_PER_REQUEST):
        chunk = numbers[start : start + MAX_CONTACTS_PER_REQUEST]
        what = f"SMS send to {len(chunk)} contact(s)"
        request = ApiRequest("POST", SEND_SMS_ENDPOINT, json={**body, "contacts": chunk}, idempotent=False, what=what)
        try:
            envelope = yield from call(ctx, request)
            merge_send_answer(total, envelope.data, what)
        except CellcastError as error:
            failure = send_failure(ctx, error, total, reference if recoverable else None)
            if failure is error:
                raise
            raise failure from error
    ctx.log.info(
        "Cellcast queued %d message(s); %d invalid and %d unsubscribed contact(s) skipped",
        len(total["message_ids"]),
        len(total["invalid_contacts"]),
        len(total["unsubscribed_contacts"]),
    )
    return total


def outcome_unknown(error: CellcastError) -> bool:
    """Whether a failed send request may still have queued messages.

    Certainly nothing was queued after a refusal Cellcast stated (4xx, 401, 429, ``status:
    false``) or a connection that was never established. A connection broken after sending, any
    5xx (a proxy's 502/504 often hides a request the service carried out), an unreadable answer
    and a redirect leave the outcome unknown.
    """
    if isinstance(error, CellcastConnectionError):
        return error.request_sent
    return isinstance(error, CellcastServerError | CellcastInvalidResponseError)


def send_failure(
    ctx: CallContext, error: CellcastError, queued: SendResult, unique_reference: str | None
) -> CellcastError:
    """The error a failed send request raises: ``error`` itself only if nothing can have been queued."""
    unknown = outcome_unknown(error)
    common: dict[str, Any] = {"status_code": error.status_code, "api_message": error.api_message}
    if queued["message_ids"]:
        ctx.log.error(
            "A send request failed after %d message(s) were already queued: %s",
            len(queued["message_ids"]),
            first_and_more(queued["message_ids"], 20),
        )
        also = " (its messages may have been queued too)" if unknown else ""
        return CellcastPartialSendError(
            f"Only part of the send went through: {len(queued['message_ids'])} message(s) were queued "
            f"before a later request failed{also}: {error}. The queued message IDs are in the error's "
            "partial_result (the send operator pushes them to XCom 'send_result') and were not "
            "cancelled. Failed without retries so that they are not sent twice.",
            partial_result=queued,
            **common,
        )
    if not unknown:
        return error
    if unique_reference:
        return CellcastSendRecoverableError(
            f"{error}. The request reached Cellcast, so the messages may have been queued. If the task "
            f"is retried (retries > 0, or cleared), the next try first looks up reference "
            f"{unique_reference!r}: it adopts what was queued, and sends only if nothing was.",
            reference=unique_reference,
            **common,
        )
    advice = (
        "The request reached Cellcast, so the messages may have been queued even though no usable "
        "answer came back. Failed without retries so that the campaign is not sent twice: check "
        "the Cellcast dashboard (or the message report) before sending again."
    )
    if isinstance(error, CellcastConnectionError):
        return CellcastSendConnectionLostError(f"{error}. {advice}", request_sent=True, **common)
    return CellcastSendOutcomeUnknownError(f"{error}. {advice}", **common)


def merge_send_answer(total: SendResult, data: Any, what: str) -> None:
    """Add one send answer's ``data`` to ``total``, insisting on the documented shape."""
    queue = data.get("queueResponse") if isinstance(data, Mapping) else None
    if not isinstance(queue, list):
        raise CellcastInvalidResponseError(
            f"Cellcast answered the {what} without a queueResponse list: the messages may or may not be "
            "queued; check the Cellcast dashboard before sending again"
        )
    for entry in queue:
        message_id = entry.get("MessageId") if isinstance(entry, Mapping) else None
        if not isinstance(message_id, str):
            continue
        total["message_ids"].append(message_id)
        total["queued"].append({"message_id": message_id, "contact": mask_phone(entry.get("Contact", ""))})
    for key, target in (("invalidContacts", "invalid_contacts"), ("unsubscribeContacts", "unsubscribed_contacts")):
        listed = data.get(key)
        if isinstance(listed, list):
            total[target].extend(mask_phone(item) for item in listed)  # type: ignore[literal-required]

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

Contacts are normalised first (:mod:`airflow_provider_cellcast.contacts`): numbers that cannot
be valid are reported with their reason and never sent. A scheduled send reads back the
``scheduleAt`` Cellcast understood (one report per send request) and, when it is more than a
minute off the time asked for, cancels everything it queued and fails
(``CellcastScheduleMismatchError``): Cellcast was seen to read UTC as Australian local time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from airflow_provider_cellcast.client.cancel import cancel_many
from airflow_provider_cellcast.client.plan import CallContext, Plan, call
from airflow_provider_cellcast.client.reports import find_sent_by_reference, get_message
from airflow_provider_cellcast.client.results import SendResult, empty_send_result
from airflow_provider_cellcast.client.tally import Tally
from airflow_provider_cellcast.client.wire import ApiRequest
from airflow_provider_cellcast.contacts import describe, invalid_contact_from_answer, mask_phone, normalise_contacts
from airflow_provider_cellcast.exceptions import (
    CellcastConnectionError,
    CellcastError,
    CellcastInputError,
    CellcastInvalidResponseError,
    CellcastPartialSendError,
    CellcastScheduleMismatchError,
    CellcastScheduleUnverifiedError,
    CellcastSendConnectionLostError,
    CellcastSendOutcomeUnknownError,
    CellcastSendRecoverableError,
    CellcastServerError,
)
from airflow_provider_cellcast.texts import first_and_more
from airflow_provider_cellcast.validation import (
    MAX_CONTACTS_PER_REQUEST,
    validate_contacts,
    validate_country_code,
    validate_message_id,
    validate_message_text,
    validate_reference,
    validate_send_timing,
)

#: How far the ``scheduleAt`` Cellcast understood may be from the one asked for.
SCHEDULE_TOLERANCE = timedelta(minutes=1)

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
    reply_stop_to_opt_out: bool | None = None,
    opt_out: bool | None = None,
    opt_out_list_id: str | None = None,
    verify_schedule: bool = True,
) -> Plan[SendResult]:
    """Send or schedule an SMS to ``contacts``; the rules are on :meth:`.clients.CellcastClient.send_sms`."""
    message = validate_message_text(message)
    now = datetime.now(timezone.utc)
    schedule_text, delay = validate_send_timing(schedule_at, delay_ms, now=now)
    body: dict[str, Any] = {"message": message}
    if sender:
        body["sender"] = sender
    country = validate_country_code(country_code)
    if country is not None:
        body["countryCode"] = country
    body.update(opt_out_fields(reply_stop_to_opt_out, opt_out, opt_out_list_id))
    numbers, refused = normalise_contacts(validate_contacts(contacts), country)
    reference = validate_reference(custom_string) if custom_string else None
    if recover_by_reference and reference is None:
        raise CellcastInputError(
            "custom_string", custom_string, "recover_by_reference needs a custom_string unique to the send"
        )
    if reference:
        body["customString"] = reference
    if adopt_existing and recover_by_reference and reference:
        # The earlier try ran at most a day or so ago: fromDate bounds the lookup to its days.
        adopted = yield from find_sent_by_reference(ctx, reference, from_date=(now - timedelta(days=1)).date())
        if adopted is not None:
            ctx.log.warning(
                "Adopted %d message(s) that an earlier try queued with reference %r: not sending again",
                len(adopted["message_ids"]),
                reference,
            )
            if schedule_text is not None and verify_schedule:
                yield from check_schedule(ctx, adopted, schedule_text, adopted["message_ids"][:1])
            return adopted
        ctx.log.info("No message carries reference %r yet: the earlier try queued nothing; sending", reference)
    if schedule_text is not None:
        body["scheduleAt"] = schedule_text
    if delay is not None:
        body["delay"] = delay
    total = empty_send_result(reference, sent_on=now.date().isoformat())
    total["invalid_contacts"].extend(refused)
    if refused:
        ctx.log.warning(
            "%d contact(s) cannot be sent and are left out: %s",
            len(refused),
            first_and_more([describe(item) for item in refused], 10, separator="; "),
        )
    if not numbers:
        ctx.log.warning("No contact of the %d given can receive an SMS: nothing sent", len(refused))
        return total
    when = f"scheduled for {schedule_text}" if schedule_text else (f"after {delay} ms" if delay else "now")
    ctx.log.info("Sending an SMS to %d contact(s) %s through %s", len(numbers), when, ctx.name)
    recoverable = recover_by_reference and len(numbers) <= MAX_CONTACTS_PER_REQUEST
    first_of_each: list[str] = []
    # More than 1,000 contacts take several requests: progress every 10 % of them, or 30 s.
    tally = Tally("send", len(numbers), ctx.log, unit="contact(s)")
    for start in range(0, len(numbers), MAX_CONTACTS_PER_REQUEST):
        chunk = numbers[start : start + MAX_CONTACTS_PER_REQUEST]
        what = f"SMS send to {len(chunk)} contact(s)"
        request = ApiRequest("POST", SEND_SMS_ENDPOINT, json={**body, "contacts": chunk}, idempotent=False, what=what)
        queued_before = len(total["message_ids"])
        try:
            envelope = yield from call(ctx, request)
            merge_send_answer(total, envelope.data, what)
        except CellcastError as error:
            failure = send_failure(ctx, error, total, reference if recoverable else None)
            if failure is error:
                raise
            raise failure from error
        first_of_each.extend(total["message_ids"][queued_before : queued_before + 1])
        if len(numbers) > MAX_CONTACTS_PER_REQUEST:
            tally.add(len(chunk))
    ctx.log.info(
        "Cellcast queued %d message(s); %d invalid and %d unsubscribed contact(s) skipped",
        len(total["message_ids"]),
        len(total["invalid_contacts"]),
        len(total["unsubscribed_contacts"]),
    )
    if schedule_text is not None and verify_schedule and first_of_each:
        yield from check_schedule(ctx, total, schedule_text, first_of_each)
    return total


def opt_out_fields(
    reply_stop_to_opt_out: bool | None, opt_out: bool | None, opt_out_list_id: str | None
) -> dict[str, Any]:
    """Cellcast's opt-out fields of a send, only those given (Cellcast's defaults stand otherwise)."""
    fields: dict[str, Any] = {}
    for field, value, name in (
        ("reply_stop_to_opt_out", reply_stop_to_opt_out, "replyStopToOptOut"),
        ("opt_out", opt_out, "optout"),
    ):
        if value is not None:
            if not isinstance(value, bool):
                raise CellcastInputError(field, value, f"{field} must be true or false")
            fields[name] = value
    if opt_out_list_id is not None:
        fields["optoutId"] = validate_message_id(opt_out_list_id, "opt_out_list_id")
    return fields


def _read_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def check_schedule(ctx: CallContext, sent: SendResult, requested: str, samples: Sequence[str]) -> Plan[None]:
    """Read back the ``scheduleAt`` Cellcast understood (one report per sample); cancel all if off.

    :raises CellcastScheduleMismatchError: more than a minute off: everything queued is cancelled.
    :raises CellcastScheduleUnverifiedError: no report could be read (the messages stay queued).
    """
    asked = _read_time(requested)
    assert asked is not None  # validate_send_timing made it
    for message_id in samples:
        try:
            report = yield from get_message(ctx, message_id)
        except CellcastError as error:
            raise CellcastScheduleUnverifiedError(
                f"Cellcast queued {len(sent['message_ids'])} message(s) for {requested}, but the time it understood "
                f"could not be read back ({error}). They stay queued; a retry of the task adopts them by their "
                "reference and checks again.",
                status_code=error.status_code,
                api_message=error.api_message,
            ) from error
        understood_text = report.get("scheduleAt")
        understood = _read_time(understood_text)
        if understood is not None and abs(understood - asked) <= SCHEDULE_TOLERANCE:
            continue
        ctx.log.error(
            "Cellcast understood scheduleAt %s as %s: cancelling the %d message(s) queued",
            requested,
            understood_text,
            len(sent["message_ids"]),
        )
        attempts = yield from cancel_many(ctx, sent["message_ids"], "sms")
        not_cancelled = [attempt.message_id for attempt in attempts if attempt.error is not None]
        cancelled = [attempt.message_id for attempt in attempts if attempt.error is None]
        left = (
            f" {len(not_cancelled)} could not be cancelled and may go out: {first_and_more(not_cancelled, 10)}."
            if not_cancelled
            else ""
        )
        raise CellcastScheduleMismatchError(
            f"Cellcast understood the send's scheduleAt {requested} as {understood_text!r} (more than "
            f"{SCHEDULE_TOLERANCE.seconds // 60} minute off), so the {len(cancelled)} message(s) it queued were "
            f"cancelled rather than sent at the wrong time.{left} Set verify_schedule=False to accept "
            "Cellcast's reading.",
            requested=requested,
            understood=understood_text if isinstance(understood_text, str) else None,
            cancelled=cancelled,
            not_cancelled=not_cancelled,
        )


def send_day(value: str | None) -> date | None:
    """The ``sent_on`` day of a :class:`~.results.SendResult`, for a list's ``fromDate``."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


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
    invalid, unsubscribed = data.get("invalidContacts"), data.get("unsubscribeContacts")
    if isinstance(invalid, list):
        total["invalid_contacts"].extend(invalid_contact_from_answer(item) for item in invalid)
    if isinstance(unsubscribed, list):
        total["unsubscribed_contacts"].extend(mask_phone(item) for item in unsubscribed)

"""Send or schedule a Cellcast SMS campaign.

DAG files import this module at every parse: it imports only ``airflow.sdk``, the provider's
exceptions and standard-library modules at module level; the hook (and with it the http provider
and ``requests``) is imported when the task runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from airflow_provider_cellcast.exceptions import (
    CellcastConnectionError,
    CellcastError,
    CellcastPartialSendError,
    CellcastSendConnectionLostError,
    CellcastSendOutcomeUnknownError,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_cellcast.hooks.cellcast import CellcastHook, SendResult

#: A ``schedule_at`` this far in the past is refused: Cellcast would send the campaign at once,
#: which is what a late retry, a cleared task or a backfill must not do by accident.
PAST_SCHEDULE_GRACE = timedelta(minutes=1)
#: Masked numbers listed per category in the task log; the full (masked) lists are in XCom.
_NUMBERS_SHOWN = 20


def _uncertain(error: CellcastError) -> CellcastError | None:
    """The fail-fast error for a send whose outcome is unknown, or ``None`` if nothing was queued.

    Certainly nothing was queued after a refusal Cellcast stated (4xx, 401, 429, ``status:
    false``) or a connection that was never established. A broken connection after sending, any
    5xx (a proxy's 502/504 often hides a request the service carried out) and an unreadable answer
    leave the outcome unknown.
    """
    from airflow_provider_cellcast.exceptions import CellcastInvalidResponseError, CellcastServerError

    advice = (
        "The request reached Cellcast, so the messages may have been queued even though no usable "
        "answer came back. The task is failed without retries so that the campaign is not sent "
        "twice: check the Cellcast dashboard (or the message report) before sending again."
    )
    common: dict[str, Any] = {"status_code": error.status_code, "api_message": error.api_message}
    if isinstance(error, CellcastConnectionError) and error.request_sent:
        return CellcastSendConnectionLostError(f"{error}. {advice}", request_sent=True, **common)
    if isinstance(error, CellcastServerError | CellcastInvalidResponseError):
        return CellcastSendOutcomeUnknownError(f"{error}. {advice}", **common)
    return None


def _shown(numbers: list[str]) -> str:
    more = f" and {len(numbers) - _NUMBERS_SHOWN} more" if len(numbers) > _NUMBERS_SHOWN else ""
    return ", ".join(numbers[:_NUMBERS_SHOWN]) + more


class CellcastSendSmsOperator(BaseOperator):
    """Send an SMS to a list of contacts now, after a delay, or at a scheduled time.

    Returns the list of message IDs Cellcast queued (one per accepted contact), ready for
    ``CellcastCancelCampaignOperator(message_id=send.output)`` or
    ``CellcastMessageStatusSensor(message_id=send.output)``. The full send result (message IDs,
    queued entries, invalid and unsubscribed contacts; phone numbers masked) is pushed to XCom under
    the key ``send_result``. Invalid and unsubscribed contacts are logged as counts and masked
    numbers only. More than 1,000 contacts are sent in several requests.

    **A send is not idempotent**, so this operator is careful about repeating one:

    * ``retries`` defaults to ``0``, even when the DAG's ``default_args`` set retries for every
      task: a blanket retry policy is exactly what would resend a campaign. Pass ``retries=`` to
      this operator explicitly to opt in.
    * Even then, only failures after which Cellcast certainly queued nothing are retryable (a
      refusal such as HTTP 400/401/422/429, or a connection that was never established). When the
      request reached Cellcast but its answer was lost (connection dropped, timeout, any 5xx,
      unreadable answer), the task fails with :class:`CellcastSendOutcomeUnknownError` (for a lost
      connection its subclass :class:`CellcastSendConnectionLostError`, a ``CellcastConnectionError``),
      an ``AirflowFailException`` that Airflow never retries.
    * If a later request of a large send fails after earlier ones queued messages, what was queued
      is pushed to XCom ``send_result`` first and the task fails with
      :class:`CellcastPartialSendError`; nothing is lost, nothing is resent. A cleanup task with
      ``trigger_rule="all_done"`` can cancel those IDs.
    * The operator is not deferrable: a deferred POST can be replayed after a triggerer restart.
    * ``schedule_at`` more than a minute in the past is refused rather than sent at once.

    ``contacts`` is a template field, so the **rendered** phone numbers appear in full in the task
    instance's "Rendered Template" view of the Airflow UI (never in the logs or XComs written by
    this operator). Restrict who can see the DAG's task instances if the list is sensitive.

    .. code-block:: python

        from datetime import timedelta

        from airflow.sdk import DAG
        from airflow_provider_cellcast.operators.cancel_campaign import CellcastCancelCampaignOperator
        from airflow_provider_cellcast.operators.send_sms import CellcastSendSmsOperator

        with DAG("sms_campaign", schedule=None, params={"contacts": ["+61400000001"]}):
            send = CellcastSendSmsOperator(
                task_id="schedule_campaign",
                message="Your appointment is tomorrow at 9:00. Reply STOP to opt out.",
                contacts="{{ params.contacts }}",
                schedule_at=timedelta(hours=1),  # or "2026-12-01T09:30:00+10:00", or an aware datetime
                custom_string="{{ run_id }}",
            )
            CellcastCancelCampaignOperator(task_id="cancel", message_id=send.output)

    :param message: the text (templated).
    :param contacts: phone numbers: a list, a comma-separated string, or a rendered list
        (templated). Cellcast sorts out invalid and unsubscribed numbers itself.
    :param sender: sender ID or number (templated); Cellcast's shared number when empty.
    :param schedule_at: when to send (templated): an aware ``datetime``, an ISO 8601 string with an
        offset, or a ``timedelta`` from the moment the task runs. Sent to Cellcast as UTC.
    :param delay_ms: alternatively, a delay in milliseconds (at most 24 hours).
    :param country_code: Cellcast's ``countryCode`` for national numbers (e.g. ``61``).
    :param custom_string: a reference stored with every message (templated), e.g. ``"{{ run_id }}"``;
        Cellcast's message report can filter on it.
    :param cellcast_conn_id: the Airflow connection of type ``cellcast``.
    :param hook_params: overrides of the connection's client settings for this task (see
        :class:`~airflow_provider_cellcast.settings.CellcastSettings`).
    """

    template_fields: Sequence[str] = ("message", "contacts", "sender", "schedule_at", "custom_string")
    template_fields_renderers: ClassVar[dict[str, str]] = {"contacts": "py"}
    ui_color = "#D9ECFF"
    ui_fgcolor = "#0B2540"

    def __init__(
        self,
        *,
        message: str,
        contacts: str | Sequence[str] | Any,
        sender: str | None = None,
        schedule_at: datetime | timedelta | str | None = None,
        delay_ms: int | None = None,
        country_code: int | None = None,
        custom_string: str | None = None,
        cellcast_conn_id: str = "cellcast_default",
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        # Explicit retries only (see the class docstring). ``retries`` is not a parameter of this
        # __init__, so Airflow's default_args merge has not put one into kwargs; setting it here
        # takes precedence over default_args in BaseOperator.__init__.
        kwargs.setdefault("retries", 0)
        super().__init__(**kwargs)
        self.message = message
        self.contacts = contacts
        self.sender = sender
        self.schedule_at = schedule_at
        self.delay_ms = delay_ms
        self.country_code = country_code
        self.custom_string = custom_string
        self.cellcast_conn_id = cellcast_conn_id
        from airflow_provider_cellcast.settings import checked_hook_params

        self.hook_params = checked_hook_params(hook_params)
        if schedule_at is not None and delay_ms is not None:
            raise ValueError("CellcastSendSmsOperator: give schedule_at or delay_ms, not both")

    @cached_property
    def hook(self) -> CellcastHook:
        """The hook for this task's connection and settings."""
        from airflow_provider_cellcast.hooks.cellcast import CellcastHook

        return CellcastHook(self.cellcast_conn_id, **self.hook_params)

    def _schedule_at(self, now: datetime) -> str | None:
        """The rendered ``schedule_at`` as Cellcast's UTC text, refusing one in the past."""
        from airflow_provider_cellcast.exceptions import CellcastInputError
        from airflow_provider_cellcast.validation import format_schedule_at

        value = self.schedule_at
        if value is None:
            return None
        if isinstance(value, timedelta):
            value = now + value
        text = format_schedule_at(value, "schedule_at")
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if when < now - PAST_SCHEDULE_GRACE:
            raise CellcastInputError(
                "schedule_at",
                self.schedule_at,
                f"schedule_at {text} is in the past (now {format_schedule_at(now)}): Cellcast would send "
                "the campaign at once. Give a future time, or no schedule_at to send now.",
            )
        return text

    def execute(self, context: Context) -> list[str]:
        from airflow_provider_cellcast.exceptions import CellcastInputError
        from airflow_provider_cellcast.validation import validate_contacts, validate_delay_ms

        # Validate every rendered value before the connection is even read.
        if not isinstance(self.message, str) or not self.message.strip():
            raise CellcastInputError("message", self.message, "message must be a non-empty text")
        numbers = validate_contacts(self.contacts, "contacts")
        schedule_at = self._schedule_at(datetime.now(timezone.utc))
        delay_ms = None if self.delay_ms is None else validate_delay_ms(self.delay_ms, "delay_ms")
        country_code = self.country_code
        if country_code is not None:
            if isinstance(country_code, bool) or not str(country_code).strip().isdigit():
                raise CellcastInputError("country_code", country_code, "country_code must be a number such as 61")
            country_code = int(country_code)

        when = f"scheduled for {schedule_at}" if schedule_at else (f"after {delay_ms} ms" if delay_ms else "now")
        self.log.info(
            "Sending an SMS to %d contact(s) %s through connection %r", len(numbers), when, self.cellcast_conn_id
        )
        try:
            result = self.hook.send_sms(
                self.message,
                numbers,
                sender=self.sender or None,
                schedule_at=schedule_at,
                delay_ms=delay_ms,
                country_code=country_code,
                custom_string=self.custom_string or None,
            )
        except CellcastError as error:
            failure = self._failure(context, error)
            if failure is error:
                raise
            raise failure from error
        finally:
            self.hook.close()
        context["ti"].xcom_push(key="send_result", value=dict(result))
        self._log_result(result)
        return list(result["message_ids"])

    def _failure(self, context: Context, error: CellcastError) -> CellcastError:
        """The exception that fails the task; pushes whatever was queued before it."""
        partial: SendResult | None = error.partial_result  # type: ignore[assignment]
        if partial:
            context["ti"].xcom_push(key="send_result", value=dict(partial))
            self._log_result(partial)
            also = " (its messages may have been queued too)" if _uncertain(error) else ""
            failure = CellcastPartialSendError(
                f"Only part of the send went through: {len(partial['message_ids'])} message(s) were queued "
                f"before a later request failed{also}: {error}. The queued message IDs are in the XCom "
                "'send_result' and were not cancelled. The task is failed without retries so that they "
                "are not sent twice.",
                status_code=error.status_code,
                api_message=error.api_message,
            )
            failure.partial_result = dict(partial)
            return failure
        return _uncertain(error) or error

    def _log_result(self, result: SendResult) -> None:
        if result["message_ids"]:
            self.log.info("Cellcast queued %d message(s)", len(result["message_ids"]))
        else:
            # Not a failure (Cellcast accepted the request), but nobody will get this message.
            self.log.warning("Cellcast queued no message: every contact was invalid or unsubscribed")
        if result["invalid_contacts"]:
            self.log.warning(
                "%d invalid contact(s) skipped by Cellcast: %s",
                len(result["invalid_contacts"]),
                _shown(result["invalid_contacts"]),
            )
        if result["unsubscribed_contacts"]:
            self.log.warning(
                "%d unsubscribed contact(s) skipped by Cellcast: %s",
                len(result["unsubscribed_contacts"]),
                _shown(result["unsubscribed_contacts"]),
            )

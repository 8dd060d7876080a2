"""Send or schedule a Cellcast SMS campaign.

DAG files import this module at every parse: it imports only Airflow's operator base class and
standard-library modules at module level; the hook (and with it the http provider and
``requests``) is imported when the task runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cellcast.hooks.cellcast import CellcastHook, SendResult

#: Masked numbers listed per category in the task log; the full (masked) lists are in XCom.
_NUMBERS_SHOWN = 20
#: Longest derived reference; a longer one keeps its start and ends in a hash of the whole.
_REFERENCE_MAX_LENGTH = 120


def task_instance_reference(ti: Any) -> str:
    """The campaign reference of a task instance: ``airflow/<dag_id>/<task_id>[/<map_index>]/<run_id>``.

    Unique per task instance and the same on every try of it, so that a retry can find what an
    earlier try queued. Readable, because people copy it from the log into the cancel form;
    shortened with a hash when IDs are very long.
    """
    import hashlib

    parts = [str(ti.dag_id), str(ti.task_id)]
    map_index = getattr(ti, "map_index", -1)
    if map_index is not None and int(map_index) >= 0:
        parts.append(str(map_index))
    parts.append(str(ti.run_id))
    text = "airflow/" + "/".join(parts)
    if len(text) <= _REFERENCE_MAX_LENGTH:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{text[: _REFERENCE_MAX_LENGTH - 17]}~{digest}"


class CellcastSendSmsOperator(BaseOperator):
    """Send an SMS to a list of contacts now, after a delay, or at a scheduled time.

    Returns the list of message IDs Cellcast queued (one per accepted contact), ready for
    ``CellcastCancelCampaignOperator(message_id=send.output)`` or
    ``CellcastMessageStatusSensor(message_id=send.output)``. The full send result (message IDs,
    queued entries, invalid and unsubscribed contacts; phone numbers masked) is pushed to XCom under
    the key ``send_result``. Invalid and unsubscribed contacts are logged as counts and masked
    numbers only. More than 1,000 contacts are sent in several requests.

    **A send is not idempotent**, so this operator (through the hook's
    :meth:`~airflow_provider_cellcast.hooks.cellcast.CellcastHook.send_sms`) is careful about
    repeating one:

    * ``retries`` defaults to ``0``, even when the DAG's ``default_args`` set retries for every
      task: a blanket retry policy is exactly what would resend a campaign. Pass ``retries=`` to
      this operator explicitly to opt in.
    * Every send carries a **reference** (Cellcast's ``customString``) unique to the task
      instance: ``custom_string`` when you give one (then keep it unique per task instance), else
      ``airflow/<dag_id>/<task_id>[/<map_index>]/<run_id>`` (see :func:`task_instance_reference`),
      logged and returned in ``send_result["reference"]``; paste it into the cancel DAG's form to
      cancel the campaign.
    * Failures after which Cellcast certainly queued nothing (a refusal such as HTTP
      400/401/422/429, or a connection that was never established) are retried as usual. When the
      request reached Cellcast but its answer was lost (connection dropped, timeout, any 5xx,
      unreadable answer), the task fails with the retryable
      :class:`~airflow_provider_cellcast.exceptions.CellcastSendRecoverableError`, and **every try
      after the first looks the reference up before sending**: messages found are adopted (the
      task succeeds with their IDs and logs that it adopted them), none found lets it send. A send
      of more than 1,000 contacts (several requests) is not recoverable this way: its lost answer
      fails with :class:`CellcastSendOutcomeUnknownError`, which Airflow never retries.
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
                retries=2,  # safe: a try after a lost answer adopts what was queued
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
    :param custom_string: the reference stored with every message (templated); it must be unique
        to the task instance (it decides what a retry adopts). Default: derived from the task
        instance (:func:`task_instance_reference`). Cellcast's message report filters on it, and
        ``CellcastCancelCampaignOperator(custom_string=...)`` cancels by it.
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
        from airflow_provider_cellcast.validation import refuse_schedule_and_delay

        # Both are given as arguments, not only rendered: say so when the DAG file is parsed.
        refuse_schedule_and_delay(schedule_at, delay_ms)

    @cached_property
    def hook(self) -> CellcastHook:
        """The hook for this task's connection and settings."""
        from airflow_provider_cellcast.hooks.cellcast import CellcastHook

        return CellcastHook(self.cellcast_conn_id, **self.hook_params)

    def execute(self, context: Context) -> list[str]:
        from airflow_provider_cellcast.exceptions import CellcastPartialSendError

        ti = context["ti"]
        reference = self.custom_string or task_instance_reference(ti)
        try_number = int(getattr(ti, "try_number", 1) or 1)
        self.log.info("Campaign reference (Cellcast customString): %s", reference)
        try:
            result = self.hook.send_sms(
                self.message,
                self.contacts,
                sender=self.sender or None,
                schedule_at=self.schedule_at,
                delay_ms=self.delay_ms,
                country_code=self.country_code,
                custom_string=reference,
                recover_by_reference=True,
                adopt_existing=try_number > 1,
            )
        except CellcastPartialSendError as error:
            # What the earlier requests queued must not be lost with the failure.
            context["ti"].xcom_push(key="send_result", value=error.partial_result)
            self._log_result(error.partial_result)  # type: ignore[arg-type]
            raise
        finally:
            self.hook.close()
        context["ti"].xcom_push(key="send_result", value=dict(result))
        self._log_result(result)
        return list(result["message_ids"])

    def _log_result(self, result: SendResult) -> None:
        from airflow_provider_cellcast.texts import first_and_more

        if result.get("adopted"):
            self.log.info(
                "Adopted %d message(s) an earlier try queued with reference %s",
                len(result["message_ids"]),
                result.get("reference"),
            )
        elif result["message_ids"]:
            self.log.info("Cellcast queued %d message(s)", len(result["message_ids"]))
        else:
            # Not a failure (Cellcast accepted the request), but nobody will get this message.
            self.log.warning("Cellcast queued no message: every contact was invalid or unsubscribed")
        if result["invalid_contacts"]:
            self.log.warning(
                "%d invalid contact(s) skipped by Cellcast: %s",
                len(result["invalid_contacts"]),
                first_and_more(result["invalid_contacts"], _NUMBERS_SHOWN),
            )
        if result["unsubscribed_contacts"]:
            self.log.warning(
                "%d unsubscribed contact(s) skipped by Cellcast: %s",
                len(result["unsubscribed_contacts"]),
                first_and_more(result["unsubscribed_contacts"], _NUMBERS_SHOWN),
            )

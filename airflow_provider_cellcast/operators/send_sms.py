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
#: Longest readable part taken from a DAG or task ID in a derived reference.
_SLUG_LENGTH = 20


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:_SLUG_LENGTH].strip("-") or "x"


def task_instance_reference(ti: Any) -> str:
    """The campaign reference of a task instance: ``af-<dag>-<task>-<hash>``.

    Only letters, digits and dashes (Cellcast's rule for ``customString``), at most 61
    characters. Unique per task instance and the same on every try of it, so that a retry can
    find what an earlier try queued: the hash covers the DAG, task, map index and run IDs; the
    readable part helps a person who copies it from the log into the cancel form.
    """
    import hashlib

    map_index = getattr(ti, "map_index", -1)
    identity = "\n".join(
        str(part) for part in (ti.dag_id, ti.task_id, -1 if map_index is None else map_index, ti.run_id)
    )
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return f"af-{_slug(str(ti.dag_id))}-{_slug(str(ti.task_id))}-{digest}"


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
    * Every send carries a **reference** (Cellcast's ``customString``: letters, digits and dashes)
      unique to the task instance: ``custom_string`` when you give one (then keep it unique per
      task instance), else ``af-<dag>-<task>-<hash>`` (see :func:`task_instance_reference`),
      logged with the DAG, task and run it stands for and returned in
      ``send_result["reference"]``; paste it into the cancel DAG's form to cancel the campaign.
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
    * ``schedule_at`` more than a minute in the past is refused rather than sent at once, and
      after a scheduled send the ``scheduleAt`` Cellcast understood is read back: more than a
      minute off (Cellcast was seen to read UTC as Australian local time) and everything queued
      is cancelled and the task fails (``verify_schedule=False`` accepts Cellcast's reading).
    * Contacts are normalised (Australian mobiles in any common form become ``61XXXXXXXXX``);
      numbers that cannot be valid are listed with their reason in ``send_result`` and never sent.

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
    :param custom_string: the reference stored with every message (templated): letters, digits
        and dashes, at most 64; it must be unique to the task instance (it decides what a retry
        adopts). Default: derived from the task instance (:func:`task_instance_reference`).
        Cellcast's message report filters on it, and
        ``CellcastCancelCampaignOperator(custom_string=...)`` cancels by it.
    :param reply_stop_to_opt_out: Cellcast's ``replyStopToOptOut``: a reply of STOP unsubscribes
        the number (Cellcast's default is off). Australia's Spam Act 2003 requires a functional
        unsubscribe facility in every commercial message: set it (or ``opt_out``) for marketing.
    :param opt_out: Cellcast's ``optout``: add Cellcast's opt-out text and handling to the message.
    :param opt_out_list_id: Cellcast's ``optoutId``: the 24-hex ID of a custom opt-out list (templated).
    :param verify_schedule: read back the ``scheduleAt`` Cellcast understood (default true).
    :param cellcast_conn_id: the Airflow connection of type ``cellcast`` (templated).
    :param hook_params: overrides of the connection's client settings for this task (see
        :class:`~airflow_provider_cellcast.settings.CellcastSettings`).
    """

    template_fields: Sequence[str] = (
        "message",
        "contacts",
        "sender",
        "schedule_at",
        "custom_string",
        "opt_out_list_id",
        "cellcast_conn_id",
    )
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
        reply_stop_to_opt_out: bool | None = None,
        opt_out: bool | None = None,
        opt_out_list_id: str | None = None,
        verify_schedule: bool = True,
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
        self.reply_stop_to_opt_out = reply_stop_to_opt_out
        self.opt_out = opt_out
        self.opt_out_list_id = opt_out_list_id
        self.verify_schedule = verify_schedule
        self.cellcast_conn_id = cellcast_conn_id
        from airflow_provider_cellcast.settings import checked_hook_params

        self.hook_params = checked_hook_params(hook_params)
        from airflow_provider_cellcast.validation import refuse_schedule_and_delay, validate_reference

        # Given as arguments, not only rendered: say so when the DAG file is parsed.
        refuse_schedule_and_delay(schedule_at, delay_ms)
        if isinstance(custom_string, str) and "{{" not in custom_string:
            validate_reference(custom_string)

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
        map_index = getattr(ti, "map_index", -1)
        self.log.info(
            "Campaign reference (Cellcast customString): %s (DAG %s, task %s%s, run %s)",
            reference,
            ti.dag_id,
            ti.task_id,
            f" [{map_index}]" if map_index is not None and int(map_index) >= 0 else "",
            ti.run_id,
        )
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
                reply_stop_to_opt_out=self.reply_stop_to_opt_out,
                opt_out=self.opt_out,
                opt_out_list_id=self.opt_out_list_id or None,
                verify_schedule=self.verify_schedule,
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
        from airflow_provider_cellcast.contacts import describe
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
                "%d invalid contact(s) not sent: %s",
                len(result["invalid_contacts"]),
                first_and_more([describe(item) for item in result["invalid_contacts"]], _NUMBERS_SHOWN, separator="; "),
            )
        if result["unsubscribed_contacts"]:
            self.log.warning(
                "%d unsubscribed contact(s) skipped by Cellcast: %s",
                len(result["unsubscribed_contacts"]),
                first_and_more(result["unsubscribed_contacts"], _NUMBERS_SHOWN),
            )

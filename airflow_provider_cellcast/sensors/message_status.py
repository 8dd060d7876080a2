"""Wait until Cellcast messages reach a status (delivered, canceled, scheduled...).

DAG files import this module at every parse: it imports Airflow's sensor base class and the status
rules (:mod:`airflow_provider_cellcast.statuses`) only; the hook and the trigger are imported when the task runs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_cellcast.statuses import (
    DEFAULT_FAILURE_STATUSES,
    StatusCheck,
    StatusRules,
    failure_text,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cellcast.hooks.cellcast import CellcastHook


class CellcastMessageStatusSensor(BaseSensorOperator):
    """Wait until one Cellcast message, or every message of a campaign, reaches a target status.

    Works in the three sensor modes: ``mode="poke"`` (holds a worker slot, sleeps between checks),
    ``mode="reschedule"`` (frees the slot between checks) and ``deferrable=True`` (hands the wait to
    the triggerer through :class:`~airflow_provider_cellcast.triggers.message_status.CellcastMessageStatusTrigger`;
    no worker slot at all). All three decide with the same rules:

    * a message in a ``target_status`` is done; ``delivered`` also satisfies a target of ``sent``
      or ``queued`` (it certainly passed through them);
    * a message in a ``failure_statuses`` status, an ID Cellcast does not know on this account, or
      a message in a status from which no target can be reached any more (waiting for
      ``delivered`` on a ``canceled`` message) fails the task at once with
      ``AirflowFailException`` naming the IDs and their statuses: waiting or retrying cannot help;
    * anything else (including a status this provider does not know) keeps the sensor waiting
      until ``timeout``.

    The per-ID statuses (``{message_id: status}``) are pushed once, to XCom under the key
    ``statuses``, whether the sensor succeeds or fails. The return value is that map for one ID
    given as such, and a small summary otherwise (``{total, statuses_count: {status: n},
    reference, failed: [first 100 {message_id, status}], statuses}``), so a campaign does not put
    its statuses into the metadata database twice.

    **Rounds by the page.** When the messages carry a campaign reference (``custom_string``, or
    IDs that came from ``CellcastSendSmsOperator``, whose ``send_result`` names the reference and
    the send day), each round lists the reference's messages, 100 a page, and reads their statuses
    from the list: a round over 10,000 messages costs about 100 requests, not 10,000. IDs the list
    does not return are asked one by one.

    In deferrable mode the sensor defers at once, without checking any status first: the trigger
    checks on its first round, so a condition that already holds costs no extra wait. The worker
    makes no status request; given a ``custom_string`` it lists the reference's messages once
    (their IDs go to the trigger) before deferring.

    .. code-block:: python

        from airflow.sdk import DAG
        from airflow_provider_cellcast.operators.send_sms import CellcastSendSmsOperator
        from airflow_provider_cellcast.sensors.message_status import CellcastMessageStatusSensor

        with DAG("sms_delivery", schedule=None):
            send = CellcastSendSmsOperator(task_id="send", message="Hi", contacts=["+61400000001"])
            CellcastMessageStatusSensor(
                task_id="wait_delivered",
                message_id=send.output,
                target_status="delivered",
                deferrable=True,
                poll_interval=30,
                timeout=3600,
            )

    :param message_id: a message ID or a list of IDs (templated), e.g. ``send.output``.
    :param custom_string: a campaign reference (templated). Alone: every message carrying it,
        listed once per worker run (``GET /api/v2/report/message``, all pages): once per try in
        poke and deferrable modes, once per poke in reschedule mode. With ``message_id``: the
        reference of those IDs, which the rounds list by the page.
    :param target_status: a status or a collection of statuses that count as success
        (``"cancelled"`` and Cellcast's ``"delievered"`` are accepted spellings).
    :param failure_statuses: statuses that fail the task at once (default ``failed``,
        ``rejected``, ``expired``, ``blocked``); an empty collection disables them.
    :param cellcast_conn_id: the Airflow connection of type ``cellcast`` (templated).
    :param hook_params: overrides of the connection's client settings for this task (see
        :class:`~airflow_provider_cellcast.settings.CellcastSettings`).
    :param deferrable: wait in the triggerer instead of a worker (default: Airflow's
        ``[operators] default_deferrable``).
    :param poll_interval: seconds (or a ``timedelta``) between checks, in every mode; it sets
        ``poke_interval`` unless that is given too.
    """

    template_fields: Sequence[str] = ("message_id", "custom_string", "cellcast_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"message_id": "py"}
    ui_color = "#E3F2D9"
    ui_fgcolor = "#1F3A10"

    def __init__(
        self,
        *,
        message_id: str | Sequence[str] | Any = None,
        custom_string: str | None = None,
        target_status: str | Collection[str] = "delivered",
        failure_statuses: Collection[str] | None = DEFAULT_FAILURE_STATUSES,
        cellcast_conn_id: str = "cellcast_default",
        hook_params: dict[str, Any] | None = None,
        deferrable: bool | None = None,
        poll_interval: float | timedelta = 60.0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", poll_interval)
        super().__init__(**kwargs)
        if message_id is None and custom_string is None:
            from airflow_provider_cellcast.exceptions import CellcastInputError

            raise CellcastInputError(
                "message_id", message_id, f"{self.task_id}: give message_id, custom_string, or both"
            )
        # IDs from an upstream task's output: its send_result (if it is our send operator) names
        # their reference and send day, for rounds by the page.
        self._ids_from_task: str | None = getattr(getattr(message_id, "operator", None), "task_id", None)
        self.message_id = message_id
        self.custom_string = custom_string
        # Not templated: checked here so that a misspelt status is a DAG import error, not a
        # sensor that waits for a status that never comes.
        self.rules = StatusRules.build(target_status, failure_statuses)
        self.target_status = sorted(self.rules.targets)
        self.failure_statuses = sorted(self.rules.failures)
        self.cellcast_conn_id = cellcast_conn_id
        from airflow_provider_cellcast.settings import checked_hook_params, default_deferrable

        self.hook_params = checked_hook_params(hook_params)
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        # Statuses seen by earlier pokes of this try: IDs already done are not asked about again.
        self._known: dict[str, str] = {}
        self._campaign_ids: list[str] | None = None
        self._listed: dict[str, str] | None = None
        self._campaign: tuple[str | None, str | None] | None = None

    @cached_property
    def hook(self) -> CellcastHook:
        """The hook for this task's connection and settings."""
        from airflow_provider_cellcast.hooks.cellcast import CellcastHook

        return CellcastHook(self.cellcast_conn_id, **self.hook_params)

    def _message_ids(self) -> list[str]:
        """The rendered IDs, or (looked up once per worker run) those of the campaign reference."""
        from airflow_provider_cellcast.validation import validate_message_ids

        if self.message_id is not None and not (isinstance(self.message_id, str) and not self.message_id.strip()):
            return validate_message_ids(self.message_id, "message_id")
        if self._campaign_ids is None:
            from airflow_provider_cellcast.exceptions import CellcastReferenceNotFoundError

            # One pass over the reference's pages finds the IDs and their statuses for this round.
            self._listed = self.hook.client.statuses_by_reference(self.custom_string or "")
            self._campaign_ids = list(self._listed)
            self.log.info("Reference %r names %d message(s)", self.custom_string, len(self._campaign_ids))
            if not self._campaign_ids:
                raise CellcastReferenceNotFoundError(
                    f"No Cellcast message carries reference {self.custom_string!r}: check the reference "
                    "(the send task logs it) and the connection's account",
                    reference=self.custom_string or "",
                )
        return self._campaign_ids

    def _reference(self, context: Context) -> tuple[str | None, str | None]:
        """The campaign reference of the watched messages and their send day, when known."""
        if self._campaign is None:
            reference, sent_on = self.custom_string or None, None
            if self._ids_from_task is not None:
                try:
                    sent = context["ti"].xcom_pull(task_ids=self._ids_from_task, key="send_result")
                except Exception:  # not our send operator, or no such XCom: rounds ask one by one
                    sent = None
                if isinstance(sent, dict):
                    reference = reference or sent.get("reference")
                    sent_on = sent.get("sent_on")
            self._campaign = (reference, sent_on)
        return self._campaign

    def _summary(self, statuses: dict[str, str]) -> Any:
        """The return value: the map for one ID given as such, a summary for a campaign."""
        if isinstance(self.message_id, str) and len(statuses) == 1:
            return statuses
        from collections import Counter

        failing = [mid for mid, status in statuses.items() if self.rules.verdict(status) == "failed"]
        return {
            "total": len(statuses),
            "statuses_count": dict(Counter(statuses.values())),
            "reference": (self._campaign or (self.custom_string, None))[0],
            "failed": [{"message_id": mid, "status": statuses[mid]} for mid in failing[:100]],
            "statuses": "every ID's status is in the XCom 'statuses' of this task instance",
        }

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from airflow_provider_cellcast.triggers.message_status import CellcastMessageStatusTrigger

        message_ids = self._message_ids()
        reference, sent_on = self._reference(context)
        self.log.info(
            "Deferring: waiting for %d Cellcast message(s) to reach %s, checking every %.0f s",
            len(message_ids),
            self.rules.describe_targets(),
            self.poke_interval,
        )
        self.defer(
            trigger=CellcastMessageStatusTrigger(
                message_ids=message_ids,
                target_statuses=self.target_status,
                failure_statuses=self.failure_statuses,
                cellcast_conn_id=self.cellcast_conn_id,
                hook_params=self.hook_params,
                poll_interval=self.poke_interval,
                custom_string=reference,
                from_date=sent_on,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def poke(self, context: Context) -> PokeReturnValue:
        from airflow.providers.common.compat.sdk import AirflowFailException

        from airflow_provider_cellcast.client.send import send_day

        reference, sent_on = self._reference(context)
        try:
            message_ids = self._message_ids()
            listed, self._listed = self._listed, None  # fresh for this round only
            check: StatusCheck = self.hook.client.check_statuses(
                message_ids, self.rules, self._known, reference=reference, from_date=send_day(sent_on), listed=listed
            )
        finally:
            self.hook.close()
        self._known = check.statuses
        if check.failed:
            context["ti"].xcom_push(key="statuses", value=check.statuses)
            raise AirflowFailException(failure_text(check, self.rules))
        if check.waiting:
            self.log.info("Cellcast messages: %s; waiting for %s", check.summary(), self.rules.describe_targets())
            return PokeReturnValue(is_done=False)
        self.log.info("All %d Cellcast message(s) reached %s", len(check.statuses), self.rules.describe_targets())
        context["ti"].xcom_push(key="statuses", value=check.statuses)
        return PokeReturnValue(is_done=True, xcom_value=self._summary(check.statuses))

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the trigger fired: return the statuses, or fail the way poke mode would."""
        from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

        statuses: dict[str, str] = dict(event.get("statuses") or {})
        outcome = event.get("status")
        if statuses:
            context["ti"].xcom_push(key="statuses", value=statuses)
        if outcome == "success":
            self.log.info("%s", event.get("message") or "Cellcast messages reached the target status")
            return self._summary(statuses)
        text = str(event.get("message") or f"Cellcast status trigger ended with {outcome!r}")
        if outcome == "failed" or (outcome == "error" and event.get("permanent")):
            raise AirflowFailException(text)
        # A transient fault that outlasted the hook's retries: a task retry (if any) may help.
        raise AirflowException(f"Could not check Cellcast message statuses: {text}")

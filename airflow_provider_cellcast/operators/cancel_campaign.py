"""Cancel scheduled Cellcast SMS/MMS campaigns.

DAG files import this module at every parse: it imports only ``airflow.sdk`` and standard-library
modules at module level; the hook (and with it the http provider and ``requests``) is imported
when the task runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_cellcast.hooks.cellcast import CancelAttempt, CancelResult, CellcastHook

#: Failed IDs named per reason in a batch failure text; the log names every one, ``results`` too.
_FAILED_IDS_SHOWN = 50


class CellcastCancelCampaignOperator(BaseOperator):
    """Cancel one scheduled Cellcast message, or a whole campaign's messages, in one task.

    ``message_id`` is one 24-character message ID or a list of them (for example the output of
    the task that scheduled the campaign). Every ID is checked before any request is sent; an
    invalid ID or type fails the task without retries. IDs are cancelled concurrently at the pace
    the connection allows, duplicates once. A message that is already cancelled counts as success
    (``already_cancelled``), so re-running is safe.

    A retried task does not start over: the settled IDs are saved while the task works (in the
    task instance's state store on Airflow 3.3+, in a Variable named after the task instance
    before), and the next try cancels only the rest; its ``results`` still list every ID.

    The outcome of every ID is pushed once, to XCom under the key ``results`` (a list of
    ``{message_id, type, outcome, message, error, status_code}``), whether the task succeeds or
    fails. The return value (XCom ``return_value``) is that one dict for a single ID given as
    such; for a list or a reference it is a small summary: ``{total, message_type, outcomes:
    {cancelled, already_cancelled, failed}, reference, failed: [first 100 {message_id, error,
    status_code}], failed_not_shown, results}``, so that a campaign of 100,000 IDs does not put its
    results into the metadata database twice. For campaigns that large, configure Airflow's
    object-storage XCom backend (``apache-airflow-providers-common-io``) so that ``results`` lands
    in object storage. If any ID failed, the task fails after all IDs were attempted; the log
    and the error name every failed ID, grouped by reason (the log at INFO holds progress lines and
    a summary; per-ID lines are at DEBUG).

    .. code-block:: python

        from airflow.sdk import DAG
        from airflow_provider_cellcast.operators.cancel_campaign import CellcastCancelCampaignOperator

        with DAG("cancel_campaign", schedule=None, params={"message_id": "675161d8a000000000000000"}):
            CellcastCancelCampaignOperator(
                task_id="cancel",
                message_id="{{ params.message_id }}",
                message_type="sms",
            )

    A whole campaign can also be named by its **reference** (Cellcast's ``customString``, which
    ``CellcastSendSmsOperator`` sets and logs): ``custom_string="..."`` lists every message of that
    reference that is still ``scheduled`` (all pages of ``GET /api/v2/report/message``), then
    cancels them the same way and logs how many it found. A reference that matches nothing fails
    the task (:class:`~airflow_provider_cellcast.exceptions.CellcastReferenceNotFoundError`) unless
    ``allow_nothing_to_cancel=True``.

    :param message_id: a message ID or a list of IDs (templated), or text with several IDs one per
        line or separated by commas or spaces. Surrounding spaces are ignored.
    :param custom_string: instead of ``message_id``, a campaign reference (templated). Give exactly
        one of the two (after rendering: an empty one counts as not given).
    :param allow_nothing_to_cancel: with ``custom_string``, succeed (returning ``[]``) when no
        scheduled message carries the reference.
    :param message_type: ``"sms"`` or ``"mms"``, any case (templated).
    :param cellcast_conn_id: the Airflow connection of type ``cellcast`` (templated).
    :param hook_params: overrides of the connection's client settings for this task, e.g.
        ``{"requests_per_second": 40, "max_concurrency": 16, "max_attempts": 3, "timeout": 10}``
        (see :class:`~airflow_provider_cellcast.settings.CellcastSettings`).
    """

    template_fields: Sequence[str] = ("message_id", "custom_string", "message_type", "cellcast_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"message_id": "py"}
    ui_color = "#FFE3C2"
    ui_fgcolor = "#3D2200"

    def __init__(
        self,
        *,
        message_id: str | Sequence[str] | Any = None,
        custom_string: str | None = None,
        message_type: str = "sms",
        allow_nothing_to_cancel: bool = False,
        cellcast_conn_id: str = "cellcast_default",
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if message_id is None and custom_string is None:  # both given: checked once rendered
            from airflow_provider_cellcast.exceptions import CellcastInputError

            raise CellcastInputError(
                "message_id", message_id, f"{self.task_id}: give message_id or custom_string, exactly one of them"
            )
        self.message_id = message_id
        self.custom_string = custom_string
        self.message_type = message_type
        self.allow_nothing_to_cancel = allow_nothing_to_cancel
        self.cellcast_conn_id = cellcast_conn_id
        from airflow_provider_cellcast.settings import checked_hook_params

        self.hook_params = checked_hook_params(hook_params)

    @cached_property
    def hook(self) -> CellcastHook:
        """The hook for this task's connection and settings."""
        from airflow_provider_cellcast.hooks.cellcast import CellcastHook

        return CellcastHook(self.cellcast_conn_id, **self.hook_params)

    def execute(self, context: Context) -> CancelResult | dict[str, Any]:
        from airflow_provider_cellcast.client.results import CancelOutcomes, summary_of
        from airflow_provider_cellcast.validation import validate_message_type

        message_type = validate_message_type(self.message_type, "message_type")
        try:
            message_ids, single = self._message_ids(message_type)
            if not message_ids:
                context["ti"].xcom_push(key="results", value=[])
                return summary_of(CancelOutcomes([], message_type), reference=self._reference)
            self.log.info(
                "Cancelling %d scheduled %s message(s) through connection %r",
                len(message_ids),
                message_type,
                self.cellcast_conn_id,
            )
            from airflow_provider_cellcast.progress import progress_store_for

            # A retry (on any worker) skips the IDs an earlier try of this task instance settled.
            outcomes = self.hook.cancel_scheduled_messages(
                message_ids, message_type, progress_store=progress_store_for(context)
            )
        finally:
            self.hook.close()
        context["ti"].xcom_push(key="results", value=list(outcomes.results()))
        counts = outcomes.counts()
        if len(outcomes) == 1:
            result = outcomes[0].result
            self.log.info(
                "Cellcast cancel of %s message %s: %s (Cellcast: %s)",
                message_type,
                result["message_id"],
                result["outcome"],
                result["message"] or "-",
            )
        else:
            self.log.info(
                "Cellcast cancel of %d %s message(s): %d cancelled, %d already cancelled, %d failed",
                len(outcomes),
                message_type,
                counts["cancelled"],
                counts["already_cancelled"],
                counts["failed"],
            )
        failures = outcomes.failures()
        if failures:
            _log_failures(self.log, failures)
            raise _batch_failure(failures, len(outcomes), single=single)
        if single:
            return outcomes[0].result
        return summary_of(outcomes, reference=self._reference)

    def _message_ids(self, message_type: str) -> tuple[list[str], bool]:
        """The rendered IDs, or those the reference names; and whether one ID was given as such."""
        from airflow_provider_cellcast.exceptions import CellcastInputError, CellcastReferenceNotFoundError
        from airflow_provider_cellcast.validation import validate_message_ids, validate_reference

        self._reference: str | None = None
        # A trigger form may render both templates, one of them empty: what counts is what is set.
        by_id = _is_set(self.message_id)
        by_reference = _is_set(self.custom_string)
        if by_id == by_reference:
            raise CellcastInputError(
                "message_id",
                self.message_id,
                "give message_id (one or more message IDs) or custom_string (a campaign reference), "
                f"exactly one of them; got message_id={self.message_id!r}, custom_string={self.custom_string!r}",
            )
        if by_id:
            message_ids = validate_message_ids(self.message_id, "message_id")
            return message_ids, len(message_ids) == 1 and isinstance(self.message_id, str)
        reference = validate_reference(self.custom_string, "custom_string")
        self._reference = reference
        message_ids = self.hook.message_ids_by_reference(reference, status="scheduled", message_type=message_type)
        self.log.info("Found %d scheduled %s message(s) with reference %r", len(message_ids), message_type, reference)
        if not message_ids and not self.allow_nothing_to_cancel:
            raise CellcastReferenceNotFoundError(
                f"No scheduled {message_type} message carries reference {reference!r}: nothing to cancel. Check the "
                "reference (the send task logs it) and message_type; messages already sent or cancelled are not "
                "listed. Set allow_nothing_to_cancel=True to count this as success.",
                reference=reference,
            )
        return message_ids, False


def _is_set(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip()) and value not in ([], ())


def _by_reason(failures: list[CancelAttempt]) -> dict[str, list[str]]:
    """Failed IDs grouped by why they failed (error class and Cellcast's message), in input order."""
    groups: dict[str, list[str]] = {}
    for attempt in failures:
        error = attempt.error
        reason = (
            f"{type(error).__name__}: {error.api_message}"
            if error is not None and error.api_message
            else (type(error).__name__ if error is not None else "failed")
        )
        groups.setdefault(reason, []).append(attempt.message_id)
    return groups


def _log_failures(log: Any, failures: list[CancelAttempt]) -> None:
    """Every failed ID, in lines of at most 100 IDs per reason (never one line per ID)."""
    from airflow_provider_cellcast.client.tally import grouped

    for reason, ids in _by_reason(failures).items():
        example = next(attempt.result["error"] for attempt in failures if attempt.message_id == ids[0])
        log.error("%d message(s) failed (%s); the first: %s", len(ids), reason, example)
        for first, last, batch in grouped(ids):
            log.error("Failed (%s), %d-%d of %d: %s", reason, first, last, len(ids), ", ".join(batch))


def _batch_failure(failures: list[CancelAttempt], total: int, *, single: bool) -> Exception:
    """The exception that fails the task: the typed error itself for one ID, a summary for a batch."""
    from airflow.providers.common.compat.sdk import AirflowFailException

    from airflow_provider_cellcast.exceptions import CellcastBatchError, CellcastPermanentBatchError
    from airflow_provider_cellcast.texts import first_and_more

    errors = [attempt.error for attempt in failures if attempt.error is not None]
    if single or total == 1:
        return errors[0]
    named = "; ".join(
        f"{len(ids)} {reason}: {first_and_more(ids, _FAILED_IDS_SHOWN)}" for reason, ids in _by_reason(failures).items()
    )
    text = (
        f"{len(failures)} of {total} message IDs could not be cancelled ({named}). First error: {errors[0]}. "
        "The task log names every failed ID; every ID's outcome is in the XCom 'results'."
    )
    # Retrying the task helps only if some failure may be temporary.
    permanent = all(isinstance(error, AirflowFailException) for error in errors)
    error_class = CellcastPermanentBatchError if permanent else CellcastBatchError
    return error_class(text, results=[dict(attempt.result) for attempt in failures])

"""Cancelling scheduled messages: one ID (safe to repeat), or a campaign's many with saved progress.

``POST /api/v1/gateway/cancelScheduleQuickMessage``. When Cellcast does not carry out a cancel,
the message is looked up (:func:`~.reports.get_message`) to say why: already cancelled counts as
success (``already_cancelled``), so re-running a DAG or retrying after a timeout whose cancel did
reach Cellcast succeeds; already sent fails for good; still scheduled hints at the type.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, cast

from airflow_provider_cellcast.client.plan import CallContext, Map, Plan, call
from airflow_provider_cellcast.client.reports import get_message
from airflow_provider_cellcast.client.results import (
    SETTLED_EARLIER,
    CancelAttempt,
    CancelOutcomes,
    CancelResult,
    Outcome,
    cancel_result,
    failed_attempt,
)
from airflow_provider_cellcast.client.tally import Tally
from airflow_provider_cellcast.client.wire import ApiRequest
from airflow_provider_cellcast.exceptions import (
    CellcastError,
    CellcastMessageNotCancellableError,
    CellcastMessageNotFoundError,
    CellcastUnsuccessfulError,
)
from airflow_provider_cellcast.progress import CancelProgress, ProgressStore
from airflow_provider_cellcast.statuses import CANCELABLE, CANCELED, normalise_status
from airflow_provider_cellcast.validation import validate_message_id, validate_message_type

CANCEL_ENDPOINT = "/api/v1/gateway/cancelScheduleQuickMessage"


def cancel_one(ctx: CallContext, message_id: str, message_type: str = "sms") -> Plan[CancelResult]:
    """Cancel one scheduled SMS or MMS; safe to repeat.

    :raises CellcastMessageNotCancellableError: it was already sent (not retried by Airflow).
    :raises CellcastMessageNotFoundError: no such message on this account.
    :raises CellcastError: any other failure.
    """
    message_id = validate_message_id(message_id)
    message_type = validate_message_type(message_type)
    request = ApiRequest(
        "POST",
        CANCEL_ENDPOINT,
        json={"messageId": message_id, "type": message_type},
        what=f"cancel of {message_type} message {message_id}",
        message_id=message_id,
    )
    try:
        envelope = yield from call(ctx, request)
    except CellcastUnsuccessfulError as refusal:
        return (yield from _explain_refusal(ctx, message_id, message_type, refusal))
    return cancel_result(message_id, message_type, "cancelled", message=envelope.message)


def _explain_refusal(
    ctx: CallContext, message_id: str, message_type: str, refusal: CellcastUnsuccessfulError
) -> Plan[CancelResult]:
    try:
        report = yield from get_message(ctx, message_id)
    except CellcastMessageNotFoundError as missing:
        raise missing from refusal
    except CellcastError as lookup_error:
        ctx.log.warning("Could not look up message %s after a refused cancel: %s", message_id, lookup_error)
        raise refusal from None
    status = normalise_status(report.get("status"))
    if status == CANCELED:
        return cancel_result(message_id, message_type, "already_cancelled", message=refusal.api_message)
    if status == CANCELABLE:
        raise CellcastUnsuccessfulError(
            f"{refusal} The message is still scheduled (for {report.get('scheduleAt') or 'an unknown time'}): "
            f"check that message_type {message_type!r} is the type it was sent as.",
            status_code=refusal.status_code,
            api_message=refusal.api_message,
            message_id=message_id,
        ) from refusal
    sent_at = report.get("send_time") or report.get("updatedAt")
    raise CellcastMessageNotCancellableError(
        f"Cannot cancel {message_type} message {message_id}: Cellcast reports it as {status!r}"
        f"{f' since {sent_at}' if sent_at else ''}, so it has already gone out or ended.",
        status_code=refusal.status_code,
        api_message=refusal.api_message,
        message_id=message_id,
        message_status=status,
        sent_at=str(sent_at) if sent_at else None,
    ) from refusal


def attempt_cancel(ctx: CallContext, message_id: str, message_type: str) -> Plan[CancelAttempt]:
    """:func:`cancel_one` that never raises a ``CellcastError``: a failure is the attempt's outcome."""
    try:
        return CancelAttempt((yield from cancel_one(ctx, message_id, message_type)))
    except CellcastError as error:
        return failed_attempt(message_id, message_type, error)


def cancel_many(
    ctx: CallContext,
    message_ids: Iterable[str],
    message_type: str = "sms",
    *,
    progress_store: ProgressStore | None = None,
    progress_every: float = 30.0,
) -> Plan[CancelOutcomes]:
    """Cancel many messages concurrently at the configured pace; never raises per ID.

    Returns every distinct ID's outcome in input order, compactly (:class:`~.results.CancelOutcomes`:
    about 100 bytes an ID). Progress goes to the log every 10 % or ``progress_every`` seconds. With
    a ``progress_store`` (see :mod:`airflow_provider_cellcast.progress`) the settled IDs are saved
    as the work goes (every 1 % of the IDs or every second) and IDs that an earlier try settled
    are not asked again: their result says ``settled by an earlier try of this task``. The record
    is dropped once every ID is settled. The store is written from the driver's thread between
    results, never from a worker.
    """
    ids = list(dict.fromkeys(validate_message_id(message_id) for message_id in message_ids))
    message_type = validate_message_type(message_type)
    outcomes = CancelOutcomes(ids, message_type)
    if not ids:
        return outcomes
    progress = CancelProgress(ids, message_type)
    earlier = _restore(ctx, progress, progress_store, len(ids))
    for index, outcome in earlier.items():
        result = cancel_result(ids[index], message_type, cast("Outcome", outcome), message=SETTLED_EARLIER)
        outcomes.record(index, CancelAttempt(result))
    tally = Tally("cancel", len(ids) - len(earlier), ctx.log, every=progress_every)
    # Saved often enough that a retry repeats at most about 1 % of the work (or 1 s of it).
    save_every = max(1, len(ids) // 100)
    saved: dict[str, Any] = {"at": time.monotonic(), "unsaved": 0}

    def record(index: int, attempt: CancelAttempt | CellcastError) -> None:
        if isinstance(attempt, CellcastError):  # attempt_cancel catches its own: kept for safety
            attempt = failed_attempt(ids[index], message_type, attempt)
        outcomes.record(index, attempt)
        progress.mark_index(index, attempt.result["outcome"])
        tally.add(failed=attempt.error is not None)
        ctx.log.debug("%s: %s", attempt.message_id, attempt.result["error"] or attempt.result["outcome"])
        saved["unsaved"] += 1
        if progress_store is not None and (saved["unsaved"] >= save_every or time.monotonic() - saved["at"] >= 1.0):
            _save(ctx, progress_store, progress)
            saved.update(at=time.monotonic(), unsaved=0)

    yield Map(
        lambda index: attempt_cancel(ctx, ids[index], message_type),
        (index for index in range(len(ids)) if index not in earlier),
        record,
        ctx.settings.max_concurrency,
        "cancel",
    )
    if progress_store is not None:
        if not outcomes.failures():
            _save(ctx, progress_store, None)
        elif saved["unsaved"]:
            _save(ctx, progress_store, progress)
    return outcomes


def _restore(ctx: CallContext, progress: CancelProgress, store: ProgressStore | None, total: int) -> dict[int, str]:
    """Positions of the IDs an earlier try of this task settled, from ``store`` (none when unusable)."""
    if store is None:
        return {}
    try:
        record = store.load()
    except Exception as error:  # a progress store that cannot be read only costs repeated work
        ctx.log.warning("Could not read the progress of an earlier try (%s): cancelling every ID", error)
        return {}
    if not progress.restore(record):
        return {}
    earlier = progress.settled_indexes()
    ctx.log.info(
        "An earlier try of this task settled %d of %d message(s): cancelling the other %d",
        len(earlier),
        total,
        total - len(earlier),
    )
    return earlier


def _save(ctx: CallContext, store: ProgressStore, progress: CancelProgress | None) -> None:
    """Save ``progress`` (``None``: everything settled, drop the record); a failure only costs work."""
    try:
        if progress is None:
            store.clear()
        else:
            store.save(progress.to_record())
    except Exception as error:
        ctx.log.warning("Could not save the cancel progress (%s): a retry would repeat more requests", error)

"""Reading what Cellcast knows about messages: one message, lists by reference, status rounds.

Plans (see :mod:`.plan`) for ``GET /api/v2/report/message/{id}`` and ``GET
/api/v2/report/message``. Filters sent to the list are checked again on every item, so that a
service that ignored a filter costs pages, never a wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from airflow_provider_cellcast.client.plan import CallContext, Map, Plan, Wait, call
from airflow_provider_cellcast.client.results import SendResult, empty_send_result
from airflow_provider_cellcast.client.tally import Tally
from airflow_provider_cellcast.client.wire import ApiRequest
from airflow_provider_cellcast.envelope import says_not_found
from airflow_provider_cellcast.exceptions import (
    CellcastError,
    CellcastInvalidResponseError,
    CellcastMessageNotFoundError,
    CellcastUnsuccessfulError,
)
from airflow_provider_cellcast.statuses import NOT_FOUND, StatusCheck, StatusRules, normalise_status
from airflow_provider_cellcast.validation import (
    mask_phone,
    validate_message_id,
    validate_message_type,
    validate_reference,
)

MESSAGE_REPORT_ENDPOINT = "/api/v2/report/message"
#: Messages per page when listing by reference: well inside any page size a list API allows.
LIST_PAGE_SIZE = 100
#: A lookup that reads more pages than this says so: the list's filter may be ignored.
MANY_PAGES = 10


def not_found(ctx: CallContext, message_id: str, cause: CellcastError | None) -> CellcastMessageNotFoundError:
    return CellcastMessageNotFoundError(
        f"Cellcast has no message {message_id} on the account of {ctx.name}: check the ID and that the "
        "connection's token belongs to the account that sent it",
        status_code=cause.status_code if cause else None,
        api_message=cause.api_message if cause else None,
        message_id=message_id,
    )


def get_message(ctx: CallContext, message_id: str) -> Plan[dict[str, Any]]:
    """One message's detail and status.

    A ``status: false`` that does not say "not found" (live: "internal server error" with a
    CastError) is retried like a 503, and raised as ``CellcastUnsuccessfulError`` if it persists.

    :raises CellcastMessageNotFoundError: the ID does not exist on this account.
    """
    message_id = validate_message_id(message_id)
    request = ApiRequest(
        "GET",
        f"{MESSAGE_REPORT_ENDPOINT}/{message_id}",
        what=f"status lookup of message {message_id}",
        message_id=message_id,
        transient_refusals=True,
    )
    try:
        envelope = yield from call(ctx, request)
    except CellcastUnsuccessfulError as error:
        if not says_not_found(error):
            raise
        raise not_found(ctx, message_id, error) from error
    except CellcastError as error:
        if error.status_code == 404:
            raise not_found(ctx, message_id, error) from error
        raise
    if not isinstance(envelope.data, Mapping) or not envelope.data:
        raise not_found(ctx, message_id, None)
    return dict(envelope.data)


def current_status(ctx: CallContext, message_id: str) -> Plan[str]:
    """The canonical status of one message; ``not_found`` only when Cellcast says so twice.

    A report can lag behind a send, and a single odd answer must not fail a sensor: the second
    question comes after ``backoff_seconds``.
    """
    for asked in (1, 2):
        try:
            report = yield from get_message(ctx, message_id)
        except CellcastMessageNotFoundError:
            if asked == 1:
                yield Wait(ctx.settings.backoff_seconds)
            continue
        return normalise_status(report.get("status"))
    return NOT_FOUND


def list_query(
    *,
    custom_string: str | None = None,
    status: str | None = None,
    message_type: str | None = None,
    from_date: date | None = None,
    page_size: int = LIST_PAGE_SIZE,
) -> dict[str, Any]:
    """Cellcast's query for the list filters (``customString``, ``status``, ``campType``, ``fromDate``)."""
    query: dict[str, Any] = {"limit": page_size}
    if from_date is not None:
        query["fromDate"] = from_date.isoformat()
    if custom_string is not None:
        query["customString"] = custom_string
    if status is not None:
        query["status"] = status
    if message_type is not None:
        query["campType"] = message_type
    return query


def list_page(ctx: CallContext, query: Mapping[str, Any], page: int) -> Plan[tuple[list[dict[str, Any]], bool]]:
    """One page of the list: its items (as Cellcast gave them) and whether another page follows."""
    what = f"message list page {page}"
    data = (
        yield from call(ctx, ApiRequest("GET", MESSAGE_REPORT_ENDPOINT, params={**query, "page": page}, what=what))
    ).data
    items = data.get("items") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        raise CellcastInvalidResponseError(f"Cellcast answered the {what} without an items list")
    found = [dict(item) for item in items if isinstance(item, Mapping)]
    return found, bool(items) and bool(data.get("hasNextPage"))


def matches(item: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    """Whether a listed item really has what the query filtered on (the service may ignore a filter)."""
    if "customString" in query and item.get("customString") != query["customString"]:
        return False
    return "status" not in query or normalise_status(item.get("status")) == normalise_status(query["status"])


def each_listed(ctx: CallContext, query: Mapping[str, Any], visit: Callable[[dict[str, Any]], None]) -> Plan[None]:
    """``visit`` every item of every page that matches ``query``; memory stays one page."""
    page = listed = 0
    while True:
        page += 1
        items, more = yield from list_page(ctx, query, page)
        listed += len(items)
        for item in items:
            if matches(item, query):
                visit(item)
        if not more:
            break
    if page > MANY_PAGES:
        ctx.log.info(
            "Listing %s read %d pages (%d messages)%s",
            f"reference {query['customString']!r}" if "customString" in query else "messages",
            page,
            listed,
            "" if "fromDate" in query else ": give the send day (fromDate) to read fewer",
        )


def message_ids_by_reference(
    ctx: CallContext,
    custom_string: str,
    *,
    status: str | None = None,
    message_type: str | None = None,
    from_date: date | None = None,
) -> Plan[list[str]]:
    """IDs of the messages carrying a reference (optionally in one status, of one type), all pages.

    Every page is read before the caller acts: cancelling shrinks a list filtered on
    ``scheduled``, and paging through a list that shrinks skips entries.
    """
    reference = validate_reference(custom_string)
    if message_type is not None:
        message_type = validate_message_type(message_type)
    ids: dict[str, None] = {}

    def visit(item: dict[str, Any]) -> None:
        if isinstance(item.get("_id"), str):
            ids[item["_id"]] = None

    query = list_query(custom_string=reference, status=status, message_type=message_type, from_date=from_date)
    yield from each_listed(ctx, query, visit)
    return list(ids)


def statuses_by_reference(
    ctx: CallContext, custom_string: str, *, from_date: date | None = None
) -> Plan[dict[str, str]]:
    """``{message_id: status}`` of every message carrying a reference: one pass over its pages."""
    reference = validate_reference(custom_string)
    statuses: dict[str, str] = {}

    def visit(item: dict[str, Any]) -> None:
        if isinstance(item.get("_id"), str):
            statuses[item["_id"]] = normalise_status(item.get("status"))

    yield from each_listed(ctx, list_query(custom_string=reference, from_date=from_date), visit)
    return statuses


def find_sent_by_reference(
    ctx: CallContext, custom_string: str, *, from_date: date | None = None
) -> Plan[SendResult | None]:
    """What earlier sends with this reference queued, as a :class:`~.results.SendResult`; ``None`` if nothing."""
    reference = validate_reference(custom_string)
    result = empty_send_result(reference, adopted=True)
    seen: set[str] = set()

    def visit(item: dict[str, Any]) -> None:
        message_id = item.get("_id")
        if isinstance(message_id, str) and message_id not in seen:
            seen.add(message_id)
            result["message_ids"].append(message_id)
            result["queued"].append({"message_id": message_id, "contact": mask_phone(item.get("receiver", ""))})

    yield from each_listed(ctx, list_query(custom_string=reference, from_date=from_date), visit)
    return result if result["message_ids"] else None


def check_statuses(
    ctx: CallContext,
    message_ids: Iterable[str],
    rules: StatusRules,
    known: Mapping[str, str] | None = None,
    *,
    reference: str | None = None,
    from_date: date | None = None,
    listed: Mapping[str, str] | None = None,
) -> Plan[StatusCheck]:
    """One polling round: the status of every ID not already done, classified with ``rules``.

    With the messages' ``reference`` (their ``customString``), the round lists the reference's
    messages (100 a page, from ``from_date`` when known) and reads their statuses from the list:
    a campaign of 10,000 messages costs 100 requests instead of 10,000. IDs the list does not
    return are asked one by one, concurrently at the account's pace. ``known`` holds statuses from
    earlier rounds: an ID once seen in a target status is not asked about again. An ID Cellcast
    does not know counts as ``not_found``; other errors end the round as typed ``CellcastError``.
    ``listed`` holds statuses read for this very round (a listing that just found the IDs): they
    are not asked again.
    """
    known = known or {}
    fresh = listed or {}
    ids = list(message_ids)
    statuses: dict[str, str | None] = {message_id: fresh.get(message_id, known.get(message_id)) for message_id in ids}
    to_ask = [
        mid
        for mid, status in statuses.items()
        if mid not in fresh and (status is None or rules.verdict(status) != "done")
    ]
    if reference is not None and to_ask:
        wanted = set(to_ask)
        in_list: set[str] = set()

        def from_list(item: dict[str, Any]) -> None:
            message_id = item.get("_id")
            if message_id in wanted:
                statuses[message_id] = normalise_status(item.get("status"))
                in_list.add(message_id)

        yield from each_listed(
            ctx, list_query(custom_string=validate_reference(reference), from_date=from_date), from_list
        )
        if len(in_list) < len(to_ask):
            ctx.log.info(
                "%d of %d message(s) are not listed under reference %r: asking for them one by one",
                len(to_ask) - len(in_list),
                len(to_ask),
                reference,
            )
        to_ask = [message_id for message_id in to_ask if message_id not in in_list]
    tally = Tally("status check", len(to_ask), ctx.log)

    def record(message_id: str, outcome: str | CellcastError) -> None:
        if isinstance(outcome, CellcastError):
            raise outcome
        statuses[message_id] = outcome
        tally.add()

    yield Map(lambda mid: current_status(ctx, mid), to_ask, record, ctx.settings.max_concurrency, "status check")
    check = StatusCheck()
    for message_id in ids:
        status = statuses[message_id] or "unknown"
        check.statuses[message_id] = status
        getattr(check, rules.verdict(status)).append(message_id)
    return check

"""Inbound traffic: replies received, what is new among them, and the opt-out list.

Plans (see :mod:`.plan`) for ``GET /api/v1/apiClient/getResponses?page=N`` (20 replies a page,
no size, no "since" filter) and ``GET /api/v1/apiClient/getOptout?page=N&size=M``, both in the
meta envelope, both idempotent lookups: paced and retried like every other call.

What is new is decided by :mod:`.reply_cursor` (fingerprints, the order read from the page,
where the remembered list resumes); this module reads the pages it needs:

==================================  ==========================================================
:func:`snapshot`                    a cursor of the list as it is: 1 request when the list is
                                    newest first (or has one page); every page otherwise
:func:`read_new`                    the replies new since a cursor, and the next cursor: newest
                                    first, 1 request while fewer than about 15 arrived, one
                                    more page per 20 beyond; otherwise every page
==================================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_cellcast.client.plan import CallContext, Plan, call
from airflow_provider_cellcast.client.reply_cursor import (
    NEWEST_FIRST,
    Reply,
    ReplyCursor,
    chronological,
    detect_order,
    new_in_multiset,
    pick_order,
    read_reply,
    resume_index,
)
from airflow_provider_cellcast.client.wire import ApiRequest
from airflow_provider_cellcast.contacts import comparable_number
from airflow_provider_cellcast.exceptions import CellcastInvalidResponseError

REPLIES_ENDPOINT = "/api/v1/apiClient/getResponses"
OPT_OUTS_ENDPOINT = "/api/v1/apiClient/getOptout"
#: Opt-outs asked for per page (Cellcast documents no maximum; the emulator allows 1,000).
OPT_OUT_PAGE_SIZE = 100
#: A list that claims more pages than this is read no further (a server that never ends).
MAX_PAGES = 10_000


def _more(data: Mapping[str, Any], page: int, items: list[Any]) -> bool:
    """Whether a page follows: ``nextPage`` / ``hasNextPage`` when given, else ``totalPages``."""
    if not items or page >= MAX_PAGES:
        return False
    if "hasNextPage" in data:
        return bool(data.get("hasNextPage"))
    if "nextPage" in data:
        return data.get("nextPage") not in (None, False, 0, "")
    total = data.get("totalPages")
    return isinstance(total, int) and not isinstance(total, bool) and page < total


def _page_items(data: Any, what: str) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]]:
    items = data.get("items") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        raise CellcastInvalidResponseError(f"Cellcast answered the {what} without an items list")
    return data, [item for item in items if isinstance(item, Mapping)]


def replies_page(ctx: CallContext, page: int) -> Plan[tuple[list[Reply], bool]]:
    """One page of inbound replies, as Cellcast orders them, and whether another page follows."""
    what = f"reply list page {page}"
    request = ApiRequest("GET", REPLIES_ENDPOINT, params={"page": page}, expect="meta", what=what)
    data, items = _page_items((yield from call(ctx, request)).data, what)
    return [read_reply(item) for item in items], _more(data, page, items)


def all_replies(ctx: CallContext) -> Plan[list[Reply]]:
    """Every reply, every page (the async client's ``get_replies``; the sync one pages lazily)."""
    found: list[Reply] = []
    page, more = 0, True
    while more:
        page += 1
        items, more = yield from replies_page(ctx, page)
        found.extend(items)
    return found


def opt_outs_page(
    ctx: CallContext, page: int, size: int = OPT_OUT_PAGE_SIZE
) -> Plan[tuple[list[dict[str, Any]], bool]]:
    """One page of the opt-out list: each item as Cellcast gave it, ``number`` normalised."""
    what = f"opt-out list page {page}"
    request = ApiRequest("GET", OPT_OUTS_ENDPOINT, params={"page": page, "size": size}, expect="meta", what=what)
    data, items = _page_items((yield from call(ctx, request)).data, what)
    found = [{**item, "number": comparable_number(item.get("number", ""))} for item in items]
    return found, _more(data, page, items)


def all_opt_outs(ctx: CallContext, size: int = OPT_OUT_PAGE_SIZE) -> Plan[list[dict[str, Any]]]:
    """The whole opt-out list, every page."""
    found: list[dict[str, Any]] = []
    page, more = 0, True
    while more:
        page += 1
        items, more = yield from opt_outs_page(ctx, page, size)
        found.extend(items)
    return found


class _Listing:
    """The reply list read page by page, from page 1, as far as a plan needs."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.replies: list[Reply] = []
        self.pages = 0
        self.complete = False

    def next_page(self) -> Plan[None]:
        self.pages += 1
        items, more = yield from replies_page(self.ctx, self.pages)
        self.replies.extend(items)
        self.complete = not more

    def to_end(self) -> Plan[None]:
        while not self.complete:
            yield from self.next_page()

    @property
    def prints(self) -> list[str]:
        return [reply["fingerprint"] for reply in self.replies]


def snapshot(ctx: CallContext) -> Plan[ReplyCursor]:
    """A cursor of the reply list as it is now: none of these replies will count as new.

    Newest first (or a list of one page): one request. Any other order: every page.
    """
    listing = _Listing(ctx)
    yield from listing.next_page()
    order = detect_order(listing.replies)
    if order != NEWEST_FIRST:
        yield from listing.to_end()
    ctx.log.info(
        "Snapshot of Cellcast's reply list: %d repl%s read (%s page(s), %s); none of them counts as new",
        len(listing.replies),
        "y" if len(listing.replies) == 1 else "ies",
        f"all {listing.pages}" if listing.complete else listing.pages,
        order or "order not known yet",
    )
    return ReplyCursor.of(listing.replies, order, complete=listing.complete)


def read_new(ctx: CallContext, cursor: ReplyCursor) -> Plan[tuple[list[Reply], ReplyCursor]]:
    """The replies listed since ``cursor`` (oldest first) and the cursor of the list as read now.

    Replies already counted by ``cursor`` are never returned again. When the remembered replies
    cannot be found any more (the list changed in a way no order explains), nothing counts as
    new, a warning says so, and the list as it is becomes the new starting point.
    """
    listing = _Listing(ctx)
    yield from listing.next_page()
    order = pick_order(detect_order(listing.replies), cursor.order)
    if order == NEWEST_FIRST:
        if not cursor.top:  # the list was empty: all of it is new
            yield from listing.to_end()
            new: list[Reply] | None = listing.replies
        else:
            while True:
                index, more = resume_index(listing.prints, cursor.top, listing.complete)
                if index is not None or not more:
                    break
                yield from listing.next_page()
            new = listing.replies[:index] if index is not None else None
        if new is not None:
            return chronological(new, order), ReplyCursor.of(listing.replies, order, complete=listing.complete)
    yield from listing.to_end()
    if cursor.seen is not None:
        new = new_in_multiset(listing.replies, cursor.seen)
    elif not cursor.top:
        new = listing.replies
    else:
        ctx.log.warning(
            "Cellcast's reply list (%d replies, %s) no longer shows the replies seen at the last check: "
            "taking it as it is as the new starting point; replies received since the last check may be missed",
            len(listing.replies),
            order or "order unknown",
        )
        new = []
    if listing.pages > 1:
        ctx.log.info("Read all %d page(s) of the reply list (%s)", listing.pages, order or "order unknown")
    return chronological(new, order), ReplyCursor.of(listing.replies, order, complete=True)

"""The Cellcast API routes for inbound traffic: replies received and the opt-out list.

=====================================================  ============================================
``GET /api/v1/apiClient/getResponses?page=N``          replies, :data:`REPLIES_PAGE_SIZE` a page
``GET /api/v1/apiClient/getOptout?page=N&size=M``      opt-outs, mongoose page fields
=====================================================  ============================================

Both answer the meta envelope ``{"meta": {"code": 200, "status": "SUCCESS"}, "message", "data",
"error": {}}``. Replies (the emulator's choices where Cellcast documents nothing):

* ``message`` is "You have N response(s)", N the number of replies on every page;
* ``data`` holds only the documented keys: ``items`` (``from``, ``body``, ``received_at``,
  ``message_id``), ``totalPages`` (at least 1) and ``nextPage`` (``null`` on the last page);
* the page size is fixed at :data:`REPLIES_PAGE_SIZE`; there is no ``since`` filter (none exists
  live), so a client finds new replies by reading from page 1;
* newest first by default (``replies_order="oldest-first"`` for the other way: the live order is
  undocumented); ``received_at`` and ``message_id`` as :mod:`.inbound` describes.

Opt-outs: ``size`` 10 by default, at most :data:`MAX_OPTOUT_PAGE_SIZE`; newest first; items
``{_id, number, first_name, last_name, createdAt}``; page fields as :mod:`.pages`.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from airflow_provider_cellcast.emulator.envelopes import meta_envelope
from airflow_provider_cellcast.emulator.pages import mongoose_page, query_int
from airflow_provider_cellcast.emulator.state import EmulatorState

__all__ = ["DEFAULT_OPTOUT_PAGE_SIZE", "MAX_OPTOUT_PAGE_SIZE", "REPLIES_PAGE_SIZE", "inbound_router"]

#: Replies per page of ``getResponses`` (fixed: the endpoint takes no size).
REPLIES_PAGE_SIZE = 20
#: Opt-outs per page of ``getOptout`` when ``size`` is not given.
DEFAULT_OPTOUT_PAGE_SIZE = 10
#: Largest ``size`` of ``getOptout``.
MAX_OPTOUT_PAGE_SIZE = 1000


def inbound_router(emulator: EmulatorState) -> APIRouter:
    """The replies and opt-out routes, answering from ``emulator``."""
    router = APIRouter(tags=["Cellcast API"])

    @router.get("/api/v1/apiClient/getResponses")
    async def responses(request: Request) -> JSONResponse:
        """Inbound replies, one page of :data:`REPLIES_PAGE_SIZE`: ``?page=N``."""
        page = query_int(request.query_params, "page", 1, 1_000_000)
        config = emulator.config
        zone, time_format, show_id = config.zone(), config.received_at_format, config.reply_message_id == "known"
        found = emulator.replies()
        total_pages = math.ceil(len(found) / REPLIES_PAGE_SIZE) or 1
        on_page = found[(page - 1) * REPLIES_PAGE_SIZE : page * REPLIES_PAGE_SIZE]
        data: dict[str, Any] = {
            "items": [r.item(zone=zone, time_format=time_format, show_message_id=show_id) for r in on_page],
            "totalPages": total_pages,
            "nextPage": page + 1 if page < total_pages else None,
        }
        return JSONResponse(meta_envelope(f"You have {len(found)} response(s)", data))

    @router.get("/api/v1/apiClient/getOptout")
    async def optouts(request: Request) -> JSONResponse:
        """The opt-out list, newest first: ``?page=N&size=M``."""
        params = request.query_params
        page = query_int(params, "page", 1, 1_000_000)
        size = query_int(params, "size", DEFAULT_OPTOUT_PAGE_SIZE, MAX_OPTOUT_PAGE_SIZE)
        data = mongoose_page(emulator.optouts(), page, size, lambda optout: optout.item())
        return JSONResponse(meta_envelope("Opt-out list", data))

    return router

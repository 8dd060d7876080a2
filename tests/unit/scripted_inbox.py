"""A scripted Cellcast for the client's plans: reply pages from a list, answers to sends, recorded requests.

A transport (the client's own seam, :class:`~airflow_provider_cellcast.client.transport.Transport`):
no socket, no emulator. ``getResponses`` pages are cut from :attr:`ScriptedCellcast.replies`
(20 a page) in the order chosen; other requests are answered from :attr:`ScriptedCellcast.answers`
in turn (an exception instance is raised instead, as a driver would).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_cellcast.client import CellcastClient
from airflow_provider_cellcast.client.wire import HttpRequest, HttpResponse
from airflow_provider_cellcast.settings import CellcastSettings

TOKEN = "tok-scripted-inbox-5e1f"
PAGE = 20


def meta(data: Any, message: str = "ok") -> dict[str, Any]:
    return {"meta": {"code": 200, "status": "SUCCESS"}, "message": message, "data": data, "error": {}}


def reply(number: str, body: str, received_at: str, message_id: str = "") -> dict[str, Any]:
    return {"from": number, "body": body, "received_at": received_at, "message_id": message_id}


class ScriptedCellcast:
    """Records every request; serves reply pages from ``replies`` (kept oldest first)."""

    def __init__(self, *, order: str = "newest-first", answers: list[Any] | None = None) -> None:
        self.replies: list[dict[str, Any]] = []
        self.order = order
        self.answers = list(answers or [])
        self.requests: list[HttpRequest] = []
        self.on_request: Callable[[HttpRequest], None] | None = None

    def add(self, number: str, body: str, received_at: str) -> None:
        self.replies.append(reply(number, body, received_at))

    def page_requests(self) -> int:
        return sum("getResponses" in request.url for request in self.requests)

    def send(self, request: HttpRequest, *, deadline: float, what: str, message_id: str | None = None) -> HttpResponse:
        self.requests.append(request)
        if self.on_request is not None:
            self.on_request(request)
        parts = urlsplit(request.url)
        if parts.path.endswith("/getResponses"):
            page = int(parse_qs(parts.query).get("page", ["1"])[0])
            listed = list(reversed(self.replies)) if self.order == "newest-first" else list(self.replies)
            pages = max(1, math.ceil(len(listed) / PAGE))
            data = {
                "items": listed[(page - 1) * PAGE : page * PAGE],
                "totalPages": pages,
                "nextPage": page + 1 if page < pages else None,
            }
            return HttpResponse(200, {"content-type": "application/json"}, json.dumps(meta(data)).encode())
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        status, document = answer
        return HttpResponse(status, {"content-type": "application/json"}, json.dumps(document).encode())

    def close(self) -> None:
        pass


def scripted_client(cellcast: ScriptedCellcast, **settings: Any) -> CellcastClient:
    """A real client (plans, retry policy, envelopes) whose requests ``cellcast`` answers; waits are not slept."""
    options: dict[str, Any] = {"requests_per_second": 0, "backoff_seconds": 0.0, **settings}
    return CellcastClient(
        TOKEN,
        base_url="https://cellcast.invalid",
        settings=CellcastSettings(**options),
        transport=cellcast,
        sleep=lambda seconds: None,
    )

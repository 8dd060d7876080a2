"""Reading Cellcast's answers: the three envelopes, and every way an answer can fail.

Cellcast answers in one of three JSON shapes (see ``cellcast-api.md``):

* the **app envelope** (most endpoints): a boolean ``status`` is the verdict;
* the **meta envelope** (account, replies, opt-outs): ``meta.status == "SUCCESS"`` is the verdict;
* the **error envelope** (4xx and probably 5xx): ``{"code", "message", "stack"}``.

:func:`parse_response` turns a status code and a body into an :class:`Envelope`, or raises the
typed :class:`~airflow_provider_cellcast.exceptions.CellcastError` that fits. It never decides
from the wording of ``message``, which differs between the docs and the live service, and never
puts the ``stack`` field (server internals) into an error text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from airflow_provider_cellcast.exceptions import (
    CellcastAuthenticationError,
    CellcastBadRequestError,
    CellcastInvalidResponseError,
    CellcastRateLimitError,
    CellcastServerError,
    CellcastUnsuccessfulError,
)

log = logging.getLogger(__name__)

_BODY_SAMPLE = 80


@dataclass(frozen=True)
class Envelope:
    """A successful Cellcast answer.

    :ivar kind: ``"app"`` or ``"meta"``.
    :ivar message: Cellcast's ``message`` text (informative only, never a verdict).
    :ivar data: the ``data`` member, ``{}`` when absent.
    """

    kind: Literal["app", "meta"]
    message: str | None
    data: Any


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or ``None``."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def _api_message(document: Any) -> str | None:
    if isinstance(document, Mapping):
        message = document.get("message")
        if isinstance(message, str) and message.strip():
            return message.strip()
    return None


def _describe_body(body: bytes, content_type: str | None, document: Any) -> str:
    if not body.strip():
        return "an empty body"
    if document is not None:
        # JSON may carry server internals (a stack trace): name its shape, never echo it.
        return f"JSON without a message ({type(document).__name__})"
    kind = (content_type or "unknown type").split(";")[0].strip()
    sample = body[:_BODY_SAMPLE].decode("utf-8", "replace").replace("\n", " ").strip()
    more = "..." if len(body) > _BODY_SAMPLE else ""
    return f"a body that is not Cellcast JSON ({kind}: {sample!r}{more})"


def _decode(body: bytes) -> Any:
    """The JSON document in ``body``, or ``None`` when it is empty or not JSON."""
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def parse_response(
    status_code: int,
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    what: str = "the request",
    message_id: str | None = None,
) -> Envelope:
    """Read one Cellcast answer; return the :class:`Envelope` or raise the typed error.

    :param status_code: the HTTP status.
    :param body: the raw body.
    :param headers: the response headers (``Content-Type``, ``Retry-After`` are read).
    :param what: how to name the request in error texts, e.g. ``"cancel of message 67..."``.
    :param message_id: stored on raised errors so that callers can account for every ID.
    """
    headers = headers or {}
    document = _decode(body)
    api_message = _api_message(document)
    said = f": {api_message!r}" if api_message else ""
    common: dict[str, Any] = {"status_code": status_code, "api_message": api_message, "message_id": message_id}
    if isinstance(document, Mapping) and document.get("stack"):
        log.debug("Cellcast stack trace for %s: %s", what, document.get("stack"))

    if status_code in (401, 403):
        raise CellcastAuthenticationError(
            f"Cellcast refused the API token for {what} (HTTP {status_code}{said})", **common
        )
    if status_code == 429:
        raise CellcastRateLimitError(
            f"Cellcast rate limit reached for {what} (HTTP 429{said})",
            retry_after=parse_retry_after(headers.get("Retry-After")),
            **common,
        )
    if status_code >= 500:
        shown = said or f", {_describe_body(body, headers.get('Content-Type'), document)}"
        raise CellcastServerError(
            f"Cellcast had a server error for {what} (HTTP {status_code}{shown})",
            retry_after=parse_retry_after(headers.get("Retry-After")),
            **common,
        )
    if document is None:
        raise CellcastInvalidResponseError(
            f"Cellcast answered {what} with HTTP {status_code} and "
            f"{_describe_body(body, headers.get('Content-Type'), document)}",
            **common,
        )
    if not isinstance(document, Mapping):
        raise CellcastInvalidResponseError(
            f"Cellcast answered {what} with HTTP {status_code} and JSON of an unexpected shape "
            f"(a {type(document).__name__}, not an object)",
            **common,
        )

    verdict = _verdict(document)
    if verdict is None:
        if status_code >= 400:
            raise CellcastBadRequestError(f"Cellcast rejected {what} (HTTP {status_code}{said})", **common)
        raise CellcastInvalidResponseError(
            f"Cellcast answered {what} with HTTP {status_code} and JSON of an unexpected shape "
            f"(keys: {', '.join(sorted(map(str, document))[:8]) or 'none'})",
            **common,
        )
    kind, succeeded = verdict
    if not succeeded:
        raise CellcastUnsuccessfulError(
            f"Cellcast did not carry out {what} (HTTP {status_code}, status false{said})", **common
        )
    if status_code >= 300:
        # A success verdict under an error status is contradictory: trust neither.
        raise CellcastInvalidResponseError(
            f"Cellcast answered {what} with HTTP {status_code} but a success envelope", **common
        )
    data = document.get("data")
    return Envelope(kind=kind, message=api_message, data={} if data is None else data)


def _verdict(document: Mapping[str, Any]) -> tuple[Literal["app", "meta"], bool] | None:
    """``(kind, succeeded)`` for an app or meta envelope; ``None`` for anything else."""
    status = document.get("status")
    if isinstance(status, bool):
        return "app", status
    meta = document.get("meta")
    if isinstance(meta, Mapping):
        code, meta_status = meta.get("code"), meta.get("status")
        if isinstance(meta_status, str) or isinstance(code, int):
            succeeded = (not isinstance(meta_status, str) or meta_status.upper() == "SUCCESS") and (
                not isinstance(code, int) or 200 <= code < 300
            )
            return "meta", succeeded
    return None

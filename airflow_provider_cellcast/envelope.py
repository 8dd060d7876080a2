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
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from airflow_provider_cellcast.exceptions import (
    CellcastAuthenticationError,
    CellcastBadRequestError,
    CellcastInvalidResponseError,
    CellcastRateLimitError,
    CellcastRedirectError,
    CellcastServerError,
    CellcastUnsuccessfulError,
)

log = logging.getLogger(__name__)

_BODY_SAMPLE = 80
#: Deepest nesting a Cellcast answer is read with; its envelopes are four or five levels deep.
MAX_JSON_DEPTH = 32


@dataclass(frozen=True)
class Envelope:
    """A successful Cellcast answer.

    :ivar kind: ``"app"``, ``"meta"`` or ``"data"`` (a bare ``{"data": ...}``).
    :ivar message: Cellcast's ``message`` text (informative only, never a verdict).
    :ivar data: the ``data`` member, ``{}`` when absent.
    """

    kind: Literal["app", "meta", "data"]
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


def _describe_body(body: bytes, content_type: str | None, document: Any, problem: str | None) -> str:
    if not body.strip():
        return "an empty body"
    if problem is not None:
        return f"JSON that is refused ({problem})"
    if document is not None:
        # JSON may carry server internals (a stack trace): name its shape, never echo it.
        return f"JSON without a message ({type(document).__name__})"
    kind = (content_type or "unknown type").split(";")[0].strip()
    sample = body[:_BODY_SAMPLE].decode("utf-8", "replace").replace("\n", " ").strip()
    more = "..." if len(body) > _BODY_SAMPLE else ""
    return f"a body that is not Cellcast JSON ({kind}: {sample!r}{more})"


class _RefusedJson(ValueError):
    """JSON that parses but that no Cellcast answer can be: it is not read as an answer."""


def _pairs_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        keys = [key for key, _ in pairs]
        duplicate = next(key for index, key in enumerate(keys) if key in keys[:index])
        # Two "status" keys could be read as success by one parser and as failure by another.
        raise _RefusedJson(f"duplicate key {duplicate[:40]!r}")
    return document


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _RefusedJson(f"a number out of range ({text[:20]})")
    return value


def _no_constants(name: str) -> Any:
    raise _RefusedJson(f"the non-standard constant {name}")


def _depth_exceeds(document: Any, limit: int) -> bool:
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def decode_json(body: bytes) -> tuple[Any, str | None]:
    """``(document, None)``; ``(None, None)`` when ``body`` is empty or not JSON; ``(None, why)`` when refused.

    Refused: duplicate keys, ``NaN``/``Infinity`` and numbers beyond a float, nesting deeper than
    :data:`MAX_JSON_DEPTH` (which also keeps a hostile answer from exhausting the stack).
    """
    if not body.strip():
        return None, None
    try:
        document = json.loads(
            body,
            object_pairs_hook=_pairs_without_duplicates,
            parse_float=_finite_float,
            parse_constant=_no_constants,
        )
    except _RefusedJson as refused:
        return None, str(refused)
    except RecursionError:
        return None, f"nested deeper than {MAX_JSON_DEPTH} levels"
    except (ValueError, UnicodeDecodeError):
        return None, None
    if _depth_exceeds(document, MAX_JSON_DEPTH):
        return None, f"nested deeper than {MAX_JSON_DEPTH} levels"
    return document, None


def says_not_found(error: CellcastUnsuccessfulError) -> bool:
    """Whether a refusal says the thing asked about does not exist ("message not found").

    The verdict itself is never read from the wording; only which kind of failure a ``status:
    false`` is: the report answers an unknown ID with "message not found", but a malformed one
    with "internal server error" (a CastError), which is not the ID's absence.
    """
    return "not found" in (error.api_message or "").lower()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def parse_response(
    status_code: int,
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    what: str = "the request",
    message_id: str | None = None,
    expect: str = "any",
) -> Envelope:
    """Read one Cellcast answer; return the :class:`Envelope` or raise the typed error.

    :param status_code: the HTTP status.
    :param body: the raw body.
    :param headers: the response headers (``Content-Type``, ``Retry-After``, ``Location`` are read).
    :param what: how to name the request in error texts, e.g. ``"cancel of message 67..."``.
    :param message_id: stored on raised errors so that callers can account for every ID.
    :param expect: the envelope the endpoint documents, ``"app"`` (a boolean ``status``),
        ``"meta"`` or ``"data"`` (a bare ``{"data": ...}``); only that one is read as a success.
        ``"any"`` accepts an app or a meta envelope.
    """
    headers = headers or {}
    document, problem = decode_json(body)
    api_message = _api_message(document)
    said = f": {api_message!r}" if api_message else ""
    common: dict[str, Any] = {"status_code": status_code, "api_message": api_message, "message_id": message_id}
    if isinstance(document, Mapping) and document.get("stack"):
        log.debug("Cellcast stack trace for %s: %s", what, document.get("stack"))
    content_type = _header(headers, "Content-Type")

    if 300 <= status_code < 400:
        location = _header(headers, "Location") or ""
        host = urlsplit(location).hostname or (location[:60] if location else "nowhere")
        raise CellcastRedirectError(
            f"Cellcast answered {what} with a redirect (HTTP {status_code}) to {host}: Cellcast's API does not "
            "redirect, so the request went to something else. Nothing was followed or repeated; check the "
            "connection's API base URL.",
            location_host=host,
            **common,
        )
    if status_code in (401, 403):
        raise CellcastAuthenticationError(
            f"Cellcast refused the API token for {what} (HTTP {status_code}{said})", **common
        )
    if status_code == 429:
        raise CellcastRateLimitError(
            f"Cellcast rate limit reached for {what} (HTTP 429{said})",
            retry_after=parse_retry_after(_header(headers, "Retry-After")),
            **common,
        )
    if status_code >= 500:
        shown = said or f", {_describe_body(body, content_type, document, problem)}"
        raise CellcastServerError(
            f"Cellcast had a server error for {what} (HTTP {status_code}{shown})",
            retry_after=parse_retry_after(_header(headers, "Retry-After")),
            **common,
        )
    if document is None:
        raise CellcastInvalidResponseError(
            f"Cellcast answered {what} with HTTP {status_code} and "
            f"{_describe_body(body, content_type, document, problem)}",
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
        if expect == "data" and "data" in document and 200 <= status_code < 300:
            return Envelope(kind="data", message=api_message, data=document["data"])
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
    if status_code >= 400:
        # HTTP 4xx with "status": true (seen on business errors): the status code is the verdict.
        raise CellcastBadRequestError(
            f"Cellcast rejected {what} (HTTP {status_code} despite status true{said})", **common
        )
    if status_code >= 300 or status_code < 200:
        raise CellcastInvalidResponseError(
            f"Cellcast answered {what} with HTTP {status_code} but a success envelope", **common
        )
    if expect not in ("any", kind):
        raise CellcastInvalidResponseError(
            f"Cellcast answered {what} with a {kind} envelope where its documentation gives the {expect} "
            "envelope: not read as a success",
            **common,
        )
    data = document.get("data")
    return Envelope(kind=kind, message=api_message, data={} if data is None else data)


def _verdict(document: Mapping[str, Any]) -> tuple[Literal["app", "meta"], bool] | None:
    """``(kind, succeeded)`` for an app or meta envelope; ``None`` for anything else.

    The app envelope's verdict is its boolean ``status``; the meta envelope's is ``meta.status``
    ``"SUCCESS"`` with a 2xx ``meta.code`` (when given). A meta object without a status string
    cannot say success.
    """
    status = document.get("status")
    if isinstance(status, bool):
        return "app", status
    meta = document.get("meta")
    if isinstance(meta, Mapping):
        code, meta_status = meta.get("code"), meta.get("status")
        if isinstance(meta_status, str):
            code_ok = not isinstance(code, int) or isinstance(code, bool) or 200 <= code < 300
            return "meta", meta_status.upper() == "SUCCESS" and code_ok
        if isinstance(code, int) and not isinstance(code, bool) and not 200 <= code < 300:
            return "meta", False
    return None

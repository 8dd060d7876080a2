"""Sending MMS: ``POST /api/v1/gatewaymms``, Cellcast's multipart form, with the send safety of SMS.

The form, as Cellcast documents it: ``message``, ``contacts`` (one field holding a JSON array),
``sender``, ``countryCode``, and either ``media`` (a jpg/jpeg/png file of at most 230 KB) or
``gif`` (a URL). The media is checked before any request: its **magic bytes** must be PNG or
JPEG (the file name does not count) and it must fit in 230 KB (235,520 bytes); a local path or
anything with ``open()`` (``pathlib.Path``, Airflow's ``ObjectStoragePath``) is read, at most
one byte past the limit.

A send is not idempotent: failures are judged by :func:`.send.send_failure` exactly as for SMS.
Cellcast documents no ``customString`` for MMS (the emulator ignores it), so there is no
reference to recover by: when the request reached Cellcast and its answer was lost, the error is
``CellcastSendOutcomeUnknownError`` (never retried by Airflow). More than 1,000 contacts are
sent in several requests; a later one failing raises ``CellcastPartialSendError``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from airflow_provider_cellcast.client.plan import CallContext, Plan, call
from airflow_provider_cellcast.client.results import SendResult, empty_send_result
from airflow_provider_cellcast.client.send import merge_send_answer, send_failure
from airflow_provider_cellcast.client.wire import ApiRequest
from airflow_provider_cellcast.contacts import describe, normalise_contacts
from airflow_provider_cellcast.exceptions import CellcastError, CellcastInputError
from airflow_provider_cellcast.texts import first_and_more
from airflow_provider_cellcast.validation import (
    MAX_CONTACTS_PER_REQUEST,
    validate_contacts,
    validate_country_code,
    validate_message_text,
)

SEND_MMS_ENDPOINT = "/api/v1/gatewaymms"
#: Cellcast's limit for ``media``: 230 KB.
MAX_MEDIA_BYTES = 230 * 1024
_KINDS = {"png": ("image/png", "png"), "jpeg": ("image/jpeg", "jpg")}


def media_kind(content: bytes) -> str | None:
    """``"png"`` or ``"jpeg"`` from the file's first bytes, else ``None``."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


def read_media(media: Any) -> tuple[bytes, str | None]:
    """The bytes of ``media`` (at most one past the limit) and its file name, if it has one.

    ``media``: ``bytes``; a local path (``str`` or ``os.PathLike``); or an object with ``open()``
    such as ``pathlib.Path`` or ``ObjectStoragePath``.
    """
    if isinstance(media, bytes | bytearray | memoryview):
        return bytes(media), None
    try:
        if isinstance(media, str) or (isinstance(media, os.PathLike) and not hasattr(media, "open")):
            path = os.fspath(media)
            with open(path, "rb") as handle:
                return handle.read(MAX_MEDIA_BYTES + 1), os.path.basename(path) or None
        if hasattr(media, "open"):
            with media.open("rb") as handle:
                return handle.read(MAX_MEDIA_BYTES + 1), getattr(media, "name", None) or None
    except OSError as error:
        raise CellcastInputError(
            "media", "<file>", f"media could not be read: {type(error).__name__}: {error}"
        ) from None
    raise CellcastInputError(
        "media", "<file>", f"media must be bytes, a local path or an ObjectStoragePath, not {type(media).__name__}"
    )


def check_media(media: Any) -> tuple[str, bytes, str]:
    """``(file name, bytes, content type)`` of a valid MMS image; ``CellcastInputError`` naming ``media`` otherwise."""
    content, name = read_media(media)
    if len(content) > MAX_MEDIA_BYTES:
        raise CellcastInputError(
            "media", "<file>", f"media is larger than Cellcast's limit of 230 KB ({MAX_MEDIA_BYTES} bytes)"
        )
    kind = media_kind(content)
    if kind is None:
        raise CellcastInputError(
            "media", "<file>", "media must be a PNG or JPEG image (checked by its first bytes, not its name)"
        )
    content_type, extension = _KINDS[kind]
    return name or f"media.{extension}", content, content_type


def check_gif(gif: Any) -> str:
    """A ``gif`` URL (``http(s)://`` with a host)."""
    from urllib.parse import urlsplit

    text = gif.strip() if isinstance(gif, str) else ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(ch.isspace() for ch in text):
        raise CellcastInputError("gif", gif, "gif must be an http(s) URL of the animation")
    return text


def send_mms(
    ctx: CallContext,
    message: str,
    contacts: Sequence[str] | str,
    *,
    media: Any = None,
    gif: str | None = None,
    sender: str | None = None,
    country_code: int | str | None = None,
) -> Plan[SendResult]:
    """Send an MMS now to ``contacts``; the rules are on :meth:`.clients.CellcastClient.send_mms`."""
    message = validate_message_text(message)
    if (media is None) == (gif in (None, "")):
        raise CellcastInputError("media", "<hidden>", "give media (a PNG/JPEG file) or gif (a URL), exactly one")
    form: dict[str, Any] = {"message": message}
    if sender:
        form["sender"] = sender
    country = validate_country_code(country_code)
    if country is not None:
        form["countryCode"] = str(country)
    numbers, refused = normalise_contacts(validate_contacts(contacts), country)
    if media is not None:
        form["media"] = check_media(media)
    else:
        form["gif"] = check_gif(gif)
    total = empty_send_result(None, sent_on=datetime.now(timezone.utc).date().isoformat())
    total["invalid_contacts"].extend(refused)
    if refused:
        ctx.log.warning(
            "%d contact(s) cannot be sent and are left out: %s",
            len(refused),
            first_and_more([describe(item) for item in refused], 10, separator="; "),
        )
    if not numbers:
        ctx.log.warning("No contact of the %d given can receive an MMS: nothing sent", len(refused))
        return total
    ctx.log.info("Sending an MMS to %d contact(s) through %s", len(numbers), ctx.name)
    for start in range(0, len(numbers), MAX_CONTACTS_PER_REQUEST):
        chunk = numbers[start : start + MAX_CONTACTS_PER_REQUEST]
        what = f"MMS send to {len(chunk)} contact(s)"
        fields = {**form, "contacts": json.dumps(chunk)}
        request = ApiRequest("POST", SEND_MMS_ENDPOINT, form=fields, idempotent=False, what=what)
        try:
            envelope = yield from call(ctx, request)
            merge_send_answer(total, envelope.data, what)
        except CellcastError as error:
            # No reference for MMS (Cellcast documents no customString): a lost answer is never recoverable.
            failure = send_failure(ctx, error, total, None)
            if failure is error:
                raise
            raise failure from error
    ctx.log.info(
        "Cellcast queued %d MMS message(s); %d invalid and %d unsubscribed contact(s) skipped",
        len(total["message_ids"]),
        len(total["invalid_contacts"]),
        len(total["unsubscribed_contacts"]),
    )
    return total

"""MMS: the media checked before any request, Cellcast's multipart form, and the send safety of SMS.

The plans run through a real ``CellcastClient`` whose transport is scripted (``unit.scripted_inbox``):
what it records is exactly what a driver would have sent.
"""

from __future__ import annotations

import json
import struct
import zlib
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_cellcast.client.mms import MAX_MEDIA_BYTES, check_media
from airflow_provider_cellcast.exceptions import (
    CellcastBadRequestError,
    CellcastConnectionError,
    CellcastInputError,
    CellcastSendConnectionLostError,
    CellcastSendOutcomeUnknownError,
)
from airflow_provider_cellcast.operators.send_mms import CellcastSendMmsOperator
from unit.scripted_inbox import ScriptedCellcast, scripted_client


def png(width: int = 2, height: int = 2) -> bytes:
    """A real (tiny, grey) PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def queued(*numbers: str) -> dict[str, Any]:
    queue = [
        {"Contact": n[2:], "MessageId": f"{i + 1:024x}", "Result": "ok", "Number": n} for i, n in enumerate(numbers)
    ]
    data = {"queueResponse": queue, "invalidContacts": [], "unsubscribeContacts": []}
    return {"status": True, "message": "ok", "data": data}


def form_of(request: Any) -> dict[str, Any]:
    """The multipart body as ``{name: text or (filename, bytes, content type)}``."""
    raw = b"Content-Type: " + request.headers["Content-Type"].encode() + b"\r\n\r\n" + request.body
    fields: dict[str, Any] = {}
    for part in BytesParser(policy=HTTP).parsebytes(raw).iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        fields[name] = (filename, payload, part.get_content_type()) if filename else payload.decode()
    return fields


def test_a_png_goes_as_one_multipart_request_with_contacts_as_a_json_array(tmp_path: Path) -> None:
    picture = tmp_path / "flyer.png"
    picture.write_bytes(png())
    cellcast = ScriptedCellcast(answers=[(200, queued("61400000001", "61400000002"))])
    result = scripted_client(cellcast).send_mms(
        "Specials", ["0400 000 001", "+61400000002", "12"], media=str(picture), sender="ACME", country_code=61
    )
    assert result["message_ids"] == [f"{1:024x}", f"{2:024x}"]
    assert [entry["contact"] for entry in result["queued"]] == ["******001", "******002"]
    assert [item["error_type"] for item in result["invalid_contacts"]] == ["less_nine_digit"]
    [request] = cellcast.requests
    assert request.method == "POST" and request.url.endswith("/api/v1/gatewaymms")
    fields = form_of(request)
    assert fields["message"] == "Specials" and fields["sender"] == "ACME" and fields["countryCode"] == "61"
    assert json.loads(fields["contacts"]) == ["61400000001", "61400000002"]
    assert fields["media"] == ("flyer.png", png(), "image/png")
    assert "gif" not in fields


def test_media_from_bytes_a_path_object_or_object_storage(tmp_path: Path) -> None:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 100
    (tmp_path / "photo.jpg").write_bytes(jpeg)
    assert check_media(jpeg) == ("media.jpg", jpeg, "image/jpeg")
    assert check_media(tmp_path / "photo.jpg") == ("photo.jpg", jpeg, "image/jpeg")
    stored = ObjectStoragePath(f"file://{tmp_path / 'photo.jpg'}")
    assert check_media(stored) == ("photo.jpg", jpeg, "image/jpeg")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (png() + b"\x00" * (MAX_MEDIA_BYTES - len(png()) + 1), "larger than Cellcast's limit of 230 KB"),
        (b"GIF89a" + b"\x00" * 64, "must be a PNG or JPEG image"),
        (b"%PDF-1.4", "must be a PNG or JPEG image"),
    ],
    ids=["too-large", "gif-bytes", "pdf"],
)
def test_bad_media_is_refused_before_any_request(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "looks.png"  # named like a PNG: only the bytes count
    path.write_bytes(content)
    cellcast = ScriptedCellcast()
    with pytest.raises(CellcastInputError, match=reason) as raised:
        scripted_client(cellcast).send_mms("Hi", ["61400000001"], media=path)
    assert raised.value.field == "media"
    assert cellcast.requests == []


def test_exactly_230_kb_is_accepted_and_a_missing_file_is_named() -> None:
    assert len(check_media(png() + b"\x00" * (MAX_MEDIA_BYTES - len(png())))[1]) == MAX_MEDIA_BYTES
    with pytest.raises(CellcastInputError, match="media could not be read: FileNotFoundError"):
        check_media("/no/such/file.png")


def test_media_or_gif_exactly_one_and_gif_is_a_url() -> None:
    client = scripted_client(ScriptedCellcast())
    for kwargs in ({}, {"media": png(), "gif": "https://example.com/a.gif"}):
        with pytest.raises(CellcastInputError, match="exactly one"):
            client.send_mms("Hi", ["61400000001"], **kwargs)
    with pytest.raises(CellcastInputError, match="gif must be an http"):
        client.send_mms("Hi", ["61400000001"], gif="ftp://example.com/a.gif")
    cellcast = ScriptedCellcast(answers=[(200, queued("61400000001"))])
    scripted_client(cellcast).send_mms("Hi", ["61400000001"], gif="https://example.com/a.gif")
    assert form_of(cellcast.requests[0])["gif"] == "https://example.com/a.gif"


def test_a_lost_answer_is_never_resent() -> None:
    cellcast = ScriptedCellcast(answers=[CellcastConnectionError("dropped", request_sent=True)])
    with pytest.raises(CellcastSendConnectionLostError, match="may have been queued"):
        scripted_client(cellcast).send_mms("Hi", ["61400000001"], media=png())
    assert len(cellcast.requests) == 1

    cellcast = ScriptedCellcast(answers=[(502, {"code": 502, "message": "Bad gateway"})])
    with pytest.raises(CellcastSendOutcomeUnknownError) as raised:
        scripted_client(cellcast).send_mms("Hi", ["61400000001"], media=png())
    assert len(cellcast.requests) == 1
    assert not hasattr(raised.value, "reference")  # no customString for MMS: nothing to look up


def test_a_refusal_cellcast_stated_is_raised_as_it_is_and_a_429_is_retried() -> None:
    cellcast = ScriptedCellcast(answers=[(400, {"code": 400, "message": "Your sender id is not registered."})])
    with pytest.raises(CellcastBadRequestError, match="sender id"):
        scripted_client(cellcast).send_mms("Hi", ["61400000001"], media=png(), sender="NOPE")
    cellcast = ScriptedCellcast(answers=[(429, {"code": 429, "message": "slow down"}), (200, queued("61400000001"))])
    assert scripted_client(cellcast).send_mms("Hi", ["61400000001"], media=png())["message_ids"] == [f"{1:024x}"]
    assert len(cellcast.requests) == 2


def test_the_operator_wants_media_or_gif_at_parse_time_and_keeps_retries_at_zero() -> None:
    with pytest.raises(CellcastInputError, match="send: give media"):
        CellcastSendMmsOperator(task_id="send", message="Hi", contacts=["61400000001"])
    operator = CellcastSendMmsOperator(
        task_id="send", message="Hi", contacts=["61400000001"], media="{{ params.media }}", cellcast_conn_id="{{ x }}"
    )
    assert operator.retries == 0
    assert {"message", "contacts", "media", "gif", "sender", "cellcast_conn_id"} <= set(operator.template_fields)

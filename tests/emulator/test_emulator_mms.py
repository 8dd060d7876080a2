"""MMS (``POST /api/v1/gatewaymms``): the multipart form, media checks by magic bytes, the same
contact, sender and opt-out rules as SMS, and undocumented fields ignored by default."""

from __future__ import annotations

import json
from typing import Any

import pytest
from emulator_helpers import JPEG, PNG, SEND_MMS, Api, assert_app, assert_error

from airflow_provider_cellcast.emulator.contacts import CONTACTS_RULE
from airflow_provider_cellcast.emulator.rules import MAX_MEDIA_BYTES
from airflow_provider_cellcast.emulator.server import CellcastEmulator

ONE = json.dumps(["61400000001"])


def _form(**fields: str) -> dict[str, str]:
    return {"message": "Picture", "contacts": ONE, **fields}


def test_png_media_is_accepted_and_answered_as_for_sms(api: Api, emulator: CellcastEmulator) -> None:
    response = api.send_mms(
        {"message": "Picture", "contacts": json.dumps(["61400000001", "+61400000002"])},
        {"media": ("promo.png", PNG, "image/png")},
    )
    data = assert_app(response, True)["data"]
    assert [(item["Contact"], item["Number"]) for item in data["queueResponse"]] == [
        ("400000001", "61400000001"),
        ("400000002", "+61400000002"),
    ]
    assert (data["totalValidContact"], data["invalidContacts"], data["unsubscribeContacts"]) == (2, [], [])
    stored = emulator.message(data["queueResponse"][0]["MessageId"])
    assert (stored["type"], stored["status"], stored["media"]) == ("mms", "sent", "promo.png")
    assert emulator.state.account.mms_balance == emulator.state.config.mms_balance - 2


def test_jpeg_media_of_exactly_230_kb_is_accepted(api: Api) -> None:
    content = JPEG + b"\x00" * (MAX_MEDIA_BYTES - len(JPEG))
    assert len(content) == 230 * 1024
    assert_app(api.send_mms(_form(), {"media": ("photo.jpeg", content, "image/jpeg")}), True)


def test_oversize_media_is_refused(api: Api, emulator: CellcastEmulator) -> None:
    content = PNG + b"\x00" * (MAX_MEDIA_BYTES - len(PNG) + 1)
    assert_error(
        api.send_mms(_form(), {"media": ("big.png", content, "image/png")}), 400, "media must be at most 230 KB"
    )
    assert emulator.messages() == []


@pytest.mark.parametrize(
    "content",
    [b"GIF89a" + b"\x00" * 64, b"plain text", b"", b"\x89PNX\r\n\x1a\n" + b"\x00" * 8, b"%PDF-1.4"],
    ids=["gif", "text", "empty", "almost-png", "pdf"],
)
def test_media_with_the_wrong_magic_bytes_is_refused_whatever_its_name(api: Api, content: bytes) -> None:
    # Named and typed as a PNG: only the bytes count.
    response = api.send_mms(_form(), {"media": ("looks.png", content, "image/png")})
    assert_error(response, 400, "media must be a jpg or png image")


def test_gif_url(api: Api) -> None:
    [item] = assert_app(api.send_mms(_form(gif="https://example.com/a.gif")), True)["data"]["queueResponse"]
    assert api.report(item["MessageId"]).json()["data"]["media"] == "https://example.com/a.gif"
    assert_error(api.send_mms(_form(gif="ftp://example.com/a.gif")), 400, "gif must be an http(s) URL")
    both = api.send_mms(_form(gif="https://example.com/a.gif"), {"media": ("a.png", PNG, "image/png")})
    assert_error(both, 400, "give either media or gif, not both")


NOT_AN_ARRAY = "contacts must be one form field holding a JSON array of numbers"
A_PNG = {"media": ("a.png", PNG, "image/png")}


@pytest.mark.parametrize(
    ("data", "files", "message"),
    [
        ({"message": "x", "contacts": ONE}, None, "media or gif is required"),
        ({"message": "x", "contacts": "61400000001,"}, None, NOT_AN_ARRAY),
        ({"message": "x", "contacts": '"61400000001"'}, None, NOT_AN_ARRAY),
        ({"message": "x", "contacts": ONE, "media": "not-a-file"}, None, "media must be a jpg or png file"),
        ({"contacts": ONE}, A_PNG, "message is required"),
        ({"message": "x"}, A_PNG, "contacts is required"),
        ({"message": "x", "contacts": json.dumps(["0400000001"])}, A_PNG, CONTACTS_RULE),
        ({"message": "x", "contacts": ONE, "sender": "ACME"}, A_PNG, "Your sender id is not registered."),
    ],
)
def test_mms_refuses_bad_forms(api: Api, data: dict[str, str], files: Any, message: str) -> None:
    assert_error(api.send_mms(data, files), 400, message)
    assert api.emulator.messages() == []


def test_contacts_given_as_repeated_fields_are_refused(api: Api) -> None:
    response = api.session.post(
        api.url(SEND_MMS),
        data=[("message", "x"), ("contacts", "61400000001"), ("contacts", "61400000002"), ("gif", "https://e.x/a.gif")],
        timeout=5,
    )
    assert_error(response, 400, NOT_AN_ARRAY)


def test_mms_requires_a_form(api: Api) -> None:
    assert_error(api.post(SEND_MMS, {"message": "x"}), 400, "Request must be multipart/form-data")


def test_schedule_fields_are_ignored_on_mms_by_default(api: Api, emulator: CellcastEmulator) -> None:
    # Not documented for MMS: a client relying on them sees its MMS go out at once, unreferenced.
    fields = _form(delay="60000", customString="promo-1", scheduleAt="2031-01-15 09:00:00")
    [item] = assert_app(api.send_mms(fields, {"media": ("a.png", PNG, "image/png")}), True)["data"]["queueResponse"]
    stored = emulator.message(item["MessageId"])
    assert (stored["status"], stored["scheduleAt"], stored["customString"]) == ("sent", None, None)
    assert api.cancel(item["MessageId"], "mms").json()["status"] is False
    # Even values SMS would refuse pass unread.
    assert_app(api.send_mms(_form(delay="soon", customString="a/b"), {"media": ("a.png", PNG, "image/png")}), True)


def test_schedule_fields_can_be_honoured_on_mms(api: Api, emulator: CellcastEmulator) -> None:
    emulator.configure(mms_schedule_fields="honour")
    fields = _form(delay="60000", customString="promo-1")
    [item] = assert_app(api.send_mms(fields, {"media": ("a.png", PNG, "image/png")}), True)["data"]["queueResponse"]
    stored = emulator.message(item["MessageId"])
    assert (stored["type"], stored["status"], stored["customString"]) == ("mms", "scheduled", "promo-1")
    # The ID is an MMS: cancelling it as an SMS does not find it.
    assert assert_app(api.cancel(item["MessageId"], "sms"), False)["message"] == "message not found"
    assert assert_app(api.cancel(item["MessageId"], "mms"), True)["message"] == "Job removed successfully"
    assert_error(api.send_mms(_form(customString="a/b"), {"media": ("a.png", PNG, "image/png")}), 400)


def test_mms_opt_out_and_sender_rules_are_those_of_sms(api: Api, emulator: CellcastEmulator) -> None:
    emulator.add_optouts(["61400000009"])
    media = {"media": ("a.png", PNG, "image/png")}
    alone = assert_app(api.send_mms(_form(contacts=json.dumps(["61400000009"])), media), False)
    assert alone["message"].startswith("Contact is Unsubscribed and can not receive ")
    data = assert_app(api.send_mms(_form(contacts=json.dumps(["61400000009", "+6140000", "61400000001"])), media), True)
    assert data["data"]["unsubscribeContacts"] == ["400000009"]
    assert data["data"]["invalidContacts"][0]["ErrorType"] == "less_nine_digit"
    emulator.register_sender("ACME")
    [item] = assert_app(api.send_mms(_form(sender="ACME"), media), True)["data"]["queueResponse"]
    assert api.report(item["MessageId"]).json()["data"]["sender"] == "ACME"


def test_the_journal_records_the_media_size_and_type_never_its_content(api: Api, emulator: CellcastEmulator) -> None:
    marker = b"SECRET-PIXELS-0411222333"
    content = PNG + marker
    api.send_mms(
        {"message": "Call 0411 222 333", "contacts": json.dumps(["61412345678"])},
        {"media": ("holiday-0411222333.png", content, "image/png")},
    )
    api.send_mms(_form(), {"media": ("bad.png", b"GIF89a", "image/png")})
    first, second = emulator.requests_log()
    assert first["status"] == 200 and second["status"] == 400
    assert first["body"]["media"] == {
        "filename": "holiday-*******333.png",
        "content_type": "image/png",
        "size": len(content),
        "detected_type": "png",
    }
    assert first["body"]["contacts"] == ["********678"]
    assert second["body"]["media"]["detected_type"] is None
    dumped = json.dumps([first, second])
    for secret in ("SECRET-PIXELS", "412345678", "0411 222 333", "0411222333"):
        assert secret not in dumped

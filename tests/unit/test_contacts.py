"""Phone numbers (contacts.py): normalised before a send, reported when impossible, always masked.

Cellcast's HTTP 400 accepts only ``61``/``+61`` with 11 digits (or 9 digits without the area
code): every Australian mobile, in any form people write it, is sent as ``61XXXXXXXXX``; a
number that cannot be one is reported (masked, with its reason) and never sent.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_cellcast.contacts import (
    AUSTRALIA,
    describe,
    invalid_contact_from_answer,
    mask_phone,
    normalise_contact,
    normalise_contacts,
)

MOBILE = "61412345678"


@pytest.mark.parametrize(
    "written",
    [
        "0412 345 678",
        "412345678",
        "+61 412 345 678",
        "61-412-345-678",
        "(04) 1234 5678",
        "+61 (0)412 345 678",
        "0011 61 412 345 678",  # Australia's international prefix, as dialled
        "+61412345678",
        "61412345678",
        "0412345678",
        "0412.345.678",
        "0412/345/678",
        "  0412 345 678\t",
        "610412345678",  # 61 with the trunk 0 kept
        "+61-4-1234-5678",
    ],
)
@pytest.mark.parametrize("country_code", [None, AUSTRALIA])
def test_every_common_form_of_an_australian_mobile_is_sent_as_61(written: str, country_code: int | None) -> None:
    assert normalise_contact(written, country_code) == MOBILE


def test_a_number_given_as_a_json_number_is_read_as_digits() -> None:
    assert normalise_contact(412345678) == MOBILE and normalise_contact(61412345678) == MOBILE


def test_two_forms_of_one_number_are_sent_once_in_order() -> None:
    numbers, refused = normalise_contacts(
        ["0400 000 002", "0412 345 678", "+61412345678", "61412345678", "+61 400 000 002", "0400000001"]
    )
    assert numbers == ["61400000002", MOBILE, "61400000001"]
    assert refused == []


def refusal(contact: str, error: str, error_type: str) -> dict[str, Any]:
    return {"contact": contact, "error": error, "error_type": error_type, "rejected_by": "provider"}


SHORT = ("Number is less than 9 digit", "less_nine_digit")
LONG = ("Number is more than 9 digit", "more_nine_digit")
NOT_MOBILE = ("Not an Australian mobile number (04...): SMS cannot reach it", "not_mobile")
NOT_AUSTRALIAN = ("Not an Australian number (+61): give country_code for others", "not_australian")
CHARACTERS = ("Number contains characters other than digits", "invalid_character")


@pytest.mark.parametrize(
    ("written", "masked", "reason"),
    [
        ("12345", "**345", SHORT),
        ("61412", "**412", SHORT),  # 61 and too few digits: not a full number
        ("0312 345 678", "**** *** 678", NOT_MOBILE),  # a Melbourne landline
        ("0412 345 6789", "**** *** *789", LONG),
        ("+61 4123 456 789", "+** **** *** 789", LONG),
        ("(02) 9999 8888", "(**) **** *888", NOT_MOBILE),
        ("+61 3 1234 5678", "+** * **** *678", NOT_MOBILE),
        ("+1 415 555 0100", "+* *** *** *100", NOT_AUSTRALIAN),
        ("0011 44 20 7946 0958", "**** ** ** **** *958", NOT_AUSTRALIAN),
        ("0412-ABC-678", "****-ABC-678", CHARACTERS),
        ("", "", CHARACTERS),
        ("+", "+", CHARACTERS),
        ("04 12 34 56 78 ext 9", "** ** ** ** 78 ext 9", CHARACTERS),
        ("\u0660\u0664\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668", None, CHARACTERS),  # Arabic-Indic
    ],
)
def test_impossible_numbers_are_reported_masked_with_their_reason(
    written: str, masked: str | None, reason: tuple[str, str]
) -> None:
    result = normalise_contact(written)
    assert result == refusal(mask_phone(written) if masked is None else masked, *reason)
    assert isinstance(result, dict) and sum(char.isdigit() for char in result["contact"]) <= 3


def test_impossible_numbers_are_left_out_without_failing_the_others() -> None:
    numbers, refused = normalise_contacts(["12345", "0412 345 678", "(02) 9999 8888", "12345"])
    assert numbers == [MOBILE]
    # Every refusal is reported, repeated ones too: each was a contact someone gave.
    assert [item["error_type"] for item in refused] == ["less_nine_digit", "not_mobile", "less_nine_digit"]
    assert all(item["rejected_by"] == "provider" for item in refused)


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("+64 21 123 4567", "+64211234567"),
        ("021-123-4567", "0211234567"),
        ("(021) 123.4567", "0211234567"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("0412 345 678", "0412345678"),  # an Australian form too: another country's rules are Cellcast's
    ],
)
def test_another_country_code_leaves_numbers_as_written_without_punctuation(written: str, sent: str) -> None:
    assert normalise_contact(written, 64) == sent


def test_another_country_code_still_refuses_characters_other_than_digits() -> None:
    assert normalise_contact("021 ABC", 64) == refusal("021 ABC", *CHARACTERS)  # 3 digits: nothing to hide
    numbers, refused = normalise_contacts(["+64 21 123 4567", "+64211234567"], 64)
    assert numbers == ["+64211234567"] and refused == []  # one number: sent once


def test_cellcasts_invalid_contact_objects_are_read() -> None:
    assert invalid_contact_from_answer(
        {"Contact": "61412345678", "Error": "Number is blacklisted", "ErrorType": "blacklisted"}
    ) == {
        "contact": "********678", "error": "Number is blacklisted", "error_type": "blacklisted",
        "rejected_by": "cellcast",
    }  # fmt: skip
    assert invalid_contact_from_answer({"Contact": 61412345678, "Error": 5, "ErrorType": None}) == {
        "contact": "********678", "error": None, "error_type": None, "rejected_by": "cellcast",
    }  # fmt: skip
    assert invalid_contact_from_answer({}) == {
        "contact": "", "error": None, "error_type": None, "rejected_by": "cellcast",
    }  # fmt: skip


def test_cellcasts_invalid_contact_strings_are_read() -> None:
    assert invalid_contact_from_answer("0412345678") == {
        "contact": "*******678", "error": None, "error_type": None, "rejected_by": "cellcast",
    }  # fmt: skip


def test_describe_names_the_reason_for_a_log_line() -> None:
    assert describe(refusal("**345", *SHORT)) == "**345 (Number is less than 9 digit)"
    assert describe(invalid_contact_from_answer({"Contact": "61412345678", "ErrorType": "blacklisted"})) == (
        "********678 (blacklisted)"
    )
    assert describe(invalid_contact_from_answer("61412345678")) == "********678 (no reason given)"


@pytest.mark.parametrize(
    ("number", "masked"),
    [("+61412345678", "+********678"), ("0412 345 678", "**** *** 678"), ("678", "678"), ("", "")],
)
def test_mask_phone_hides_every_digit_but_the_last_three(number: str, masked: str) -> None:
    assert mask_phone(number) == masked

"""Input rules: every bad value gives a CellcastInputError naming the field and what is accepted."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from airflow.sdk.exceptions import AirflowFailException
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_cellcast import contacts, validation
from airflow_provider_cellcast.exceptions import CellcastInputError
from airflow_provider_cellcast.validation import (
    MAX_DELAY_MS,
    MAX_REFERENCE_LENGTH,
    PAST_SCHEDULE_GRACE,
    REFERENCE_PATTERN,
    format_schedule_at,
    mask_phone,
    refuse_schedule_and_delay,
    validate_contacts,
    validate_country_code,
    validate_delay_ms,
    validate_message_id,
    validate_message_ids,
    validate_message_text,
    validate_message_type,
    validate_reference,
    validate_send_timing,
)

GOOD_ID = "675161d8a000000000000000"


def test_message_id_is_stripped_and_lowercased():
    assert validate_message_id(f"  {GOOD_ID.upper()}\n") == GOOD_ID


@pytest.mark.parametrize(
    "bad",
    [
        "675161d8a0000000000000000",  # 25 characters: the docs' typo
        "675161d8a00000000000000",
        "675161d8a00000000000000g",
        "",
        "   ",
        "675161d8 a000000000000000",
    ],
)
def test_bad_message_id_names_field_value_and_rule(bad):
    with pytest.raises(CellcastInputError) as caught:
        validate_message_id(bad)
    text = str(caught.value)
    assert "message_id" in text and repr(bad) in text and "24 hexadecimal" in text
    assert caught.value.field == "message_id"
    assert isinstance(caught.value, AirflowFailException), "bad input must not use Airflow's retries"


@pytest.mark.parametrize("bad", [None, 12, ["x"], {"id": GOOD_ID}])
def test_non_string_message_id(bad):
    with pytest.raises(CellcastInputError, match="message_id must be a string"):
        validate_message_id(bad)


@pytest.mark.parametrize("value,expected", [("sms", "sms"), ("MMS", "mms"), (" Sms ", "sms")])
def test_message_type_any_case(value, expected):
    assert validate_message_type(value) == expected


@pytest.mark.parametrize("bad", ["fax", "", None, 1, "sms,mms"])
def test_bad_message_type_lists_accepted_values(bad):
    with pytest.raises(CellcastInputError) as caught:
        validate_message_type(bad)
    assert "message_type" in str(caught.value) and "sms, mms" in str(caught.value)


def test_ids_deduplicated_in_input_order():
    other = "675161d8a000000000000001"
    assert validate_message_ids([other, GOOD_ID, other.upper()]) == [other, GOOD_ID]


def test_rendered_list_string_is_read_as_list():
    other = "675161d8a000000000000001"
    assert validate_message_ids(f"['{GOOD_ID}', '{other}']") == [GOOD_ID, other]
    assert validate_message_ids(f'["{GOOD_ID}"]') == [GOOD_ID]


def test_every_bad_entry_is_named_at_once():
    with pytest.raises(CellcastInputError) as caught:
        validate_message_ids([GOOD_ID, "nope", 7])
    text = str(caught.value)
    assert "2 invalid entries" in text and "message_id[1]" in text and "message_id[2]" in text


@pytest.mark.parametrize("bad", [[], {}, 5, None])
def test_empty_or_wrong_container(bad):
    with pytest.raises(CellcastInputError, match="message_id"):
        validate_message_ids(bad)


@settings(max_examples=500)
@given(st.one_of(st.text(), st.binary(), st.integers(), st.none(), st.lists(st.text(max_size=30), max_size=5)))
def test_any_input_gives_ids_or_input_error(value):
    try:
        ids = validate_message_ids(value)
    except CellcastInputError as error:
        assert "message_id" in str(error)
    else:
        assert ids and all(len(item) == 24 and item == item.lower() for item in ids)


@given(st.text(alphabet="0123456789abcdefABCDEF", min_size=24, max_size=24))
def test_every_hex_id_is_accepted(value):
    assert validate_message_id(value) == value.lower()


def test_schedule_at_is_utc_iso_with_milliseconds():
    when = datetime(2026, 12, 1, 20, 30, 15, 981000, tzinfo=timezone(timedelta(hours=11)))
    assert format_schedule_at(when) == "2026-12-01T09:30:15.981Z"
    assert format_schedule_at("2026-12-01T09:30:00Z") == "2026-12-01T09:30:00.000Z"


def test_naive_schedule_at_refused():
    with pytest.raises(CellcastInputError, match="no time zone"):
        format_schedule_at(datetime(2026, 12, 1, 9, 30))
    with pytest.raises(CellcastInputError, match="ISO 8601"):
        format_schedule_at("tomorrow")


def test_delay_bounds():
    assert validate_delay_ms("1000") == 1000
    with pytest.raises(CellcastInputError, match="24 hours"):
        validate_delay_ms(86_400_001)
    with pytest.raises(CellcastInputError):
        validate_delay_ms(True)


@pytest.mark.parametrize("number", ["+61400123456", "0400123456", "61400123456", "400123456"])
def test_mask_phone_keeps_only_last_three_digits(number):
    masked = mask_phone(number)
    assert masked.endswith("456") and len(masked) == len(number)
    assert sum(char.isdigit() for char in masked) == 3


# -- send inputs: each rule stated once, used by the hook ---------------------------------------------

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def test_send_timing_forms():
    assert validate_send_timing(None, None, now=NOW) == (None, None)
    assert validate_send_timing(None, "1000", now=NOW) == (None, 1000)
    assert validate_send_timing(timedelta(hours=1), None, now=NOW) == ("2026-11-27T13:00:00.000Z", None)
    later = datetime(2026, 11, 28, 9, 30, tzinfo=timezone(timedelta(hours=10)))
    assert validate_send_timing(later, None, now=NOW) == ("2026-11-27T23:30:00.000Z", None)
    assert validate_send_timing("2026-11-27T23:30:00+10:00", None, now=NOW) == ("2026-11-27T13:30:00.000Z", None)


def test_send_timing_accepts_up_to_a_minute_in_the_past_only():
    assert validate_send_timing(NOW - PAST_SCHEDULE_GRACE, None, now=NOW)[0] == "2026-11-27T11:59:00.000Z"
    with pytest.raises(CellcastInputError, match="in the past") as caught:
        validate_send_timing(NOW - PAST_SCHEDULE_GRACE - timedelta(seconds=1), None, now=NOW)
    assert caught.value.field == "schedule_at" and "now 2026-11-27T12:00:00.000Z" in str(caught.value)
    with pytest.raises(CellcastInputError, match="in the past"):
        validate_send_timing(timedelta(minutes=-2), None, now=NOW)


@pytest.mark.parametrize(
    ("schedule_at", "delay_ms", "field"),
    [
        (timedelta(hours=1), 1000, "schedule_at"),
        ("None", None, "schedule_at"),
        (12345, None, "schedule_at"),
        (None, MAX_DELAY_MS + 1, "delay_ms"),
        (None, -1, "delay_ms"),
        (None, "soon", "delay_ms"),
        (None, [1], "delay_ms"),
    ],
)
def test_send_timing_errors_name_the_field(schedule_at, delay_ms, field):
    with pytest.raises(CellcastInputError) as caught:
        validate_send_timing(schedule_at, delay_ms, now=NOW)
    assert caught.value.field == field and isinstance(caught.value, AirflowFailException)


def test_schedule_and_delay_refused_together():
    refuse_schedule_and_delay(None, 5)
    refuse_schedule_and_delay("2026-12-01T00:00:00Z", None)
    with pytest.raises(CellcastInputError, match="not both"):
        refuse_schedule_and_delay(timedelta(0), 0)


@pytest.mark.parametrize(("value", "expected"), [(None, None), (61, 61), ("61", 61), (" 64 ", 64)])
def test_country_code(value, expected):
    assert validate_country_code(value) == expected


@pytest.mark.parametrize("bad", ["+61", "au", True, -61, 6.1, ""])
def test_bad_country_code(bad):
    with pytest.raises(CellcastInputError, match="country_code must be a number such as 61"):
        validate_country_code(bad)


def test_message_text():
    assert validate_message_text("  Hi  ") == "  Hi  "  # kept as written
    for bad in ("", "   ", None, 5):
        with pytest.raises(CellcastInputError, match="message must be a non-empty text"):
            validate_message_text(bad)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["+61400000001", " 0400000002 "], ["+61400000001", "0400000002"]),
        ("['+61400000001', '+61400000002']", ["+61400000001", "+61400000002"]),
        ('["+61400000001"]', ["+61400000001"]),
        ("+61400000001, 0400000002; 0400000003", ["+61400000001", "0400000002", "0400000003"]),
        ((61400000001,), ["61400000001"]),
    ],
)
def test_contacts_forms(value, expected):
    assert validate_contacts(value) == expected


@pytest.mark.parametrize("bad", [[], "", " , ;", {"a": 1}, 5, None])
def test_bad_contacts_never_show_the_numbers(bad):
    with pytest.raises(CellcastInputError) as caught:
        validate_contacts(bad)
    assert caught.value.field == "contacts" and caught.value.value == "<hidden>"


def test_ids_pasted_as_text():
    other = "675161d8a000000000000001"
    assert validate_message_ids(f"{GOOD_ID}\n{other}, {GOOD_ID}") == [GOOD_ID, other]


def test_mask_phone_is_re_exported_from_contacts():
    assert validation.mask_phone is contacts.mask_phone
    assert mask_phone("+61412345678") == "+********678"


def test_a_reference_is_letters_digits_and_dashes():
    assert validate_reference("  spring-Sale-2026 ") == "spring-Sale-2026"
    assert validate_reference("0") == "0" and validate_reference("-a-") == "-a-"
    assert REFERENCE_PATTERN == r"^[A-Za-z0-9-]+$"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("airflow/d/t/r", "'/'"),  # the old default reference
        ("spring sale/2026", "' ' '/'"),
        ("two\nlines", "'\\n'"),
        ("a_b.c", "'.' '_'"),
        ("café", "'é'"),
        ("\uff11\uff12", "'\uff11' '\uff12'"),  # full-width digits: digits to str.isdigit, not to Cellcast
    ],
)
def test_a_reference_with_other_characters_is_refused_naming_them(value, shown):
    with pytest.raises(CellcastInputError) as caught:
        validate_reference(value, "ref")
    assert str(caught.value) == (
        f"ref {value!r} has characters Cellcast does not keep in a customString ({shown}): "
        "use only letters, digits and dashes"
    )
    assert (caught.value.field, caught.value.value) == ("ref", value)


def test_a_reference_has_at_most_64_characters():
    assert MAX_REFERENCE_LENGTH == 64
    longest = "a" * 63 + "Z"
    assert validate_reference(f" {longest} ") == longest  # the length counts after stripping
    with pytest.raises(CellcastInputError) as caught:
        validate_reference(longest + "-")
    assert str(caught.value) == "custom_string is 65 characters long: a reference has at most 64"


@pytest.mark.parametrize("bad", ["", "  ", None, 5, ["a"]])
def test_a_reference_must_be_text(bad):
    with pytest.raises(CellcastInputError) as caught:
        validate_reference(bad)
    assert str(caught.value) == (
        "custom_string must be a campaign reference (Cellcast's customString): letters, digits, dashes"
    )

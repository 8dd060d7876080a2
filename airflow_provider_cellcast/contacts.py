"""Phone numbers: normalised before a send, masked wherever a person may read them.

Cellcast's own HTTP 400 accepts only ``61``/``+61`` with 11 digits, or 9 digits without the
area code, although its send page lists ``0400000000`` too: one number in another form can fail
a whole request of 1,000 contacts. So every Australian mobile, in any form people write it
(``0412 345 678``, ``412345678``, ``+61 412 345 678``, ``61-412-345-678``, ``(04) 1234 5678``),
is sent as ``61XXXXXXXXX``; a number that cannot be an Australian mobile is reported with its
reason (masked) and never sent, without failing the others. With another ``country_code`` the
numbers are only stripped of spaces and punctuation: their rules are Cellcast's to apply.

Phone numbers are personal data: results, logs and errors show them through :func:`mask_phone`.
Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

#: Cellcast's country code for Australia, the only one its documentation describes.
AUSTRALIA = 61
_PUNCTUATION_RE = re.compile(r"[\s().\-/]")


class InvalidContact(TypedDict):
    """A contact that was not sent: the number masked, why, and who refused it."""

    contact: str
    error: str | None
    error_type: str | None
    #: ``"provider"`` (refused before sending) or ``"cellcast"`` (listed in Cellcast's answer).
    rejected_by: str


def mask_phone(value: Any) -> str:
    """A phone number fit for logs: every digit but the last three hidden (``+********678``).

    Phone numbers are personal data: the client's results, the operators' logs and the
    emulator's journal all show them through a function like this one.
    """
    text = str(value)
    hidden = sum(char.isdigit() for char in text) - 3
    masked = []
    for char in text:
        if char.isdigit() and hidden > 0:
            hidden -= 1
            masked.append("*")
        else:
            masked.append(char)
    return "".join(masked)


def _refused(raw: Any, error: str, error_type: str) -> InvalidContact:
    return InvalidContact(contact=mask_phone(raw), error=error, error_type=error_type, rejected_by="provider")


def normalise_contact(raw: Any, country_code: int | None = None) -> str | InvalidContact:
    """The number to send for one contact, or why it cannot be sent (an :class:`InvalidContact`)."""
    text = _PUNCTUATION_RE.sub("", str(raw).strip())
    plus = text.startswith("+")
    digits = text[1:] if plus else text
    if not digits or not digits.isdigit() or not digits.isascii():
        return _refused(raw, "Number contains characters other than digits", "invalid_character")
    if country_code not in (None, AUSTRALIA):
        return f"+{digits}" if plus else digits
    if digits.startswith("0011"):  # Australia's international prefix, as dialled
        plus, digits = True, digits[4:]
    if plus or (digits.startswith("61") and len(digits) in (11, 12)):
        if not digits.startswith("61"):
            return _refused(raw, "Not an Australian number (+61): give country_code for others", "not_australian")
        national = digits[2:]
    else:
        national = digits
    if len(national) == 10 and national.startswith("0"):  # "0412..." and "+61 (0)412..."
        national = national[1:]
    if len(national) < 9:
        return _refused(raw, "Number is less than 9 digit", "less_nine_digit")
    if len(national) > 9:
        return _refused(raw, "Number is more than 9 digit", "more_nine_digit")
    if not national.startswith("4"):
        return _refused(raw, "Not an Australian mobile number (04...): SMS cannot reach it", "not_mobile")
    return f"{AUSTRALIA}{national}"


def comparable_number(raw: Any) -> str:
    """A number in the form inbound replies are compared in (a reply's sender, a contact to wait for).

    Australian mobiles in any common form become ``61XXXXXXXXX`` (as for a send); other numbers
    are kept as their digits, and an alphanumeric sender as it is, so that each still matches itself.
    """
    number = normalise_contact(raw)
    if isinstance(number, str):
        return number
    text = str(raw).strip()
    bare = _PUNCTUATION_RE.sub("", text).lstrip("+")
    return bare if bare.isdigit() and bare.isascii() else text


def normalise_contacts(
    contacts: Iterable[Any], country_code: int | None = None
) -> tuple[list[str], list[InvalidContact]]:
    """The numbers to send (normalised, each once, in order) and the contacts refused.

    Two forms of one number (``0412345678`` and ``+61412345678``) are sent once: Cellcast would
    otherwise queue (and charge) two messages to the same phone.
    """
    numbers: dict[str, None] = {}
    refused: list[InvalidContact] = []
    for raw in contacts:
        number = normalise_contact(raw, country_code)
        if isinstance(number, str):
            numbers.setdefault(number)
        else:
            refused.append(number)
    return list(numbers), refused


def describe(contact: InvalidContact) -> str:
    """``"*******678 (Number is less than 9 digit)"``: one invalid contact for a log line."""
    return f"{contact['contact']} ({contact['error'] or contact['error_type'] or 'no reason given'})"


def invalid_contact_from_answer(item: Any) -> InvalidContact:
    """One entry of Cellcast's ``invalidContacts``: live, ``{"Contact", "Error", "ErrorType"}``."""
    if isinstance(item, Mapping):
        error, error_type = item.get("Error"), item.get("ErrorType")
        return InvalidContact(
            contact=mask_phone(item.get("Contact", "")),
            error=error if isinstance(error, str) else None,
            error_type=error_type if isinstance(error_type, str) else None,
            rejected_by="cellcast",
        )
    return InvalidContact(contact=mask_phone(item), error=None, error_type=None, rejected_by="cellcast")

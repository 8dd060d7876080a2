"""Phone numbers in the emulator: normalising what a client sends, masking what the emulator shows.

Cellcast accepts Australian mobile numbers in four forms ("+61400000000", "61400000000",
"0400000000", "400000000": :data:`.rules.CONTACT_FORMS`). The emulator stores them in E.164
("+61400000000") and reports them the way Cellcast's documented answers do: the national number
without the leading 0 ("400000000").

Nothing the emulator logs or journals shows a phone number in full: :func:`mask_phone` keeps the
last three digits only, and :func:`mask_json` applies it to request bodies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from airflow_provider_cellcast.emulator.rules import COUNTRY_CODE, mask_phone

__all__ = [
    "COUNTRY_CODE",
    "PHONE_KEYS",
    "ContactCheck",
    "mask_json",
    "mask_phone",
    "mask_text",
    "national_number",
    "normalise_contact",
]

_SEPARATORS_RE = re.compile(r"[\s().-]")
_AU_MOBILE_NATIONAL_RE = re.compile(r"^4\d{8}$")
# A run of at least 8 digits, possibly split by spaces or dashes, as phone numbers are written.
_PHONE_RUN_RE = re.compile(r"\+?\d(?:[ \-]?\d){7,}")

#: JSON keys whose values are phone numbers whatever they look like.
PHONE_KEYS = frozenset(
    {
        "contacts",
        "contact",
        "Contact",
        "Number",
        "number",
        "numbers",
        "receiver",
        "invalidContacts",
        "unsubscribeContacts",
        "phone",
        "to",
    }
)
# Values under these keys are IDs or timestamps: their digit runs are not phone numbers.
_NOT_PHONE_KEYS = frozenset(
    {
        "messageId",
        "MessageId",
        "templateId",
        "_id",
        "id",
        "scheduleAt",
        "send_time",
        "createdAt",
        "updatedAt",
        "fromDate",
        "toDate",
        "now",
        "delay",
    }
)


@dataclass(frozen=True)
class ContactCheck:
    """The verdict on one contact: ``number`` (E.164) when valid, else ``error`` and ``error_type``."""

    raw: Any
    number: str | None = None
    error: str | None = None
    error_type: str | None = None

    @property
    def national(self) -> str | None:
        """The number as Cellcast's answers show it: ``"400000000"``."""
        return national_number(self.number) if self.number else None


def national_number(e164: str) -> str:
    """``"+61400000000"`` -> ``"400000000"``."""
    prefix = f"+{COUNTRY_CODE}"
    return e164[len(prefix) :] if e164.startswith(prefix) else e164.lstrip("+")


def normalise_contact(raw: Any) -> ContactCheck:
    """Check one entry of ``contacts`` and return it in E.164 form, or the reason it is refused."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        return ContactCheck(raw, error="Contact must be a string", error_type="invalid_type")
    text = _SEPARATORS_RE.sub("", str(raw))
    plus = text.startswith("+")
    digits = text[1:] if plus else text
    if not digits.isdigit() or not digits.isascii():
        return ContactCheck(raw, error="Number contains invalid characters", error_type="invalid_character")
    if plus or (digits.startswith(str(COUNTRY_CODE)) and len(digits) == 11):
        if not digits.startswith(str(COUNTRY_CODE)):
            return ContactCheck(raw, error="Only Australian numbers (+61) are accepted", error_type="country")
        national = digits[len(str(COUNTRY_CODE)) :]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        national = digits
    if len(national) < 9:
        return ContactCheck(raw, error="Number is less than 9 digit", error_type="less_nine_digit")
    if len(national) > 9:
        return ContactCheck(raw, error="Number is more than 9 digit", error_type="more_nine_digit")
    if not _AU_MOBILE_NATIONAL_RE.match(national):
        return ContactCheck(raw, error="Number is not a mobile number", error_type="not_mobile")
    return ContactCheck(raw, number=f"+{COUNTRY_CODE}{national}")


def mask_text(text: str) -> str:
    """Mask every phone-number-like run of digits inside free text (a message body, say)."""
    return _PHONE_RUN_RE.sub(lambda match: mask_phone(match.group(0)), text)


def mask_json(value: Any, key: str | None = None) -> Any:
    """Return a copy of a JSON value with phone numbers masked, for the request journal."""
    if isinstance(value, dict):
        return {k: mask_json(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_json(item, key) for item in value]
    if key in PHONE_KEYS and isinstance(value, (str, int)) and not isinstance(value, bool):
        return mask_phone(value)
    if isinstance(value, str) and key not in _NOT_PHONE_KEYS:
        return mask_text(value)
    return value

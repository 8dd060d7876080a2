"""Phone numbers in the emulator: checking what a client sends, masking what the emulator shows.

Cellcast's Send SMS page lists four forms ("+61400000000", "61400000000", "0400000000",
"400000000": :data:`.rules.CONTACT_FORMS`), but its own documented 400 answer accepts fewer:
:data:`CONTACTS_RULE`. The emulator follows the answer by default (``contacts_mode="strict"``),
and sorts each entry of ``contacts`` into one of three verdicts (:func:`check_contact`):

* **the whole request is refused** (HTTP 400, :data:`CONTACTS_RULE`) when any entry is not in an
  accepted *shape*: not a JSON string; anything but ASCII digits after an optional leading
  ``+`` (spaces, dashes, brackets, letters, dots); a ``+`` not followed by ``61``; digits that
  start with neither ``61`` nor ``4`` (so ``0400000000`` and ``+15551234567`` refuse the request);
* **listed in** ``invalidContacts`` when the shape is accepted but the number is impossible:
  after removing ``+61``/``61``, fewer than 9 digits (``{"Contact": "+6140000", "Error": "Number
  is less than 9 digit", "ErrorType": "less_nine_digit"}``, the live wording), more than 9
  (``"Number is more than 9 digit"``, ``more_nine_digit``), or 9 digits not starting with 4
  (``"Number is not a mobile number"``, ``not_mobile``: the emulator's wording);
* **accepted** otherwise, stored in E.164 (``+61400000000``).

``contacts_mode="lenient"`` reads the docs page instead: the four listed forms, spaces, dashes,
dots and brackets ignored, JSON numbers taken as digits, and every refusal is an
``invalidContacts`` entry, never a 400. :func:`normalise_contact` is that lenient reading; the
control plane uses it for the numbers tests give it.

Answers show numbers the way Cellcast's do: the national number without the leading 0
("400000000"). Nothing the emulator logs or journals shows a phone number in full:
:func:`mask_phone` keeps the last three digits only, and :func:`mask_json` applies it to request
bodies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from airflow_provider_cellcast.emulator.rules import COUNTRY_CODE, mask_phone

__all__ = [
    "CONTACTS_MODES",
    "CONTACTS_RULE",
    "COUNTRY_CODE",
    "PHONE_KEYS",
    "ContactCheck",
    "check_contact",
    "international_number",
    "mask_json",
    "mask_phone",
    "mask_text",
    "national_number",
    "normalise_contact",
]

#: Cellcast's documented 400 answer to a contact in a shape it does not accept (the whole request fails).
CONTACTS_RULE = (
    "Contacts must either start with 61 or +61 and be exactly 11 digits long (e.g., 614xxxxxxxx or "
    "+614xxxxxxxx), or be 9 digits without the area code (e.g., 4xxxxxxxx)"
)
#: ``contacts_mode`` values: the documented 400's reading (default), or the docs page's four forms.
CONTACTS_MODES: tuple[str, ...] = ("strict", "lenient")

_SEPARATORS_RE = re.compile(r"[\s().-]")
_STRICT_SHAPE_RE = re.compile(r"^\+?[0-9]+$")
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
        "from",
        "receiver_e164",
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
    """The verdict on one contact: ``number`` (E.164) when valid, else ``error`` and ``error_type``.

    ``refuses_request`` marks an entry whose shape refuses the whole request (strict mode).
    """

    raw: Any
    number: str | None = None
    error: str | None = None
    error_type: str | None = None
    refuses_request: bool = False

    @property
    def national(self) -> str | None:
        """The number as Cellcast's answers show it: ``"400000000"``."""
        return national_number(self.number) if self.number else None


def national_number(e164: str) -> str:
    """``"+61400000000"`` -> ``"400000000"``."""
    prefix = f"+{COUNTRY_CODE}"
    return e164[len(prefix) :] if e164.startswith(prefix) else e164.lstrip("+")


def international_number(e164: str) -> str:
    """``"+61400000000"`` -> ``"61400000000"``: how replies and opt-outs show a number."""
    return e164.lstrip("+")


def _national_verdict(raw: Any, national: str) -> ContactCheck:
    if len(national) < 9:
        return ContactCheck(raw, error="Number is less than 9 digit", error_type="less_nine_digit")
    if len(national) > 9:
        return ContactCheck(raw, error="Number is more than 9 digit", error_type="more_nine_digit")
    if not _AU_MOBILE_NATIONAL_RE.match(national):
        return ContactCheck(raw, error="Number is not a mobile number", error_type="not_mobile")
    return ContactCheck(raw, number=f"+{COUNTRY_CODE}{national}")


def check_contact(raw: Any, mode: str = "strict") -> ContactCheck:
    """Check one entry of a send's ``contacts`` as ``mode`` reads them (see the module docstring)."""
    if mode == "lenient":
        return normalise_contact(raw)
    refused = ContactCheck(raw, error=CONTACTS_RULE, error_type="invalid_format", refuses_request=True)
    if not isinstance(raw, str) or not _STRICT_SHAPE_RE.match(raw):
        return refused
    prefix = str(COUNTRY_CODE)
    if raw.startswith("+"):
        if not raw.startswith(f"+{prefix}"):
            return refused
        return _national_verdict(raw, raw[len(prefix) + 1 :])
    if raw.startswith(prefix):
        return _national_verdict(raw, raw[len(prefix) :])
    if raw.startswith("4"):
        return _national_verdict(raw, raw)
    return refused


def normalise_contact(raw: Any) -> ContactCheck:
    """Check a number the lenient way (the docs page's four forms, separators ignored): E.164 or why not."""
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
    return _national_verdict(raw, national)


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

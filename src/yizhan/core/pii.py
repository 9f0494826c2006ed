"""Personal data: validate and mask phone and ID numbers (PIPL).

Never log a raw phone or ID number; use ``mask_phone`` / ``mask_id`` in messages,
audit summaries and anything shown to someone other than the owner.
"""

from __future__ import annotations

import datetime as dt
import re

import phonenumbers

from yizhan.core.errors import InvalidIdNumber, InvalidPhone, ValidationError

_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

INVALID_PHONE = InvalidPhone.message


def normalize_phone(raw) -> str:
    """Digits of a mainland mobile number ("+86 138-0013-8000" → "13800138000").

    Raises ValidationError ``invalid_phone`` (field ``phone``)."""
    text = re.sub(r"[\s\-()]", "", str(raw or ""))
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    if not _MOBILE_RE.match(text):
        raise InvalidPhone()
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise InvalidPhone() from None
    if not phonenumbers.is_valid_number(parsed) or phonenumbers.number_type(parsed) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise InvalidPhone()
    return text


def is_valid_phone(raw) -> bool:
    try:
        normalize_phone(raw)
    except ValidationError:
        return False
    return True


def id_check_digit(first17: str) -> str:
    """GB 11643-1999 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalize_id_number(raw, *, today: dt.date | None = None) -> str:
    """An 18-character resident ID number, upper-case X; checks the GB 11643 check
    digit and that the birth date is a real date, not in the future, and after 1900.

    Raises ValidationError ``invalid_id_number`` (field ``id_number``)."""
    text = str(raw or "").strip().upper()
    err = InvalidIdNumber()
    if not _ID_RE.match(text):
        raise err
    try:
        birth = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise err from None
    if birth.year < 1900 or birth > (today or dt.date.today()):
        raise err
    if id_check_digit(text[:17]) != text[17]:
        raise err
    return text


def is_valid_id_number(raw) -> bool:
    try:
        normalize_id_number(raw)
    except ValidationError:
        return False
    return True


def mask_phone(phone: str | None) -> str:
    """13812345678 → 138****5678."""
    if not phone:
        return ""
    p = str(phone)
    if len(p) < 7:
        return "*" * len(p)
    return f"{p[:3]}****{p[-4:]}"


def mask_id(id_number: str | None) -> str:
    """110101199003074514 → 1101**********4514 (region prefix and last 4 kept)."""
    if not id_number:
        return ""
    s = str(id_number)
    if len(s) <= 8:
        return "*" * len(s)
    return f"{s[:4]}{'*' * (len(s) - 8)}{s[-4:]}"


_PHONE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_ID_IN_TEXT = re.compile(r"(?<![\dX])\d{17}[\dXx](?![\dX])")


def redact(text: str) -> str:
    """Mask anything in free text that looks like a mobile or ID number (for audit
    summaries and log lines built from user input)."""
    text = _ID_IN_TEXT.sub(lambda m: mask_id(m.group(0)), str(text or ""))
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from yizhan.core.errors import ValidationError
from yizhan.core.pii import (
    id_check_digit,
    is_valid_id_number,
    is_valid_phone,
    mask_id,
    mask_phone,
    normalize_id_number,
    normalize_phone,
)

# Published sample number of GB 11643 (check character X).
KNOWN_VALID = "11010519491231002X"


def test_known_valid_id():
    assert normalize_id_number(KNOWN_VALID.lower()) == KNOWN_VALID
    assert id_check_digit(KNOWN_VALID[:17]) == "X"


@pytest.mark.parametrize(
    "raw",
    [
        "110105194912310021",  # wrong check digit
        "11010519491331002X",  # month 13
        "11010519490230002X",  # Feb 30
        "11010518891231002X",  # before 1900
        "1101051949123100",  # too short
        "abcdefghijklmnopqr",
        "",
    ],
)
def test_invalid_ids(raw):
    with pytest.raises(ValidationError) as exc:
        normalize_id_number(raw)
    assert exc.value.code == "invalid_id_number" and exc.value.field == "id_number"


def test_future_birth_date_rejected():
    future = "110105" + (dt.date.today() + dt.timedelta(days=400)).strftime("%Y%m%d") + "002"
    assert not is_valid_id_number(future + id_check_digit(future))


dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31))
regions = st.from_regex(r"[1-6][0-9]{5}", fullmatch=True)
seqs = st.from_regex(r"[0-9]{3}", fullmatch=True)


@hsettings(max_examples=200)
@given(regions, dates, seqs)
def test_check_digit_roundtrip(region, birth, seq):
    first17 = f"{region}{birth:%Y%m%d}{seq}"
    number = first17 + id_check_digit(first17)
    assert is_valid_id_number(number)
    # Changing any single digit of the first 17 breaks the check (weights are coprime to 11).
    for i in range(17):
        d = int(first17[i])
        changed = first17[:i] + str((d + 1) % 10) + first17[i + 1 :]
        assert id_check_digit(changed) != number[17] or changed == first17


@given(st.text(max_size=30))
def test_validator_never_crashes(text):
    is_valid_id_number(text)
    is_valid_phone(text)


@pytest.mark.parametrize("raw", ["13800138000", "+86 138 0013 8000", "0086-199-1234-5678", "15912345678"])
def test_valid_phones(raw):
    assert len(normalize_phone(raw)) == 11


@pytest.mark.parametrize("raw", ["12345678901", "1380013800", "138001380000", "02112345678", "abc", "", None])
def test_invalid_phones(raw):
    with pytest.raises(ValidationError) as exc:
        normalize_phone(raw)
    assert exc.value.code == "invalid_phone" and exc.value.field == "phone"


def test_masks():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("") == "" and mask_phone(None) == ""
    assert mask_id(KNOWN_VALID) == "1101**********002X"
    assert mask_id("") == ""


def test_redact():
    from yizhan.core.pii import redact

    assert redact("user 13812345678 typed") == "user 138****5678 typed"
    assert redact("id 11010519491231002X!") == "id 1101**********002X!"
    assert redact("order 123456789012345") == "order 123456789012345"

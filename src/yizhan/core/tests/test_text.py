"""core.text.clean_text (issue 8 item 9): bidi, zero-width and control characters are
dropped from names and short texts at the edge."""

import unicodedata

import pytest
from django import forms
from hypothesis import example, given
from hypothesis import strategies as st
from ninja import Schema
from pydantic import Field

from yizhan.core.text import (
    BIDI,
    OTHER_INVISIBLE,
    ZERO_WIDTH,
    CleanCharField,
    CleanStr,
    CleanText,
    CleanTextFormMixin,
    clean_text,
)

LISTED_BIDI = [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
LISTED_ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
NASTY = LISTED_BIDI + LISTED_ZERO_WIDTH + [chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\u2028", "\u2029"]

# Any text, with the characters of the issue mixed in more often than chance would.
texts = st.lists(st.one_of(st.characters(), st.sampled_from(NASTY), st.sampled_from("驿站王芳 \n\t\r")),
                 max_size=60).map("".join)


def _bad(ch: str, *, multiline: bool) -> bool:
    if multiline and ch in "\n\t":
        return False
    return ch in BIDI or ch in ZERO_WIDTH or unicodedata.category(ch) in ("Cc", "Cs")


def test_listed_characters_are_covered():
    assert set(LISTED_BIDI) <= set(BIDI) and set(LISTED_ZERO_WIDTH) <= set(ZERO_WIDTH)


@given(texts)
@example("驿站\u202eabc\u202c")
@example("王\u200b芳\u2066\u2069\x00\x1b[31m")
@example("x\ud800y")
def test_single_line_has_none_left(value):
    out = clean_text(value)
    assert not any(_bad(ch, multiline=False) for ch in out)
    assert "\n" not in out and "\t" not in out and out == out.strip()
    assert clean_text(out) == out  # idempotent


@given(texts)
def test_multi_line_keeps_newlines_and_tabs_only(value):
    out = clean_text(value, multiline=True)
    assert not any(_bad(ch, multiline=True) for ch in out)
    assert "\r" not in out and clean_text(out, multiline=True) == out
    # Every visible character survives, in order.
    visible = [ch for ch in value if not _bad(ch, multiline=True) and ch not in "\r\u2028\u2029\x85"
               and ch not in OTHER_INVISIBLE and not "\U000e0000" <= ch <= "\U000e007f"]
    assert [ch for ch in out if not ch.isspace()] == [ch for ch in visible if not ch.isspace()]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Cf", "Zl", "Zp")), max_size=40))
def test_ordinary_text_is_left_alone(value):
    assert clean_text(value) == value.strip()


def test_examples():
    assert clean_text("\u202e站驿\u202c 东渚\u200b驿站\ufeff") == "站驿 东渚驿站"
    assert clean_text("a\r\nb\u2028c\td", multiline=True) == "a\nb\nc\td"
    assert clean_text("a\r\nb\tc") == "a b c"
    assert clean_text(None) is None and clean_text("") == ""


class _In(Schema):
    name: CleanStr = Field(..., max_length=10)
    note: CleanText = ""
    maybe: CleanStr | None = None


@given(texts)
def test_schema_types_clean(value):
    try:
        got = _In(name=value[:10], note=value)
    except Exception as exc:  # only the length limit may refuse it
        assert "at most 10" in str(exc)
        return
    assert got.name == clean_text("".join(ch for ch in value[:10] if not "\ud800" <= ch <= "\udfff"))
    assert not any(_bad(ch, multiline=False) for ch in got.name)
    assert not any(_bad(ch, multiline=True) for ch in got.note)


def test_schema_examples():
    got = _In(name="\u202e王\u200b芳", note="第一行\r\n第二行\u2066", maybe="\x00x")
    assert (got.name, got.note, got.maybe) == ("王芳", "第一行\n第二行", "x")
    assert _In(name="x\ud800y").name == "xy"  # a lone surrogate cannot be stored anywhere
    assert _In(name="a", maybe=None).maybe is None


class _Form(CleanTextFormMixin, forms.Form):
    name = forms.CharField(max_length=20)
    note = forms.CharField(widget=forms.Textarea, required=False)
    secret = forms.CharField(widget=forms.PasswordInput, strip=False)
    raw = forms.CharField(required=False)
    clean_text_exclude = ("raw",)


def test_form_mixin():
    form = _Form({"name": "\u202e王\u200b芳", "note": "a\r\nb\u202e", "secret": " pa\u200bss ", "raw": "\u200bx"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"name": "王芳", "note": "a\nb", "secret": " pa\u200bss ", "raw": "\u200bx"}
    # Only invisible characters: empty, so "required" answers.
    form = _Form({"name": "\u200b\u202e\u2060", "secret": "x"})
    assert not form.is_valid() and "name" in form.errors


@pytest.mark.parametrize("multiline,expected", [(False, "a b"), (True, "a\nb")])
def test_clean_char_field(multiline, expected):
    assert CleanCharField(multiline=multiline).clean("\u200ba\r\nb\u202e") == expected

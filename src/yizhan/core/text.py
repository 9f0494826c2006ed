"""Cleaning people's text at the edge (forms and API schemas), before any service sees it.

Names and short texts must not carry characters that change how *other* text is shown
or that nobody can see: bidi overrides and isolates (U+202A–202E, U+2066–2069, and the
marks U+200E/200F/061C) turn "驿站‮abc" into a reversed, spoofed label; zero-width
characters (U+200B–200D, U+2060, U+FEFF) make two names that look the same differ;
control characters (C0/C1) break logs, CSV exports and SMS. ``clean_text`` drops them
all; a multi-line text keeps its newlines and tabs (CR LF and lone CR become LF, U+2028/
U+2029 become LF), a single-line one gets a space for them. Lone surrogates (which no
UTF-8 text can hold) are dropped too.

Use:

* ``clean_text(value, *, multiline=False)`` — the one function;
* API schemas: ``name: CleanStr = Field(..., max_length=100)``; ``note: CleanText``
  (multi-line);
* forms: ``CleanTextFormMixin`` (every ``CharField`` of the form is cleaned — a
  ``Textarea`` one as multi-line — except password fields and ``clean_text_exclude``),
  or a single ``CleanCharField(multiline=...)``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Annotated

from django import forms
from pydantic import AfterValidator, BeforeValidator

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
# Other invisible format characters that only hide or reorder text: invisible math
# operators, deprecated format controls, interlinear annotations, language tags.
OTHER_INVISIBLE = "\u2061\u2062\u2063\u2064\u206a\u206b\u206c\u206d\u206e\u206f\ufff9\ufffa\ufffb\u180e"

_DROP = set(BIDI + ZERO_WIDTH + OTHER_INVISIBLE)
_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x85]")


def _keep(ch: str, multiline: bool) -> bool:
    if ch in _DROP:
        return False
    if multiline and ch in "\n\t":
        return True
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Cs"):  # control characters, lone surrogates
        return False
    return not ("\U000e0000" <= ch <= "\U000e007f")  # tag characters


def clean_text(value, *, multiline: bool = False, strip: bool = True):
    """``value`` without bidi controls, zero-width, control and other invisible
    characters (module docstring). ``None`` and non-strings pass through unchanged."""
    if not isinstance(value, str) or not value:
        return value
    text = _NEWLINES.sub("\n", value)
    if not multiline:
        text = text.replace("\n", " ").replace("\t", " ")
    if text.isascii() and text.isprintable():
        cleaned = text  # the common case: nothing to look at character by character
    else:
        cleaned = "".join(ch for ch in text if _keep(ch, multiline))
    return cleaned.strip() if strip else cleaned


def clean_multiline(value, *, strip: bool = True):
    return clean_text(value, multiline=True, strip=strip)


def _surrogate_safe(value):
    # Pydantic refuses a str holding a lone surrogate before an after-validator runs;
    # drop them first so "x\ud800y" is cleaned like any other invisible character.
    if isinstance(value, str) and any("\ud800" <= ch <= "\udfff" for ch in value):
        return "".join(ch for ch in value if not "\ud800" <= ch <= "\udfff")
    return value


# A single-line name or short text in an API schema (add Field(max_length=...) as usual).
CleanStr = Annotated[str, BeforeValidator(_surrogate_safe), AfterValidator(clean_text)]
# A multi-line text (description, note, comment): newlines and tabs stay.
CleanText = Annotated[str, BeforeValidator(_surrogate_safe), AfterValidator(clean_multiline)]


# ---- forms ------------------------------------------------------------------------------


def _cleaning(to_python, multiline: bool):
    @functools.wraps(to_python)
    def wrapper(value):
        return clean_text(to_python(value), multiline=multiline)

    return wrapper


class CleanCharField(forms.CharField):
    """A ``CharField`` whose value goes through ``clean_text`` before validation (so a
    value of only invisible characters counts as empty for ``required``)."""

    def __init__(self, *args, multiline: bool = False, **kwargs):
        self.multiline = multiline
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        return clean_text(super().to_python(value), multiline=self.multiline)


def make_clean(field: forms.Field, *, multiline: bool | None = None) -> forms.Field:
    """Make an existing ``CharField`` instance clean its value (``multiline`` defaults
    to whether its widget is a ``Textarea``)."""
    if isinstance(field, CleanCharField) or getattr(field, "_yizhan_clean", False):
        return field
    if multiline is None:
        multiline = isinstance(field.widget, forms.Textarea)
    field.to_python = _cleaning(field.to_python, multiline)
    field._yizhan_clean = True
    return field


class CleanTextFormMixin:
    """Every ``CharField`` of the form is cleaned with ``clean_text`` (a ``Textarea``
    one as multi-line), except password inputs and the names in ``clean_text_exclude``."""

    clean_text_exclude: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if (isinstance(field, forms.CharField) and name not in self.clean_text_exclude
                    and not isinstance(field.widget, forms.PasswordInput)):
                make_clean(field)


__all__ = [
    "BIDI",
    "CleanCharField",
    "CleanStr",
    "CleanText",
    "CleanTextFormMixin",
    "ZERO_WIDTH",
    "clean_multiline",
    "clean_text",
    "make_clean",
]

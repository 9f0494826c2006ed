"""Uploaded photos: checked by content (not by name), size-limited, re-encoded.

Re-encoding drops every metadata block, so EXIF (GPS location, camera serial, time)
never reaches storage; the orientation is applied to the pixels first so the photo
still stands the right way up. Large photos are scaled to ``MAX_SIDE`` pixels, which
keeps pages light on riders' phones.

Memory is bounded before anything is decoded: a small file can declare a huge canvas
(a 0.5 MB PNG of 13000×13000 pixels decodes to 0.5 GB), so the pixel count is read from
the header and anything over ``YIZHAN_PHOTO_MAX_PIXELS`` (default 40 MP) is refused
without decoding. A JPEG is decoded at a reduced scale (``draft``) when that still covers
``MAX_SIDE``, so the budget applies to what is actually decoded and a 48 MP phone photo
still fits. Pillow's own ``MAX_IMAGE_PIXELS`` is set to the same budget as a backstop
(Pillow refuses twice that at open).
"""

from __future__ import annotations

import io
import math
import uuid
import warnings

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from yizhan.core.errors import Message, ValidationError

MAX_BYTES = 10 * 1024 * 1024
MAX_SIDE = 2048
DEFAULT_MAX_PIXELS = 40_000_000
ALLOWED = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
# checked explicitly below (catch_warnings is not thread-safe, so not per call)
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, MemoryError)


def max_pixels() -> int:
    return int(getattr(settings, "YIZHAN_PHOTO_MAX_PIXELS", DEFAULT_MAX_PIXELS))


def _invalid(code: str, zh: str, en: str, field: str) -> ValidationError:
    return ValidationError(Message(zh, en), code=code, field=field)


def _corrupt(field: str) -> ValidationError:
    return _invalid("photo_corrupt", "无法识别的图片或文件已损坏", "Not a readable image, or the file is damaged", field)


def _too_many_pixels(field: str, budget: int) -> ValidationError:
    mp = budget / 1_000_000
    return _invalid("photo_too_large", f"照片像素过多（最多 {mp:g} 百万像素）",
                    f"The photo has too many pixels (at most {mp:g} megapixels)", field)


def _open(data: bytes, budget: int):
    """Image.open (reads the header only). Pillow refuses more than twice its
    MAX_IMAGE_PIXELS outright (DecompressionBombError); between one and two times it only
    warns, and the explicit check in ``image_clean`` decides (a large JPEG may still fit
    once decoded at a reduced scale)."""
    Image.MAX_IMAGE_PIXELS = budget  # the backstop, for every open in this process
    return Image.open(io.BytesIO(data))


def image_clean(upload, *, field: str = "photo") -> ContentFile:
    """A clean copy of an uploaded image, or ValidationError (photo_too_large — bytes or
    pixels —, photo_type, photo_corrupt)."""
    size = getattr(upload, "size", None)
    data = upload.read(MAX_BYTES + 1) if size is None or size <= MAX_BYTES else b""
    if size is not None and size > MAX_BYTES or len(data) > MAX_BYTES:
        raise _invalid("photo_too_large", "照片不能超过 10 MB", "Photos must be 10 MB or smaller", field)
    if not data:
        raise _invalid("photo_corrupt", "照片是空的", "The photo is empty", field)
    budget = max_pixels()
    try:
        with _open(data, budget) as probe:
            fmt = probe.format
            if fmt in ALLOWED and fmt != "JPEG" and probe.width * probe.height > budget:
                raise _too_many_pixels(field, budget)
            probe.verify()
    except Image.DecompressionBombError:
        raise _too_many_pixels(field, budget) from None
    except _DECODE_ERRORS:
        raise _corrupt(field) from None
    if fmt not in ALLOWED:
        raise _invalid("photo_type", "只支持 JPEG、PNG 或 WebP 照片", "Only JPEG, PNG or WebP photos are accepted",
                       field)
    try:
        with _open(data, budget) as img:
            if fmt == "JPEG" and max(img.size) > MAX_SIDE:
                # decode at 1/2, 1/4 or 1/8 scale when that still covers the scaled-down size
                ratio = MAX_SIDE / max(img.size)
                img.draft("RGB", (math.ceil(img.width * ratio), math.ceil(img.height * ratio)))
            if img.width * img.height > budget:  # checked before load(): nothing decoded yet
                raise _too_many_pixels(field, budget)
            img.thumbnail((MAX_SIDE, MAX_SIDE))  # decodes; scaled before the orientation copy
            img = ImageOps.exif_transpose(img)
            out = io.BytesIO()
            if fmt == "JPEG":
                img.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
            elif fmt == "PNG":
                img.save(out, "PNG", optimize=True)
            else:
                img.save(out, "WEBP", quality=85)
    except Image.DecompressionBombError:
        raise _too_many_pixels(field, budget) from None
    except _DECODE_ERRORS:
        raise _corrupt(field) from None
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.{ALLOWED[fmt]}")

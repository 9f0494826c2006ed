"""Uploaded photos: checked by content (not by name), size-limited, re-encoded.

Re-encoding drops every metadata block, so EXIF (GPS location, camera serial, time)
never reaches storage; the orientation is applied to the pixels first so the photo
still stands the right way up. Large photos are scaled to ``MAX_SIDE`` pixels, which
keeps pages light on riders' phones.
"""

from __future__ import annotations

import io
import uuid

from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from yizhan.core.errors import Message, ValidationError

MAX_BYTES = 10 * 1024 * 1024
MAX_SIDE = 2048
ALLOWED = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


def _invalid(code: str, zh: str, en: str, field: str) -> ValidationError:
    return ValidationError(Message(zh, en), code=code, field=field)


def image_clean(upload, *, field: str = "photo") -> ContentFile:
    """A clean copy of an uploaded image, or ValidationError (photo_too_large,
    photo_type, photo_corrupt)."""
    size = getattr(upload, "size", None)
    data = upload.read(MAX_BYTES + 1) if size is None or size <= MAX_BYTES else b""
    if size is not None and size > MAX_BYTES or len(data) > MAX_BYTES:
        raise _invalid("photo_too_large", "照片不能超过 10 MB", "Photos must be 10 MB or smaller", field)
    if not data:
        raise _invalid("photo_corrupt", "照片是空的", "The photo is empty", field)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            probe.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError, ValueError):
        raise _invalid("photo_corrupt", "无法识别的图片或文件已损坏", "Not a readable image, or the file is damaged",
                       field) from None
    if fmt not in ALLOWED:
        raise _invalid("photo_type", "只支持 JPEG、PNG 或 WebP 照片", "Only JPEG, PNG or WebP photos are accepted",
                       field)
    try:
        with Image.open(io.BytesIO(data)) as img:
            img = ImageOps.exif_transpose(img)
            img.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            if fmt == "JPEG":
                img.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
            elif fmt == "PNG":
                img.save(out, "PNG", optimize=True)
            else:
                img.save(out, "WEBP", quality=85)
    except (OSError, ValueError, Image.DecompressionBombError):
        raise _invalid("photo_corrupt", "无法识别的图片或文件已损坏", "Not a readable image, or the file is damaged",
                       field) from None
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.{ALLOWED[fmt]}")

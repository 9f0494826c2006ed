"""Case photos: cleaning and saving uploads, and publishing a copy with faces and number
plates blurred (``case_photo_approve``) or taking it down again."""

from __future__ import annotations

import io
import math
import secrets

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageFilter

from yizhan.core import permissions
from yizhan.core.audit import audit_record
from yizhan.core.images import image_clean
from yizhan.core.models import AuditAction
from yizhan.reports import errors as E
from yizhan.reports.models import Case, CasePhoto
from yizhan.reports.services.cases.common import _authenticated, _require_login

MAX_PHOTOS = 3


def _clean_photos(photos, *, field: str = "photos") -> list[ContentFile]:
    photos = [p for p in (photos or ()) if p is not None]
    if len(photos) > MAX_PHOTOS:
        raise E.TooManyPhotos(field=field, limit=MAX_PHOTOS)
    return [image_clean(p, field=field) for p in photos]


def _save_photos(case: Case, files: list[ContentFile], *, stage: str, event=None, actor=None) -> list[CasePhoto]:
    out = []
    for content in files:
        content.seek(0)
        with Image.open(content) as img:
            width, height = img.size
        content.seek(0)
        photo = CasePhoto(case=case, event=event, stage=stage, width=width, height=height,
                          uploaded_by=actor if _authenticated(actor) else None)
        photo.image = content
        photo.save()
        out.append(photo)
    return out


def _redactions(value) -> list[list[float]]:
    rects = []
    for rect in value or ():
        if not isinstance(rect, (list, tuple)) or len(rect) != 4:
            raise E.InvalidRedaction()
        try:
            x, y, w, h = (float(v) for v in rect)
        except (TypeError, ValueError):
            raise E.InvalidRedaction() from None
        if not all(math.isfinite(v) for v in (x, y, w, h)):
            raise E.InvalidRedaction()
        if not (0 <= x <= 1 and 0 <= y <= 1 and 0 < w <= 1 and 0 < h <= 1 and x + w <= 1.0001 and y + h <= 1.0001):
            raise E.InvalidRedaction()
        rects.append([round(x, 4), round(y, 4), round(w, 4), round(h, 4)])
    if len(rects) > 50:
        raise E.InvalidRedaction()
    return rects


def _blurred_copy(photo: CasePhoto, rects: list[list[float]]) -> ContentFile:
    """The photo with each rectangle pixelated and blurred beyond recognition."""
    photo.image.open("rb")
    try:
        with Image.open(photo.image) as src:
            fmt = src.format or "JPEG"
            img = src.convert("RGB") if fmt == "JPEG" else src.copy()
    finally:
        photo.image.close()
    width, height = img.size
    for x, y, w, h in rects:
        box = (int(x * width), int(y * height), min(width, math.ceil((x + w) * width)),
               min(height, math.ceil((y + h) * height)))
        if box[2] <= box[0] or box[3] <= box[1]:
            continue
        region = img.crop(box)
        rw, rh = region.size
        small = region.resize((max(1, rw // 16), max(1, rh // 16)), Image.Resampling.BILINEAR)
        region = small.resize((rw, rh), Image.Resampling.NEAREST)
        region = region.filter(ImageFilter.GaussianBlur(radius=max(4, min(rw, rh) // 8)))
        img.paste(region, box)
    out = io.BytesIO()
    ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}.get(fmt, "jpg")
    if ext == "jpg":
        img.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    elif ext == "png":
        img.save(out, "PNG", optimize=True)
    else:
        img.save(out, "WEBP", quality=85)
    return ContentFile(out.getvalue(), name=f"{secrets.token_hex(16)}.{ext}")


def _photo_locked(actor, photo: CasePhoto) -> CasePhoto:
    _require_login(actor)
    try:
        locked = CasePhoto.objects.select_for_update(of=("self",)).select_related(
            "case", "case__jurisdiction").get(pk=photo.pk)
    except CasePhoto.DoesNotExist:
        raise E.PhotoNotFound() from None
    permissions.require(actor, "reports.dispatch", locked.case.jurisdiction)
    return locked


def _drop_public_file(photo: CasePhoto) -> None:
    if photo.public_image:
        name, storage = photo.public_image.name, photo.public_image.storage
        transaction.on_commit(lambda: storage.delete(name))
    photo.public_image = ""


def case_photo_approve(*, actor, photo: CasePhoto, redactions: list[list[float]] = ()) -> CasePhoto:
    """Publish a photo: a copy with the given rectangles (0..1 of width/height)
    blurred becomes ``public_image``; the original stays staff-only."""
    rects = _redactions(redactions)
    with transaction.atomic():
        locked = _photo_locked(actor, photo)
        copy = _blurred_copy(locked, rects)
        _drop_public_file(locked)
        locked.public_image = copy
        locked.redactions = rects
        locked.approved_at = timezone.now()
        locked.approved_by = actor
        locked.save()
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=locked,
                     summary=f"photo approved {locked.case.number} ({len(rects)} redactions)",
                     changes={"redactions": rects}, jurisdiction_path=locked.case.jurisdiction.path)
    return locked


def case_photo_unpublish(*, actor, photo: CasePhoto) -> CasePhoto:
    with transaction.atomic():
        locked = _photo_locked(actor, photo)
        _drop_public_file(locked)
        locked.approved_at = None
        locked.approved_by = None
        locked.save()
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=locked,
                     summary=f"photo unpublished {locked.case.number}", jurisdiction_path=locked.case.jurisdiction.path)
    return locked

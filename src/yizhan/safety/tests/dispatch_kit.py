"""Helpers for the dispatch tests: alarms built directly (the alarm service is the rules
helper's), extra responders at chosen distances, a tiny PNG."""

from __future__ import annotations

import io
import math

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from yizhan.core.testing.factories import grant, make_staff, make_user, unique_phone
from yizhan.safety.choices import AlarmKind, ResponderKind, Severity
from yizhan.safety.models import Alarm, Responder


def make_alarm(device, *, kind=AlarmKind.SMOKE, started_at=None) -> Alarm:
    now = started_at or timezone.now()
    return Alarm.objects.create(device=device, place=device.place, jurisdiction=device.jurisdiction, kind=kind,
                                severity=Severity.CRITICAL, rank=0, started_at=now, last_triggered_at=now,
                                received_at=now, details={"test": True})


def offset(lat: float, lng: float, metres_north: float = 0, metres_east: float = 0) -> tuple[float, float]:
    return (lat + metres_north / 111_320, lng + metres_east / (111_320 * math.cos(math.radians(lat))))


def make_responder(jurisdiction, lat, lng, *, kind=ResponderKind.GRID_WORKER, on_duty=True, role="grid_worker",
                   name="", station=None) -> Responder:
    if role == "grid_worker":
        user = make_staff("grid_worker", jurisdiction, phone=unique_phone(), display_name=name)
    else:
        user = make_user(phone=unique_phone(), display_name=name)
        grant(user, role, jurisdiction)
    return Responder.objects.create(user=user, kind=kind, jurisdiction=jurisdiction, on_duty=on_duty, lat=lat,
                                    lng=lng, station=station)


def png(color=(200, 30, 30)) -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, "PNG")
    return SimpleUploadedFile("hazard.png", buf.getvalue(), content_type="image/png")


def fire_hazard_category():
    from yizhan.reports.tests.factories import make_category

    return make_category(code="fire_equipment", name="消防设施缺失损坏", group="fire_hazard", group_name="消防隐患",
                         department_code="fire", is_hazard=True,
                         extra_fields=[{"name": "building", "label": "楼栋", "required": False, "type": "text"}])

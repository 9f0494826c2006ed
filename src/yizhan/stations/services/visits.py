"""Visitors' writes: check-ins, condition reports, reviews."""


from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from yizhan.accounts.models import User
from yizhan.core.audit import audit_record
from yizhan.core.errors import Message
from yizhan.core.models import AuditAction
from yizhan.core.notifications import notify
from yizhan.stations import errors as E
from yizhan.stations.choices import (
    ConditionKind,
    StationStatus,
)
from yizhan.stations.models import (
    CheckIn,
    ConditionReport,
    Station,
    StationKeeper,
    StationReview,
)
from yizhan.stations.qr import qr_token_verify
from yizhan.stations.selectors import require_station_stock
from yizhan.stations.services.common import (
    _is_int,
    _require_login,
    _schedule_index_refresh,
    _text,
)

# ---- check-ins, condition reports, reviews ----------------------------------------


@dataclass
class CheckInResult:
    checkin: CheckIn
    station: Station
    counted: bool


def checkin_create(*, actor, token: str) -> CheckInResult:
    """Check in by the station's QR token. A repeat within the dedup window
    (settings.YIZHAN_CHECKIN_DEDUP_MINUTES) of the user's last counted check-in
    there is kept with ``counted=False`` and does not move the visit count."""

    _require_login(actor)
    station = qr_token_verify(token=token)
    window = timedelta(minutes=settings.YIZHAN_CHECKIN_DEDUP_MINUTES)
    with transaction.atomic():
        # Serialise this user's check-ins (the dedup key is per user): the check and
        # the insert below cannot interleave with a second scan of the same user.
        User.objects.select_for_update().filter(pk=actor.pk).values_list("pk", flat=True).first()
        now = timezone.now()
        recent = CheckIn.objects.filter(user=actor, station=station, counted=True, at__gt=now - window).exists()
        checkin = CheckIn.objects.create(station=station, user=actor, counted=not recent)
        if not recent:
            Station.objects.filter(pk=station.pk).update(visit_count=F("visit_count") + 1)
        audit_record(
            actor=actor, action=AuditAction.CREATE, obj=checkin,
            summary=f"check-in at {station.code}" + ("" if not recent else " (repeat, not counted)"),
            jurisdiction_path=station.jurisdiction.path,
        )
    station.refresh_from_db(fields=["visit_count"])
    return CheckInResult(checkin=checkin, station=station, counted=not recent)


def condition_report_create(
    *, actor, station: Station, kind: str, note: str = "", checkin: CheckIn | None = None
) -> ConditionReport:
    """What a worker found. Sets the station's "last confirmed" time; anything but
    "all good" alerts the keepers (kind "station_condition")."""
    _require_login(actor)
    if station.status == StationStatus.REMOVED:
        raise E.StationRemoved()
    if kind not in ConditionKind.values:
        raise E.UnknownConditionKind()
    note = _text(note, field="note", limit=300)
    if checkin is not None and (checkin.user_id != actor.pk or checkin.station_id != station.pk):
        raise E.InvalidCheckIn()
    with transaction.atomic():
        report = ConditionReport.objects.create(station=station, checkin=checkin, user=actor, kind=kind, note=note)
        now = timezone.now()
        Station.objects.filter(pk=station.pk).update(last_confirmed_at=now)
        station.last_confirmed_at = now
        if kind != ConditionKind.ALL_GOOD:
            label = report.get_kind_display()
            title = Message(f"{station.name}：{label}", f"{station.name}: {kind.replace('_', ' ')}")
            body = Message(note or "一位劳动者在签到时反馈了此情况。", note or "A worker reported this when checking in.")
            for link in StationKeeper.objects.filter(station=station).select_related("user"):
                notify(user=link.user, kind="station_condition", title=title, body=body,
                       url=f"/keeper/stations/{station.code}/#reports")
        audit_record(
            actor=actor, action=AuditAction.CREATE, obj=report, summary=f"condition {kind} at {station.code}",
            jurisdiction_path=station.jurisdiction.path,
        )
        _schedule_index_refresh()
    return report


def condition_report_resolve(*, actor, report: ConditionReport) -> ConditionReport:
    station = report.station
    require_station_stock(actor=actor, station=station)
    with transaction.atomic():
        now = timezone.now()
        done = ConditionReport.objects.filter(pk=report.pk, resolved_at__isnull=True).update(
            resolved_at=now, resolved_by=actor
        )
        if not done:
            raise E.ReportAlreadyResolved()
        report.refresh_from_db()
        audit_record(
            actor=actor, action=AuditAction.UPDATE, obj=report, summary=f"condition report resolved at {station.code}",
            jurisdiction_path=station.jurisdiction.path,
        )
    return report


def review_upsert(*, actor, station: Station, rating: int, comment: str = "") -> StationReview:
    """One review per user and station; a second one replaces the first. The
    station's rating_sum/rating_count move by the difference, under the station lock."""
    _require_login(actor)
    if station.status == StationStatus.REMOVED:
        raise E.StationRemoved()
    if not _is_int(rating) or not 1 <= rating <= 5:
        raise E.InvalidRating()
    comment = _text(comment, field="comment", limit=500)
    with transaction.atomic():
        Station.objects.select_for_update().filter(pk=station.pk).values_list("pk", flat=True).first()
        review = StationReview.objects.select_for_update().filter(station=station, user=actor).first()
        if review is None:
            review = StationReview.objects.create(station=station, user=actor, rating=rating, comment=comment)
            Station.objects.filter(pk=station.pk).update(
                rating_sum=F("rating_sum") + rating, rating_count=F("rating_count") + 1
            )
            action, changes = AuditAction.CREATE, {"rating": rating}
        else:
            old = review.rating
            review.rating, review.comment = rating, comment
            review.save(update_fields=["rating", "comment", "updated_at"])
            if rating != old:
                Station.objects.filter(pk=station.pk).update(rating_sum=F("rating_sum") + (rating - old))
            action, changes = AuditAction.UPDATE, {"rating": [old, rating]}
        audit_record(
            actor=actor, action=action, obj=review, summary=f"review of {station.code}", changes=changes,
            jurisdiction_path=station.jurisdiction.path,
        )
    station.refresh_from_db(fields=["rating_sum", "rating_count"])
    return review

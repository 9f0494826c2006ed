"""What the stations app stores about a person, for the PIPL export and erasure
(``accounts.services.account_export`` / ``account_delete`` call these through
``EXPORT_HOOKS`` / ``DELETION_HOOKS``: ``StationsConfig.manifest`` names this module, and
``AccountsConfig.ready`` adds its ``EXPORTS`` and ``erase``).

Export (``stations_*`` keys, plain JSON, times ISO 8601 with offset): the person's
check-ins, condition reports, reviews, and — for keepers and staff — the stations they
keep, the photos they uploaded, the stock movements and donations they recorded. Never
another person's data: no resolver of a report, no donor's name.

Erasure (inside ``account_delete``'s transaction; the user row itself stays as an
anonymous, inactive shell ``deleted_<id>`` that no station row points at):

* **Check-ins are deleted.** ``CheckIn.user`` cannot be null, and a list of when and
  where one (even pseudonymous) person was is a movement trail that serves no one
  once they are gone. ``Station.visit_count`` is a stored counter (moved with ``F()``
  at check-in time, never recounted from the rows), so the stations keep their visit
  counts. Condition reports that pointed at a deleted check-in lose only that link
  (``SET_NULL``).
* **Condition reports stay, unlinked** (``user`` → null): they are the station's
  service record ("no hot water at 21:00"). The note is kept: it describes the
  station, not the person, and we cannot know of personal data in it.
* **Reviews stay, unlinked, comment blanked.** ``StationReview.user`` → null (pages
  show it as "匿名用户"); the star rating stays so the station's ``rating_sum`` /
  ``rating_count`` remain exactly the sum and count of its reviews.
* Staff traces are unlinked where the model allows null (photo uploader, stock
  movement actor, donation recorder, report resolver); keeper links are deleted (an
  erased account cannot keep a station, and the station page would show it).
* Free texts that name them (donor name, stock notes, condition notes, others'
  reviews) have their name, phone and username replaced by "已注销用户".
"""

from __future__ import annotations

import os

from yizhan.core.privacy import identifiers, scrub_rows
from yizhan.stations.choices import StockMovementKind
from yizhan.stations.models import (
    CheckIn,
    ConditionReport,
    Donation,
    StationKeeper,
    StationPhoto,
    StationReview,
    StockMovement,
)


def _iso(value):
    return value.isoformat() if value is not None else None


def _file_name(field) -> str:
    return os.path.basename(field.name) if field else ""


# ---- export ----------------------------------------------------------------------


def export_checkins(user) -> tuple[str, list[dict]]:
    rows = CheckIn.objects.filter(user=user).select_related("station").order_by("at", "id")
    return "stations_checkins", [
        {"station": c.station.code, "station_name": c.station.name, "at": _iso(c.at), "counted": c.counted}
        for c in rows.iterator()
    ]


def export_condition_reports(user) -> tuple[str, list[dict]]:
    rows = ConditionReport.objects.filter(user=user).select_related("station").order_by("created_at", "id")
    return "stations_condition_reports", [
        {"station": r.station.code, "station_name": r.station.name, "kind": r.kind, "note": r.note,
         "checkin_at": _iso(r.checkin.at) if r.checkin_id else None,
         "created_at": _iso(r.created_at), "resolved_at": _iso(r.resolved_at)}
        for r in rows.select_related("checkin")
    ]


def export_reviews(user) -> tuple[str, list[dict]]:
    rows = StationReview.objects.filter(user=user).select_related("station").order_by("created_at", "id")
    return "stations_reviews", [
        {"station": r.station.code, "station_name": r.station.name, "rating": r.rating, "comment": r.comment,
         "hidden": r.hidden, "created_at": _iso(r.created_at), "updated_at": _iso(r.updated_at)}
        for r in rows
    ]


def export_staff_records(user) -> tuple[str, list[dict]]:
    """Keepers' and staff's traces: one list, each row with its ``type``."""
    out: list[dict] = []
    for k in StationKeeper.objects.filter(user=user).select_related("station").order_by("created_at", "id"):
        out.append({"type": "keeper", "station": k.station.code, "is_primary": k.is_primary,
                    "since": _iso(k.created_at)})
    for p in StationPhoto.objects.filter(uploaded_by=user).select_related("station").order_by("created_at", "id"):
        out.append({"type": "photo", "station": p.station.code, "file": _file_name(p.image),
                    "caption": p.caption, "created_at": _iso(p.created_at)})
    movements = StockMovement.objects.filter(actor=user).select_related("supply__station").order_by("created_at", "id")
    for m in movements:
        # A donation's movement note repeats the donor's name: left out.
        out.append({"type": "stock_movement", "station": m.supply.station.code, "item": m.supply.item,
                    "kind": m.kind, "delta": m.delta, "note": "" if m.kind == StockMovementKind.DONATION else m.note,
                    "created_at": _iso(m.created_at)})
    for d in Donation.objects.filter(recorded_by=user).select_related("station").order_by("created_at", "id"):
        # The donor's name is someone else's data: only what was recorded, not by whom it was given.
        out.append({"type": "donation_recorded", "station": d.station.code, "item": d.item, "quantity": d.quantity,
                    "received_on": d.received_on.isoformat(), "created_at": _iso(d.created_at)})
    return "stations_staff_records", out


EXPORTS = (export_checkins, export_condition_reports, export_reviews, export_staff_records)


# ---- erasure ---------------------------------------------------------------------


def erase(user) -> None:
    """Drop or unlink the person's station rows (see the module docstring). Runs in
    the caller's transaction; counters on ``Station`` do not move."""
    CheckIn.objects.filter(user=user).delete()  # condition reports' checkin -> NULL (SET_NULL)
    ConditionReport.objects.filter(user=user).update(user=None)
    ConditionReport.objects.filter(resolved_by=user).update(resolved_by=None)
    StationReview.objects.filter(user=user).update(user=None, comment="")
    StationKeeper.objects.filter(user=user).delete()
    StationPhoto.objects.filter(uploaded_by=user).update(uploaded_by=None)
    StockMovement.objects.filter(actor=user).update(actor=None)
    Donation.objects.filter(recorded_by=user).update(recorded_by=None)
    # Free texts that name them (a donor's name, a note or review quoting them): replaced.
    needles = identifiers(user)
    scrub_rows(ConditionReport, needles, text_fields=("note",))
    scrub_rows(StationReview, needles, text_fields=("comment",))
    scrub_rows(StockMovement, needles, text_fields=("note",))
    scrub_rows(Donation, needles, text_fields=("giver_name", "description"))

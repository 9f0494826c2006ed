"""What the reports app (随手拍 / 工单) stores about a person, for the PIPL export and
erasure (``accounts.services.account_export`` / ``account_delete`` call these through
``EXPORT_HOOKS`` / ``DELETION_HOOKS``: ``ReportsConfig.manifest`` names this module, and
``AccountsConfig.ready`` adds its ``EXPORTS`` and ``erase``).

Export (``reports_*`` keys, plain JSON, times ISO 8601 with offset):
* ``reports_cases`` — the cases they reported: number, category, state, description,
  extra details, location, address, anonymous flag, source, submitted/closed times,
  rating and comment, the file names of the photos *they* uploaded to it, and their own
  steps on it (confirm, evaluate, reopen … with their notes). Staff notes, handlers'
  names and the contact fields are left out: a hotline operator who files a case for a
  caller is its reporter, and the contact is then the caller's, not theirs.
* ``reports_supported_cases`` — number and when ("me too").
* ``reports_case_photos`` — every photo they uploaded (also as staff): case number,
  stage, file name, time.
* ``reports_evaluations`` — number, rating, comment, time.
* ``reports_staff_records`` — department memberships and duty-roster rows (staff only).

Erasure (inside ``account_delete``'s transaction; the user row stays as an anonymous,
inactive shell). A case is a public-service record: the city must keep its work
orders, figures and timelines, so cases are **kept and unlinked** as far as the models
allow:
* reporter → null, ``is_anonymous`` → True, contact name/phone/email cleared, the
  idempotency key and content hash cleared (the hash covers the contact fields, and a
  phone number is small enough to guess back from it);
* the rating stays (satisfaction figures), its comment is blanked — on the case and on
  the "evaluate" timeline line that repeats it;
* timeline lines they wrote lose their author (``actor`` → null, ``actor_label`` →
  "已注销用户"); the other notes (reopen reasons, handlers' notes) are the case's
  handling record and stay;
* the description, details, address and photos are kept: they describe the place and
  the problem, photos lost their EXIF on upload and faces/plates are blurred before the
  public copy is approved, and we cannot know of other personal data in them;
* their supporter rows are dropped and ``supporter_count`` moves down with ``F()``;
* staff traces: photo uploader/approver, extension decider, Open311 client creator and
  case assignee → null (an open case assigned to them stays with its department, whose
  members see it in their inbox); department memberships and duty rows are deleted so
  routing never picks an erased account; their extension requests lose
  ``requested_by`` (a pending one can still be decided; nobody is told);
* cases that name them as the contact (by phone) lose the contact fields, and the free
  texts (descriptions, comments, reasons, timeline notes) have their name, phone and
  username replaced by "已注销用户" — also where someone else wrote it.
"""

from __future__ import annotations

import os

from django.db import transaction
from django.db.models import F

from yizhan.core.privacy import identifiers, scrub_rows
from yizhan.reports.choices import CaseAction
from yizhan.reports.models import (
    Case,
    CaseEvent,
    CasePhoto,
    CaseSupporter,
    DepartmentMember,
    ExtensionRequest,
    GridDuty,
    Open311Client,
)
from yizhan.reports.routing import routing_index_invalidate

DELETED_LABEL = "已注销用户"


def _iso(value):
    return value.isoformat() if value is not None else None


def _file_name(field) -> str:
    return os.path.basename(field.name) if field else ""


# ---- export ----------------------------------------------------------------------


def export_cases(user) -> tuple[str, list[dict]]:
    cases = list(Case.objects.filter(reporter=user).select_related("category").order_by("submitted_at", "id"))
    ids = [c.pk for c in cases]
    photos: dict[int, list[str]] = {}
    for case_id, name in CasePhoto.objects.filter(case_id__in=ids, uploaded_by=user).order_by(
            "created_at", "id").values_list("case_id", "image"):
        photos.setdefault(case_id, []).append(os.path.basename(name or ""))
    steps: dict[int, list[dict]] = {}
    for e in CaseEvent.objects.filter(case_id__in=ids, actor=user).order_by("at", "id"):
        steps.setdefault(e.case_id, []).append({"action": e.action, "at": _iso(e.at), "note": e.note})
    return "reports_cases", [
        {
            "number": c.number,
            "category": c.category.code,
            "category_name": c.category.name,
            "state": c.state,
            "source": c.source,
            "description": c.description,
            "details": c.details or {},
            "lat": c.lat,
            "lng": c.lng,
            "address": c.address,
            "is_anonymous": c.is_anonymous,
            "submitted_at": _iso(c.submitted_at),
            "closed_at": _iso(c.closed_at),
            "rating": c.rating,
            "rating_comment": c.rating_comment,
            "evaluated_at": _iso(c.evaluated_at),
            "photos": photos.get(c.pk, []),
            "my_steps": steps.get(c.pk, []),
        }
        for c in cases
    ]


def export_supported_cases(user) -> tuple[str, list[dict]]:
    rows = CaseSupporter.objects.filter(user=user).select_related("case").order_by("created_at", "id")
    return "reports_supported_cases", [{"number": s.case.number, "at": _iso(s.created_at)} for s in rows]


def export_case_photos(user) -> tuple[str, list[dict]]:
    rows = CasePhoto.objects.filter(uploaded_by=user).select_related("case").order_by("created_at", "id")
    return "reports_case_photos", [
        {"case": p.case.number, "stage": p.stage, "file": _file_name(p.image), "created_at": _iso(p.created_at),
         "published": p.approved_at is not None}
        for p in rows
    ]


def export_evaluations(user) -> tuple[str, list[dict]]:
    rows = Case.objects.filter(reporter=user, rating__isnull=False).order_by("evaluated_at", "id")
    return "reports_evaluations", [
        {"number": c.number, "rating": c.rating, "comment": c.rating_comment, "at": _iso(c.evaluated_at)}
        for c in rows
    ]


def export_staff_records(user) -> tuple[str, list[dict]]:
    out: list[dict] = []
    for m in DepartmentMember.objects.filter(user=user).select_related("department__jurisdiction"):
        out.append({"type": "department_member", "department": m.department.code,
                    "jurisdiction": m.department.jurisdiction.code, "is_lead": m.is_lead,
                    "since": _iso(m.created_at)})
    for d in GridDuty.objects.filter(user=user).select_related("grid"):
        out.append({"type": "grid_duty", "grid": d.grid.code, "weekdays": list(d.weekdays or []),
                    "start_time": d.start_time.isoformat(), "end_time": d.end_time.isoformat()})
    return "reports_staff_records", out


EXPORTS = (export_cases, export_supported_cases, export_case_photos, export_evaluations, export_staff_records)


# ---- erasure ---------------------------------------------------------------------


def erase(user) -> None:
    """Keep the cases, cut every path back to the person (module docstring). Runs in
    the caller's transaction."""
    # Their evaluation comments (the timeline line repeats the case's rating comment).
    CaseEvent.objects.filter(actor=user, action=CaseAction.EVALUATE).exclude(note="").update(note="")
    CaseEvent.objects.filter(actor=user).update(actor=None, actor_label=DELETED_LABEL)
    # The description, details, address and photos stay: they describe the problem and
    # the place (photos are EXIF-free; the public copy is redacted by staff) and carry no
    # personal data we can know of.
    Case.objects.filter(reporter=user).update(
        reporter=None, is_anonymous=True, contact_name="", contact_phone="", contact_email="",
        rating_comment="", idempotency_key="", content_hash="",
    )
    supported = list(CaseSupporter.objects.filter(user=user).values_list("case_id", flat=True))
    if supported:
        CaseSupporter.objects.filter(user=user).delete()
        # One row per (case, user): each supported case loses exactly one supporter.
        Case.objects.filter(pk__in=supported, supporter_count__gt=0).update(
            supporter_count=F("supporter_count") - 1
        )
    CasePhoto.objects.filter(uploaded_by=user).update(uploaded_by=None)
    CasePhoto.objects.filter(approved_by=user).update(approved_by=None)
    Case.objects.filter(assignee=user).update(assignee=None)
    ExtensionRequest.objects.filter(decided_by=user).update(decided_by=None)
    ExtensionRequest.objects.filter(requested_by=user).update(requested_by=None)
    phone = getattr(user, "phone", None)
    if phone:  # cases a hotline operator filed for them carry them as the contact
        Case.objects.filter(contact_phone=phone).update(contact_name="", contact_phone="", contact_email="",
                                                         content_hash="")
    # Free texts that name them (someone's comment "赵师傅来得很快", a note quoting
    # their phone): the name is replaced, the text stays.
    needles = identifiers(user)
    scrub_rows(Case, needles, text_fields=("description", "rating_comment", "parked_reason", "reject_reason",
                                           "contact_name"))
    scrub_rows(CaseEvent, needles, text_fields=("note", "public_note", "actor_label"))
    scrub_rows(ExtensionRequest, needles, text_fields=("reason", "decision_note"))
    Open311Client.objects.filter(created_by=user).update(created_by=None)
    staff_rows = DepartmentMember.objects.filter(user=user).delete()[0] + GridDuty.objects.filter(user=user).delete()[0]
    if staff_rows:
        transaction.on_commit(routing_index_invalidate)

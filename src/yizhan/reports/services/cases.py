"""Submitting cases, the workflow transitions, photos, supporters and the clocks.

Every move of a case goes through ``_transition``: it locks the case row
(``select_for_update``, so two people acting on one case cannot both win), resolves
the actor's kinds on this case (reporter / dispatcher / handler / system, see
``workflow``), looks the (state, action) pair up in ``workflow.TRANSITIONS``, checks
the written reason and photos, applies the action, sets the milestones, moves the
stage clock (``reports.calendar``: working minutes on the district's calendar unless
the category runs on natural time), writes the ``CaseEvent`` (the timeline) with its
photos, the audit row, the notifications and — on verification — the
``reports.case_verified`` domain event, all in one transaction. ``Case.state`` is
assigned nowhere else.

Denials, in this order: not logged in → ``NotAuthenticated``; nothing to do with the
case (not its reporter, no dispatch right there, not its handler) →
``OutOfJurisdiction`` / ``PermissionDenied``; a pair not in the table (including any
edit of a finished case) → ``InvalidTransition``; a pair whose actor kinds do not
include the actor's → ``PermissionDenied``.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import math
import random
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from PIL import Image, ImageFilter

from yizhan.core import permissions
from yizhan.core.audit import audit_record
from yizhan.core.errors import (
    AppError,
    InvalidTransition,
    Message,
    NotAuthenticated,
    OutOfJurisdiction,
    PermissionDenied,
)
from yizhan.core.events import event_emit
from yizhan.core.geo import cell_of, validate_lat_lng
from yizhan.core.images import image_clean
from yizhan.core.models import AuditAction
from yizhan.core.notifications import notify
from yizhan.core.pii import mask_phone, normalize_phone
from yizhan.jurisdictions.locate import locate
from yizhan.jurisdictions.selectors import codes_deepest_first as _codes_deepest_first
from yizhan.reports import calendar as cal
from yizhan.reports import errors as E
from yizhan.reports import routing, workflow
from yizhan.reports.choices import (
    Actor,
    CaseAction,
    CaseSource,
    CaseState,
    Clock,
    ExtensionState,
    PhotoStage,
)
from yizhan.reports.models import (
    FINISHED_STATES,
    OPEN_STATES,
    TERMINAL_STATES,
    Case,
    CaseEvent,
    CasePhoto,
    CaseSupporter,
    Category,
    Department,
    DepartmentMember,
    ExtensionRequest,
)
from yizhan.reports.selectors.cases import CASE_CELL_RES
from yizhan.reports.selectors.setup import category_effective

__all__ = [
    "SubmitResult",
    "actor_kinds",
    "case_accept",
    "case_act",
    "case_bulk_dispatch",
    "case_clocks_check",
    "case_close",
    "case_confirm",
    "case_decide_extension",
    "case_dispatch",
    "case_evaluate",
    "case_follow_up",
    "case_handle",
    "case_merge",
    "case_park",
    "case_photo_approve",
    "case_photo_unpublish",
    "case_progress",
    "case_reject",
    "case_reopen",
    "case_request_extension",
    "case_return",
    "case_start",
    "case_submit",
    "case_support",
    "case_transfer",
    "case_unpark",
    "case_verify",
    "case_verify_fail",
]

S, A = CaseState, CaseAction
MAX_PHOTOS = 3
MAX_DESCRIPTION = 4000
MAX_NOTE = 2000
MAX_ADDRESS = 200
MAX_DETAIL = 500
MAX_KEY = 64
MAX_EXTENSION_MINUTES = 60 * 24 * 90
MAX_BULK = 200
WARN_SHARE = 0.8  # "about to be overdue" at 80 % of a stage's time
DISPATCH_ROLES = tuple(r for r, perms in permissions.ROLE_PERMISSIONS.items() if "reports.dispatch" in perms)

# Which photo stage an action's photos are.
PHOTO_STAGE = {
    A.PROGRESS: PhotoStage.PROGRESS,
    A.HANDLE: PhotoStage.AFTER,
    A.VERIFY: PhotoStage.VERIFY,
    A.VERIFY_FAIL: PhotoStage.VERIFY,
}
# Timeline lines the public case page does not show (internal work of the office).
PRIVATE_ACTIONS = {
    A.TRANSFER, A.RETURN, A.REQUEST_EXTENSION, A.DECIDE_EXTENSION, A.FOLLOW_UP, A.ESCALATE, A.SUPPORT,
    A.PARK, A.UNPARK,
}
# States in which a handler may ask for more time (a pending request lapses outside them).
EXTENSIBLE = (S.DISPATCHED, S.IN_PROGRESS)
MILESTONES = {
    S.ACCEPTED: "accepted_at",
    S.DISPATCHED: "dispatched_at",
    S.HANDLED: "handled_at",
    S.VERIFIED: "verified_at",
    S.CLOSED: "closed_at",
    S.EVALUATED: "evaluated_at",
}


# ---- small helpers -------------------------------------------------------------------


def _authenticated(actor) -> bool:
    return bool(getattr(actor, "is_authenticated", False)) and getattr(actor, "is_active", True)


def _require_login(actor) -> None:
    if not _authenticated(actor):
        raise NotAuthenticated()


def _text(value, *, field: str, limit: int) -> str:
    text = "" if value is None else str(value).strip()
    if len(text) > limit:
        raise E.TextTooLong(field=field, limit=limit)
    return text


def _label(user) -> str:
    if user is None:
        return "system"
    return (getattr(user, "display_name", "") or user.get_username())[:150]


def _url(name: str, number: str, fallback: str) -> str:
    try:
        return reverse(f"reports:{name}", args=[number])
    except NoReverseMatch:
        return fallback


def _staff_url(case: Case) -> str:
    return _url("work_case", case.number, f"/work/c/{case.number}/")


def _console_url(case: Case) -> str:
    return _url("console_case", case.number, f"/dispatch/c/{case.number}/")


def _public_url(case: Case) -> str:
    return _url("case_public", case.number, f"/reports/c/{case.number}/")


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


def _sync(target: Case, source: Case) -> None:
    """Copy the locked, updated row onto the caller's instance."""
    if target is source:
        return
    for f in Case._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))
    target._state.fields_cache.clear()


def _lock(case: Case | int) -> Case:
    pk = case if isinstance(case, int) else case.pk
    try:
        return (
            Case.objects.select_for_update(of=("self",))
            .select_related("category", "jurisdiction")
            .get(pk=pk)
        )
    except Case.DoesNotExist:
        raise E.CaseNotFound() from None


# ---- who is who on a case ------------------------------------------------------------


def _is_department_member(user, department_id) -> bool:
    return bool(department_id) and DepartmentMember.objects.filter(department_id=department_id, user=user).exists()


def actor_kinds(actor, case: Case) -> set[str]:
    """The kinds (``choices.Actor``) ``actor`` has on ``case``."""
    if not _authenticated(actor):
        return set()
    kinds: set[str] = set()
    path = case.jurisdiction.path
    if case.reporter_id is not None and case.reporter_id == actor.pk:
        kinds.add(Actor.REPORTER)
    if permissions.can(actor, "reports.dispatch", path):
        kinds.add(Actor.DISPATCHER)
    if permissions.can(actor, "reports.handle", path) and (
        case.assignee_id == actor.pk or _is_department_member(actor, case.department_id)
    ):
        kinds.add(Actor.HANDLER)
    return kinds


def _denied(actor, case: Case) -> AppError:
    path = case.jurisdiction.path
    if permissions.can(actor, "reports.view", path):
        return PermissionDenied()
    if permissions.has_perm_anywhere(actor, "reports.view"):
        return OutOfJurisdiction()
    return PermissionDenied()


# ---- people to tell ------------------------------------------------------------------


def _dispatchers(case: Case, *, path: str | None = None) -> list:
    """Holders of reports.dispatch on the nearest ancestor-or-self of the case's node
    that has any (the community's centre, else the street's, ...)."""
    from django.db.models import F

    from yizhan.accounts.models import User

    codes = _codes_deepest_first(path or case.jurisdiction.path)
    # one query: the active holders of a dispatch role on any node of the chain, with the node
    users = list(
        User.objects.filter(is_active=True, role_grants__role__in=DISPATCH_ROLES,
                            role_grants__jurisdiction__code__in=codes)
        .annotate(grant_code=F("role_grants__jurisdiction__code")).order_by("pk")
    )
    for code in codes:
        out, seen = [], set()
        for user in users:
            if user.grant_code == code and user.pk not in seen:
                seen.add(user.pk)
                out.append(user)
        if out:
            return out
    return []


def _handlers(case: Case) -> list:
    if case.assignee_id:
        return [case.assignee] if case.assignee and case.assignee.is_active else []
    if case.department_id:
        from yizhan.accounts.models import User

        return list(User.objects.filter(
            is_active=True, pk__in=DepartmentMember.objects.filter(department_id=case.department_id).values("user_id")
        ))
    return []


def _tell(users, *, kind: str, title: Message, body: Message | None = None, url: str = "",
          jurisdiction=None) -> int:
    """Notify each user once. ``jurisdiction`` is where it happened (the case's node):
    the notifications outbox routes webhook subscriptions by it."""
    seen = set()
    for user in users:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        notify(user=user, kind=kind, title=title, body=body, url=url, jurisdiction=jurisdiction)
    return len(seen)


def _tell_reporter(case: Case, *, kind: str, title: Message, body: Message | None = None) -> None:
    if case.reporter_id and case.reporter and case.reporter.is_active:
        notify(user=case.reporter, kind=kind, title=title, body=body, url=_public_url(case),
               jurisdiction=case.jurisdiction)


# ---- the clock -----------------------------------------------------------------------


def _effective(case: Case):
    """The case's category as it applies in the case's district (per-district overrides
    of department, urgency, clock and stage limits; ``selectors.category_effective``)."""
    return category_effective(category=case.category, jurisdiction=case.jurisdiction)


def _spec(case: Case):
    return cal.calendar_spec_for(jurisdiction=case.jurisdiction)


def _clock_of(case: Case) -> str:
    """The clock of the case's current stage (``workflow.stage_is_natural``: hazard and
    urgent categories accept and dispatch on natural time)."""
    cat = _effective(case)
    natural = workflow.stage_is_natural(
        case.state, clock=cat.clock, is_hazard=cat.is_hazard,
        urgency=case.urgency if case.urgency != "normal" else cat.urgency,
    )
    return Clock.NATURAL if natural else Clock.WORKING


def _deadline(case: Case, start: datetime, minutes: float, spec=None) -> datetime:
    try:
        return cal.deadline_add(spec=spec or _spec(case), start=start, minutes=minutes, clock=_clock_of(case))
    except ValueError:  # a calendar with no working time left: fall back to natural time
        return start + timedelta(minutes=minutes)


def _clock_start(case: Case, now: datetime) -> None:
    """Start the clock of the stage ``case.state`` (none for finished/parked cases)."""
    case.stage_started_at = now
    case.warned_at = None
    case.overdue_at = None
    case.escalation_level = 0
    case.escalated_to = None
    limit_field = workflow.STAGE_LIMIT.get(case.state)
    if not limit_field:
        case.stage_due_at = None
        return
    case.stage_due_at = _deadline(case, now, getattr(_effective(case), limit_field))


def _restarts_clock(from_state: str, to_state: str, action: str) -> bool:
    if action == A.TRANSFER:
        return True
    if from_state == to_state:
        return False
    # the handle clock runs from dispatch to handled: signing for it does not reset it
    return not (from_state == S.DISPATCHED and to_state == S.IN_PROGRESS)


# ---- the engine ----------------------------------------------------------------------


@dataclass
class _Step:
    actor: object
    kinds: set
    action: str
    from_state: str
    to_state: str
    note: str
    now: datetime
    public_reply: str = ""
    data: dict = field(default_factory=dict)  # written to the event (JSON)
    extra: dict = field(default_factory=dict)  # objects passed from prepare to apply
    result: object = None
    # notifications to send after the write: (users, kind, title, body, url)
    tell: list = field(default_factory=list)


def _transition(*, actor, case: Case, action: str, note="", photos=(), system: bool = False,
                prepare=None, apply=None, public: bool | None = None, lock: bool = True,
                public_reply="") -> _Step:
    """Run one move of the workflow (see the module docstring). ``prepare(case, step)``
    validates and may raise before anything is written; ``apply(case, step)`` changes
    the case's fields (after the state is set, before the clock and the save).

    ``note`` is internal (staff, and the reporter's own words on their actions);
    ``public_reply`` is the reply the public and the reporter read (FixMyStreet's public
    update). The public timeline shows an event's action and time and its public reply,
    never its note."""
    if not system:
        _require_login(actor)
    photos = [p for p in (photos or ()) if p is not None]
    with transaction.atomic():
        locked = _lock(case) if lock else case
        kinds = {Actor.SYSTEM} if system else actor_kinds(actor, locked)
        if not kinds:
            raise _denied(actor, locked)
        rule = workflow.transition_for(locked.state, action)
        if rule is None:
            if locked.state in FINISHED_STATES or locked.state in TERMINAL_STATES:
                raise E.CaseFinished()
            raise InvalidTransition()
        to_state, allowed = rule
        if not kinds & allowed:
            raise PermissionDenied()
        note = _text(note, field="note", limit=MAX_NOTE)
        public_reply = _text(public_reply, field="public_reply", limit=MAX_NOTE)
        if action in workflow.REASON_REQUIRED and not note:
            raise E.ReasonRequired()
        if action in workflow.PHOTO_REQUIRED and not photos:
            raise E.PhotoRequired()
        now = timezone.now()
        step = _Step(actor=actor, kinds=kinds, action=action, from_state=locked.state, to_state=to_state,
                     note=note, now=now, public_reply=public_reply)
        if prepare is not None:
            prepare(locked, step)
        files = _clean_photos(photos)
        locked.state = step.to_state
        if apply is not None:
            apply(locked, step)
        milestone = MILESTONES.get(step.to_state)
        if milestone and getattr(locked, milestone) is None and step.to_state != step.from_state:
            setattr(locked, milestone, now)
        restarted = _restarts_clock(step.from_state, step.to_state, action)
        if restarted:
            _clock_start(locked, now)
        locked.save()
        if step.from_state in EXTENSIBLE and (restarted or step.to_state not in EXTENSIBLE):
            # the stage the extension was asked for is over: the request lapses
            ExtensionRequest.objects.filter(case=locked, state=ExtensionState.PENDING).update(
                state=ExtensionState.DENIED, decided_at=now, decision_note="案件已流转，申请自动失效 (lapsed)"
            )
        kinds_sorted = sorted(k for k in kinds if k in allowed)
        event = CaseEvent.objects.create(
            case=locked, action=action, from_state=step.from_state, to_state=step.to_state,
            actor=actor if _authenticated(actor) else None, actor_label=_label(actor if not system else None),
            at=now, note=note, public_note=public_reply, data={"as": kinds_sorted, **step.data},
            is_public=(action not in PRIVATE_ACTIONS or bool(public_reply)) if public is None else public,
        )
        _save_photos(locked, files, stage=PHOTO_STAGE.get(action, PhotoStage.PROGRESS), event=event, actor=actor)
        audit_record(
            actor=actor, action=AuditAction.UPDATE, obj=locked,
            summary=f"{action} {locked.number}: {step.from_state} -> {step.to_state}",
            changes={"action": action, "state": [step.from_state, step.to_state], **_audit_data(step.data)},
            jurisdiction_path=locked.jurisdiction.path,
        )
        for users, kind, title, body, url in step.tell:
            _tell(users, kind=kind, title=title, body=body, url=url, jurisdiction=locked.jurisdiction)
        if step.to_state == S.VERIFIED and step.from_state != S.VERIFIED:
            _emit_verified(locked)
    _sync(case, locked)
    step.result = locked
    return step


def _audit_data(data: dict) -> dict:
    return {k: v for k, v in data.items() if isinstance(v, (str, int, float, bool, type(None), list))}


def _emit_verified(case: Case) -> None:
    event_emit(
        name="reports.case_verified", aggregate_type="reports.case", aggregate_id=case.pk,
        payload={
            "case_id": case.pk,
            "number": case.number,
            "reporter_id": case.reporter_id,
            "category": case.category.code,
            "is_hazard": case.category.is_hazard,
            "verified_at": (case.verified_at or timezone.now()).isoformat(),
        },
    )


# ---- submitting ----------------------------------------------------------------------


@dataclass
class SubmitResult:
    case: Case
    created: bool
    supported: bool


def _category(code) -> Category:
    cat = Category.objects.filter(code=str(code or "").strip(), active=True).first()
    if cat is None:
        raise E.UnknownCategory()
    return cat


def _details(category: Category, details) -> dict:
    details = details if isinstance(details, dict) else {}
    out = {}
    for spec in category.extra_fields or []:
        name = spec.get("name") if isinstance(spec, dict) else None
        if not name:
            continue
        value = details.get(name)
        text = "" if value is None else str(value).strip()
        if not text:
            if spec.get("required"):
                label = spec.get("label") or name
                raise E.MissingField(field=f"details.{name}", label=label, label_en=spec.get("label_en") or label)
            continue
        if len(text) > MAX_DETAIL:
            raise E.TextTooLong(field=f"details.{name}", limit=MAX_DETAIL)
        out[name] = text
    return out


def _contact(contact) -> dict:
    contact = contact if isinstance(contact, dict) else {}
    out = {"name": _text(contact.get("name"), field="contact.name", limit=60), "phone": "", "email": ""}
    phone = str(contact.get("phone") or "").strip()
    if phone:
        try:
            out["phone"] = normalize_phone(phone)
        except AppError:
            raise E.InvalidContact(Message("请输入有效的手机号码", "Please enter a valid mobile number"),
                                   field="contact.phone") from None
    email = str(contact.get("email") or "").strip()
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            raise E.InvalidContact(Message("请输入有效的邮箱地址", "Please enter a valid e-mail address"),
                                   field="contact.email") from None
        out["email"] = email[:254]
    return out


def _content_hash(**parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _number_prefix(now: datetime) -> str:
    return timezone.localtime(now, routing.SHANGHAI).strftime("%Y%m%d")


def _next_number(prefix: str, attempt: int) -> str:
    last = (
        Case.objects.filter(number__startswith=f"{prefix}-").order_by("-number")
        .values_list("number", flat=True).first()
    )
    seq = int(last.split("-", 1)[1]) + 1 if last else 1
    if attempt >= 3:  # many writers at once: spread out instead of queueing on one number
        seq += random.randint(0, 8 * attempt)
    return f"{prefix}-{seq:06d}"


def _existing_by_key(*, reporter, client, key: str) -> Case | None:
    if not key:
        return None
    qs = Case.objects.select_related("category", "jurisdiction")
    if reporter is not None:
        return qs.filter(reporter=reporter, idempotency_key=key).first()
    if client is not None:
        return qs.filter(reporter__isnull=True, open311_client=client, idempotency_key=key).first()
    return None


def _replay(existing: Case, content_hash: str) -> SubmitResult:
    if existing.content_hash != content_hash:
        raise E.IdempotencyKeyReused()
    return SubmitResult(case=existing, created=False, supported=False)


def case_submit(*, actor, category: str, lat, lng, description="", details: dict | None = None, photos=(),
                is_anonymous=False, address="", idempotency_key="", source="app", contact: dict | None = None,
                open311_client=None, support: str | None = None) -> SubmitResult:
    """A new report (see the contract in docs/TEAM-CONTRACT-3.md)."""
    if not _authenticated(actor) and open311_client is None:
        raise NotAuthenticated()
    reporter = actor if _authenticated(actor) else None
    if support:
        if reporter is None:
            raise NotAuthenticated()
        target = Case.objects.select_related("category", "jurisdiction").filter(number=str(support).strip()).first()
        if target is None:
            raise E.CaseNotFound()
        return SubmitResult(case=case_support(actor=actor, case=target), created=False, supported=True)

    cat = _category(category)
    lat, lng = validate_lat_lng(lat, lng)
    chain = locate(lat, lng)
    if not chain:
        raise E.LocationOutside()
    node = chain[0]
    description = _text(description, field="description", limit=MAX_DESCRIPTION)
    address = _text(address, field="address", limit=MAX_ADDRESS)
    clean_details = _details(cat, details)
    key = "" if idempotency_key is None else str(idempotency_key).strip()
    if len(key) > MAX_KEY:
        raise E.InvalidIdempotencyKey()
    if open311_client is not None:
        source = CaseSource.OPEN311
    if source not in CaseSource.values:
        raise E.InvalidField(field="source")
    people = _contact(contact)
    files = _clean_photos(photos)
    photo_hashes = []
    for content in files:
        content.seek(0)
        photo_hashes.append(hashlib.sha256(content.read()).hexdigest())
        content.seek(0)
    digest = _content_hash(
        category=cat.code, lat=round(lat, 6), lng=round(lng, 6), description=description, address=address,
        details=clean_details, anonymous=bool(is_anonymous), source=source, contact=people, photos=photo_hashes,
    )

    if key and reporter is None:
        # Open311 clients' keys have no unique constraint (reporter is NULL): read first.
        # A reporter's key is unique per reporter, so a replay is found when the insert
        # below fails (no read on the common path).
        existing = _existing_by_key(reporter=reporter, client=open311_client, key=key)
        if existing is not None:
            return _replay(existing, digest)

    now = timezone.now()
    prefix = _number_prefix(now)
    case = None
    with transaction.atomic():
        for attempt in range(30):
            case = Case(
                number=_next_number(prefix, attempt), token=secrets.token_hex(16), category=cat,
                state=S.SUBMITTED, urgency=category_effective(category=cat, jurisdiction=node).urgency,
                source=source, description=description,
                details=clean_details, address=address, lat=lat, lng=lng, cell=cell_of(lat, lng, CASE_CELL_RES),
                jurisdiction=node, reporter=reporter, is_anonymous=bool(is_anonymous),
                contact_name=people["name"], contact_phone=people["phone"], contact_email=people["email"],
                open311_client=open311_client, idempotency_key=key, content_hash=digest, submitted_at=now,
            )
            _clock_start(case, now)
            try:
                with transaction.atomic():
                    case.save(force_insert=True)
                break
            except IntegrityError:
                existing = _existing_by_key(reporter=reporter, client=open311_client, key=key)
                if existing is not None:  # a concurrent replay of the same submission won
                    return _replay(existing, digest)
                case = None  # the number was taken: try the next one
        if case is None:
            raise IntegrityError("could not allocate a case number")
        event = CaseEvent.objects.create(
            case=case, action=A.SUBMIT, from_state="", to_state=S.SUBMITTED, actor=reporter,
            actor_label=_label(reporter) if reporter else (open311_client.name if open311_client else ""),
            at=now, note="", data={"source": source}, is_public=True,
        )
        _save_photos(case, files, stage=PhotoStage.REPORT, event=event, actor=reporter)
        audit_record(
            actor=reporter, action=AuditAction.CREATE, obj=case,
            summary=f"submit {case.number} {cat.code}" + (f" via {open311_client.name}" if open311_client else ""),
            changes={"category": cat.code, "source": source, "photos": len(files),
                     "contact_phone": mask_phone(people["phone"])},
            jurisdiction_path=node.path,
        )
        _tell(
            _dispatchers(case), kind="case_new",
            title=Message(f"新上报：{cat.name}", f"New report: {cat.name_en or cat.name}"),
            body=Message(f"{case.number} {address or description[:60]}", f"{case.number} {address or description[:60]}"),
            url=_console_url(case), jurisdiction=node,
        )
    return SubmitResult(case=case, created=True, supported=False)


def case_support(*, actor, case: Case) -> Case:
    """"Me too": ``actor`` becomes a supporter of the open ``case`` (idempotent; the
    reporter supporting their own case changes nothing)."""
    _require_login(actor)
    with transaction.atomic():
        locked = _lock(case)
        if workflow.transition_for(locked.state, A.SUPPORT) is None:
            raise E.CaseFinished() if locked.state not in OPEN_STATES else InvalidTransition()
        if locked.reporter_id == actor.pk:
            return locked
        try:
            with transaction.atomic():
                CaseSupporter.objects.create(case=locked, user=actor)
        except IntegrityError:
            return locked  # already a supporter
        Case.objects.filter(pk=locked.pk).update(supporter_count=F("supporter_count") + 1)
        locked.supporter_count += 1  # the row is locked: no need to read it back
        CaseEvent.objects.create(
            case=locked, action=A.SUPPORT, from_state=locked.state, to_state=locked.state, actor=actor,
            actor_label=_label(actor), at=timezone.now(), is_public=False,
        )
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=locked, summary=f"support {locked.number}",
                     jurisdiction_path=locked.jurisdiction.path)
    _sync(case, locked)
    return locked


# ---- the transitions -----------------------------------------------------------------


def case_accept(*, actor, case: Case, note="", public_reply="") -> Case:
    def apply(c, step):
        step.tell.append(([c.reporter] if c.reporter_id else [], "case_accepted",
                          Message(f"您的上报已立案：{c.number}", f"Your report was accepted: {c.number}"),
                          None, _public_url(c)))

    return _transition(actor=actor, case=case, action=A.ACCEPT, note=note, public_reply=public_reply, apply=apply).result


def case_reject(*, actor, case: Case, note="", public_reply="") -> Case:
    def apply(c, step):
        c.reject_reason = step.note[:500]
        step.tell.append(([c.reporter] if c.reporter_id else [], "case_rejected",
                          Message(f"您的上报未予立案：{c.number}", f"Your report was not accepted: {c.number}"),
                          Message(step.public_reply[:200], step.public_reply[:200]) if step.public_reply else None,
                          _public_url(c)))

    return _transition(actor=actor, case=case, action=A.REJECT, note=note, public_reply=public_reply, apply=apply).result


def _resolve_department(case: Case, department) -> Department:
    if department is None or department == "":
        dept = routing.department_for(jurisdiction=case.jurisdiction, department_code=_effective(case).department_code)
        if dept is None:
            raise E.NoDepartment()
        return dept
    if isinstance(department, Department):
        dept = Department.objects.select_related("jurisdiction").filter(pk=department.pk, active=True).first()
    elif isinstance(department, int) or (isinstance(department, str) and department.isdigit()):
        dept = Department.objects.select_related("jurisdiction").filter(pk=int(department), active=True).first()
    else:
        dept = routing.department_for(jurisdiction=case.jurisdiction, department_code=str(department).strip())
    if dept is None or not case.jurisdiction.path.startswith(dept.jurisdiction.path):
        raise E.UnknownDepartment()
    return dept


def _resolve_assignee(case: Case, assignee, dept: Department | None, now: datetime):
    from yizhan.accounts.models import User

    if assignee in (None, ""):
        uid = routing.assignee_id_for(grid=case.jurisdiction, at=now, fresh=True)
        return User.objects.filter(pk=uid, is_active=True).first() if uid else None
    if isinstance(assignee, User):
        user = assignee
    else:
        try:
            user = User.objects.filter(pk=int(assignee)).first()
        except (TypeError, ValueError):
            user = User.objects.filter(username=str(assignee)).first()
    if user is None or not user.is_active or not permissions.can(user, "reports.handle", case.jurisdiction.path):
        raise E.InvalidAssignee()
    return user


def _dispatch_apply(department, assignee):
    def prepare(c, step):
        dept = _resolve_department(c, department)
        step.extra["dept"] = dept
        step.extra["assignee"] = _resolve_assignee(c, assignee, dept, step.now)

    def apply(c, step):
        dept, user = step.extra["dept"], step.extra["assignee"]
        step.data.update({"department": dept.code, "department_name": dept.name,
                          "assignee": user.pk if user else None, "from_department": c.department_id})
        c.department = dept
        c.assignee = user
        title = Message(f"新工单：{c.category.name} {c.number}", f"New work order: {c.category.name_en or c.category.name} {c.number}")
        body = Message(c.address or c.description[:80], c.address or c.description[:80])
        step.tell.append((_handlers(c), "case_dispatched", title, body, _staff_url(c)))

    return prepare, apply


def case_dispatch(*, actor, case: Case, department: Department | str | None = None, assignee=None, note="",
                  public_reply="") -> Case:
    prepare, apply = _dispatch_apply(department, assignee)
    return _transition(actor=actor, case=case, action=A.DISPATCH, note=note, public_reply=public_reply, prepare=prepare, apply=apply).result


def case_transfer(*, actor, case: Case, department, assignee=None, note="", public_reply="") -> Case:
    prepare, dispatch_apply = _dispatch_apply(department, assignee)

    def prepare_transfer(c, step):
        if department in (None, ""):  # a transfer names where to (routing would pick the same)
            raise E.UnknownDepartment()
        prepare(c, step)
        if assignee in (None, ""):
            step.extra["assignee"] = None  # the new department picks its own handler

    return _transition(actor=actor, case=case, action=A.TRANSFER, note=note, public_reply=public_reply, prepare=prepare_transfer,
                       apply=dispatch_apply).result


def case_start(*, actor, case: Case, note="", public_reply="") -> Case:
    def apply(c, step):
        if c.assignee_id is None and _authenticated(step.actor):
            c.assignee = step.actor  # a department member signs for it: it is theirs now

    return _transition(actor=actor, case=case, action=A.START, note=note, public_reply=public_reply, apply=apply).result


def case_progress(*, actor, case: Case, note="", photos=(), public_reply="") -> Case:
    def prepare(c, step):
        if not step.note and not [p for p in (photos or ()) if p is not None]:
            raise E.ReasonRequired(Message("请填写进展或上传照片", "Please write what was done or add a photo"))

    return _transition(actor=actor, case=case, action=A.PROGRESS, note=note, public_reply=public_reply, photos=photos, prepare=prepare).result


def case_return(*, actor, case: Case, note="", public_reply="") -> Case:
    def apply(c, step):
        step.data.update({"department": c.department.code if c.department_id else None,
                          "assignee": c.assignee_id})
        c.department = None
        c.assignee = None
        step.tell.append((_dispatchers(c), "case_returned",
                          Message(f"工单被退回：{c.number}", f"Work order returned: {c.number}"),
                          Message(step.note[:200], step.note[:200]), _console_url(c)))

    return _transition(actor=actor, case=case, action=A.RETURN, note=note, public_reply=public_reply, apply=apply).result


def case_handle(*, actor, case: Case, note="", photos=(), public_reply="") -> Case:
    def apply(c, step):
        step.tell.append(([c.reporter] if c.reporter_id else [], "case_handled",
                          Message(f"您上报的问题已处置，请确认：{c.number}",
                                  f"Your report was dealt with; please confirm: {c.number}"),
                          None, _public_url(c)))

    return _transition(actor=actor, case=case, action=A.HANDLE, note=note, public_reply=public_reply, photos=photos, apply=apply).result


def _whole(value) -> int | None:
    """A whole number from an int or a string of digits (forms post strings), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def case_request_extension(*, actor, case: Case, minutes: int, note="", public_reply="") -> ExtensionRequest:
    minutes_i = _whole(minutes)

    def prepare(c, step):
        if minutes_i is None or not 0 < minutes_i <= MAX_EXTENSION_MINUTES:
            raise E.InvalidMinutes(limit=MAX_EXTENSION_MINUTES)
        if ExtensionRequest.objects.filter(case=c, state=ExtensionState.PENDING).exists():
            raise E.ExtensionPending()

    def apply(c, step):
        step.data["minutes"] = minutes_i
        step.extra["request"] = ExtensionRequest.objects.create(
            case=c, requested_by=step.actor, minutes=minutes_i, reason=step.note[:500]
        )
        step.tell.append((_dispatchers(c), "case_extension",
                          Message(f"延期申请：{c.number}（{minutes_i} 分钟）",
                                  f"Extension requested: {c.number} ({minutes_i} min)"),
                          Message(step.note[:200], step.note[:200]), _console_url(c)))

    step = _transition(actor=actor, case=case, action=A.REQUEST_EXTENSION, note=note, public_reply=public_reply, prepare=prepare, apply=apply)
    return step.extra["request"]


def case_decide_extension(*, actor, case: Case, approve: bool, note="", public_reply="") -> Case:
    def prepare(c, step):
        if approve is None:
            raise E.InvalidField(Message("请选择批准或不批准", "Choose approve or deny"), field="approve")
        req = ExtensionRequest.objects.select_for_update().filter(case=c, state=ExtensionState.PENDING).first()
        if req is None:
            raise E.NoPendingExtension()
        step.extra["request"] = req

    def apply(c, step):
        req = step.extra["request"]
        req.state = ExtensionState.APPROVED if approve else ExtensionState.DENIED
        req.decided_by = step.actor
        req.decided_at = step.now
        req.decision_note = step.note[:500]
        req.save()
        step.data.update({"request": req.pk, "approved": bool(approve), "minutes": req.minutes})
        if approve:
            base = c.stage_due_at or step.now
            c.stage_due_at = _deadline(c, base, req.minutes)
            if c.stage_due_at > step.now:  # a fresh deadline: warnings and escalations start over
                c.warned_at = None
                c.overdue_at = None
                c.escalation_level = 0
                c.escalated_to = None
        verdict = Message("已批准", "approved") if approve else Message("未批准", "denied")
        step.tell.append(([req.requested_by], "case_extension",
                          Message(f"延期申请{verdict.zh}：{c.number}", f"Extension {verdict.en}: {c.number}"),
                          None, _staff_url(c)))

    return _transition(actor=actor, case=case, action=A.DECIDE_EXTENSION, note=note, public_reply=public_reply, prepare=prepare,
                       apply=apply).result


def case_park(*, actor, case: Case, note="", public_reply="") -> Case:
    def apply(c, step):
        c.parked_reason = step.note[:500]

    return _transition(actor=actor, case=case, action=A.PARK, note=note, public_reply=public_reply, apply=apply).result


def case_unpark(*, actor, case: Case, note="", public_reply="") -> Case:
    def apply(c, step):
        step.data["parked_reason"] = c.parked_reason
        c.parked_reason = ""

    return _transition(actor=actor, case=case, action=A.UNPARK, note=note, public_reply=public_reply, apply=apply).result


def case_verify(*, actor, case: Case, note="", photos=(), public_reply="") -> Case:
    return _transition(actor=actor, case=case, action=A.VERIFY, note=note, public_reply=public_reply, photos=photos).result


def _rework(c, step, title: Message):
    step.tell.append((_handlers(c), "case_dispatched", title, Message(step.note[:200], step.note[:200]),
                      _staff_url(c)))


def case_verify_fail(*, actor, case: Case, note="", photos=(), public_reply="") -> Case:
    def apply(c, step):
        _rework(c, step, Message(f"核查未通过，请重新处置：{c.number}", f"Not fixed on inspection; please redo: {c.number}"))

    return _transition(actor=actor, case=case, action=A.VERIFY_FAIL, note=note, public_reply=public_reply, photos=photos, apply=apply).result


def case_confirm(*, actor, case: Case, note="") -> Case:
    return _transition(actor=actor, case=case, action=A.CONFIRM, note=note).result


def case_close(*, actor, case: Case, note="", public_reply="") -> Case:
    def apply(c, step):
        step.tell.append(([c.reporter] if c.reporter_id else [], "case_closed",
                          Message(f"您上报的问题已结案，欢迎评价：{c.number}",
                                  f"Your report is closed; please rate it: {c.number}"),
                          None, _public_url(c)))

    return _transition(actor=actor, case=case, action=A.CLOSE, note=note, public_reply=public_reply, apply=apply).result


def case_evaluate(*, actor, case: Case, rating: int, note="") -> Case:
    value = _whole(rating)

    def prepare(c, step):
        if value is None or not 1 <= value <= 5:
            raise E.InvalidRating()

    def apply(c, step):
        c.rating = value
        c.rating_comment = step.note[:500]
        step.data["rating"] = value

    return _transition(actor=actor, case=case, action=A.EVALUATE, note=note, prepare=prepare, apply=apply).result


def case_follow_up(*, actor, case: Case, note="", public_reply="") -> Case:
    def prepare(c, step):
        if not step.note:
            raise E.ReasonRequired(Message("请填写回访记录", "Please write down the follow-up call"))

    return _transition(actor=actor, case=case, action=A.FOLLOW_UP, note=note, public_reply=public_reply, prepare=prepare).result


def case_reopen(*, actor, case: Case, note="", public_reply="") -> Case:
    """Not fixed after all: the reporter (within ``workflow.REOPEN_DAYS`` of closing), or
    the centre when the follow-up call (回访) finds it unfixed. The closed case's
    milestones and rating are cleared (kept in the event's data), so figures and the
    public page no longer show it as closed or rated."""
    def prepare(c, step):
        if c.state in FINISHED_STATES and Actor.DISPATCHER not in step.kinds:
            last_close = (
                CaseEvent.objects.filter(case=c, action=A.CLOSE).order_by("-at", "-id")
                .values_list("at", flat=True).first()
            ) or c.closed_at
            if last_close and step.now - last_close > timedelta(days=workflow.REOPEN_DAYS):
                raise E.ReopenWindowPassed(days=workflow.REOPEN_DAYS)

    def apply(c, step):
        c.reopen_count += 1
        previous = {
            "rating": c.rating, "rating_comment": c.rating_comment,
            **{f: getattr(c, f).isoformat() if getattr(c, f) else None
               for f in ("verified_at", "closed_at", "evaluated_at")},
        }
        if any(v not in (None, "") for v in previous.values()):
            step.data["previous"] = previous
        c.rating = None
        c.rating_comment = ""
        c.verified_at = c.closed_at = c.evaluated_at = None
        by_reporter = Actor.REPORTER in step.kinds and Actor.DISPATCHER not in step.kinds
        title = (Message(f"上报人反映问题未解决：{c.number}", f"The reporter says it is not fixed: {c.number}")
                 if by_reporter else
                 Message(f"回访发现问题未解决，请重新处置：{c.number}", f"Not fixed on follow-up; please redo: {c.number}"))
        _rework(c, step, title)

    return _transition(actor=actor, case=case, action=A.REOPEN, note=note, public_reply=public_reply,
                       prepare=prepare, apply=apply).result


def case_merge(*, actor, case: Case, into: Case, note="", public_reply="") -> Case:
    """Fold a duplicate into ``into``: its reporter and supporters become supporters there."""
    _require_login(actor)
    if into is None or not isinstance(into, Case) or into.pk == case.pk:
        raise E.InvalidMerge()
    with transaction.atomic():
        first, second = sorted([case.pk, into.pk])
        locked = {c.pk: c for c in [_lock(first), _lock(second)]}
        target = locked[into.pk]

        def prepare(c, step):
            if target.state not in OPEN_STATES or not permissions.can(actor, "reports.dispatch", target.jurisdiction.path):
                raise E.InvalidMerge()

        def apply(c, step):
            c.merged_into = target
            step.data.update({"into": target.number})
            people = set(CaseSupporter.objects.filter(case=c).values_list("user_id", flat=True))
            if c.reporter_id:
                people.add(c.reporter_id)
            people.discard(target.reporter_id)
            have = set(CaseSupporter.objects.filter(case=target).values_list("user_id", flat=True))
            CaseSupporter.objects.bulk_create([CaseSupporter(case=target, user_id=u) for u in sorted(people - have)])
            CaseSupporter.objects.filter(case=c).delete()
            target.supporter_count = CaseSupporter.objects.filter(case=target).count()
            c.supporter_count = 0
            target.save(update_fields=["supporter_count", "updated_at"])
            CaseEvent.objects.create(
                case=target, action=A.MERGE, from_state=target.state, to_state=target.state, actor=actor,
                actor_label=_label(actor), at=step.now, note=step.note, data={"merged": c.number}, is_public=False,
            )

        result = _transition(actor=actor, case=locked[case.pk], action=A.MERGE, note=note, public_reply=public_reply, prepare=prepare,
                             apply=apply, lock=False).result
    _sync(case, result)
    _sync(into, target)
    return result


def case_bulk_dispatch(*, actor, cases: list[Case], department=None, note="", public_reply="") -> list[Case]:
    """Dispatch every case or none (one transaction; the first error undoes all)."""
    _require_login(actor)
    cases = list(cases or [])
    if not cases or len(cases) > MAX_BULK:
        raise E.BulkEmpty(limit=MAX_BULK)
    out = []
    with transaction.atomic():
        for case in sorted(cases, key=lambda c: c.pk):
            try:
                out.append(case_dispatch(actor=actor, case=case, department=department, note=note,
                                         public_reply=public_reply))
            except AppError as err:
                err.field = err.field or "cases"
                err.case_number = case.number  # which case stopped the batch
                raise
    by_pk = {c.pk: c for c in out}
    return [by_pk[c.pk] for c in cases]


# ---- one entry point for the API and pages -------------------------------------------

ACTION_SERVICES = {
    A.ACCEPT: case_accept,
    A.REJECT: case_reject,
    A.DISPATCH: case_dispatch,
    A.TRANSFER: case_transfer,
    A.START: case_start,
    A.PROGRESS: case_progress,
    A.RETURN: case_return,
    A.HANDLE: case_handle,
    A.REQUEST_EXTENSION: case_request_extension,
    A.DECIDE_EXTENSION: case_decide_extension,
    A.PARK: case_park,
    A.UNPARK: case_unpark,
    A.VERIFY: case_verify,
    A.VERIFY_FAIL: case_verify_fail,
    A.CONFIRM: case_confirm,
    A.CLOSE: case_close,
    A.EVALUATE: case_evaluate,
    A.FOLLOW_UP: case_follow_up,
    A.REOPEN: case_reopen,
    A.MERGE: case_merge,
    A.SUPPORT: case_support,
}
_ACCEPTS = {a: set(inspect.signature(f).parameters) - {"actor", "case"} for a, f in ACTION_SERVICES.items()}
_REQUIRED = {
    a: {n for n, p in inspect.signature(f).parameters.items() if p.default is inspect.Parameter.empty}
    for a, f in ACTION_SERVICES.items()
}


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "approve", "approved")
    return bool(value)


def case_act(*, actor, case: Case, action: str, **kwargs) -> Case:
    """Run the service of ``action`` with the keyword arguments it takes (others are
    ignored, so a form may post every field). Returns the case."""
    _require_login(actor)
    service = ACTION_SERVICES.get(str(action or ""))
    if service is None:
        raise E.UnknownAction()
    args = {k: v for k, v in kwargs.items() if k in _ACCEPTS[action] and v is not None}
    if "approve" in args:
        args["approve"] = _truthy(args["approve"])
    # required arguments left out reach the service as None: it refuses them after the
    # permission checks, so a caller without rights learns nothing from a bad form
    for name in ("rating", "minutes", "department", "approve"):
        if name in _ACCEPTS[action] and name not in args and name in _REQUIRED[action]:
            args[name] = None
    if action == A.MERGE:
        into = args.get("into")
        if not isinstance(into, Case):
            into = Case.objects.filter(number=str(into or "").strip()).first()
        if into is None:
            raise E.InvalidMerge()
        args["into"] = into
    result = service(actor=actor, case=case, **args)
    return case if isinstance(result, ExtensionRequest) else result


# ---- photos --------------------------------------------------------------------------


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


# ---- the clocks (scheduler job) ------------------------------------------------------

# (case id, stage start, stage due) -> the instant 80 % of the stage's time is used.
# The scheduler is one long-lived process, so each stage's warning instant is worked
# out on the calendar once, not every minute.
_warn_memo: dict[tuple, datetime] = {}
_memo_lock = threading.Lock()


def _stage_minutes(case: Case, spec) -> float:
    """The stage's length in (working) minutes, extensions included."""
    try:
        return cal.working_minutes_between(spec=spec, start=case.stage_started_at, end=case.stage_due_at,
                                           clock=_clock_of(case))
    except ValueError:
        return (case.stage_due_at - case.stage_started_at).total_seconds() / 60


def _warn_at(case: Case, spec) -> datetime:
    key = (case.pk, case.stage_started_at, case.stage_due_at)
    hit = _warn_memo.get(key)
    if hit is None:
        total = _stage_minutes(case, spec)
        hit = _deadline(case, case.stage_started_at, max(0.0, total * WARN_SHARE), spec)
        with _memo_lock:
            if len(_warn_memo) > 200_000:
                _warn_memo.clear()
            _warn_memo[key] = hit
    return hit


def _escalation_target(case: Case, level: int):
    """Level 1 is the parent of the case's node (for a grid case: its community), level
    2 the next one up, ...; capped at the root."""
    from yizhan.jurisdictions.models import Jurisdiction

    codes = _codes_deepest_first(case.jurisdiction.path)
    nodes = {n.code: n for n in Jurisdiction.objects.filter(code__in=codes)}
    chain = [nodes[c] for c in codes if c in nodes]
    return chain[min(max(1, level), len(chain) - 1)]


def _supervisors(case: Case, node) -> list:
    """Who hears of an escalation to ``node``: the holders of reports.dispatch on the
    node or, when it has none, on the nearest ancestor that has some; the department's
    leads; and when nobody holds reports.dispatch anywhere up the chain, the
    superusers (an escalation never goes to nobody)."""
    from yizhan.accounts.models import User

    users = _dispatchers(case, path=node.path)
    if not users:
        users = list(User.objects.filter(is_active=True, is_superuser=True).order_by("pk"))
    if case.department_id:
        users += list(User.objects.filter(
            is_active=True,
            pk__in=DepartmentMember.objects.filter(department_id=case.department_id, is_lead=True).values("user_id"),
        ))
    return users


def _stage_owners(case: Case) -> list:
    """Whose move it is: the handlers while the case is with them, else the centre."""
    if case.state in (S.DISPATCHED, S.IN_PROGRESS):
        return _handlers(case) or _dispatchers(case)
    return _dispatchers(case)


def _warn(case_id: int, now: datetime) -> bool:
    with transaction.atomic():
        c = _lock(case_id)
        if c.warned_at is not None or c.state not in OPEN_STATES or c.stage_due_at is None or c.stage_due_at <= now:
            return False
        if _warn_at(c, _spec(c)) > now:
            return False
        c.warned_at = now
        c.save(update_fields=["warned_at", "updated_at"])
        local_due = timezone.localtime(c.stage_due_at, routing.SHANGHAI)
        _tell(_stage_owners(c), kind="case_due_soon",
              title=Message(f"即将超时：{c.number}", f"Due soon: {c.number}"),
              body=Message(f"办理时限 {local_due:%m-%d %H:%M}", f"Due at {local_due:%m-%d %H:%M} (Beijing time)"),
              url=_staff_url(c) if c.state in (S.DISPATCHED, S.IN_PROGRESS) else _console_url(c),
              jurisdiction=c.jurisdiction)
    return True


def _next_escalation_at(case: Case, spec) -> datetime:
    """When the case reaches its next escalation level: the deadline for level 1, one
    more full stage (in the stage's clock) for each level after that."""
    if case.escalation_level <= 0:
        return case.stage_due_at
    key = ("esc", case.pk, case.stage_started_at, case.stage_due_at, case.escalation_level)
    hit = _warn_memo.get(key)
    if hit is None:
        stage = max(1.0, _stage_minutes(case, spec))
        hit = _deadline(case, case.stage_due_at, stage * case.escalation_level, spec)
        with _memo_lock:
            _warn_memo[key] = hit
    return hit


def _escalate(case_id: int, now: datetime) -> bool:
    with transaction.atomic():
        c = _lock(case_id)
        if c.state not in OPEN_STATES or c.stage_due_at is None or c.stage_due_at > now:
            return False
        spec = _spec(c)
        stage = max(1.0, _stage_minutes(c, spec))
        try:
            late = cal.working_minutes_between(spec=spec, start=c.stage_due_at, end=now, clock=_clock_of(c))
        except ValueError:
            late = (now - c.stage_due_at).total_seconds() / 60
        # one level when the deadline passes, one more each time another full stage passes
        due_level = 1 + int(late // stage)
        if c.escalation_level >= due_level:
            return False
        level = c.escalation_level + 1
        node = _escalation_target(c, level)
        first = c.overdue_at is None

        def apply(case, step):
            case.overdue_at = case.overdue_at or now
            case.was_overdue = True
            case.escalation_level = level
            case.escalated_to = node
            step.data.update({"level": level, "to": node.code, "to_name": node.name})
            title = Message(f"工单超时升级（{level} 级）：{case.number}",
                            f"Overdue case escalated (level {level}): {case.number}")
            body = Message(f"{case.category.name}，已升级至{node.name}",
                           f"{case.category.name_en or case.category.name}, escalated to {node.name_en or node.name}")
            step.tell.append((_supervisors(case, node), "case_escalated", title, body, _console_url(case)))
            if first:
                step.tell.append((_stage_owners(case), "case_overdue",
                                  Message(f"工单已超时：{case.number}", f"Case overdue: {case.number}"),
                                  None, _staff_url(case)))

        _transition(actor=None, case=c, action=A.ESCALATE, system=True, apply=apply, lock=False,
                    note=f"超时升级（{level} 级）至{node.name} (escalated to {node.name_en or node.name})")
    return True


def case_clocks_check(*, now: datetime | None = None) -> dict:
    """Warn at 80 % of a stage, escalate when overdue (and again each further full
    stage). Idempotent: each case row is re-checked under its lock."""
    now = now or timezone.now()
    warned = escalated = 0
    fields = ("pk", "state", "urgency", "stage_started_at", "stage_due_at", "escalation_level", "category__clock",
              "category__is_hazard", "category__urgency",
              "jurisdiction__path", "jurisdiction__code")
    open_q = (
        Case.objects.filter(state__in=OPEN_STATES, stage_due_at__isnull=False, stage_started_at__isnull=False)
        .select_related("category", "jurisdiction").only(*fields)
    )
    specs: dict[str, object] = {}

    def spec_of(case):
        spec = specs.get(case.jurisdiction.path)
        if spec is None:
            spec = specs[case.jurisdiction.path] = _spec(case)
        return spec

    overdue = 0
    # overdue cases: only those whose next level is due are locked and escalated
    for case in open_q.filter(stage_due_at__lte=now).order_by("stage_due_at").iterator(chunk_size=500):
        overdue += 1
        if _next_escalation_at(case, spec_of(case)) <= now:
            escalated += _escalate(case.pk, now)
    for case in open_q.filter(stage_due_at__gt=now, warned_at__isnull=True).iterator(chunk_size=500):
        if _warn_at(case, spec_of(case)) <= now:
            warned += _warn(case.pk, now)
    return {"warned": warned, "escalated": escalated, "overdue": overdue}

"""Submitting a case (``case_submit``) and supporting one ("me too", ``case_support``)."""

from __future__ import annotations

import hashlib
import json
import random
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from yizhan.core.audit import audit_record
from yizhan.core.errors import AppError, InvalidTransition, Message, NotAuthenticated
from yizhan.core.geo import cell_of, validate_lat_lng
from yizhan.core.models import AuditAction
from yizhan.core.pii import mask_phone, normalize_phone
from yizhan.jurisdictions.locate import locate
from yizhan.reports import errors as E
from yizhan.reports import routing, workflow
from yizhan.reports.choices import CaseSource, PhotoStage
from yizhan.reports.models import OPEN_STATES, Case, CaseEvent, CaseSupporter, Category
from yizhan.reports.selectors.cases import CASE_CELL_RES
from yizhan.reports.selectors.setup import category_effective
from yizhan.reports.services.cases.audience import _dispatchers, _tell
from yizhan.reports.services.cases.clocks import _clock_start
from yizhan.reports.services.cases.common import (
    A,
    S,
    _authenticated,
    _console_url,
    _label,
    _lock,
    _require_login,
    _sync,
    _text,
)
from yizhan.reports.services.cases.photos import _clean_photos, _save_photos

MAX_DESCRIPTION = 4000
MAX_ADDRESS = 200
MAX_DETAIL = 500
MAX_KEY = 64


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

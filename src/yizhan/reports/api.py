"""Reports API (``/api/v1/reports``): snap-and-report cases and work orders.

Thin, like the stations API: parse the input, check permission, call the
service/selector, shape the answer. Errors are AppErrors rendered by config.api.

Submitting a case (``POST /cases``) and acting on one (``POST /cases/{n}/actions/{a}``)
take JSON or multipart (up to 3 files in ``photos``), so those two read their body
themselves. Static paths (public, mine, bulk-dispatch) come before ``/{number}``.
"""

from __future__ import annotations

import json
from datetime import datetime, time
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from ninja import Query, Router
from ninja.responses import Status
from pydantic import ValidationError as PydanticValidationError

from yizhan.accounts.models import User
from yizhan.core import permissions
from yizhan.core.errors import (
    Message,
    NotAuthenticated,
    NotFound,
    OutOfJurisdiction,
    ValidationError,
)
from yizhan.core.geo import validate_lat_lng
from yizhan.core.pii import mask_phone
from yizhan.core.schemas import LimitQuery, OffsetQuery, UtcDateTime
from yizhan.core.tz import SHANGHAI
from yizhan.jurisdictions.selectors import jurisdiction_get
from yizhan.reports import errors as E
from yizhan.reports import schemas as S
from yizhan.reports import selectors, services
from yizhan.reports.choices import CaseAction, CaseState, PhotoStage
from yizhan.reports.errors import (
    BulkEmpty,
    InvalidAssignee,
    PhotoNotFound,
    TooManyPhotos,
    UnknownAction,
)
from yizhan.reports.figures import case_figures, case_figures_export
from yizhan.reports.models import (
    Case,
    CasePhoto,
    Category,
    Department,
    Open311Client,
    ReplyTemplate,
)

router = Router(tags=["reports"])

MAX_PHOTOS = 3
# Actions a client may ask for by name (submit, support and escalate have their own ways).
ACTIONS = [a for a in CaseAction.values if a not in (CaseAction.SUBMIT, CaseAction.SUPPORT, CaseAction.ESCALATE)]


def _require_login(request: HttpRequest):
    actor = request.auth
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    return actor


def _ref(obj) -> dict | None:
    return {"code": obj.code, "name": obj.name} if obj is not None else None


def _user_ref(user) -> dict | None:
    return {"id": user.pk, "name": str(user)} if user is not None else None


def _label(state: str) -> str:
    return str(CaseState(state).label) if state in CaseState.values else state


def _photo_out(p: CasePhoto, *, staff: bool = True) -> dict:
    """A photo as staff see it (``staff``: the original, through the permission-checked
    staff view, never a media URL) or as anyone else does (see ``_photos_for_reporter``)."""

    url = reverse("reports:work_photo", args=[p.pk]) if staff and p.image else ""
    return {"id": p.pk, "stage": p.stage, "url": url, "width": p.width,
            "height": p.height, "approved": p.approved_at is not None, "created_at": p.created_at}


def _photos_for_reporter(case: Case) -> list[dict]:
    """What a reporter (without reports.view on the case) may see: approved photos by
    their public (redacted) URL, and their own report-stage photos through the
    authenticated ``reports:mine_photo`` view; never a handler's unapproved original."""

    out = []
    for p in case.photos.all():
        item = _photo_out(p, staff=False)
        if p.approved_at and p.public_image:
            item["url"] = p.public_image.url
        elif p.stage == PhotoStage.REPORT and p.image and case.reporter_id and p.uploaded_by_id in (
                None, case.reporter_id):
            item["url"] = reverse("reports:mine_photo", args=[p.pk])
        else:
            continue
        out.append(item)
    return out


def _case_out(case: Case) -> dict:
    return {
        "number": case.number, "state": case.state, "state_label": _label(case.state),
        "category": _ref(case.category), "lat": case.lat, "lng": case.lng, "address": case.address,
        "description": case.description, "details": case.details or {}, "is_anonymous": case.is_anonymous,
        "supporter_count": case.supporter_count, "submitted_at": case.submitted_at, "closed_at": case.closed_at,
        "rating": case.rating, "photos": _photos_for_reporter(case),
    }


def _public_item(case: Case) -> dict:
    return {
        "number": case.number, "category": _ref(case.category), "state": case.state,
        "state_label": _label(case.state), "lat": case.lat, "lng": case.lng, "address": case.address,
        "supporter_count": case.supporter_count, "submitted_at": case.submitted_at,
    }


def _staff_item(case: Case) -> dict:

    overdue = bool(case.overdue_at) or bool(
        case.stage_due_at and case.stage_due_at < timezone.now() and case.state not in (
            CaseState.CLOSED, CaseState.EVALUATED, CaseState.REJECTED, CaseState.MERGED, CaseState.PARKED)
    )
    return {
        "number": case.number, "category": _ref(case.category), "state": case.state,
        "state_label": _label(case.state), "urgency": case.urgency, "source": case.source,
        "jurisdiction": _ref(case.jurisdiction), "department": _ref(case.department),
        "assignee": _user_ref(case.assignee), "address": case.address, "lat": case.lat, "lng": case.lng,
        "supporter_count": case.supporter_count, "submitted_at": case.submitted_at,
        "stage_due_at": case.stage_due_at, "overdue": overdue, "escalation_level": case.escalation_level,
    }


def _event_out(e) -> dict:
    return {
        "id": e.pk, "action": e.action, "action_label": str(e.get_action_display()), "from_state": e.from_state,
        "to_state": e.to_state, "actor": e.actor_label or (str(e.actor) if e.actor_id else ""), "at": e.at,
        "note": e.note, "data": e.data or {}, "is_public": e.is_public,
        "photos": [p.pk for p in e.photos.all()],
    }


def _staff_detail(actor, case: Case) -> dict:
    reporter = case.reporter
    out = _staff_item(case)
    out.update({
        "description": case.description, "details": case.details or {},
        "reporter": str(reporter) if reporter else (case.contact_name or ""),
        "reporter_phone": mask_phone(getattr(reporter, "phone", "") or ""),
        "contact_name": case.contact_name, "contact_phone": mask_phone(case.contact_phone),
        "is_anonymous": case.is_anonymous, "rating": case.rating, "rating_comment": case.rating_comment,
        "parked_reason": case.parked_reason, "reject_reason": case.reject_reason,
        "merged_into": case.merged_into.number if case.merged_into_id else None,
        "photos": [_photo_out(p) for p in case.photos.all()],
        "timeline": [_event_out(e) for e in selectors.case_timeline(case=case)],
        "actions": list(selectors.case_actions_for(actor=actor, case=case)),
    })
    return out


def _with_related(qs):
    return qs.select_related("category", "jurisdiction", "department", "assignee")


# ---- reading a body that may be JSON or multipart -----------------------------------------------


def _multipart(request: HttpRequest) -> bool:
    return (request.content_type or "").startswith(("multipart/form-data", "application/x-www-form-urlencoded"))


def _json_body(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise E.InvalidBody() from None
    if not isinstance(body, dict):
        raise E.InvalidBody(E.InvalidBody.not_object)
    return body


def _form_body(request: HttpRequest, *, json_fields: tuple[str, ...] = ()) -> dict:
    """A multipart/urlencoded form as a dict: ``details`` may be a JSON string or
    ``details[name]`` / ``details.name`` fields."""
    data: dict[str, Any] = {}
    nested: dict[str, dict] = {}
    for key in request.POST:
        value = request.POST.get(key)
        for prefix in json_fields:
            if key.startswith((f"{prefix}[", f"{prefix}.")):
                name = key[len(prefix) + 1:].rstrip("]")
                nested.setdefault(prefix, {})[name] = value
                break
        else:
            data[key] = value
    for prefix in json_fields:
        raw = data.get(prefix)
        if isinstance(raw, str):
            try:
                data[prefix] = json.loads(raw) if raw.strip() else {}
            except ValueError:
                raise E.InvalidBody(E.InvalidBody.field_not_object, field=prefix, name=prefix) from None
        if prefix in nested:
            data[prefix] = {**(data.get(prefix) or {}), **nested[prefix]}
    return data


def _validate(schema, data: dict):
    try:
        return schema.model_validate(data)
    except PydanticValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in first.get("loc", ())) or None
        detail = first.get("msg", "")
        raise ValidationError(
            Message(f"输入有误：{field or ''} {detail}".strip(), f"Invalid input: {field or ''} {detail}".strip()),
            field=field,
        ) from None


def _photos(request: HttpRequest) -> list:
    files = request.FILES.getlist("photos") + request.FILES.getlist("photos[]")
    if len(files) > MAX_PHOTOS:

        raise TooManyPhotos()
    return files


def _body(request: HttpRequest, schema, *, json_fields: tuple[str, ...] = ()):
    if _multipart(request):
        return _validate(schema, _form_body(request, json_fields=json_fields)), _photos(request)
    return _validate(schema, _json_body(request)), []


def _multipart_doc(schema, *, files: bool = True, idempotency: bool = False) -> dict:
    props = dict(schema.model_json_schema().get("properties", {}))
    if files:
        props["photos"] = {"type": "array", "items": {"type": "string", "format": "binary"}, "maxItems": MAX_PHOTOS}
    doc: dict = {"requestBody": {"required": True, "content": {
        "application/json": {"schema": schema.model_json_schema()},
        "multipart/form-data": {"schema": {"type": "object", "properties": props}},
    }}}
    if idempotency:
        doc["parameters"] = [{
            "in": "header", "name": "Idempotency-Key", "required": False,
            "schema": {"type": "string", "maxLength": 64},
            "description": "A retry with the same key and content returns the same case (200)",
        }]
    return doc


# ---- categories ------------------------------------------------------------------------------------------


def _category_out(c: Category) -> dict:
    return {f: getattr(c, f) for f in S.CaseCategoryOut.model_fields}


@router.get("/categories", auth=None, response=S.CategoryListOut, summary="Categories of reports (public)")
def category_list(request: HttpRequest):
    items = [_category_out(c) for c in selectors.category_list(active_only=True)]
    return {"items": items, "count": len(items)}


@router.get("/categories/{code}", auth=None, response=S.CaseCategoryOut, summary="One category (public)")
def category_detail(request: HttpRequest, code: str):
    return _category_out(selectors.category_get(code=code))


@router.patch("/categories/{code}", response=S.CaseCategoryOut,
              summary="Edit a category: platform-wide (city admin), or with ?jurisdiction= that district's own "
                      "department, urgency, clock, limits and active flag (district admin)")
def category_update(request: HttpRequest, code: str, payload: S.CategoryPatch, jurisdiction: str = ""):
    actor = request.auth
    permissions.require(actor, "reports.configure")
    category = selectors.category_get(code=code)
    node = _jurisdiction(jurisdiction) if jurisdiction else None
    saved = services.category_update(actor=actor, category=category, data=payload.dict(exclude_unset=True),
                                     jurisdiction=node)
    if node is not None:
        category.refresh_from_db()
        return _category_out(selectors.category_effective(category=category, jurisdiction=node))
    return _category_out(saved)


# ---- the "already reported?" step --------------------------------------------------------------------------


@router.get("/duplicates", auth=None, response=S.DuplicateListOut,
            summary="Open cases of the same category within 50 m (public)")
def duplicates(request: HttpRequest, category: str = "", lat: str | None = None, lng: str | None = None):

    lat_f, lng_f = validate_lat_lng(lat, lng)
    selectors.category_get(code=category)
    cases = selectors.case_duplicates(category=category, lat=lat_f, lng=lng_f, brief=True)
    items = []
    for c in cases:
        item = _public_item(c)
        item["description"] = c.description[:200]
        item["distance_m"] = c.distance_m
        items.append(item)
    return {"items": items, "count": len(items)}


# ---- reporting ------------------------------------------------------------------------------------------------


@router.post("/cases", response={200: S.SubmitOut | S.SubmitSupportedOut, 201: S.SubmitOut},
             openapi_extra=_multipart_doc(S.CaseIn, idempotency=True),
             summary="Report a problem: JSON or multipart with up to 3 photos; Idempotency-Key header (logged in)")
def case_submit(request: HttpRequest):
    actor = _require_login(request)
    payload, photos = _body(request, S.CaseIn, json_fields=("details",))
    key = request.headers.get("Idempotency-Key", "").strip() or payload.idempotency_key
    result = services.case_submit(
        actor=actor, category=payload.category, lat=payload.lat, lng=payload.lng,
        description=payload.description, details=payload.details, photos=photos,
        is_anonymous=payload.is_anonymous, address=payload.address, idempotency_key=key,
        source="app", support=payload.support or None,
    )
    if result.supported:  # someone else's case: only what the public may see of it
        return Status(200, {"number": result.case.number, "supporter_count": result.case.supporter_count,
                            "supported": True})
    out = _case_out(result.case)
    out.update({"created": result.created, "supported": result.supported})
    return Status(201 if result.created else 200, out)


@router.get("/cases/public", auth=None, response=S.PublicListOut, summary="Cases on the public map (public)")
def case_public_list(
    request: HttpRequest, category: str = "", state: str = "", jurisdiction: str = "", bbox: str = "",
    limit: int = LimitQuery(200), offset: int = OffsetQuery(),
):
    filters = {"category": category, "state": state, "jurisdiction": jurisdiction, "bbox": bbox}
    qs = selectors.case_public_list(filters={k: v for k, v in filters.items() if v})
    items = [_public_item(c) for c in qs.select_related("category")[offset:offset + limit]]
    return {"items": items, "count": qs.count()}


@router.get("/cases/public/{number}", auth=None, response=dict[str, Any],
            summary="A case as the public sees it: reporter hidden, approved photos only (public)")
def case_public_detail(request: HttpRequest, number: str):
    case = selectors.case_public_get(number=number)
    return selectors.case_public_view(case=case)


@router.get("/counts", auth=None, response=dict[str, Any], summary="Cases per category and per month (public)")
def counts(request: HttpRequest, jurisdiction: str = "", months: int = 12):
    node = None
    if jurisdiction:

        node = jurisdiction_get(code=jurisdiction)
    return selectors.case_public_counts(jurisdiction=node, months=max(1, min(months, 60)))


@router.get("/cases/mine", response=S.CaseListOut, summary="My reports (logged in)")
def cases_mine(request: HttpRequest, limit: int = LimitQuery(100), offset: int = OffsetQuery()):
    actor = _require_login(request)
    qs = selectors.cases_of_reporter(actor=actor)
    items = [_case_out(c) for c in qs.select_related("category").prefetch_related("photos")[offset:offset + limit]]
    return {"items": items, "count": qs.count()}


# ---- staff ------------------------------------------------------------------------------------------------------


@router.get("/cases", response=S.CaseStaffListOut, summary="Cases in my jurisdiction, with filters (staff)")
def case_staff_list(
    request: HttpRequest, state: Query[list[str]] = None, category: str = "", department: str = "",
    assignee: str = "", overdue: bool | None = None, q: str = "", due_before: UtcDateTime | None = None,
    jurisdiction: str = "",
    limit: int = LimitQuery(100), offset: int = OffsetQuery(),
):
    actor = request.auth
    permissions.require(actor, "reports.view")
    if due_before is not None and due_before.tzinfo is None:  # a wall-clock time in China
        due_before = due_before.replace(tzinfo=SHANGHAI)
    filters: dict[str, Any] = {"category": category, "department": department, "assignee": assignee, "q": q,
                               "due_before": due_before, "jurisdiction": jurisdiction}
    states = [s for part in (state or []) for s in part.split(",") if s]
    if states:
        filters["state"] = states if len(states) > 1 else states[0]
    if overdue is not None:
        filters["overdue"] = overdue
    qs = selectors.case_staff_list(actor=actor, filters={k: v for k, v in filters.items() if v not in ("", None)})
    return {"items": [_staff_item(c) for c in _with_related(qs)[offset:offset + limit]], "count": qs.count()}


@router.post("/cases/bulk-dispatch", response=S.CaseStaffListOut,
             summary="Dispatch several accepted cases at once, all or nothing (dispatcher)")
def bulk_dispatch(request: HttpRequest, payload: S.BulkDispatchIn):
    actor = request.auth
    permissions.require(actor, "reports.dispatch")
    if not payload.numbers:

        raise BulkEmpty()
    cases = [selectors.case_staff_get(actor=actor, number=n) for n in dict.fromkeys(payload.numbers)]
    done = services.case_bulk_dispatch(actor=actor, cases=cases, department=payload.department or None,
                                       note=payload.note)
    return {"items": [_staff_item(c) for c in done], "count": len(done)}


@router.get("/inbox", response=S.CaseStaffListOut, summary="My open cases by deadline (grid worker / handler)")
def inbox(request: HttpRequest, limit: int = LimitQuery(200), offset: int = OffsetQuery()):
    actor = request.auth
    permissions.require(actor, "reports.view")
    qs = selectors.case_inbox(actor=actor)
    return {"items": [_staff_item(c) for c in _with_related(qs)[offset:offset + limit]], "count": qs.count()}


@router.get("/cases/{number}", response=S.StaffDetailOut, summary="A case with its timeline (staff; audited)")
def case_staff_detail(request: HttpRequest, number: str):
    actor = request.auth
    permissions.require(actor, "reports.view")
    case = selectors.case_staff_get(actor=actor, number=number)
    return _staff_detail(actor, case)


@router.post("/cases/{number}/support", response=S.CaseSupportOut, summary="'Me too' on an open case (logged in)")
def case_support(request: HttpRequest, number: str):
    actor = _require_login(request)
    case = selectors.case_public_get(number=number)
    case = services.case_support(actor=actor, case=case)
    return {"number": case.number, "supporter_count": case.supporter_count}


def _case_for_action(actor, number: str) -> Case:
    """The reporter acts on their own case; everyone else through the staff scope."""
    own = selectors.cases_of_reporter(actor=actor).filter(number=number).first()
    if own is not None:
        return own
    return selectors.case_staff_get(actor=actor, number=number)


def _action_kwargs(actor, payload: S.ActionIn, photos: list) -> dict:
    kwargs: dict[str, Any] = {}
    for name in ("note", "public_reply", "rating", "minutes", "approve"):
        value = getattr(payload, name)
        if value is not None and value != "":
            kwargs[name] = value
    if payload.department:
        kwargs["department"] = payload.department
    if payload.assignee is not None:

        user = User.objects.filter(pk=payload.assignee, is_active=True).first()
        if user is None:

            raise InvalidAssignee()
        kwargs["assignee"] = user
    if payload.into:
        kwargs["into"] = selectors.case_staff_get(actor=actor, number=payload.into)
    if photos:
        kwargs["photos"] = photos
    return kwargs


@router.post("/cases/{number}/actions/{action}", response=S.StaffDetailOut,
             openapi_extra=_multipart_doc(S.ActionIn),
             summary="Take an action on a case: accept, dispatch, handle, confirm, evaluate … (staff or reporter)")
def case_action(request: HttpRequest, number: str, action: str):
    actor = _require_login(request)
    if action not in ACTIONS:

        raise UnknownAction()
    case = _case_for_action(actor, number)
    payload, photos = _body(request, S.ActionIn)
    case = services.case_act(actor=actor, case=case, action=action, **_action_kwargs(actor, payload, photos))
    case = _with_related(Case.objects).get(pk=case.pk)
    if case.reporter_id == actor.pk and not permissions.can(actor, "reports.view", case.jurisdiction):
        out = _staff_detail_for_reporter(case)
    else:
        out = _staff_detail(actor, case)
    return out


def _staff_detail_for_reporter(case: Case) -> dict:
    """What a reporter gets back after acting on their own case: the public timeline,
    without staff names."""
    out = _staff_item(case)
    out["assignee"] = None
    timeline = [_event_out(e) for e in selectors.case_timeline(case=case, public_only=True)]
    for event in timeline:
        if event["action"] not in (CaseAction.SUBMIT, CaseAction.CONFIRM, CaseAction.EVALUATE, CaseAction.REOPEN):
            event["actor"] = ""
    out.update({
        "description": case.description, "details": case.details or {}, "reporter": str(case.reporter),
        "reporter_phone": mask_phone(getattr(case.reporter, "phone", "") or ""), "contact_name": "",
        "contact_phone": "", "is_anonymous": case.is_anonymous, "rating": case.rating,
        "rating_comment": case.rating_comment, "parked_reason": case.parked_reason,
        "reject_reason": case.reject_reason, "merged_into": case.merged_into.number if case.merged_into_id else None,
        "photos": _photos_for_reporter(case),
        "timeline": timeline,
        "actions": list(selectors.case_actions_for(actor=case.reporter, case=case)),
    })
    return out


# ---- photos ----------------------------------------------------------------------------------------------------


def _photo_for_staff(actor, photo_id: int) -> CasePhoto:
    photo = CasePhoto.objects.select_related("case").filter(pk=photo_id).first()
    if photo is None:

        raise PhotoNotFound()
    selectors.case_staff_get(actor=actor, number=photo.case.number)  # scope (403 outside)
    return photo


@router.post("/photos/{photo_id}/approve", response=S.CasePhotoOut,
             summary="Publish a photo, with blurred rectangles (dispatcher)")
def photo_approve(request: HttpRequest, photo_id: int, payload: S.PhotoApproveIn):
    actor = request.auth
    permissions.require(actor, "reports.dispatch")
    photo = _photo_for_staff(actor, photo_id)
    photo = services.case_photo_approve(actor=actor, photo=photo, redactions=payload.redactions)
    return _photo_out(photo)


@router.post("/photos/{photo_id}/unpublish", response=S.CasePhotoOut, summary="Withdraw a published photo (dispatcher)")
def photo_unpublish(request: HttpRequest, photo_id: int):
    actor = request.auth
    permissions.require(actor, "reports.dispatch")
    photo = _photo_for_staff(actor, photo_id)
    return _photo_out(services.case_photo_unpublish(actor=actor, photo=photo))


# ---- setup: calendars, departments, reply templates -----------------------------------------------------


def _jurisdiction(code: str, field: str = "jurisdiction"):

    return jurisdiction_get(code=code, field=field)


def _calendar_out(node) -> dict:
    cal = selectors.calendar_get(jurisdiction=node)
    return {"jurisdiction": _ref(node), "source": cal.get("source"), "own": bool(cal.get("own")),
            "hours": cal.get("hours") or {}, "days": list(cal.get("days") or [])}


@router.get("/calendars/{jurisdiction}", response=S.CalendarOut, summary="Working calendar of a jurisdiction (staff)")
def calendar_get(request: HttpRequest, jurisdiction: str):
    actor = request.auth
    permissions.require(actor, "reports.view")
    node = _jurisdiction(jurisdiction)
    # inside the actor's scope, or above it (a community runs on its district's calendar)
    if not any(node.path.startswith(p) or p.startswith(node.path)
               for p in permissions.scope_paths(actor, "reports.view")):

        raise OutOfJurisdiction()
    return _calendar_out(node)


@router.put("/calendars/{jurisdiction}", response=S.CalendarOut,
            summary="Set working hours and holidays (district/city admin)")
def calendar_set(request: HttpRequest, jurisdiction: str, payload: S.CalendarIn):
    actor = request.auth
    permissions.require(actor, "reports.configure")
    node = _jurisdiction(jurisdiction)
    permissions.require(actor, "reports.configure", node)
    services.calendar_set(actor=actor, jurisdiction=node, hours=payload.hours, days=payload.days)
    return _calendar_out(node)


def _department_out(d: Department) -> dict:
    return {"id": d.pk, "code": d.code, "name": d.name, "name_en": d.name_en, "phone": d.phone,
            "jurisdiction": _ref(d.jurisdiction), "active": d.active,
            "members": [_user_ref(u) for u in d.members.all()]}


@router.get("/departments", response=S.DepartmentListOut, summary="Departments in my jurisdiction (staff)")
def department_list(request: HttpRequest):
    actor = request.auth
    permissions.require(actor, "reports.view")
    qs = selectors.department_list(actor=actor)
    items = [_department_out(d) for d in qs.select_related("jurisdiction").prefetch_related("members")]
    return {"items": items, "count": len(items)}


@router.post("/departments", response={201: S.DepartmentOut}, summary="Add a department (district/city admin)")
def department_create(request: HttpRequest, payload: S.DepartmentIn):
    actor = request.auth
    permissions.require(actor, "reports.configure")
    node = _jurisdiction(payload.jurisdiction)
    dept = services.department_create(actor=actor, jurisdiction=node, code=payload.code, name=payload.name,
                                      name_en=payload.name_en, phone=payload.phone)
    return Status(201, _department_out(dept))


def _template_out(t) -> dict:
    return {"id": t.pk, "jurisdiction": t.jurisdiction.code if t.jurisdiction_id else None, "action": t.action,
            "title": t.title, "text": t.text, "text_en": t.text_en}


@router.get("/reply-templates", response=S.ReplyTemplateListOut, summary="Canned replies for an action (staff)")
def reply_template_list(request: HttpRequest, action: str = ""):
    actor = request.auth
    permissions.require(actor, "reports.view")
    if action not in CaseAction.values:

        raise UnknownAction()
    items = [_template_out(t) for t in selectors.reply_templates_for(actor=actor, action=action)]
    return {"items": items, "count": len(items)}


@router.post("/reply-templates", response={201: S.ReplyTemplateOut, 200: S.ReplyTemplateOut},
             summary="Add or edit a canned reply (district/city admin)")
def reply_template_save(request: HttpRequest, payload: S.ReplyTemplateIn):

    actor = request.auth
    permissions.require(actor, "reports.configure")
    template = None
    if payload.id is not None:
        template = ReplyTemplate.objects.filter(pk=payload.id).first()
        if template is None:

            raise NotFound(field="id")
    node = _jurisdiction(payload.jurisdiction) if payload.jurisdiction else None
    saved = services.reply_template_save(actor=actor, template=template, jurisdiction=node, action=payload.action,
                                         title=payload.title, text=payload.text, text_en=payload.text_en)
    return Status(200 if template else 201, _template_out(saved))


# ---- figures --------------------------------------------------------------------------------------------------


def _figures(request: HttpRequest, params: S.FiguresQuery) -> dict:


    actor = request.auth
    permissions.require(actor, "reports.figures")
    tz = SHANGHAI
    since = datetime.combine(params.since, time.min, tzinfo=tz) if params.since else None
    until = datetime.combine(params.until, time.max, tzinfo=tz) if params.until else None
    return case_figures(actor=actor, since=since, until=until, jurisdiction=params.jurisdiction or None)


@router.get("/figures", response=dict[str, Any], summary="Times to accept/dispatch/handle/close, overdue and "
            "reopen rates, satisfaction per department and category (admin)")
def figures(request: HttpRequest, params: Query[S.FiguresQuery]):
    return _figures(request, params)


@router.get("/figures.xlsx", summary="The figures as an Excel workbook (admin)")
def figures_xlsx(request: HttpRequest, params: Query[S.FiguresQuery]):


    actor = request.auth
    permissions.require(actor, "reports.figures")
    tz = SHANGHAI
    since = datetime.combine(params.since, time.min, tzinfo=tz) if params.since else None
    until = datetime.combine(params.until, time.max, tzinfo=tz) if params.until else None
    # the export service writes the EXPORT audit row in the same transaction
    _, data = case_figures_export(actor=actor, since=since, until=until, jurisdiction=params.jurisdiction or None)
    resp = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = 'attachment; filename="case-figures.xlsx"'
    return resp


# ---- Open311 clients ----------------------------------------------------------------------------------------------


def _client_out(c: Open311Client) -> dict:
    return {"id": c.pk, "name": c.name, "prefix": c.prefix, "created_at": c.created_at,
            "last_used_at": c.last_used_at, "revoked_at": c.revoked_at}


@router.get("/open311-clients", response=S.Open311ClientListOut, summary="Open311 client keys (district/city admin)")
def open311_client_list(request: HttpRequest):
    items = [_client_out(c) for c in services.open311_client_list(actor=request.auth)]
    return {"items": items, "count": len(items)}


@router.post("/open311-clients", response={201: S.Open311ClientCreatedOut},
             summary="Create an Open311 client key; the key is shown once (district/city admin)")
def open311_client_create(request: HttpRequest, payload: S.Open311ClientIn):
    client, raw = services.open311_client_create(actor=request.auth, name=payload.name)
    return Status(201, {**_client_out(client), "key": raw})


@router.post("/open311-clients/{client_id}/revoke", response=S.Open311ClientOut,
             summary="Revoke an Open311 client key: its requests get 403 (district/city admin)")
def open311_client_revoke(request: HttpRequest, client_id: int):

    actor = request.auth
    permissions.require(actor, "reports.configure")
    client = Open311Client.objects.filter(pk=client_id).first()
    if client is None:
        raise E.Open311ClientNotFound()
    return _client_out(services.open311_client_revoke(actor=actor, client=client))


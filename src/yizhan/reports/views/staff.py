"""Staff pages of the reports app.

* /work/      the grid worker's / department handler's phone inbox and case page
              (签收, 进展, 处置完毕 with an after-photo, 退单, 申请延期);
* /dispatch/  the community / street dispatch console on a desktop: the queue by
              deadline with filters, bulk dispatch, the case page with every allowed
              action, reply templates, merging duplicates and photo moderation.

Thin on purpose: parse the form -> call the selector/service -> render. The actions a
page offers are exactly ``selectors.case_actions_for``; a service's ``AppError`` goes
beside its field with what was typed kept; a transition someone else made first shows
the message and the case as it is now.
"""

from __future__ import annotations

import mimetypes

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from yizhan.accounts.models import RoleGrant
from yizhan.core import maps, pages, permissions
from yizhan.core.errors import (
    AppError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from yizhan.core.forms import add_app_error
from yizhan.core.geo import wgs84_to_gcj02
from yizhan.core.pages import STAFF_LOGIN
from yizhan.core.pii import mask_phone
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.jurisdictions.selectors import ancestor_paths
from yizhan.reports import calendar as cal
from yizhan.reports import selectors, services
from yizhan.reports import staff_forms as f
from yizhan.reports.choices import CaseAction, CaseState, ExtensionState
from yizhan.reports.errors import MergeTargetMissing
from yizhan.reports.forms import details_labelled, localized_name
from yizhan.reports.models import OPEN_STATES, Case, CasePhoto, Department, DepartmentMember
from yizhan.reports.selectors.setup import category_effective
from yizhan.reports.workflow import actions_from, stage_is_natural

HANDLE_PERM = "reports.handle"
DISPATCH_PERM = "reports.dispatch"
# The order actions are offered in (the most likely first).
ACTION_ORDER = [a.value for a in f.STAFF_ACTIONS]
# What a handler sees first on the phone.
WORK_ORDER = ["start", "handle", "progress", "request_extension", "return"]
# A service field name -> the action form's field.
FIELD_MAP = {"photo": "photos", "reason": "note", "department_code": "department", "rating": "note"}


# ---------------------------------------------------------------- helpers


_lang = pages.active_lang
_is_htmx = pages.is_htmx


def staff_page(perm: str):
    """Log in first; the user must hold ``perm`` somewhere; AppErrors become a page."""
    back = "reports:console" if perm == DISPATCH_PERM else "reports:work_inbox"
    return pages.app_errors(template="reports/staff/error.html", login_url=STAFF_LOGIN, perm=perm,
                            lang=pages.active_lang, context=lambda: {"back": reverse(back)})


def time_left(due, now=None, *, working_minutes: float | None = None) -> dict | None:
    """{"overdue": bool, "text": "剩 2 小时 5 分" / "超时 1 天 3 小时"} for a stage deadline.
    ``working_minutes``: the working time left (negative: late) on a working-clock stage,
    shown as hours of working time (no days: a working day is not 24 hours)."""
    if not due:
        return None
    now = now or timezone.now()
    working = working_minutes is not None
    secs = working_minutes * 60 if working else (due - now).total_seconds()
    overdue = secs < 0 if working else due < now
    mins = int(abs(secs) // 60)
    days, rest = divmod(mins, 60 * 24)
    if working:
        days, rest = 0, mins
    hours, minutes = divmod(rest, 60)
    if days:
        span = _("%(d)s 天 %(h)s 小时") % {"d": days, "h": hours}
    elif hours:
        span = _("%(h)s 小时 %(m)s 分") % {"h": hours, "m": minutes}
    else:
        span = _("%(m)s 分钟") % {"m": minutes}
    text = (_("超时 %(span)s") if overdue else _("剩 %(span)s")) % {"span": span}
    if working:
        text = _("%(text)s（工作时间）") % {"text": text}
    return {"overdue": overdue, "text": text, "soon": not overdue and secs < 3600, "working": working}


def case_time_left(case, now=None, specs: dict | None = None) -> dict | None:
    """Time left in the case's stage on the stage's own clock: working time on the
    district's calendar for working-clock stages, natural time otherwise."""
    if case.state not in OPEN_STATES or not case.stage_due_at:
        return None
    now = now or timezone.now()
    # the category as it applies in the case's district (urgency and clock may be overridden there),
    # so the page counts on the clock the deadline was set on (services.cases.clocks._clock_of)
    cat = category_effective(category=case.category, jurisdiction=case.jurisdiction)
    if stage_is_natural(case.state, clock=cat.clock, is_hazard=cat.is_hazard,
                        urgency=case.urgency if case.urgency != "normal" else cat.urgency):
        return time_left(case.stage_due_at, now)
    specs = {} if specs is None else specs
    key = case.jurisdiction.path
    try:
        if key not in specs:
            specs[key] = cal.calendar_spec_for(jurisdiction=case.jurisdiction)
        due = case.stage_due_at
        if due >= now:
            minutes = cal.working_minutes_between(spec=specs[key], start=now, end=due)
        else:
            minutes = -cal.working_minutes_between(spec=specs[key], start=due, end=now)
            minutes = min(minutes, -1 / 60)  # late outside working hours still reads as late
    except ValueError:
        return time_left(case.stage_due_at, now)
    return time_left(case.stage_due_at, now, working_minutes=minutes)


def _annotate(cases, now=None):
    now = now or timezone.now()
    specs: dict = {}
    for c in cases:
        c.left = case_time_left(c, now, specs)
    return cases


PAGE_SIZE = 50


def _page(request, qs):
    """One page of a queue (``?page=``), with the query string of the other parameters."""
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return page, params.urlencode()


def _by_deadline(qs):
    return qs.order_by(F("stage_due_at").asc(nulls_last=True), "submitted_at", "id")


def _map_config(cases, *, url_name: str, **extra) -> dict:
    lat, lng = settings.YIZHAN_DEFAULT_CENTER
    markers = [{"code": c.number, "name": f"{c.number} {c.category.name}", "lat": c.lat, "lng": c.lng,
                "open": not (c.left and c.left["overdue"]), "url": reverse(f"reports:{url_name}", args=[c.number])}
               for c in cases]
    cfg = {"tiles": maps.tile_settings(), "center": [lat, lng], "markers": markers}
    cfg.update(extra)
    return cfg


def _departments(user) -> list[Department]:
    """Active departments a dispatcher may send work to (in scope and above it)."""
    return list(selectors.department_list(actor=user, active_only=True).order_by("jurisdiction__path", "code"))


def _assignees(case, departments) -> list[tuple]:
    """(user, label) of the people a case can be given to: the grid workers whose grid
    covers the case and the members of the departments offered."""
    above = ancestor_paths(case.jurisdiction.path)  # the node and its ancestors
    seen, out = set(), []
    grants = (RoleGrant.objects.filter(role="grid_worker", jurisdiction__path__in=above)
              .select_related("user", "jurisdiction").order_by("-jurisdiction__depth", "user__username"))
    for g in grants:
        if g.user_id not in seen and g.user.is_active:
            seen.add(g.user_id)
            out.append((g.user, f"{_('网格员')} · {g.user} ({g.jurisdiction.name})"))
    ids = [d.pk for d in departments]
    for m in DepartmentMember.objects.filter(department_id__in=ids).select_related("user", "department"):
        if m.user_id not in seen and m.user.is_active:
            seen.add(m.user_id)
            out.append((m.user, f"{m.department} · {m.user}"))
    return out


def _templates(user, action) -> list:
    try:
        return list(selectors.reply_templates_for(actor=user, action=action))
    except (AttributeError, AppError):
        return []


def _allowed_actions(user, case, *, order) -> list[str]:
    allowed = set(selectors.case_actions_for(actor=user, case=case)) & set(ACTION_ORDER)
    ordered = [a for a in order if a in allowed]
    return ordered + [a for a in ACTION_ORDER if a in allowed and a not in ordered]


def _duplicates(case) -> list[Case]:
    try:
        dups = selectors.case_duplicates(category=case.category.code, lat=case.lat, lng=case.lng,
                                         radius_m=200, exclude_id=case.pk)
    except (AttributeError, AppError):
        return []
    return [d for d in dups if d.pk != case.pk][:10]


def _reporter(case) -> dict:
    """Who reported it, with the phone masked (the read is audited by case_staff_get)."""
    user = case.reporter
    name = case.contact_name or (str(user) if user else "")
    phone = case.contact_phone or (getattr(user, "phone", "") if user else "")
    return {"name": name or _("（未留姓名）"), "phone": mask_phone(phone), "email": case.contact_email,
            "anonymous": case.is_anonymous, "source": case.get_source_display()}


def _timeline(case) -> list:
    events = list(selectors.case_timeline(case=case))
    labels = dict(CaseState.choices)
    # names in the active language: the escalation's jurisdiction, the dispatch's department
    places = {e.data.get("to") for e in events if e.action == CaseAction.ESCALATE and e.data.get("to")}
    place_names = {j.code: localized_name(j) for j in Jurisdiction.objects.filter(code__in=places)} if places else {}
    depts = {e.data.get("department") for e in events if e.data.get("department_name")}
    dept_names = {}
    if depts:
        for d in Department.objects.filter(code__in=depts).only("code", "name", "name_en"):
            dept_names[(d.code, d.name)] = localized_name(d)
    for e in events:
        e.shown_photos = list(e.photos.all()) if hasattr(e, "photos") else []
        e.who = e.actor_label or (str(e.actor) if e.actor_id else _("系统"))
        e.from_label = labels.get(e.from_state, "")
        e.to_label = labels.get(e.to_state, "")
        if e.data.get("department_name"):
            e.department_label = dept_names.get((e.data.get("department"), e.data["department_name"]),
                                                e.data["department_name"])
        if e.action == CaseAction.ESCALATE and e.data.get("to"):
            # the clock's own note mixes both languages: say it in the active one instead
            e.escalated_to = place_names.get(e.data["to"], e.data.get("to_name") or e.data["to"])
            e.escalation_level = e.data.get("level")
            e.system_note = not e.actor_id
    return events


def _action_forms(request, case, actions, *, bound=None, departments=None):
    """One form per allowed action; ``bound`` = (action, form) with errors kept."""
    forms_ = []
    b_action, b_form = bound or (None, None)
    needs_people = {CaseAction.DISPATCH, CaseAction.TRANSFER} & set(actions)
    if needs_people and departments is None:
        departments = _departments(request.user)
    departments = departments or []
    assignees = _assignees(case, departments) if needs_people else []
    for a in actions:
        templates = _templates(request.user, a)
        if a == b_action:
            form = b_form
        else:
            form = f.CaseActionForm(action=a, departments=departments, assignees=assignees,
                                    templates=templates, prefix=a)
        forms_.append({"action": a, "label": CaseAction(a).label, "form": form, "templates": templates,
                       "reason": a in f.NOTE_REQUIRED, "photo": a in f.PHOTO_ACTIONS,
                       "open": a == b_action})
    return forms_


def _case_context(request, case, *, page: str, bound=None, conflict=None):
    order = WORK_ORDER if page == "work" else ACTION_ORDER
    actions = _allowed_actions(request.user, case, order=order)
    departments = _departments(request.user) if page == "console" else None
    glat, glng = wgs84_to_gcj02(case.lat, case.lng)  # AutoNavi (高德) takes GCJ-02
    ctx = {
        "case": case, "page": page, "timeline": _timeline(case),
        "details": details_labelled(case),
        "amap_url": f"https://uri.amap.com/marker?position={glng:.6f},{glat:.6f}&name={case.number}&callnative=1",
        "photos": list(case.photos.all()),
        "left": case_time_left(case),
        "action_forms": _action_forms(request, case, actions, bound=bound, departments=departments),
        "reporter": _reporter(case),
        "conflict": conflict,
        "pending_extension": case.extension_requests.filter(state=ExtensionState.PENDING).first(),
        "act_url": "reports:work_act" if page == "work" else "reports:console_act",
        "photo_url": "reports:work_photo" if page == "work" else "reports:console_photo",
        "can_dispatch": permissions.can(request.user, DISPATCH_PERM, case.jurisdiction),
        "can_handle": permissions.can(request.user, HANDLE_PERM, case.jurisdiction),
        "map_config": _map_config([], url_name="work_case", center=[case.lat, case.lng], zoom=16,
                                  markers=[{"code": case.number, "name": case.number, "lat": case.lat,
                                            "lng": case.lng, "open": True}]),
    }
    if page == "console":
        ctx["duplicates"] = _duplicates(case) if CaseAction.MERGE in actions else []
        ctx["grid"] = range(f.GRID)
    return ctx


def _render_case(request, case, *, page: str, bound=None, conflict=None, status=200):
    ctx = _case_context(request, case, page=page, bound=bound, conflict=conflict)
    if _is_htmx(request):
        # htmx swaps only 2xx answers: the fragment with the message, as a 200.
        return render(request, "reports/staff/_case_main.html", ctx)
    template = "reports/staff/work_case.html" if page == "work" else "reports/staff/console_case.html"
    return render(request, template, ctx, status=status)


def _act(request, number, action, *, page: str):
    case = selectors.case_staff_get(actor=request.user, number=number)
    if action not in ACTION_ORDER:
        raise NotFound()
    if action not in selectors.case_actions_for(actor=request.user, case=case):
        # Not allowed to this person in any state -> 403; not allowed in the case's
        # current state (someone else acted first) -> the message and the fresh case.
        if action in actions_from(case.state):
            raise PermissionDenied()
        conflict = InvalidTransition((
            "当前状态不允许此操作（可能已有他人处理），请查看最新状态",
            "This action is no longer allowed (someone may have acted first); here is the case as it is now"))
        return _render_case(request, case, page=page, conflict=conflict.text(_lang()), status=409)
    departments = _departments(request.user) if action in (CaseAction.DISPATCH, CaseAction.TRANSFER) else []
    assignees = _assignees(case, departments) if departments else []
    templates = _templates(request.user, action)
    form = f.CaseActionForm(request.POST, request.FILES, action=action, departments=departments,
                            assignees=assignees, templates=templates, prefix=action)
    if form.is_valid():
        kw = form.service_kwargs()
        cd = form.cleaned_data
        if action in (CaseAction.DISPATCH, CaseAction.TRANSFER):
            kw["department"] = next((d for d in departments if d.pk == cd.get("department")), None)
            kw["assignee"] = next((u for u, _label in assignees if u.pk == cd.get("assignee")), None)
        try:
            if action == CaseAction.MERGE:
                try:
                    into = selectors.case_staff_get(actor=request.user, number=cd["into"].strip())
                except (NotFound, PermissionDenied):
                    raise MergeTargetMissing() from None
                services.case_merge(actor=request.user, case=case, into=into, note=kw["note"],
                                    public_reply=kw.get("public_reply", ""))
            else:
                services.case_act(actor=request.user, case=case, action=action, **kw)
        except InvalidTransition as err:
            # Someone else acted first (or the state moved on): the message and the fresh case.
            case = selectors.case_staff_get(actor=request.user, number=number)
            return _render_case(request, case, page=page, conflict=err.text(_lang()), status=409)
        except PermissionDenied:
            raise
        except AppError as err:
            add_app_error(form, err, field_map=FIELD_MAP)
        else:
            messages.success(request, _("已办理：%(action)s") % {"action": CaseAction(action).label})
            url_name = "reports:work_case" if page == "work" else "reports:console_case"
            if action == CaseAction.MERGE:
                return redirect(url_name, number=cd["into"].strip())
            if _is_htmx(request):
                case = selectors.case_staff_get(actor=request.user, number=number)
                return _render_case(request, case, page=page)
            return redirect(url_name, number=number)
    return _render_case(request, case, page=page, bound=(action, form), status=400)


def _photo_response(request, photo_id):
    photo = CasePhoto.objects.select_related("case__jurisdiction").filter(pk=photo_id).first()
    if photo is None or not photo.image:
        raise NotFound()
    permissions.require(request.user, "reports.view", photo.case.jurisdiction)
    which = photo.public_image if request.GET.get("public") and photo.public_image else photo.image
    try:
        fh = which.open("rb")
    except (FileNotFoundError, OSError):
        raise NotFound() from None
    resp = FileResponse(fh, content_type=mimetypes.guess_type(which.name)[0] or "application/octet-stream")
    resp["Cache-Control"] = "private, max-age=3600"
    return resp


# ---------------------------------------------------------------- /work/


@require_GET
@staff_page(HANDLE_PERM)
def work_inbox(request):
    qs = _by_deadline(selectors.case_inbox(actor=request.user).select_related("category", "jurisdiction"))
    page, page_qs = _page(request, qs)
    cases = _annotate(list(page.object_list))
    return render(request, "reports/staff/inbox.html", {
        "cases": cases, "page_obj": page, "page_qs": page_qs, "total": page.paginator.count,
        "overdue": qs.filter(stage_due_at__lte=timezone.now()).count(),
        "show_map": request.GET.get("view") == "map",
        "map_config": _map_config(cases, url_name="work_case"),
    })


@require_GET
@staff_page(HANDLE_PERM)
def work_case(request, number):
    case = selectors.case_staff_get(actor=request.user, number=number)
    return _render_case(request, case, page="work")


@require_POST
@staff_page(HANDLE_PERM)
def work_act(request, number, action):
    return _act(request, number, action, page="work")


@require_GET
@staff_page("reports.view")
def work_photo(request, photo_id):
    return _photo_response(request, photo_id)


# ---------------------------------------------------------------- /dispatch/


def _queue_context(request, *, data=None):
    user = request.user
    categories = list(selectors.category_list())
    jurisdictions = list(permissions.restrict(Jurisdiction.objects.all(), user, "reports.view", path_field="path")
                         .filter(level__in=["street", "community", "grid"]).order_by("path"))
    departments = _departments(user)
    form = f.QueueFilterForm(data if data is not None else (request.GET or None), categories=categories,
                             jurisdictions=jurisdictions, departments=departments)
    filters: dict = {}
    if form.is_bound and form.is_valid():
        cd = form.cleaned_data
        for k in ("q", "category", "jurisdiction", "department"):
            if cd.get(k):
                filters[k] = cd[k].strip() if k == "q" else cd[k]
        if cd.get("overdue"):
            filters["overdue"] = True
        state = cd.get("state") or ""
        if state and state != "all":
            filters["state"] = state
    if "state" not in filters and not (form.is_bound and form.cleaned_data.get("state") == "all"):
        filters["state"] = [*OPEN_STATES, CaseState.PARKED]
    if "department" in filters:
        filters["department"] = int(filters["department"])
    qs = _by_deadline(selectors.case_staff_list(actor=user, filters=filters)
                      .select_related("category", "jurisdiction", "department", "assignee"))
    page, page_qs = _page(request, qs)
    cases = _annotate(list(page.object_list))
    return {"form": form, "cases": cases, "total": page.paginator.count, "departments": departments,
            "filters_qs": request.GET.urlencode(), "page_obj": page, "page_qs": page_qs}


@require_GET
@staff_page(DISPATCH_PERM)
def console(request):
    ctx = _queue_context(request)
    if _is_htmx(request) and request.headers.get("HX-Target") == "queue":
        return render(request, "reports/staff/_queue.html", ctx)
    return render(request, "reports/staff/console.html", ctx)


@require_POST
@staff_page(DISPATCH_PERM)
def console_bulk(request):
    numbers = request.POST.getlist("cases")
    departments = _departments(request.user)
    form = f.BulkDispatchForm(request.POST, numbers=numbers, departments=departments)
    if form.is_valid():
        cd = form.cleaned_data
        found = {c.number: c for c in selectors.case_staff_list(actor=request.user).filter(number__in=cd["cases"])}
        missing = [n for n in cd["cases"] if n not in found]
        if missing:
            form.add_error("cases", _("找不到这些案件（或不在您的辖区）：%(n)s") % {"n": "、".join(missing)})
        else:
            dept = next((d for d in departments if d.pk == cd.get("department")), None)
            try:
                done = services.case_bulk_dispatch(actor=request.user, cases=[found[n] for n in cd["cases"]],
                                                   department=dept, note=cd.get("note") or "")
            except AppError as err:
                which = getattr(err, "case_number", "")
                msg = err.text(_lang())
                form.add_error(None, _("全部未派遣（案件 %(n)s：%(msg)s）") % {"n": which, "msg": msg} if which
                               else _("全部未派遣：%(msg)s") % {"msg": msg})
            else:
                messages.success(request, _("已派遣 %(n)s 件案件") % {"n": len(done)})
                back = request.POST.get("back") or ""
                return redirect(reverse("reports:console") + (f"?{back}" if back and "//" not in back else ""))
    from django.http import QueryDict

    ctx = _queue_context(request, data=QueryDict(request.POST.get("back") or "") or None)
    ctx.update(bulk_form=form, checked=set(numbers))
    return render(request, "reports/staff/console.html", ctx, status=400)


@require_GET
@staff_page(DISPATCH_PERM)
def console_case(request, number):
    case = selectors.case_staff_get(actor=request.user, number=number)
    return _render_case(request, case, page="console")


@require_POST
@staff_page(DISPATCH_PERM)
def console_act(request, number, action):
    return _act(request, number, action, page="console")


@require_GET
@staff_page("reports.view")
def console_photo(request, photo_id):
    return _photo_response(request, photo_id)


def _console_photo(request, photo_id):
    photo = CasePhoto.objects.select_related("case").filter(pk=photo_id).first()
    if photo is None:
        raise NotFound()
    case = selectors.case_staff_get(actor=request.user, number=photo.case.number)
    permissions.require(request.user, DISPATCH_PERM, case.jurisdiction)
    return photo, case


@require_POST
@staff_page(DISPATCH_PERM)
def console_photo_approve(request, photo_id):
    photo, case = _console_photo(request, photo_id)
    form = f.PhotoApproveForm(request.POST)
    if form.is_valid():
        try:
            services.case_photo_approve(actor=request.user, photo=photo, redactions=form.cleaned_data["redactions"])
        except AppError as err:
            messages.error(request, err.text(_lang()))
        else:
            n = len(form.cleaned_data["redactions"])
            messages.success(request, _("照片已公开（遮挡 %(n)s 处）") % {"n": n})
            return redirect(reverse("reports:console_case", args=[case.number]) + f"#photo-{photo.pk}")
    else:
        for e in form.non_field_errors():
            messages.error(request, e)
    return redirect(reverse("reports:console_case", args=[case.number]) + f"#photo-{photo.pk}")


@require_POST
@staff_page(DISPATCH_PERM)
def console_photo_unpublish(request, photo_id):
    photo, case = _console_photo(request, photo_id)
    services.case_photo_unpublish(actor=request.user, photo=photo)
    messages.success(request, _("照片已取消公开"))
    return redirect(reverse("reports:console_case", args=[case.number]) + f"#photo-{photo.pk}")


urlpatterns = [
    path("work/", work_inbox, name="work_inbox"),
    path("work/c/<str:number>/", work_case, name="work_case"),
    path("work/c/<str:number>/act/<slug:action>/", work_act, name="work_act"),
    path("work/photos/<int:photo_id>/", work_photo, name="work_photo"),
    path("dispatch/", console, name="console"),
    path("dispatch/bulk/", console_bulk, name="console_bulk"),
    path("dispatch/c/<str:number>/", console_case, name="console_case"),
    path("dispatch/c/<str:number>/act/<slug:action>/", console_act, name="console_act"),
    path("dispatch/photos/<int:photo_id>/", console_photo, name="console_photo"),
    path("dispatch/photos/<int:photo_id>/approve/", console_photo_approve, name="console_photo_approve"),
    path("dispatch/photos/<int:photo_id>/unpublish/", console_photo_unpublish, name="console_photo_unpublish"),
]

"""Public and reporter pages of snap-and-report (随手拍): report a problem, the
"already reported?" step, my reports, the public case page (with the reporter's
confirm / not fixed / rate), and the public map and list with counts.

Thin on purpose: parse the form -> call a service/selector -> render. A service's
``AppError`` is shown beside the field it names with everything typed kept.
"""

from __future__ import annotations

import datetime as dt
import mimetypes

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from yizhan.core import maps, pages
from yizhan.core.errors import AppError, NotAuthenticated, NotFound
from yizhan.core.pages import WORKER_LOGIN
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.reports import forms as f
from yizhan.reports import selectors, services
from yizhan.reports.choices import CaseState, PhotoStage
from yizhan.reports.models import Case, CasePhoto

PUBLIC_STATES = [(s.value, s.label) for s in CaseState if s not in (CaseState.MERGED, CaseState.REJECTED)]


# ---------------------------------------------------------------- helpers


_lang = pages.request_lang
_is_htmx = pages.is_htmx


def _to_login(request):
    return pages.to_login(request, WORKER_LOGIN)


def _error_page(request, err: AppError):
    return pages.error_page(request, err, template="reports/public/error.html")


def app_errors(*, login: bool = False):
    """Render uncaught AppErrors as a page; send anonymous users to the phone login."""
    return pages.app_errors(template="reports/public/error.html", login_url=WORKER_LOGIN if login else None,
                            fallback_login=WORKER_LOGIN)


def _tile_settings() -> dict:
    return maps.tile_settings()


def _map_config(**extra) -> dict:
    lat, lng = settings.YIZHAN_DEFAULT_CENTER
    cfg = {"tiles": _tile_settings(), "center": [lat, lng]}
    cfg.update({k: v for k, v in extra.items() if v is not None})
    return cfg


def _places():
    """Streets and communities with a centre: the keyboard / no-location way to place a pin."""
    return list(
        Jurisdiction.objects.filter(level__in=["street", "community"], center_lat__isnull=False)
        .only("code", "name", "name_en", "level", "center_lat", "center_lng", "depth", "path")
        .order_by("path")[:500]
    )


def _name(obj, lang: str, field: str = "name") -> str:
    if obj is None:
        return ""
    if isinstance(obj, dict):
        en = obj.get(f"{field}_en")
        return en if lang.startswith("en") and en else obj.get(field, "")
    en = getattr(obj, f"{field}_en", "")
    return en if lang.startswith("en") and en else getattr(obj, field, "")


def _categories():
    return list(selectors.category_list(active_only=True))


COMMON_COUNT = 6
COMMON_DAYS = 30


def _common_codes(categories) -> list[str]:
    """The categories people report most (last 30 days, at least one case), topped up
    with the hazards in taxonomy order: the picker's first group."""


    active = {c.code for c in categories}
    since = timezone.now() - dt.timedelta(days=COMMON_DAYS)
    rows = (Case.objects.filter(submitted_at__gte=since, category__code__in=active)
            .values("category__code").annotate(n=Count("id")).order_by("-n", "category__code")[:COMMON_COUNT])
    codes = [r["category__code"] for r in rows]
    for c in categories:
        if len(codes) >= COMMON_COUNT:
            break
        if c.is_hazard and c.code not in codes:
            codes.append(c.code)
    return codes


def _category_groups(categories, lang: str) -> list[dict]:
    """Categories for the icon grid: the common ones first, then the rest grouped by kind
    and major class in taxonomy order. Each item carries the words the search box
    matches (both names, keywords, the class)."""
    def item(c):
        words = " ".join([c.name, c.name_en, c.keywords, c.group_name, c.group_name_en]).lower()
        return {"code": c.code, "name": _name(c, lang), "icon": c.icon, "search": words,
                "description": _name(c, lang, "description"), "is_hazard": c.is_hazard}

    common = _common_codes(categories) if len(categories) > COMMON_COUNT else []
    by_code = {c.code: c for c in categories}
    groups: dict[tuple, dict] = {}
    for c in categories:
        if c.code in common:
            continue
        key = (c.kind, c.group)
        if key not in groups:
            groups[key] = {"kind": c.kind, "code": c.group, "name": _name(c, lang, "group_name"), "items": [],
                           "first": c.pk}
        groups[key]["first"] = min(groups[key]["first"], c.pk)
        groups[key]["items"].append(item(c))
    # Classes in the order the taxonomy lists them (loaded in file order), not alphabetically.
    ordered = sorted(groups.values(), key=lambda g: g["first"])
    if common:
        ordered.insert(0, {"kind": "", "code": "common", "name": _("常用"), "common": True,
                           "items": [item(by_code[code]) for code in common]})
    return ordered


def _missing_details(category, details: dict, lang: str) -> dict[str, str]:
    """The category's required extra fields left empty, each with its message."""
    out = {}
    for spec in (getattr(category, "extra_fields", None) or []):
        if isinstance(spec, dict) and spec.get("name") and spec.get("required") and not details.get(spec["name"]):
            label = spec.get("label_en") if lang.startswith("en") and spec.get("label_en") else spec.get("label")
            out[str(spec["name"])] = _("请填写%(label)s") % {"label": label or spec["name"]}
    return out


def _extra_fields(category, lang: str, values: dict | None = None, errors: dict | None = None) -> list[dict]:
    """The category's extra fields, ready for the template (name ``details.<name>``)."""
    out = []
    for spec in (getattr(category, "extra_fields", None) or []):
        if not isinstance(spec, dict) or not spec.get("name"):
            continue
        name = str(spec["name"])
        label = spec.get("label_en") if lang.startswith("en") and spec.get("label_en") else spec.get("label", name)
        choices = spec.get("choices") or spec.get("options") or []
        out.append({
            "name": name, "input_name": f"details.{name}", "id": f"id_details_{name}",
            "label": label, "required": bool(spec.get("required")),
            "type": "number" if spec.get("type") in ("number", "int", "integer") else "text",
            "choices": [c if isinstance(c, (list, tuple)) else (c, c) for c in choices],
            "value": (values or {}).get(name, ""), "error": (errors or {}).get(name, ""),
        })
    return out


def _category_by_code(code: str):
    if not code:
        return None
    try:
        return selectors.category_get(code=code)
    except AppError:
        return None


def _details_from_post(post, category) -> dict:
    details = {}
    for spec in (getattr(category, "extra_fields", None) or []):
        if isinstance(spec, dict) and spec.get("name"):
            value = (post.get(f"details.{spec['name']}") or "").strip()
            if value:
                details[spec["name"]] = value
    return details


def _photo_urls(view: dict) -> list[str]:
    """The approved (public) report photos; handling photos are shown on their timeline line."""
    out = []
    for p in view.get("photos") or []:
        if isinstance(p, dict) and p.get("stage", "report") != "report":
            continue
        url = p.get("url") if isinstance(p, dict) else p
        if url:
            out.append(url)
    return out


def _duplicates(*, category: str, lat, lng, user=None) -> list[dict]:
    if not category or lat is None or lng is None:
        return []
    try:
        cases = selectors.case_duplicates(category=category, lat=lat, lng=lng, radius_m=50)
    except AppError:
        return []
    out = []
    for case in list(cases)[:5]:
        view = selectors.case_public_view(case=case)
        out.append({
            "number": case.number, "state": case.state, "label": case.get_state_display(),
            "submitted_at": case.submitted_at, "description": (case.description or "")[:80],
            "photo": (_photo_urls(view) or [""])[0], "supporters": case.supporter_count,
            "mine": bool(user is not None and user.is_authenticated and case.reporter_id == user.pk),
            "address": case.address, "distance_m": int(round(getattr(case, "distance_m", 0) or 0)),
        })
    return out


# ---------------------------------------------------------------- report


def _new_context(request, form, *, category=None, details=None, detail_errors=None, duplicates=None,
                 photos_lost=False) -> dict:
    lang = _lang(request)
    categories = _categories()
    if category is None and form.is_bound:
        category = _category_by_code(form.data.get("category", ""))
    lat = form.data.get("lat") if form.is_bound else None
    lng = form.data.get("lng") if form.is_bound else None
    point = None
    try:
        if lat not in (None, "") and lng not in (None, ""):
            point = {"lat": float(lat), "lng": float(lng)}
    except (TypeError, ValueError):
        point = None
    location_errors = [*form.errors.get("lat", []), *form.errors.get("lng", [])] if form.is_bound else []
    return {
        "form": form,
        "groups": _category_groups(categories, lang),
        "selected_category": form.data.get("category", "") if form.is_bound else form.initial.get("category", ""),
        "extra_fields": _extra_fields(category, lang, details, detail_errors),
        "places": _places(),
        "duplicates": duplicates,
        "dup_checked": bool(form.is_bound and form.data.get("dup_checked")),
        "location_errors": location_errors,
        "photos_lost": photos_lost,
        "max_text": f.MAX_TEXT,
        "max_photos": f.MAX_PHOTOS,
        "map_config": _map_config(point=point, zoom=17 if point else 14),
    }


def _render_new(request, ctx, *, status=200):
    if _is_htmx(request):
        # htmx swaps only 2xx: the form with the messages beside the fields.
        return render(request, "reports/public/_new_form.html", ctx)
    return render(request, "reports/public/new.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
@app_errors(login=True)
def new(request):
    categories = _categories()
    if request.method == "GET":
        initial = {}
        if request.GET.get("category"):
            initial["category"] = request.GET["category"]
        form = f.ReportForm(initial=initial, categories=categories)
        return render(request, "reports/public/new.html",
                      _new_context(request, form, category=_category_by_code(initial.get("category", ""))))

    post = request.POST
    form = f.ReportForm(post, request.FILES, categories=categories)
    category = _category_by_code(post.get("category", ""))
    details = _details_from_post(post, category)
    detail_errors: dict[str, str] = {}
    photos_sent = bool(request.FILES.getlist("photos"))
    support = (post.get("support") or "").strip()
    if not support:
        # every required extra field is checked even when something else is wrong too:
        # each message beside its field, what was typed kept
        detail_errors = _missing_details(category, details, _lang(request))
    if support:
        try:
            return _support(request, support)
        except NotAuthenticated:
            raise
        except AppError as err:  # the case was closed or merged meanwhile: say so, keep the form
            form.is_valid()
            form.add_error(None, err.text(_lang(request)))
    elif form.is_valid() and not detail_errors:
        d = form.cleaned_data
        lat, lng = d.get("lat"), d.get("lng")
        if (lat is None or lng is None) and d.get("place"):
            for p in _places():
                if p.code == d["place"]:
                    lat, lng = p.center_lat, p.center_lng
                    break
        if lat is None or lng is None:
            form.add_error("lat", _("请用手机定位、在地图上选点或选择所在街道/社区"))
        elif not d.get("dup_checked") and (dups := _duplicates(category=d["category"], lat=lat, lng=lng,
                                                               user=request.user)):
            # The "already reported?" step when the page could not show it before submitting (no JS).
            form.data = form.data.copy()
            form.data["dup_checked"] = "1"
            ctx = _new_context(request, form, category=category, details=details, duplicates=dups,
                               photos_lost=photos_sent and not _is_htmx(request))
            return _render_new(request, ctx)
        else:
            try:
                result = services.case_submit(
                    actor=request.user, category=d["category"], lat=lat, lng=lng,
                    description=d.get("description") or "", details=details, photos=d.get("photos") or [],
                    is_anonymous=bool(d.get("is_anonymous")), address=d.get("address") or "",
                    idempotency_key=d.get("idempotency_key") or "", source="app",
                )
            except NotAuthenticated:
                raise
            except AppError as err:
                if (err.field or "").startswith("details."):
                    detail_errors[err.field.split(".", 1)[1]] = err.text(_lang(request))
                else:
                    f.add_app_error(form, err, _lang(request))
            else:
                case = result.case
                if result.created:
                    messages.success(request, _("已提交，编号 %(n)s。处理进展会通知您。") % {"n": case.number})
                else:
                    messages.info(request, _("这份上报此前已经提交过，编号 %(n)s。") % {"n": case.number})
                return _redirect(request, reverse("reports:case_public", args=[case.number]))
    ctx = _new_context(request, form, category=category, details=details, detail_errors=detail_errors,
                       photos_lost=photos_sent and not _is_htmx(request))
    return _render_new(request, ctx, status=400)


def _support(request, number: str):
    """'Me too' from the duplicates step: the reporter becomes a supporter, no new case."""
    post = request.POST
    services.case_submit(actor=request.user, category=post.get("category", ""), lat=post.get("lat"),
                         lng=post.get("lng"), support=number, source="app")
    messages.success(request, _("已记录“我也遇到”，处理进展会通知您。"))
    return _redirect(request, reverse("reports:case_public", args=[number]))


def _redirect(request, url: str):
    if _is_htmx(request):
        resp = HttpResponse(status=204)
        resp["HX-Redirect"] = url
        return resp
    return redirect(url)


@require_GET
def new_duplicates(request):
    """The "already reported?" step (htmx partial): open cases of this category within 50 m."""
    form = f.PlaceForm(request.GET)
    dups = None
    if form.is_valid():
        d = form.cleaned_data
        if d.get("category") and d.get("lat") is not None and d.get("lng") is not None:
            dups = _duplicates(category=d["category"], lat=d["lat"], lng=d["lng"], user=request.user)
    return render(request, "reports/public/_duplicates.html", {"duplicates": dups})


@require_GET
def new_fields(request):
    """The chosen category's extra fields (htmx partial, swapped in when the category changes)."""
    category = _category_by_code(request.GET.get("category", ""))
    lang = _lang(request)
    return render(request, "reports/public/_extra_fields.html", {
        "extra_fields": _extra_fields(category, lang),
        "category_info": category,
        "category_description": _name(category, lang, "description") if category else "",
    })


# ---------------------------------------------------------------- my reports


def _waiting_for(case) -> str:
    """What the reporter is asked to do now: "confirm" (handled), "rate" (closed), or ""."""
    if case.state == CaseState.HANDLED:
        return "confirm"
    if case.state == CaseState.CLOSED and case.rating is None:
        return "rate"
    return ""


@require_GET
@app_errors(login=True)
def mine(request):
    cases = list(selectors.cases_of_reporter(actor=request.user).select_related("category")[:200])
    lang = _lang(request)
    rows = [{"case": c, "category": _name(c.category, lang), "icon": c.category.icon,
             "label": c.get_state_display(), "waiting": _waiting_for(c)} for c in cases]
    return render(request, "reports/public/mine.html", {
        "rows": rows, "waiting": [r for r in rows if r["waiting"]],
    })


@require_GET
@app_errors(login=True)
def mine_photo(request, photo_id):
    """A reporter's own report-stage photo (the EXIF-free original), only to them and
    never through a public media URL; 404 for anything else."""



    photo = (CasePhoto.objects.filter(pk=photo_id, stage=PhotoStage.REPORT, case__reporter=request.user)
             .exclude(image="").first())
    if photo is None or photo.uploaded_by_id not in (None, request.user.pk):
        raise NotFound()
    try:
        fh = photo.image.open("rb")
    except (FileNotFoundError, OSError):
        raise NotFound() from None
    resp = FileResponse(fh, content_type=mimetypes.guess_type(photo.image.name)[0] or "application/octet-stream")
    resp["Cache-Control"] = "private, max-age=3600"
    return resp


# ---------------------------------------------------------------- case page

STEP_ORDER = [
    ("submitted", gettext_lazy("上报")), ("accepted", gettext_lazy("立案")), ("dispatched", gettext_lazy("派遣")),
    ("handled", gettext_lazy("处置")), ("verified", gettext_lazy("核查")), ("closed", gettext_lazy("结案")),
    ("evaluated", gettext_lazy("评价")),
]
STEP_OF_STATE = {
    "submitted": 0, "accepted": 1, "parked": 1, "returned": 1, "dispatched": 2, "in_progress": 2,
    "handled": 3, "verified": 4, "closed": 5, "evaluated": 6,
}


def _stepper(state: str) -> list[dict]:
    at = STEP_OF_STATE.get(state, 0)
    return [{"key": k, "label": str(label), "done": i < at or (i == at and i == len(STEP_ORDER) - 1),
             "current": i == at} for i, (k, label) in enumerate(STEP_ORDER)]


def _case_for(request, number: str):
    """The reporter sees their own case in any state; everyone else the public one."""
    if request.user.is_authenticated:
        own = selectors.cases_of_reporter(actor=request.user).filter(number=number).first()
        if own is not None:
            return own, True
    return selectors.case_public_get(number=number), False


def _case_context(request, case, is_reporter, *, forms=None) -> dict:
    lang = _lang(request)
    view = selectors.case_public_view(case=case)
    forms = forms or {}
    # What the viewer may do here comes from the transition table (and the 7-day reopen window).
    actions = set(selectors.case_actions_for(actor=request.user, case=case)) if is_reporter else set()
    events = []
    for e in view.get("events") or []:
        if isinstance(e, dict):
            events.append(e)
        else:
            events.append({"action": e.action, "label": e.get_action_display(), "at": e.at, "note": e.note,
                           "to_state": e.to_state})
    return {
        "case": case,
        "view": view,
        "category_name": _name(case.category, lang),
        "category_icon": case.category.icon,
        "state_label": case.get_state_display(),
        "photos": _photo_urls(view),
        # what the handler says it looks like now (approved photos only), shown above "solved?"
        "after_photos": [p["url"] for p in view.get("photos") or []
                         if isinstance(p, dict) and p.get("stage") == "after" and p.get("url")],
        "events": events,
        "steps": _stepper(case.state),
        "is_reporter": is_reporter,
        "reporter_label": _("您") if is_reporter else (view.get("reporter") or _("匿名")),
        "confirm_form": forms.get("confirm") or f.ConfirmForm(prefix="confirm"),
        "reopen_form": forms.get("reopen") or f.ReopenForm(prefix="reopen"),
        "rate_form": forms.get("rate") or f.RateForm(prefix="rate"),
        "can_confirm": "confirm" in actions,
        "can_rate": "evaluate" in actions,
        "can_reopen_closed": "reopen" in actions and case.state != CaseState.HANDLED,
        "open_panel": forms.get("open_panel", ""),
        "action_error": forms.get("action_error", ""),
        "map_config": _map_config(center=[case.lat, case.lng], zoom=17,
                                  markers=[{"code": case.number, "name": _name(case.category, lang),
                                            "lat": case.lat, "lng": case.lng,
                                            "open": case.state in (CaseState.CLOSED, CaseState.EVALUATED)}]),
    }


ACTIONS = {"confirm", "reopen", "evaluate"}


@require_http_methods(["GET", "POST"])
@app_errors()
def case_public(request, number):
    case, is_reporter = _case_for(request, number)
    if request.method == "GET":
        return render(request, "reports/public/case.html", _case_context(request, case, is_reporter))
    if not request.user.is_authenticated:
        return _to_login(request)
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        raise NotFound()
    lang = _lang(request)
    if action == "confirm":
        form = f.ConfirmForm(request.POST, prefix="confirm")
        forms = {"confirm": form, "open_panel": "confirm"}
    elif action == "reopen":
        form = f.ReopenForm(request.POST, prefix="reopen")
        forms = {"reopen": form, "open_panel": "reopen"}
    else:
        form = f.RateForm(request.POST, prefix="rate")
        forms = {"rate": form, "open_panel": "rate"}
    if form.is_valid():
        d = form.cleaned_data
        try:
            if action == "confirm":
                services.case_confirm(actor=request.user, case=case, note=d.get("note") or "")
                messages.success(request, _("谢谢确认！问题已标记为解决。"))
            elif action == "reopen":
                services.case_reopen(actor=request.user, case=case, note=d["note"])
                messages.success(request, _("已退回重新办理，我们会尽快处理。"))
            else:
                services.case_evaluate(actor=request.user, case=case, rating=d["rating"], note=d.get("note") or "")
                messages.success(request, _("感谢您的评价！"))
        except AppError as err:
            if err.status in (403, 409) and err.field is None and not is_reporter:
                return _error_page(request, err)
            if f.FIELD_MAP.get(err.field or "", err.field) in form.fields:
                f.add_app_error(form, err, lang)
            else:
                # e.g. the case moved on meanwhile (a double tap): the form may be gone, say it on top
                forms["action_error"] = err.text(lang)
        else:
            return redirect("reports:case_public", number=case.number)
    case.refresh_from_db()
    status = 409 if forms.get("action_error") else 400
    return render(request, "reports/public/case.html", _case_context(request, case, is_reporter, forms=forms),
                  status=status)


# ---------------------------------------------------------------- public map and list


def _bars(rows: list[dict], key: str = "count") -> list[dict]:
    top = max([r.get(key) or 0 for r in rows] or [0]) or 1
    return [{**r, "pct": round(100 * (r.get(key) or 0) / top, 1)} for r in rows]


@require_GET
@app_errors()
def public_map(request):
    lang = _lang(request)
    categories = _categories()
    form = f.PublicFilterForm(request.GET or None, categories=categories, states=PUBLIC_STATES)
    filters = {}
    if form.is_bound and form.is_valid():
        filters = {k: v for k, v in form.cleaned_data.items() if k in ("category", "state") and v}
    qs = selectors.case_public_list(filters=filters or None).select_related("category")
    page = Paginator(qs, 20).get_page(request.GET.get("page") or 1)
    rows = [{"case": c, "category": _name(c.category, lang), "icon": c.category.icon,
             "label": c.get_state_display()} for c in page.object_list]
    markers = [{"code": c.number, "name": f"{_name(c.category, lang)} · {c.get_state_display()}",
                "lat": c.lat, "lng": c.lng, "state": c.state,
                "done": c.state in (CaseState.CLOSED, CaseState.EVALUATED, CaseState.VERIFIED),
                "url": reverse("reports:case_public", args=[c.number])}
               for c in qs[:300]]
    counts = selectors.case_public_counts()
    names = {c.code: _name(c, lang) for c in categories}
    by_category = [{**r, "name": names.get(r.get("code"), r.get("name", ""))}
                   for r in counts.get("by_category") or [] if r.get("count")]
    query = {k: v for k, v in filters.items()}
    ctx = {
        "form": form, "page": page, "rows": rows, "filters": filters,
        "query": urlencode(query),
        "by_category": _bars(by_category),
        "by_month": _bars(list(counts.get("by_month") or [])),
        "map_config": _map_config(markers=markers, zoom=13),
    }
    if _is_htmx(request):
        return render(request, "reports/public/_public_list.html", ctx)
    return render(request, "reports/public/public_map.html", ctx)


urlpatterns = [
    path("reports/", public_map, name="public_map"),
    path("reports/new/", new, name="new"),
    path("reports/new/duplicates/", new_duplicates, name="new_duplicates"),
    path("reports/new/fields/", new_fields, name="new_fields"),
    path("reports/mine/", mine, name="mine"),
    path("reports/mine/photos/<int:photo_id>/", mine_photo, name="mine_photo"),
    path("reports/c/<str:number>/", case_public, name="case_public"),
]

"""Fire-safety pages: places (/safety/places/), devices (/safety/devices/), the Excel
import and the refused-messages page (/safety/rejects/). Thin: parse the query or
form → selector/service → render; AppErrors become the error page with their status."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yizhan.core import pages, permissions
from yizhan.core.errors import AppError
from yizhan.core.pages import STAFF_LOGIN
from yizhan.safety.choices import DeviceKind, DeviceStatus, IngestChannel, PlaceKind
from yizhan.safety.selectors import devices as device_selectors
from yizhan.safety.selectors import places as selectors
from yizhan.safety.selectors import rejects as reject_selectors
from yizhan.safety.services import imports
from yizhan.safety.services import places as services
from yizhan.safety.services.devices import device_disable
from yizhan.safety.services.imports import DEVICE_COLUMNS, PLACE_COLUMNS

VIEW, MANAGE = "safety.view", "safety.manage"
PAGE = 50
app_errors = pages.app_errors(template="safety/places_error.html", login_url=STAFF_LOGIN, perm=VIEW)
manage_errors = pages.app_errors(template="safety/places_error.html", login_url=STAFF_LOGIN, perm=MANAGE)


def _page(request, qs):
    try:
        number = max(1, min(int(request.GET.get("page", "1")), 100000))
    except ValueError:
        number = 1
    count = qs.count()
    items = list(qs[(number - 1) * PAGE: number * PAGE])
    pages_total = max(1, (count + PAGE - 1) // PAGE)
    query = request.GET.copy()
    query.pop("page", None)
    return {"items": items, "count": count, "number": number, "pages": pages_total,
            "prev": number - 1 if number > 1 else None, "next": number + 1 if number < pages_total else None,
            "query": query.urlencode()}


def _choice(value: str, allowed) -> str:
    return value if value in allowed else ""


@require_GET
@app_errors
def places(request):
    kind = _choice(request.GET.get("kind", ""), PlaceKind.values)
    q = request.GET.get("q", "").strip()[:60]
    active = {"1": True, "0": False}.get(request.GET.get("active", ""))
    qs = selectors.place_list(user=request.user, kind=kind, q=q, active=active)
    return render(request, "safety/places.html", {
        "page": _page(request, qs), "kinds": PlaceKind.choices, "kind": kind, "q": q,
        "active": request.GET.get("active", ""), "can_manage": permissions.has_perm_anywhere(request.user, MANAGE),
    })


@require_GET
@app_errors
def place_detail(request, place_id: int):
    place = selectors.place_get(user=request.user, place_id=place_id)
    devices = list(device_selectors.device_list(user=request.user, place=place)[:500])
    alarms = device_selectors.open_alarm_kinds(devices)
    rows = [{"device": d, "alarms": alarms.get(d.pk, [])} for d in devices]
    view = selectors.place_view(place, user=request.user)
    counts = device_selectors.device_status_counts(user=request.user, place=place)
    return render(request, "safety/place_detail.html", {
        "place": place, "view": view, "rows": rows, "children": place.children.order_by("code")[:100],
        "counts": [(s, label, counts.get(s, 0)) for s, label in DeviceStatus.choices],
        "can_manage": permissions.can(request.user, MANAGE, place.jurisdiction),
        "inspections": place.inspections.order_by("-inspected_at")[:10],
    })


@require_POST
@manage_errors
def place_toggle(request, place_id: int):
    place = selectors.place_get(user=request.user, place_id=place_id)
    active = request.POST.get("active") == "1"
    services.place_disable(actor=request.user, place=place, active=active)
    messages.success(request, _("已启用该场所") if active else _("已停用该场所及其设备"))
    return redirect("safety:place_detail", place_id=place.pk)


@require_http_methods(["GET", "POST"])
@manage_errors
def places_import(request):
    report, error, status = None, None, 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error, status = _("请选择要上传的 .xlsx 文件"), 400
        else:
            try:
                report = imports.safety_import(actor=request.user, file_name=upload.name,
                                               content=upload.read(imports.MAX_BYTES + 1),
                                               dry_run=request.POST.get("dry_run") == "1")
            except AppError as err:
                error, status = err.text(pages.request_lang(request)), 400
            else:
                status = 200 if report.ok else 400
                if report.ok and not report.dry_run:
                    messages.success(request, _("导入完成：场所新建 %(pc)s、更新 %(pu)s；设备新建 %(dc)s、更新 %(du)s") % {
                        "pc": report.places_created, "pu": report.places_updated,
                        "dc": report.devices_created, "du": report.devices_updated})
    en = pages.request_lang(request).startswith("en")
    rows = []
    if report is not None:
        for r in report.rows:
            if r.action != "error" and len(rows) > 200:
                continue
            columns = PLACE_COLUMNS if r.sheet == "places" else DEVICE_COLUMNS
            errs = [{"column": (e["field"] if en or e["field"] not in columns else columns[e["field"]][0]) or "",
                     "text": e["en"] if en else e["zh"]} for e in r.errors]
            rows.append({"r": r, "errors": errs})
    return render(request, "safety/places_import.html", {
        "report": report, "rows": rows, "error": error,
        "errors_count": len(report.error_rows) if report else 0,
    }, status=status)


@require_GET
@manage_errors
def places_import_template(request):
    resp = HttpResponse(imports.import_template_xlsx(),
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = 'attachment; filename="safety-import-template.xlsx"'
    return resp


@require_GET
@app_errors
def devices(request):
    kind = _choice(request.GET.get("kind", ""), DeviceKind.values)
    status = _choice(request.GET.get("status", ""), DeviceStatus.values)
    q = request.GET.get("q", "").strip()[:60]
    place = request.GET.get("place", "").strip()[:40]
    qs = device_selectors.device_list(user=request.user, kind=kind, status=status, q=q, place=place)
    page = _page(request, qs)
    alarms = device_selectors.open_alarm_kinds(page["items"])
    page["rows"] = [{"device": d, "alarms": alarms.get(d.pk, [])} for d in page["items"]]
    return render(request, "safety/devices.html", {
        "page": page, "kinds": DeviceKind.choices, "statuses": DeviceStatus.choices, "kind": kind,
        "status": status, "q": q, "place": place,
        "counts": device_selectors.device_status_counts(user=request.user),
    })


@require_GET
@app_errors
def device_detail(request, device_id: int):
    device = device_selectors.device_get(user=request.user, device_id=device_id)
    return render(request, "safety/device_detail.html", {
        "device": device, "view": device_selectors.device_view(device),
        "alarms": device.alarms.order_by("-started_at")[:20],
        "components": device.components.order_by("code")[:200] if device.kind == DeviceKind.TRANSMITTER else [],
        "can_manage": permissions.can(request.user, MANAGE, device.jurisdiction),
    })


@require_GET
@manage_errors
def rejects(request):
    channel = _choice(request.GET.get("channel", ""), IngestChannel.values)
    counts = reject_selectors.reject_counts(user=request.user, channel=channel)
    recent = reject_selectors.reject_recent(user=request.user, channel=channel,
                                            reason=request.GET.get("reason", "").strip()[:40], limit=100)
    return render(request, "safety/rejects.html", {
        "counts": counts, "recent": recent, "channels": IngestChannel.choices, "channel": channel,
        "total": sum(c["count"] for c in counts),
    })


@require_POST
@manage_errors
def device_toggle(request, device_id: int):
    device = device_selectors.device_get(user=request.user, device_id=device_id)
    disabled = request.POST.get("disabled") == "1"
    device_disable(actor=request.user, device=device, disabled=disabled)
    messages.success(request, _("已停用该设备") if disabled else _("已启用该设备"))
    return redirect("safety:device_detail", device_id=device.pk)

"""Station pages: finder, detail, check-in, keeper and admin pages.

Thin on purpose: parse the form -> call a service/selector -> render. Domain
errors (``AppError``) are shown beside the field with what was typed kept, or as
an error page with the error's status.
"""

from __future__ import annotations

import base64

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yizhan.core import maps, pages, permissions
from yizhan.core.errors import AppError, NotFound
from yizhan.core.pages import STAFF_LOGIN, WORKER_LOGIN
from yizhan.core.selectors import notifications_for
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.stations import forms as f
from yizhan.stations import selectors, services
from yizhan.stations.choices import (
    FINDER_AMENITIES,
    Amenity,
    ConditionKind,
    StationStatus,
    StationType,
    SupplyItem,
)
from yizhan.stations.coverage import station_coverage
from yizhan.stations.imports import COLUMNS, import_template_xlsx, stations_import
from yizhan.stations.models import CheckIn, Station
from yizhan.stations.nearby import eta_minutes, station_nearby
from yizhan.stations.qr import qr_svg, qr_token_for, qr_token_verify

# ---------------------------------------------------------------- helpers


_lang = pages.request_lang
_is_htmx = pages.is_htmx
_to_login = pages.to_login


def error_page(request, err: AppError):
    return pages.error_page(request, err, template="stations/error.html")


def app_errors(login_url: str | None = None):
    """Render uncaught AppErrors as a page; send anonymous users to log in."""
    return pages.app_errors(template="stations/error.html", login_url=login_url,
                            fallback_login=login_url or reverse_lazy("accounts:login"))



def amenity_list(codes) -> list[dict]:
    labels = dict(Amenity.choices)
    return [
        {"code": c, "label": labels.get(c, c)}
        for c in (codes or [])
    ]


def ago(when) -> str:
    """"刚刚", "5 分钟前", "2 小时前", "3 天前" — how a worker reads a report's age."""
    if not when:
        return ""
    secs = max(0, (timezone.now() - when).total_seconds())
    if secs < 60:
        return _("刚刚")
    if secs < 3600:
        return _("%(n)s 分钟前") % {"n": int(secs // 60)}
    if secs < 86400:
        return _("%(n)s 小时前") % {"n": int(secs // 3600)}
    return _("%(n)s 天前") % {"n": int(secs // 86400)}


def _map_config(**extra) -> dict:
    return maps.map_config(**extra)


def _travel_minutes(distance_m: float) -> dict:
    return {"walk": eta_minutes(distance_m, "walk"), "ebike": eta_minutes(distance_m, "ebike")}


def _places():
    """Streets and communities with a centre, for typing/picking a place."""
    return list(
        Jurisdiction.objects.filter(level__in=["street", "community"], center_lat__isnull=False)
        .only("code", "name", "name_en", "level", "center_lat", "center_lng", "depth", "path")
        .order_by("path")[:500]
    )


# ---------------------------------------------------------------- finder


def _finder_query(request):
    form = f.FinderForm(request.GET or None)
    ctx = {"form": form, "items": None, "error": None, "point": None}
    if not request.GET:
        return ctx
    if not form.is_valid():
        ctx["error"] = _("请提供有效的经纬度")
        return ctx
    data = form.cleaned_data
    lat, lng = data.get("lat"), data.get("lng")
    place = data.get("place")
    if (lat is None or lng is None) and place:
        for p in _places():
            if p.code == place:
                lat, lng = p.center_lat, p.center_lng
                break
    if lat is None or lng is None:
        return ctx
    mode = data.get("mode") or "walk"
    try:
        items = _nearby(lat=lat, lng=lng, amenities=data.get("amenity") or (),
                        open_now=bool(data.get("open_now")), mode=mode)
    except AppError as err:
        ctx["error"] = err.text(_lang(request))
        return ctx
    ctx.update(items=items, point={"lat": lat, "lng": lng}, mode=mode, markers=_markers(items))
    return ctx


def _nearby(*, lat, lng, amenities, open_now, mode):
    items = station_nearby(lat=lat, lng=lng, limit=10, amenities=tuple(amenities),
                           open_now=open_now, mode=mode)
    type_labels = dict(StationType.choices)
    # English names are not part of the nearby index; one query for the page's few.
    names_en = dict(Station.objects.filter(code__in=[it["code"] for it in items]).exclude(name_en="")
                    .values_list("code", "name_en"))
    out = []
    for it in items:
        row = dict(it)
        row["minutes"] = _travel_minutes(it["distance_m"])
        row["amenity_list"] = amenity_list(it.get("amenities"))
        row["type_label"] = type_labels.get(it.get("type"), it.get("type"))
        row["name_en"] = names_en.get(it["code"], "")
        d = it["distance_m"]
        row["distance_text"] = (_("就在附近") if d < 30 else _("%(m)s 米") % {"m": int(round(d, -1))} if d < 1000
                                else _("%(km)s 公里") % {"km": f"{d / 1000:.1f}"})
        out.append(row)
    return out


def _markers(items) -> list[dict]:
    return [
        {"code": it["code"], "name": it["name"], "lat": it["lat"], "lng": it["lng"],
         "open": bool(it.get("open_now")), "url": reverse("stations:detail", args=[it["code"]])}
        for it in (items or [])
    ]


@require_GET
def finder(request):
    ctx = _finder_query(request)
    fallback = maps.default_place()
    ctx.update(
        places=_places(),
        finder_amenities=[{"code": a.value, "label": a.label} for a in FINDER_AMENITIES],
        selected_amenities=set(request.GET.getlist("amenity")),
        map_config=_map_config(markers=_markers(ctx["items"]), point=ctx["point"], fallback=fallback,
                               center=[fallback["lat"], fallback["lng"]]),
    )
    return render(request, "stations/finder.html", ctx)


@require_GET
def map_outline(request):
    """District, street and community boundaries with names: what a map draws when its
    tiles are off or cannot load (no internet, blocked tile server)."""
    resp = JsonResponse(maps.outline())
    resp["Cache-Control"] = "public, max-age=300"
    return resp


@require_GET
def nearby_partial(request):
    ctx = _finder_query(request)
    return render(request, "stations/_nearby_list.html", ctx)


# ---------------------------------------------------------------- detail


@require_GET
@app_errors()
def detail(request, code):
    station = selectors.station_public_get(code=code)
    info = selectors.station_public_detail(station=station)
    for r in info.get("condition_reports", []):
        r["ago"] = ago(r.get("created_at"))
    ctx = {
        "station": station,
        "info": info,
        "amenities": amenity_list(info.get("amenities", station.amenities)),
        "review_form": f.ReviewForm(),
        **_getting_there(station),
        "map_config": _map_config(markers=_markers([{"code": station.code, "name": station.name,
                                                      "lat": station.lat, "lng": station.lng,
                                                      "open_now": _open_now(info)}]),
                                  center=[station.lat, station.lng], zoom=16),
    }
    return render(request, "stations/detail.html", ctx)


def _getting_there(station) -> dict:
    """The station page's full address, callable public number and map-app links."""
    return {
        "full_address": maps.full_address(address=station.address, jurisdiction=station.jurisdiction),
        "public_tel": maps.tel_href(station.public_phone),
        "navigation": maps.navigation_links(lat=station.lat, lng=station.lng, name=station.name,
                                            address=station.address),
    }


def _open_now(info) -> bool:
    status = info.get("open_status") or info.get("open") or {}
    if isinstance(status, dict):
        return bool(status.get("open_now"))
    return bool(getattr(status, "open_now", False))


@require_POST
@app_errors(login_url=WORKER_LOGIN)
def review(request, code):
    station = selectors.station_public_get(code=code)
    form = f.ReviewForm(request.POST)
    if form.is_valid():
        try:
            services.review_upsert(actor=request.user, station=station,
                                 rating=form.cleaned_data["rating"],
                                 comment=form.cleaned_data["comment"])
        except AppError as err:
            f.add_app_error(form, err, _lang(request))
        else:
            messages.success(request, _("感谢您的评价"))
            return redirect("stations:detail", code=station.code)
    info = selectors.station_public_detail(station=station)
    for r in info.get("condition_reports", []):
        r["ago"] = ago(r.get("created_at"))
    ctx = {"station": station, "info": info, "review_form": form, **_getting_there(station),
           "amenities": amenity_list(info.get("amenities", station.amenities)),
           "map_config": _map_config(center=[station.lat, station.lng], zoom=16,
                                     markers=_markers([{"code": station.code, "name": station.name,
                                                        "lat": station.lat, "lng": station.lng}]))}
    return render(request, "stations/detail.html", ctx, status=400)


# ---------------------------------------------------------------- check-in


@require_GET
@app_errors(login_url=WORKER_LOGIN)
def checkin(request, token):
    result = services.checkin_create(actor=request.user, token=token)
    form = f.ConditionReportForm(initial={"checkin": result.checkin.pk})
    return render(request, "stations/checkin.html", {
        "result": result, "station": result.station, "token": token, "form": form,
        "kinds": ConditionKind.choices,
    })


@require_POST
@app_errors(login_url=WORKER_LOGIN)
def checkin_report(request, token):
    form = f.ConditionReportForm(request.POST)
    station = None
    try:
        station = qr_token_verify(token=token)
    except AppError:
        # The code rotated at midnight between scanning and reporting: the
        # check-in itself names the station.
        ci = CheckIn.objects.select_related("station").filter(
            pk=request.POST.get("checkin") or 0, user=request.user).first()
        if ci is None:
            raise
        station = ci.station
    if form.is_valid():
        checkin_obj = None
        if form.cleaned_data.get("checkin"):
            checkin_obj = CheckIn.objects.filter(
                pk=form.cleaned_data["checkin"], user=request.user, station=station).first()
        try:
            services.condition_report_create(actor=request.user, station=station,
                                           kind=form.cleaned_data["kind"],
                                           note=form.cleaned_data["note"], checkin=checkin_obj)
        except AppError as err:
            f.add_app_error(form, err, _lang(request))
        else:
            messages.success(request, _("谢谢！站长已收到您的反馈"))
            return redirect("stations:detail", code=station.code)
    return render(request, "stations/checkin.html", {
        "result": None, "station": station, "token": token, "form": form,
        "kinds": ConditionKind.choices,
    }, status=400)


# ---------------------------------------------------------------- keeper


def _keeper_station(request, code):
    """The station if the user keeps it or administers it; 403/404 otherwise."""
    return selectors.station_stock_get(actor=request.user, code=code)


@require_GET
@app_errors(login_url=STAFF_LOGIN)
def keeper_home(request):
    stations = list(selectors.stations_kept_by(user=request.user))
    low = list(selectors.supplies_low(actor=request.user).select_related("station"))
    low_by_station: dict[int, list] = {}
    for s in low:
        low_by_station.setdefault(s.station_id, []).append(s)
    rows = [{"station": s, "low": low_by_station.pop(s.pk, []),
             "open_reports": s.condition_reports.filter(resolved_at__isnull=True).count()}
            for s in stations]
    # Admins: low stock at the stations they administer but do not keep.
    others = [item for items in low_by_station.values() for item in items]
    alerts = list(notifications_for(user=request.user, unread_only=True)
                  .filter(kind__in=["stock_low", "station_condition"])[:20])
    return render(request, "stations/keeper_home.html", {"rows": rows, "alerts": alerts,
                                                         "others_low": others})


def _keeper_context(request, station, *, bound=None):
    """Everything the keeper page shows; ``bound`` = (form_key, form) with errors."""
    supplies = list(selectors.station_supplies(station=station))
    bound_key, bound_form = bound or (None, None)
    rows = []
    for s in supplies:
        mkey, tkey = f"move:{s.item}", f"threshold:{s.item}"
        rows.append({
            "supply": s,
            "move_form": bound_form if bound_key == mkey else f.SupplyMovementForm(
                initial={"kind": "restock"}, prefix=s.item),
            "threshold_form": bound_form if bound_key == tkey else f.ThresholdForm(
                initial={"threshold": s.threshold}, prefix=f"t-{s.item}"),
        })
    known = {s.item for s in supplies}
    missing = [(v, lbl) for v, lbl in SupplyItem.choices if v not in known]
    reports = list(station.condition_reports.filter(resolved_at__isnull=True).select_related("user")[:50])
    for r in reports:
        r.ago = ago(r.created_at)
    donations = list(selectors.station_donations(station=station)[:10])
    return {
        "station": station, "rows": rows, "missing_items": missing,
        "new_supply_form": bound_form if bound_key == "move:new" else f.SupplyMovementForm(
            initial={"kind": "restock"}, prefix="new"),
        "donation_form": bound_form if bound_key == "donation" else f.DonationForm(),
        "photo_form": bound_form if bound_key == "photo" else f.PhotoForm(),
        "photos": list(station.photos.all()),
        "reports": reports, "donations": donations,
        "low_count": sum(1 for s in supplies if s.is_low),
    }


@require_GET
@app_errors(login_url=STAFF_LOGIN)
def keeper_station(request, code):
    station = _keeper_station(request, code)
    return render(request, "stations/keeper_station.html", _keeper_context(request, station))


def _keeper_reply(request, station, *, bound=None, anchor=""):
    if bound is None:
        if _is_htmx(request):
            ctx = _keeper_context(request, station)
            return render(request, "stations/_keeper_main.html", ctx)
        return redirect(reverse("stations:keeper_station", args=[station.code]) + anchor)
    ctx = _keeper_context(request, station, bound=bound)
    if _is_htmx(request):
        # htmx only swaps 2xx responses: the partial with the message beside the field.
        return render(request, "stations/_keeper_main.html", ctx)
    return render(request, "stations/keeper_station.html", ctx, status=400)


@require_POST
@app_errors(login_url=STAFF_LOGIN)
def keeper_supply(request, code, item):
    station = _keeper_station(request, code)
    prefix = "new" if item == "new" else item
    form = f.SupplyMovementForm(request.POST, prefix=prefix)
    key = f"move:{item}"
    if item == "new":
        item = request.POST.get("new-item", "")
    if form.is_valid():
        try:
            supply = services.supply_record(actor=request.user, station=station, item=item,
                                          kind=form.cleaned_data["kind"],
                                          quantity=form.cleaned_data["quantity"],
                                          note=form.cleaned_data["note"])
        except AppError as err:
            f.add_app_error(form, err, _lang(request))
        else:
            messages.success(request, _("已记录：%(item)s 现有 %(qty)s") % {
                "item": supply.get_item_display(), "qty": supply.quantity})
            return _keeper_reply(request, station, anchor=f"#supply-{item}")
    return _keeper_reply(request, station, bound=(key, form))


@require_POST
@app_errors(login_url=STAFF_LOGIN)
def keeper_threshold(request, code, item):
    station = _keeper_station(request, code)
    form = f.ThresholdForm(request.POST, prefix=f"t-{item}")
    if form.is_valid():
        try:
            services.supply_set_threshold(actor=request.user, station=station, item=item,
                                        threshold=form.cleaned_data["threshold"])
        except AppError as err:
            f.add_app_error(form, err, _lang(request))
        else:
            messages.success(request, _("预警值已更新"))
            return _keeper_reply(request, station, anchor=f"#supply-{item}")
    return _keeper_reply(request, station, bound=(f"threshold:{item}", form))


@require_POST
@app_errors(login_url=STAFF_LOGIN)
def keeper_donation(request, code):
    station = _keeper_station(request, code)
    form = f.DonationForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.donation_record(actor=request.user, station=station, giver_kind=d["giver_kind"],
                                   giver_name=d["giver_name"], description=d["description"],
                                   item=d.get("item") or "", quantity=d.get("quantity") or 0,
                                   received_on=d.get("received_on"))
        except AppError as err:
            f.add_app_error(form, err, _lang(request))
        else:
            messages.success(request, _("捐赠已登记，谢谢！"))
            return _keeper_reply(request, station, anchor="#donations")
    return _keeper_reply(request, station, bound=("donation", form))


@require_POST
@app_errors(login_url=STAFF_LOGIN)
def keeper_photo(request, code):
    station = _keeper_station(request, code)
    form = f.PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.station_photo_add(actor=request.user, station=station,
                                       upload=form.cleaned_data["photo"],
                                       caption=form.cleaned_data["caption"])
        except AppError as err:
            f.add_app_error(form, err, _lang(request))
        else:
            messages.success(request, _("照片已上传"))
            return _keeper_reply(request, station, anchor="#photos")
    return _keeper_reply(request, station, bound=("photo", form))


@require_POST
@app_errors(login_url=STAFF_LOGIN)
def keeper_photo_remove(request, code, photo_id):
    station = _keeper_station(request, code)
    photo = station.photos.filter(pk=photo_id).first()
    if photo is None:
        raise NotFound()
    services.station_photo_remove(actor=request.user, station=station, photo=photo)
    messages.success(request, _("照片已删除"))
    return _keeper_reply(request, station, anchor="#photos")


@require_POST
@app_errors(login_url=STAFF_LOGIN)
def keeper_resolve(request, code, report_id):
    station = _keeper_station(request, code)
    report = station.condition_reports.filter(pk=report_id).first()
    if report is None:
        raise NotFound()
    services.condition_report_resolve(actor=request.user, report=report)
    messages.success(request, _("已标记为处理完毕"))
    return _keeper_reply(request, station, anchor="#reports")


@require_GET
@app_errors(login_url=STAFF_LOGIN)
def keeper_qr(request, code):
    station = _keeper_station(request, code)
    today = timezone.localdate()
    token = qr_token_for(station=station, day=today)
    url = request.build_absolute_uri(reverse("stations:checkin", args=[token]))
    return render(request, "stations/keeper_qr.html", {
        "station": station, "svg": qr_svg(url=url), "url": url, "day": today,
    })


# ---------------------------------------------------------------- admin


def _scope_jurisdictions(user, perm="stations.manage", levels=("community", "grid")):
    qs = permissions.restrict(Jurisdiction.objects.all(), user, perm, path_field="path")
    if levels:
        qs = qs.filter(level__in=levels)
    return list(qs.order_by("path"))


def _hubs(user):
    return list(selectors.station_staff_list(actor=user, filters={"type": "hub"}))


@require_GET
@app_errors(login_url=STAFF_LOGIN)
def manage_list(request):
    permissions.require(request.user, "stations.view")
    filters = {k: v for k in ("q", "status", "type", "jurisdiction", "amenity")
               if (v := request.GET.get(k, "").strip())}
    qs = selectors.station_staff_list(actor=request.user, filters=filters)
    stations = list(qs[:500])
    return render(request, "stations/manage_list.html", {
        "stations": stations, "filters": filters, "total": len(stations),
        "jurisdictions": _scope_jurisdictions(request.user, "stations.view", levels=None),
        "can_manage": permissions.has_perm_anywhere(request.user, "stations.manage"),
        "status_choices": StationStatus.choices,
        "type_choices": StationType.choices,
    })


def _station_data(cd: dict) -> dict:
    keys = ("code", "name", "name_en", "type", "host_type", "host_name", "address", "public_phone", "lat", "lng",
            "amenities", "description", "opened_on", "hours", "jurisdiction", "hub")
    data = {k: cd.get(k) for k in keys}
    data["hub"] = data["hub"] or None
    return data


def _assign_keepers(request, station, phones: list[str], form) -> None:
    """Make the listed phones the station's keepers (the first one primary);
    unlink the ones no longer listed. Raises AppError for a bad phone."""
    current = {k.user.phone: k.user for k in station.keeper_links.select_related("user")}
    wanted = []
    for i, phone in enumerate(phones):
        user = services.keeper_user_for_phone(actor=request.user, phone=phone)
        wanted.append(user.pk)
        if user.phone not in current or i == 0:
            services.station_keeper_assign(actor=request.user, station=station, user=user, is_primary=i == 0)
    for user in current.values():
        if user.pk not in wanted:
            services.station_keeper_remove(actor=request.user, station=station, user=user)


# Service error fields that are named differently on the station form.
STATION_FIELD_ALIASES = {"reason": "status_reason", "phone": "keeper_phones", "holidays": "hours"}


def _station_form_field(field: str | None) -> str | None:
    """The form field a service error belongs to ("hours.tue" -> "hours_tue")."""
    if not field:
        return field
    for day, _label in f.DAYS:
        if field in (f"hours.{day}", f"hours_{day}", f"hours[{day}]") or field.startswith(f"hours.{day}."):
            return f"hours_{day}"
    return STATION_FIELD_ALIASES.get(field, field)


@require_http_methods(["GET", "POST"])
@app_errors(login_url=STAFF_LOGIN)
def manage_edit(request, code=None):
    permissions.require(request.user, "stations.manage")
    station = selectors.station_staff_get(actor=request.user, code=code, perm="stations.manage") if code else None
    kw = {"jurisdictions": _scope_jurisdictions(request.user), "hubs": _hubs(request.user)}
    if request.method == "POST":
        form = f.StationForm(request.POST, **kw)
        if station is not None:
            form.fields["code"].disabled = True
            form.initial["code"] = station.code
        if form.is_valid():
            cd = form.cleaned_data
            try:
                with transaction.atomic():
                    data = _station_data(cd)
                    if station is None:
                        saved = services.station_create(actor=request.user, data=data)
                    else:
                        data.pop("code")
                        saved = services.station_update(actor=request.user, station=station, data=data)
                    if cd["status"] != saved.status or (
                            cd["status"] != StationStatus.OPEN and cd["status_reason"] != saved.status_reason):
                        saved = services.station_set_status(actor=request.user, station=saved,
                                                       status=cd["status"], reason=cd["status_reason"])
                    _assign_keepers(request, saved, cd["keeper_phone_list"], form)
            except AppError as err:
                err.field = _station_form_field(err.field)
                f.add_app_error(form, err, _lang(request))
            else:
                messages.success(request, _("已保存驿站 %(name)s") % {"name": saved.name})
                return redirect("stations:manage_edit", code=saved.code)
        status = 400
    else:
        status = 200
        initial = {"status": StationStatus.OPEN, "type": "station", "host_type": "community"}
        if station is not None:
            initial = {
                "code": station.code, "name": station.name, "name_en": station.name_en,
                "type": station.type, "host_type": station.host_type, "host_name": station.host_name,
                "address": station.address, "public_phone": station.public_phone,
                "lat": station.lat, "lng": station.lng,
                "jurisdiction": station.jurisdiction.code,
                "hub": station.hub.code if station.hub_id else "",
                "amenities": station.amenities, "description": station.description,
                "opened_on": station.opened_on, "status": station.status,
                "status_reason": station.status_reason,
                # through the selector: unmasked only with people.view there, and audited
                "keeper_phones": ", ".join(k["phone"] for k in selectors.station_keepers_for_staff(
                    actor=request.user, station=station) if k["phone"]),
                **f.StationForm.hours_initial(station.hours),
            }
        form = f.StationForm(initial=initial, **kw)
        if station is not None:
            form.fields["code"].disabled = True
    return render(request, "stations/manage_edit.html", {
        "form": form, "station": station,
        "map_config": _map_config(center=[station.lat, station.lng] if station else None, pick=True),
    }, status=status)


IMPORT_SESSION_KEY = "stations_import_pending"


@require_http_methods(["GET", "POST"])
@app_errors(login_url=STAFF_LOGIN)
def manage_import(request):
    permissions.require(request.user, "stations.manage")
    form = f.ImportForm()
    report = None
    status = 200
    pending = request.session.get(IMPORT_SESSION_KEY)
    if request.method == "POST" and request.POST.get("confirm") and pending:
        content = base64.b64decode(pending["content"])
        try:
            report = stations_import(actor=request.user, file_name=pending["name"], content=content,
                                     dry_run=False)
        except AppError as err:
            form.add_error(None, err.text(_lang(request)))
            status = 400
        else:
            request.session.pop(IMPORT_SESSION_KEY, None)
            if report.ok:
                messages.success(request, _("导入完成：新建 %(c)s 个，更新 %(u)s 个") % {
                    "c": report.created, "u": report.updated})
                return redirect("stations:manage_list")
            status = 400
    elif request.method == "POST":
        form = f.ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            content = upload.read()
            try:
                report = stations_import(actor=request.user, file_name=upload.name, content=content,
                                         dry_run=True)
            except AppError as err:
                f.add_app_error(form, err, _lang(request))
                status = 400
            else:
                if report.ok:
                    request.session[IMPORT_SESSION_KEY] = {
                        "name": upload.name, "content": base64.b64encode(content).decode()}
                    pending = request.session[IMPORT_SESSION_KEY]
                else:
                    request.session.pop(IMPORT_SESSION_KEY, None)
                    pending = None
                    status = 400
        else:
            status = 400
    if report is not None:
        en = _lang(request).startswith("en")
        for row in report.rows:
            for e in row.errors:
                key = e.get("field") or ""
                e["column"] = key if en or key not in COLUMNS else COLUMNS[key][0]
    return render(request, "stations/manage_import.html", {
        "form": form, "report": report, "pending": pending if report and report.ok else None,
        "lang_en": _lang(request).startswith("en"),
    }, status=status)


@require_GET
@app_errors(login_url=STAFF_LOGIN)
def manage_import_template(request):
    permissions.require(request.user, "stations.manage")
    resp = HttpResponse(import_template_xlsx(),
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = 'attachment; filename="stations-template.xlsx"'
    return resp


@require_GET
@app_errors(login_url=STAFF_LOGIN)
def manage_coverage(request):
    permissions.require(request.user, "stations.view")
    scope = _scope_jurisdictions(request.user, "stations.view",
                                 levels=("district", "street", "community"))
    form = f.CoverageForm(request.GET or None, jurisdictions=scope)
    result = None
    jur = None
    if request.GET and form.is_valid():
        jur = Jurisdiction.objects.get(code=form.cleaned_data["jurisdiction"])
        permissions.require(request.user, "stations.view", jur)
        result = station_coverage(jurisdiction=jur, mode=form.cleaned_data.get("mode") or "walk")
    status = 400 if request.GET and not form.is_valid() else 200
    center = [jur.center_lat, jur.center_lng] if jur and jur.center_lat is not None else None
    markers = []
    if jur is not None:
        shown = selectors.station_staff_list(actor=request.user, filters={"jurisdiction": jur.code,
                                                                         "status": "open"})[:500]
        markers = [{"code": s.code, "name": s.name, "lat": s.lat, "lng": s.lng, "open": True,
                    "url": reverse("stations:detail", args=[s.code])} for s in shown]
    return render(request, "stations/manage_coverage.html", {
        "form": form, "result": result, "jurisdiction": jur,
        "map_config": _map_config(
            center=center, zoom=13, fit=True, markers=markers,
            uncovered=result["uncovered"] if result else None,
            boundary=jur.boundary if jur else None,
        ),
    }, status=status)

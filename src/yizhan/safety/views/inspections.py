"""Fire-safety pages: 331 inspections (/safety/inspections/).

* the list (filters: state, result), newest first;
* ``new/``: the phone form — pick the place, then per room the four items (四件套) as
  big toggles, flying-wire charging, garage sleeping, escape routes, findings, photos.
  A plain form: the room count comes from the place (or ``?rooms=N``); ``inspection.js``
  adds a room without a reload when JavaScript runs;
* the detail, with the rectification form while it is rectifying or overdue.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yizhan.core import pages, permissions
from yizhan.core.errors import AppError
from yizhan.core.pages import STAFF_LOGIN
from yizhan.safety.choices import InspectionResult, InspectionState, PlaceKind
from yizhan.safety.selectors import inspections as selectors
from yizhan.safety.selectors import places as place_selectors
from yizhan.safety.services import inspections as services

VIEW, INSPECT = "safety.view", "safety.inspect"
PAGE = 50
MAX_FORM_ROOMS = 60
DEFAULT_ROOMS = 4
ITEMS = (("extinguisher", gettext_lazy("灭火器")), ("escape_rope", gettext_lazy("逃生绳")),
         ("smoke_mask", gettext_lazy("防烟面罩")), ("emergency_light", gettext_lazy("应急灯")))
app_errors = pages.app_errors(template="safety/places_error.html", login_url=STAFF_LOGIN, perm=VIEW)
inspect_errors = pages.app_errors(template="safety/places_error.html", login_url=STAFF_LOGIN, perm=INSPECT)


@require_GET
@app_errors
def inspections(request):
    state = request.GET.get("state", "") if request.GET.get("state", "") in InspectionState.values else ""
    result = request.GET.get("result", "") if request.GET.get("result", "") in InspectionResult.values else ""
    qs = selectors.inspection_list(user=request.user, state=state, result=result)
    try:
        number = max(1, min(int(request.GET.get("page", "1")), 100000))
    except ValueError:
        number = 1
    count = qs.count()
    return render(request, "safety/inspections.html", {
        "items": list(qs[(number - 1) * PAGE: number * PAGE]), "count": count, "number": number,
        "next": number + 1 if number * PAGE < count else None, "prev": number - 1 if number > 1 else None,
        "states": InspectionState.choices, "results": InspectionResult.choices, "state": state, "result": result,
        "can_inspect": permissions.has_perm_anywhere(request.user, INSPECT),
    })


def _room_count(request, place) -> int:
    raw = request.POST.get("room_count") or request.GET.get("rooms")
    try:
        n = int(raw) if raw else (place.rooms if place is not None and place.rooms else DEFAULT_ROOMS)
    except ValueError:
        n = DEFAULT_ROOMS
    return max(1, min(n, MAX_FORM_ROOMS))


def _rooms_from_post(post, count: int) -> list[dict]:
    rooms = []
    for i in range(count):
        label = post.get(f"room-{i}", "").strip()
        ticked = {item: post.get(f"room-{i}-{item}") == "1" for item, _label in ITEMS}
        if not label and not any(ticked.values()):
            continue  # an unused row of the form
        rooms.append({"room": label or str(i + 1), **ticked})
    return rooms


def _form_rooms(post, count: int) -> list[dict]:
    out = []
    for i in range(count):
        out.append({"index": i, "label": post.get(f"room-{i}", "") if post else "",
                    "items": [{"key": item, "label": label,
                               "checked": (post.get(f"room-{i}-{item}") == "1") if post else False}
                              for item, label in ITEMS]})
    return out


@require_http_methods(["GET", "POST"])
@inspect_errors
def inspection_new(request):
    choices = place_selectors.place_choices(user=request.user, perm=INSPECT)
    code = (request.POST.get("place") or request.GET.get("place") or "").strip()
    place = next((p for p in choices if p.code == code), None)
    if place is not None:
        place = place_selectors.place_get(user=request.user, place_id=place.pk, perm=INSPECT)
    count = _room_count(request, place)
    error, field, status = None, None, 200
    post = request.POST if request.method == "POST" else None
    if post is not None and post.get("add_room"):
        count = min(count + 1, MAX_FORM_ROOMS)
    elif post is not None:
        if place is None:
            error, field, status = _("请选择检查的场所"), "place", 400
        else:
            try:
                ins = services.inspection_create(
                    actor=request.user, place=place, rooms=_rooms_from_post(post, count),
                    flying_wire_charging=post.get("flying_wire_charging") == "1",
                    garage_sleeping=post.get("garage_sleeping") == "1",
                    escape_routes_clear=post.get("escape_routes_blocked") != "1",
                    findings=post.get("findings", ""),
                    result="failed" if post.get("other_hazard") == "1" else None,
                    follow_up_due=post.get("follow_up_due") or None,
                    photos=request.FILES.getlist("photos"),
                )
            except AppError as err:
                error, field, status = err.text(pages.request_lang(request)), err.field, 400
            else:
                if ins.result == InspectionResult.FAILED:
                    messages.warning(request, _("检查不合格，已生成隐患工单并设定整改期限 %(d)s") % {"d": ins.follow_up_due})
                else:
                    messages.success(request, _("检查合格，已记录"))
                return redirect("safety:inspection_detail", inspection_id=ins.pk)
    return render(request, "safety/inspection_new.html", {
        "choices": choices, "place": place, "rooms": _form_rooms(post, count), "room_count": count,
        "error": error, "error_field": field, "post": post or {}, "rental": PlaceKind.RENTAL_HOUSE,
    }, status=status)


@require_GET
@app_errors
def inspection_detail(request, inspection_id: int):
    ins = selectors.inspection_get(user=request.user, inspection_id=inspection_id)
    view = selectors.inspection_view(ins, user=request.user)
    labels = dict(ITEMS)
    return render(request, "safety/inspection_detail.html", {
        "ins": ins, "view": view, "items": ITEMS, "labels": labels,
        "rooms": [{"room": r["room"], "items": [(labels[k], r.get(k)) for k, _l in ITEMS]} for r in ins.rooms],
        "can_rectify": "rectify" in view["actions"],
        "photos": list(ins.photos.all()),
    })


@require_POST
@app_errors
def inspection_rectify(request, inspection_id: int):
    ins = selectors.inspection_get(user=request.user, inspection_id=inspection_id)
    services.inspection_rectify(actor=request.user, inspection=ins, note=request.POST.get("note", ""),
                                photos=request.FILES.getlist("photos"))
    messages.success(request, _("已记录整改"))
    return redirect("safety:inspection_detail", inspection_id=ins.pk)

"""The responder's phone pages (出警): ``/safety/respond/`` (my open assignments and the
duty switch) and ``/safety/respond/<id>/`` (the alarm, the place, the way there and
the four buttons). Plain forms (POST → redirect), so every step works without
JavaScript; ``safety/respond.js`` fills the position fields from the phone's location
and moves the map's "you are here" marker and the distance text.
"""

from __future__ import annotations

import math

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from yizhan.core import maps, pages
from yizhan.core.errors import AppError
from yizhan.core.geo import haversine_m
from yizhan.core.pages import STAFF_LOGIN
from yizhan.safety.choices import AssignmentState, DispatchOutcome
from yizhan.safety.selectors import dispatch as selectors
from yizhan.safety.services import dispatch as services
from yizhan.safety.services.responders import responder_duty_set
from yizhan.safety.workflow import ASSIGNMENT, assignment_kinds

app_errors = pages.app_errors(template="safety/respond_error.html", login_url=STAFF_LOGIN, perm="safety.respond")

COMPASS_ZH = ("北", "东北", "东", "东南", "南", "西南", "西", "西北")
COMPASS_EN = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")
BUTTONS = (  # (action, label) in the order a responder presses them
    ("acknowledge", "接警"), ("en_route", "出发"), ("arrive", "到场"), ("resolve", "处置"),
)


def bearing_deg(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lng2 - lng1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(x, y)) + 360) % 360


def directions(from_lat, from_lng, to_lat, to_lng) -> dict | None:
    """Text directions that need no map: distance, compass direction, minutes by e-bike."""
    if from_lat is None or from_lng is None:
        return None
    distance, seconds = services.travel_estimate(from_lat, from_lng, to_lat, to_lng)
    i = int((bearing_deg(from_lat, from_lng, to_lat, to_lng) + 22.5) // 45) % 8
    english = (translation.get_language() or "").startswith("en")
    return {"distance_m": distance, "minutes": max(1, round(seconds / 60)), "compass_zh": COMPASS_ZH[i],
            "compass_en": COMPASS_EN[i], "compass": COMPASS_EN[i] if english else COMPASS_ZH[i]}


@require_GET
@app_errors
def respond(request):
    responder = selectors.responder_of(request.user)
    rows = []
    for a in selectors.my_assignments(user=request.user):
        place = a.dispatch.alarm.device.place
        rows.append({"a": a, "place": place, "alarm": a.dispatch.alarm,
                     "way": directions(responder.lat, responder.lng, place.lat, place.lng) if responder else None})
    return render(request, "safety/respond.html", {"responder": responder, "rows": rows})


@require_POST
@app_errors
def respond_duty(request):
    on = request.POST.get("on_duty") == "1"
    try:
        responder_duty_set(actor=request.user, on_duty=on, lat=request.POST.get("lat") or None,
                           lng=request.POST.get("lng") or None)
    except AppError as err:
        messages.error(request, err.text(pages.request_lang(request)))
    else:
        messages.success(request, _("已上岗，有警情会通知您") if on else _("已下岗"))
    return redirect("safety:respond")


def _detail_context(request, a) -> dict:
    d = a.dispatch
    alarm = d.alarm
    device = alarm.device
    place = device.place
    responder = selectors.responder_of(request.user)
    mine = responder is not None and a.responder_id == responder.pk
    kinds = assignment_kinds(request.user, a)
    allowed = set(ASSIGNMENT.actions_for(a.state, kinds))
    buttons = [{"action": act, "label": _(label), "enabled": act in allowed} for act, label in BUTTONS]
    from_lat, from_lng = (responder.lat, responder.lng) if mine and responder else (None, None)
    markers = [{"lat": place.lat, "lng": place.lng, "name": place.name, "open": True}]
    return {
        "a": a, "dispatch": d, "alarm": alarm, "device": device, "place": place, "mine": mine,
        "buttons": buttons, "allowed": allowed, "can_stand_down": "stand_down" in allowed,
        "way": directions(from_lat, from_lng, place.lat, place.lng),
        "arrival_radius": services.ARRIVAL_RADIUS_M,
        "outcomes": DispatchOutcome.choices,
        "categories": services.hazard_categories(),
        "default_category": services.HAZARD_CATEGORY,
        "finished": a.state in (AssignmentState.RESOLVED, AssignmentState.STOOD_DOWN),
        "elapsed_s": None,
        "map_config": maps.map_config(center=[place.lat, place.lng], zoom=16, markers=markers),
        "target": {"lat": place.lat, "lng": place.lng, "radius": services.ARRIVAL_RADIUS_M,
                   "from": [from_lat, from_lng] if from_lat is not None else None},
        "straight_m": int(haversine_m(from_lat, from_lng, place.lat, place.lng)) if from_lat is not None else None,
    }


@require_GET
@app_errors
def respond_detail(request, assignment_id: int):
    a = selectors.assignment_get(user=request.user, assignment_id=assignment_id)
    return render(request, "safety/respond_detail.html", _detail_context(request, a))


@require_POST
@app_errors
def respond_act(request, assignment_id: int):
    a = selectors.assignment_get(user=request.user, assignment_id=assignment_id)
    action = request.POST.get("action", "")
    try:
        services.assignment_act(
            actor=request.user, assignment=a, action=action, lat=request.POST.get("lat") or None,
            lng=request.POST.get("lng") or None, outcome=request.POST.get("outcome") or None,
            note=request.POST.get("note", ""), photos=request.FILES.getlist("photos"),
            category=request.POST.get("category") or None)
    except AppError as err:
        a = selectors.assignment_get(user=request.user, assignment_id=assignment_id)
        ctx = _detail_context(request, a)
        ctx.update(error=err, error_text=err.text(pages.request_lang(request)), failed_action=action,
                   posted=request.POST)
        return render(request, "safety/respond_detail.html", ctx, status=err.status)
    done = {"acknowledge": _("已接警"), "en_route": _("已出发，注意安全"), "arrive": _("已到场"),
            "resolve": _("已处置完毕"), "stand_down": _("已撤回")}
    messages.success(request, done.get(action, _("已保存")))
    return redirect("safety:respond_detail", assignment_id=assignment_id)

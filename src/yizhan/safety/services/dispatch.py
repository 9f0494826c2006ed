"""Dispatch: a fire, smoke or gas alarm → the nearest on-duty responders, escalation,
the four steps of each responder, the 119 forward and the monthly report.

* ``dispatch_start(alarm=...)`` (called by ``alarm_trigger`` on commit) creates the
  alarm's one ``Dispatch`` and sends wave 1: the ``WAVE_SIZE`` on-duty responders
  (grid workers, micro fire station members; centre staff are told, not sent) nearest
  to the place by travel time, plus the duty officers of the alarm's jurisdiction. Each
  gets an inbox notification of kind ``safety_alarm`` (and an SMS where that kind is in
  ``YIZHAN_NOTIFY_SMS_KINDS``) linking to ``/safety/respond/<assignment>/``.
* Travel time: the stations app's travel model (straight-line distance ×
  ``DETOUR_FACTOR`` 1.3 at e-bike speed, 15 km/h — responders ride; a micro station's
  members run with kit about as fast). No road network is involved.
* ``dispatch_escalate_due(now)``: a dispatch whose current wave has had no
  acknowledgement for ``ACK_SECONDS`` (15 s) — or nobody en route for
  ``EN_ROUTE_SECONDS`` (60 s) — gets the next wave (the next nearest responders) and
  the centre's duty officers are told; at most ``MAX_WAVES`` waves. ``safety/jobs.py``
  runs it every scheduler tick (5 s) and arms an in-process timer
  (``safety/dispatch_waker.py``) for each deadline before the next tick, so a
  deadline is met within milliseconds, not within a tick.
* ``assignment_act``: 接警 acknowledge, 出发 en route, 到场 arrive (the position must be
  within ``ARRIVAL_RADIUS_M`` of the place), 处置 resolve with an outcome (real fire,
  false alarm, test, hazard → a reports case with the place and photos). The
  dispatch's ``first_*`` times and state follow; a real fire is forwarded to 119.
* ``forward_119(dispatch)``: a POST of the fire's JSON to ``YIZHAN_119_URL`` signed with
  ``X-Yizhan-Signature: sha256=<hex HMAC-SHA256(YIZHAN_119_SECRET, body)>``; sent from a
  thread started on commit (first attempt at once, retries after 0.5, 1, 2, 4 s), then
  retried by the scheduler; recorded in ``forwarded_119_at`` / ``forward_119_status``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from yizhan.core.audit import audit_record
from yizhan.core.errors import Message, NotAuthenticated, OutOfJurisdiction, PermissionDenied
from yizhan.core.geo import haversine_m, validate_lat_lng
from yizhan.core.models import AuditAction
from yizhan.core.notifications import notify
from yizhan.core.workflow import workflow_transition
from yizhan.jurisdictions.selectors import codes_deepest_first
from yizhan.safety import errors as E
from yizhan.safety.choices import (
    AlarmKind,
    AssignmentState,
    DispatchOutcome,
    DispatchState,
    ResponderKind,
)
from yizhan.safety.models import Alarm, Assignment, AssignmentEvent, Dispatch, Responder
from yizhan.safety.selectors.dispatch import monthly_report  # noqa: F401 - the contract's name here too
from yizhan.safety.workflow import ASSIGNMENT, ASSIGNMENT_ACTIONS, DISPATCH
from yizhan.stations.nearby import DETOUR_FACTOR, EBIKE_KMH

log = logging.getLogger("yizhan.safety.dispatch")

DISPATCHED_KINDS = frozenset({AlarmKind.FIRE, AlarmKind.SMOKE, AlarmKind.GAS})
WAVE_SIZE = 3
MAX_WAVES = 4
ACK_SECONDS = 15
EN_ROUTE_SECONDS = 60
ARRIVAL_RADIUS_M = 300
SEARCH_RADIUS_M = 15_000  # nobody farther is "nearest" for a 3-minute target
SPEED_KMH = EBIKE_KMH
NOTIFY_KIND = "safety_alarm"
DUTY_ROLE = "duty_officer"
MAX_NOTE = 500

FORWARD_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)  # in the thread, after the first attempt
FORWARD_TIMEOUT_SECONDS = 2.0
FORWARD_MAX_ATTEMPTS = 30  # thread + scheduler, then "dead"
FORWARD_STALE_SECONDS = 60  # a "sending" row older than this: the thread died

_A = AssignmentState
ACTIVE_STATES = (_A.NOTIFIED, _A.ACKNOWLEDGED, _A.EN_ROUTE, _A.ARRIVED)
KIND_EN = {AlarmKind.FIRE: "Fire alarm", AlarmKind.SMOKE: "Smoke alarm", AlarmKind.GAS: "Gas leak"}


# ---- travel --------------------------------------------------------------------------------


def travel_estimate(from_lat: float, from_lng: float, to_lat: float, to_lng: float) -> tuple[int, int]:
    """(straight-line metres, estimated seconds) from one point to another."""
    distance = haversine_m(from_lat, from_lng, to_lat, to_lng)
    seconds = distance * DETOUR_FACTOR / (SPEED_KMH * 1000 / 3600)
    return int(round(distance)), max(1, int(round(seconds)))


def _bbox(lat: float, lng: float, radius_m: float) -> dict:
    import math

    dlat = radius_m / 111_320
    dlng = radius_m / (111_320 * max(0.01, math.cos(math.radians(lat))))
    return {"lat__gte": lat - dlat, "lat__lte": lat + dlat, "lng__gte": lng - dlng, "lng__lte": lng + dlng}


@dataclass(frozen=True, slots=True)
class Candidate:
    responder: Responder
    distance_m: int
    seconds: int


def nearest_responders(*, lat: float, lng: float, limit: int, exclude=()) -> list[Candidate]:
    """The ``limit`` on-duty responders (not centre staff) nearest by travel time. Reads
    three columns of the on-duty rows in the box around the place, ranks them in Python,
    then loads only the chosen ones (a few ms for hundreds on duty)."""
    qs = (Responder.objects.filter(on_duty=True, user__is_active=True, lat__isnull=False, lng__isnull=False,
                                   **_bbox(lat, lng, SEARCH_RADIUS_M))
          .exclude(kind=ResponderKind.CENTRE))
    if exclude:
        qs = qs.exclude(pk__in=list(exclude))
    ranked = []
    for pk, r_lat, r_lng in qs.values_list("pk", "lat", "lng"):
        d, s = travel_estimate(r_lat, r_lng, lat, lng)
        if d <= SEARCH_RADIUS_M:
            ranked.append((s, pk, d))
    ranked.sort()
    ranked = ranked[:limit]
    rows = Responder.objects.select_related("user").in_bulk([pk for _, pk, _ in ranked])
    return [Candidate(rows[pk], d, s) for s, pk, d in ranked if pk in rows]


# ---- who else is told -----------------------------------------------------------------------


def _role_holders_by_node(codes: list[str]) -> dict[str, list]:
    from django.contrib.auth import get_user_model

    users = (get_user_model().objects.filter(is_active=True, role_grants__role=DUTY_ROLE,
                                             role_grants__jurisdiction__code__in=codes)
             .annotate(grant_code=F("role_grants__jurisdiction__code")).order_by("pk"))
    out: dict[str, list] = {}
    for u in users:
        out.setdefault(u.grant_code, []).append(u)
    return out


def duty_officers(jurisdiction) -> list:
    """The duty officers of the nearest ancestor-or-self of ``jurisdiction`` that has any
    (the community's, else the street's, ...)."""
    codes = codes_deepest_first(jurisdiction.path)
    by_node = _role_holders_by_node(codes)
    for code in codes:
        if by_node.get(code):
            return by_node[code]
    return []


def centre_officers(jurisdiction) -> list:
    """The 24-hour centre: on-duty centre staff (``Responder`` kind centre) on the alarm's
    node or above, and the duty officers of the nearest node above the one
    ``duty_officers`` answers for (the street's centre when the community has its own)."""
    from django.contrib.auth import get_user_model

    codes = codes_deepest_first(jurisdiction.path)
    staff = list(get_user_model().objects.filter(
        is_active=True, responder__kind=ResponderKind.CENTRE, responder__on_duty=True,
        responder__jurisdiction__code__in=codes).order_by("pk"))
    by_node = _role_holders_by_node(codes)
    first = next((i for i, c in enumerate(codes) if by_node.get(c)), None)
    above = []
    if first is not None:
        for code in codes[first + 1:]:
            if by_node.get(code):
                above = by_node[code]
                break
        if not above and not staff:
            above = by_node[codes[first]]  # no centre above: the community's own officers again
    return staff + above


def _tell(users, *, title: Message, body: Message, url: str, jurisdiction, skip=()) -> int:
    seen = set(skip)
    n = 0
    for user in users:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        notify(user=user, kind=NOTIFY_KIND, title=title, body=body, url=url, jurisdiction=jurisdiction)
        n += 1
    return n


def _alarm_words(alarm: Alarm) -> tuple[str, str]:
    zh = str(AlarmKind(alarm.kind).label) if alarm.kind in AlarmKind.values else alarm.kind
    return zh, KIND_EN.get(alarm.kind, alarm.kind)


def _where(alarm: Alarm) -> tuple[str, str]:
    place, device = alarm.device.place, alarm.device
    spot = " ".join(x for x in (device.floor and f"{device.floor}楼", device.room, device.location_text) if x)
    spot_en = " ".join(x for x in (device.floor and f"floor {device.floor}", device.room, device.location_text) if x)
    return (f"{place.name}（{place.address}）{spot}".strip(), f"{place.name} ({place.address}) {spot_en}".strip())


def _wall_url() -> str:
    return reverse("safety:wall")


def _respond_url(assignment: Assignment) -> str:
    return reverse("safety:respond_detail", args=[assignment.pk])


# ---- start ----------------------------------------------------------------------------------


def _assign(dispatch: Dispatch, picks: list[Candidate], *, wave: int, now: datetime) -> list[Assignment]:
    rows = Assignment.objects.bulk_create([
        Assignment(dispatch=dispatch, responder=c.responder, wave=wave, travel_seconds=c.seconds,
                   distance_m=c.distance_m, notified_at=now) for c in picks
    ])
    if rows and rows[0].pk is None:  # backends that do not return ids (none of ours, but be sure)
        rows = list(Assignment.objects.filter(dispatch=dispatch, wave=wave).select_related("responder__user"))
    AssignmentEvent.objects.bulk_create([
        AssignmentEvent(assignment=a, action="notify", from_state="", to_state=_A.NOTIFIED,
                        data={"wave": wave, "distance_m": a.distance_m, "travel_seconds": a.travel_seconds},
                        at=now) for a in rows
    ])
    return rows


def _tell_responders(alarm: Alarm, assignments: list[Assignment], *, wave: int) -> None:
    kind_zh, kind_en = _alarm_words(alarm)
    where_zh, where_en = _where(alarm)
    prefix_zh = "【升级】" if wave > 1 else ""
    prefix_en = "[Escalated] " if wave > 1 else ""
    for a in assignments:
        minutes = max(1, round((a.travel_seconds or 60) / 60))
        notify(
            user=a.responder.user, kind=NOTIFY_KIND,
            title=Message(f"{prefix_zh}{kind_zh}：{alarm.device.place.name}，请立即出警",
                          f"{prefix_en}{kind_en}: {alarm.device.place.name}, please respond now"),
            body=Message(f"{where_zh}，距您约{a.distance_m}米，约{minutes}分钟",
                         f"{where_en}, about {a.distance_m} m / {minutes} min from you"),
            url=_respond_url(a), jurisdiction=alarm.jurisdiction,
        )


def _arm_later(dispatch: Dispatch) -> None:
    """After commit: wake this process at the dispatch's next deadlines (when a timer
    runs in this process: the scheduler's, see ``dispatch_waker``)."""
    from yizhan.safety import dispatch_waker

    base = dispatch.escalated_at or dispatch.notified_at
    if base is None:
        return
    transaction.on_commit(lambda: dispatch_waker.arm_many(
        [base + timedelta(seconds=ACK_SECONDS), base + timedelta(seconds=EN_ROUTE_SECONDS)]))


def dispatch_start(*, alarm) -> Dispatch | None:
    """The alarm's dispatch (created once; a second call returns it) and wave 1."""
    if alarm is None or alarm.kind not in DISPATCHED_KINDS:
        return None
    alarm = Alarm.objects.select_related("device__place", "jurisdiction").get(pk=alarm.pk)
    existing = Dispatch.objects.filter(alarm_id=alarm.pk).first()
    if existing is not None:
        return existing
    now = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                # t0: when our server had the alarm (a device's own clock may be off), else its start
                t0 = alarm.received_at or alarm.started_at or now
                dispatch = Dispatch.objects.create(alarm=alarm, jurisdiction_id=alarm.jurisdiction_id,
                                                   created_at_alarm=t0, notified_at=now, wave=1)
        except IntegrityError:  # another process started it a moment ago
            return Dispatch.objects.get(alarm_id=alarm.pk)
        place = alarm.device.place
        picks = nearest_responders(lat=place.lat, lng=place.lng, limit=WAVE_SIZE)
        assignments = _assign(dispatch, picks, wave=1, now=now)
        _tell_responders(alarm, assignments, wave=1)
        kind_zh, kind_en = _alarm_words(alarm)
        where_zh, where_en = _where(alarm)
        sent = "、".join(a.responder.user.display_name or a.responder.user.username for a in assignments)
        sent_en = ", ".join(a.responder.user.display_name or a.responder.user.username for a in assignments)
        officers = duty_officers(alarm.jurisdiction)
        if not assignments:  # nobody on duty near: the centre at once
            officers = officers + centre_officers(alarm.jurisdiction)
        _tell(officers,
              title=Message(f"{kind_zh}：{place.name}", f"{kind_en}: {place.name}"),
              body=Message(f"{where_zh}。已派：{sent or '无人在岗，请人工调度'}",
                           f"{where_en}. Sent: {sent_en or 'nobody on duty nearby, dispatch by hand'}"),
              url=_wall_url(), jurisdiction=alarm.jurisdiction,
              skip=[a.responder.user_id for a in assignments])
        audit_record(actor=None, action=AuditAction.CREATE, obj=dispatch,
                     summary=f"dispatch alarm {alarm.pk} wave 1: {len(assignments)} responders",
                     changes={"alarm": alarm.pk, "wave": 1, "responders": [a.responder_id for a in assignments],
                              "officers": len(officers)},
                     jurisdiction_path=alarm.jurisdiction.path)
        _arm_later(dispatch)
    return dispatch


# ---- escalation ------------------------------------------------------------------------------


def escalation_due_at(d: Dispatch) -> datetime | None:
    """When this dispatch's current wave escalates, or None (someone is en route, the
    last wave is out, or it is over)."""
    if d.state != DispatchState.OPEN or d.first_en_route_at is not None or d.wave >= MAX_WAVES:
        return None
    base = d.escalated_at or d.notified_at
    if base is None:
        return None
    if d.first_ack_at is None:
        return base + timedelta(seconds=ACK_SECONDS)
    return base + timedelta(seconds=EN_ROUTE_SECONDS)


def _open_unrouted():
    return Dispatch.objects.filter(state=DispatchState.OPEN, first_en_route_at__isnull=True, wave__lt=MAX_WAVES)


def dispatch_due_times(*, until: datetime) -> list[datetime]:
    """Escalation deadlines up to ``until`` (for the timer)."""
    out = []
    for d in _open_unrouted().only("state", "first_en_route_at", "first_ack_at", "wave", "escalated_at",
                                   "notified_at"):
        due = escalation_due_at(d)
        if due is not None and due <= until:
            out.append(due)
    return sorted(out)


def _escalate(d: Dispatch, *, now: datetime) -> None:
    alarm = d.alarm
    place = alarm.device.place
    wave = d.wave + 1
    reason = "no_ack" if d.first_ack_at is None else "no_en_route"
    taken = Assignment.objects.filter(dispatch=d).values_list("responder_id", flat=True)
    picks = nearest_responders(lat=place.lat, lng=place.lng, limit=WAVE_SIZE, exclude=taken)
    assignments = _assign(d, picks, wave=wave, now=now)
    _tell_responders(alarm, assignments, wave=wave)
    d.wave = wave
    d.escalated_at = now
    d.save(update_fields=["wave", "escalated_at", "updated_at"])
    kind_zh, kind_en = _alarm_words(alarm)
    where_zh, where_en = _where(alarm)
    why_zh = f"{ACK_SECONDS}秒无人接警" if reason == "no_ack" else f"{EN_ROUTE_SECONDS}秒无人出发"
    why_en = (f"no acknowledgement in {ACK_SECONDS} s" if reason == "no_ack"
              else f"nobody en route in {EN_ROUTE_SECONDS} s")
    sent = "、".join(a.responder.user.display_name or a.responder.user.username for a in assignments) or "无"
    sent_en = ", ".join(a.responder.user.display_name or a.responder.user.username for a in assignments) or "none"
    officers = centre_officers(alarm.jurisdiction) + duty_officers(alarm.jurisdiction)
    _tell(officers,
          title=Message(f"【升级】{kind_zh}：{place.name}（{why_zh}）",
                        f"[Escalated] {kind_en}: {place.name} ({why_en})"),
          body=Message(f"{where_zh}。第{wave}批已派：{sent}", f"{where_en}. Wave {wave} sent: {sent_en}"),
          url=_wall_url(), jurisdiction=alarm.jurisdiction, skip=[a.responder.user_id for a in assignments])
    audit_record(actor=None, action=AuditAction.UPDATE, obj=d,
                 summary=f"dispatch {d.pk} escalated to wave {wave} ({reason})",
                 changes={"wave": wave, "reason": reason, "responders": [a.responder_id for a in assignments]},
                 jurisdiction_path=alarm.jurisdiction.path)
    _arm_later(d)


def dispatch_escalate_due(now: datetime | None = None) -> int:
    """Escalate every dispatch whose wave is overdue (see the module docstring); the
    number escalated. Safe to run from several processes at once (row locks)."""
    now = now or timezone.now()
    ids = [d.pk for d in _open_unrouted().only("state", "first_en_route_at", "first_ack_at", "wave",
                                                 "escalated_at", "notified_at")
           if (due := escalation_due_at(d)) is not None and due <= now]
    done = 0
    for pk in ids:
        with transaction.atomic():
            d = (Dispatch.objects.select_for_update(of=("self",))
                 .select_related("alarm__device__place", "alarm__jurisdiction").filter(pk=pk).first())
            due = escalation_due_at(d) if d is not None else None
            if due is None or due > now:
                continue  # someone answered, or another process escalated it a moment ago
            _escalate(d, now=now)
            done += 1
    return done


# ---- the four steps -----------------------------------------------------------------------


def _clean_position(lat, lng, *, required: bool) -> tuple[float, float] | None:
    if lat in (None, "") and lng in (None, ""):
        if required:
            raise E.PositionRequired()
        return None
    return validate_lat_lng(lat, lng)


def assignment_prepare(row: Assignment, step) -> None:
    """Workflow hook: the arrival's position check and the resolution's outcome."""
    opts = step.options
    if step.action == "arrive":
        lat, lng = _clean_position(opts.get("lat"), opts.get("lng"), required=True)
        place = row.dispatch.alarm.device.place
        distance = int(round(haversine_m(lat, lng, place.lat, place.lng)))
        if distance > ARRIVAL_RADIUS_M:
            raise E.TooFarFromPlace(Message(
                f"您的位置离报警地点约{distance}米（需在{ARRIVAL_RADIUS_M}米内），无法确认到场",
                f"You are about {distance} m from the alarm's place (within {ARRIVAL_RADIUS_M} m needed)"))
        step.extra["position"] = (lat, lng, distance)
        step.data["distance_m"] = distance
    elif opts.get("lat") not in (None, "") or opts.get("lng") not in (None, ""):
        lat, lng = _clean_position(opts.get("lat"), opts.get("lng"), required=False)
        step.extra["position"] = (lat, lng, None)
    if step.action == "resolve":
        outcome = (opts.get("outcome") or "").strip()
        if not outcome:
            raise E.OutcomeRequired()
        if outcome not in DispatchOutcome.values:
            raise E.InvalidOutcome()
        step.data["outcome"] = outcome


def assignment_apply(row: Assignment, step) -> None:
    """Workflow hook: the step's time, and the skipped steps' times."""
    now = step.now
    a = step.action
    if a in ("acknowledge", "en_route", "arrive") and row.acknowledged_at is None:
        row.acknowledged_at = now
    if a in ("en_route", "arrive") and row.en_route_at is None:
        row.en_route_at = now
    if a == "arrive":
        lat, lng, distance = step.extra["position"]
        row.arrived_at = now
        row.arrived_lat, row.arrived_lng, row.arrived_distance_m = lat, lng, distance
    if a == "resolve":
        row.resolved_at = now


def _hazard_category(code: str | None):
    from yizhan.reports.models import Category

    wanted = [c for c in (code, HAZARD_CATEGORY) if c]
    for c in wanted:
        cat = Category.objects.filter(code=c, active=True).first()
        if cat is not None:
            return cat
    cat = (Category.objects.filter(active=True, group="fire_hazard").order_by("sort", "code").first()
           or Category.objects.filter(active=True, is_hazard=True, department_code="fire").order_by("sort").first())
    if cat is None:
        from yizhan.reports.errors import UnknownCategory

        raise UnknownCategory(field="category")
    return cat


HAZARD_CATEGORY = "fire_equipment"  # 消防设施缺失损坏; the responder may pick another 消防隐患 category


def hazard_categories() -> list:
    """The categories a responder may file a hazard under (the 消防隐患 group)."""
    from yizhan.reports.models import Category

    return list(Category.objects.filter(active=True, group="fire_hazard").order_by("sort", "code"))


def _hazard_case(*, actor, dispatch: Dispatch, note: str, photos, category: str | None):
    from yizhan.reports.services.cases import case_submit

    alarm = dispatch.alarm
    place, device = alarm.device.place, alarm.device
    cat = _hazard_category(category)
    kind_zh, _ = _alarm_words(alarm)
    spot = " ".join(x for x in (device.floor and f"{device.floor}楼", device.room, device.location_text) if x)
    description = f"消防报警（{kind_zh}，设备 {device.code}）处置时发现隐患：{place.name} {spot}。{note}".strip()
    details = {}
    for spec in cat.extra_fields or []:
        name = spec.get("name") if isinstance(spec, dict) else None
        if name == "building":
            details[name] = (place.parent.name if place.parent_id else place.name)[:100]
        elif name == "floor" and device.floor:
            details[name] = device.floor
        elif name == "unit" and device.room:
            details[name] = device.room
    result = case_submit(actor=actor, category=cat.code, lat=place.lat, lng=place.lng,
                         description=description[:4000], details=details, photos=photos,
                         address=place.address[:200], idempotency_key=f"safety-dispatch-{dispatch.pk}",
                         source="staff")
    return result.case


def _follow(step, *, actor, note: str, photos, category: str | None) -> None:
    """The dispatch follows its assignment (in the assignment's transaction)."""
    row: Assignment = step.obj
    d = (Dispatch.objects.select_for_update(of=("self",))
         .select_related("jurisdiction", "alarm__device__place", "alarm__jurisdiction").get(pk=row.dispatch_id))
    changed = []
    if row.acknowledged_at and d.first_ack_at is None:
        d.first_ack_at = row.acknowledged_at
        changed.append("first_ack_at")
    if row.en_route_at and d.first_en_route_at is None:
        d.first_en_route_at = row.en_route_at
        changed.append("first_en_route_at")
    if row.arrived_at and d.first_arrived_at is None:
        d.first_arrived_at = row.arrived_at
        changed.append("first_arrived_at")
    if changed:
        d.save(update_fields=[*changed, "updated_at"])
    if step.action == "arrive" and d.state == DispatchState.OPEN:
        workflow_transition(DISPATCH, obj=d, action="arrive", actor=None, system=True, lock=False,
                            data={"assignment": row.pk})
    if step.action == "resolve" and d.state != DispatchState.RESOLVED:
        outcome = step.data["outcome"]
        case = None
        if outcome == DispatchOutcome.HAZARD:
            case = _hazard_case(actor=actor, dispatch=d, note=note, photos=photos, category=category)

        def apply(obj, s):
            obj.outcome = outcome
            obj.outcome_note = note[:MAX_NOTE]
            obj.resolved_at = s.now
            if case is not None:
                obj.case = case

        workflow_transition(DISPATCH, obj=d, action="resolve", actor=None, system=True, lock=False, apply=apply,
                            data={"assignment": row.pk, "outcome": outcome, **({"case": case.number} if case else {})})
        for other in Assignment.objects.filter(dispatch=d, state__in=ACTIVE_STATES).exclude(pk=row.pk):
            workflow_transition(ASSIGNMENT, obj=other, action="stand_down", actor=None, system=True,
                                note="已由他人处置完毕")
        if outcome == DispatchOutcome.REAL_FIRE:
            _forward_soon(d)
        kind_zh, kind_en = _alarm_words(d.alarm)
        label = str(DispatchOutcome(outcome).label)
        _tell(duty_officers(d.jurisdiction),
              title=Message(f"已处置：{d.alarm.device.place.name}（{label}）",
                            f"Resolved: {d.alarm.device.place.name} ({outcome})"),
              body=Message(f"{kind_zh} · {note[:100]}".strip(" ·"), f"{kind_en} · {note[:100]}".strip(" ·")),
              url=_wall_url(), jurisdiction=d.jurisdiction)


def assignment_act(*, actor, assignment, action: str, lat=None, lng=None, outcome=None, note: str = "",
                   photos=(), category: str | None = None) -> Assignment:
    """One of the responder's steps (or the duty officer's stand-down / resolve)."""
    if action not in ASSIGNMENT_ACTIONS:
        raise E.InvalidAssignmentAction()
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    note = str(note or "").strip()
    if len(note) > MAX_NOTE:
        raise E.TextTooLong(field="note", limit=MAX_NOTE)
    photos = [p for p in (photos or ()) if p is not None]
    with transaction.atomic():
        step = workflow_transition(ASSIGNMENT, obj=assignment, action=action, actor=actor, note=note[:300],
                                   lat=lat, lng=lng, outcome=outcome)
        row = step.obj
        position = step.extra.get("position")
        if position is not None and row.responder.user_id == actor.pk:
            Responder.objects.filter(pk=row.responder_id).update(lat=position[0], lng=position[1],
                                                                 position_at=step.now, updated_at=step.now)
        _follow(step, actor=actor, note=note, photos=photos, category=category)
    if isinstance(assignment, Assignment) and assignment is not row:
        for f in ("state", "acknowledged_at", "en_route_at", "arrived_at", "arrived_lat", "arrived_lng",
                  "arrived_distance_m", "resolved_at"):
            setattr(assignment, f, getattr(row, f))
    return row


def dispatch_stand_down(*, actor, dispatch, note: str = "") -> Dispatch:
    """A duty officer ends a dispatch nobody has resolved (the alarm was checked by phone
    or camera and cleared): every active responder is stood down and the dispatch is
    resolved as a false alarm with the note. For ``alarm_clear`` by a person; a device
    that goes quiet by itself stands nobody down."""
    from yizhan.core import permissions

    note = str(note or "").strip()[:MAX_NOTE] or "值班员已核实并消除报警"
    with transaction.atomic():
        d = (Dispatch.objects.select_for_update(of=("self",)).select_related("jurisdiction")
             .filter(pk=getattr(dispatch, "pk", dispatch)).first())
        if d is None:
            raise E.DispatchNotFound()
        if not permissions.can(actor, "safety.duty", d.jurisdiction):
            raise OutOfJurisdiction() if permissions.has_perm_anywhere(actor, "safety.duty") else PermissionDenied()
        if d.state == DispatchState.RESOLVED:
            return d
        for a in Assignment.objects.filter(dispatch=d, state__in=ACTIVE_STATES):
            workflow_transition(ASSIGNMENT, obj=a, action="stand_down", actor=actor, note=note[:300])

        def apply(obj, s):
            obj.outcome = DispatchOutcome.FALSE_ALARM
            obj.outcome_note = note
            obj.resolved_at = s.now

        workflow_transition(DISPATCH, obj=d, action="resolve", actor=None, system=True, lock=False, apply=apply,
                            data={"by": actor.pk, "stood_down": True})
    return d


# ---- 119 -------------------------------------------------------------------------------------


def dispatch_confirm_fire(*, actor, dispatch: Dispatch) -> Dispatch:
    """A duty officer (or a responder on this dispatch) confirms a fire before anyone has
    resolved it: forwarded to 119 now."""
    from yizhan.core import permissions

    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    with transaction.atomic():
        d = (Dispatch.objects.select_for_update(of=("self",)).select_related("jurisdiction")
             .filter(pk=getattr(dispatch, "pk", dispatch)).first())
        if d is None:
            raise E.DispatchNotFound()
        mine = Assignment.objects.filter(dispatch=d, responder__user=actor, state__in=ACTIVE_STATES).exists()
        if not (mine or permissions.can(actor, "safety.duty", d.jurisdiction)):
            raise OutOfJurisdiction() if permissions.has_perm_anywhere(actor, "safety.view") else E.DispatchNotFound()
        if d.state == DispatchState.RESOLVED and d.outcome != DispatchOutcome.REAL_FIRE:
            raise E.NoFireToForward()
        if not d.forward_119_status:
            _forward_soon(d)
            audit_record(actor=actor, action=AuditAction.UPDATE, obj=d, summary=f"dispatch {d.pk} fire confirmed",
                         changes={"forward_119": "pending"}, jurisdiction_path=d.jurisdiction.path)
    return d


def forward_119_payload(d: Dispatch) -> dict:
    alarm = d.alarm
    place, device = alarm.device.place, alarm.device
    return {
        "event": "fire_confirmed",
        "dispatch_id": d.pk,
        "alarm": {"id": alarm.pk, "kind": alarm.kind, "severity": alarm.severity,
                  "started_at": alarm.started_at.isoformat() if alarm.started_at else None,
                  "device": device.code, "details": alarm.details or {}},
        "place": {"name": place.name, "kind": place.kind, "address": place.address, "lat": place.lat,
                  "lng": place.lng, "floor": device.floor, "room": device.room, "spot": device.location_text,
                  "floors": place.floors, "tenant_count": place.tenant_count},
        "jurisdiction": {"code": d.jurisdiction.code, "name": d.jurisdiction.name, "path": d.jurisdiction.path},
        "first_arrived_at": d.first_arrived_at.isoformat() if d.first_arrived_at else None,
        "outcome": d.outcome or None,
        "sent_at": timezone.now().isoformat(),
    }


def forward_119_target() -> tuple[str, str]:
    """(URL, secret): Django settings ``YIZHAN_119_URL`` / ``YIZHAN_119_SECRET`` when set,
    else the environment variables of the same names (config/settings.py names neither)."""
    url = getattr(settings, "YIZHAN_119_URL", None)
    secret = getattr(settings, "YIZHAN_119_SECRET", None)
    if url is None:
        url = os.environ.get("YIZHAN_119_URL", "")
    if secret is None:
        secret = os.environ.get("YIZHAN_119_SECRET", "")
    return url or "", secret or ""


def sign_119(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _status(text: str) -> str:
    return text[:40]


def _attempts(status: str) -> int:
    try:
        return int(status.split(" ", 2)[1].rstrip(":"))
    except (IndexError, ValueError):
        return 0


def _forward_soon(d: Dispatch) -> None:
    """Mark the dispatch for 119 and send from a thread once this transaction commits."""
    if d.forwarded_119_at is not None or d.forward_119_status.startswith(("sent", "sending")):
        return
    Dispatch.objects.filter(pk=d.pk).update(forward_119_status="pending", updated_at=timezone.now())
    d.forward_119_status = "pending"
    pk = d.pk
    transaction.on_commit(lambda: start_forward_thread(pk))


def start_forward_thread(pk: int) -> None:
    threading.Thread(target=_forward_in_thread, args=(pk,), name=f"forward-119-{pk}", daemon=True).start()


def _forward_in_thread(pk: int) -> None:
    try:
        forward_119(pk)
    except Exception:  # noqa: BLE001 - the scheduler retries; never kill the process
        log.exception("forward_119 of dispatch %s failed", pk)
    finally:
        connection.close()


def forward_119(dispatch, *, retry_delays=FORWARD_RETRY_DELAYS, sleep=time.sleep, post=None) -> bool:
    """POST the confirmed fire to ``YIZHAN_119_URL`` (signed), retrying after each delay
    in ``retry_delays``; True when the 119 interface answered 2xx. Records the result."""
    import requests

    pk = getattr(dispatch, "pk", dispatch)
    url, secret = forward_119_target()
    d = Dispatch.objects.select_related("alarm__device__place", "jurisdiction").filter(pk=pk).first()
    if d is None or d.forwarded_119_at is not None:
        return d is not None
    if not url:
        Dispatch.objects.filter(pk=pk).update(forward_119_status="not_configured", updated_at=timezone.now())
        log.warning("YIZHAN_119_URL is not set: dispatch %s not forwarded", pk)
        return False
    attempts = _attempts(d.forward_119_status)
    Dispatch.objects.filter(pk=pk).update(forward_119_status=_status(f"sending {attempts}"),
                                          updated_at=timezone.now())
    post = post or requests.post
    delays = [0.0, *retry_delays]
    error = ""
    for i, delay in enumerate(delays):
        if delay:
            sleep(delay)
        attempts += 1
        body = json.dumps(forward_119_payload(d), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Yizhan-Event": "fire_confirmed",
                   "X-Yizhan-Delivery": f"dispatch-{pk}", "X-Yizhan-Signature": sign_119(secret, body)}
        try:
            resp = post(url, data=body, headers=headers, timeout=FORWARD_TIMEOUT_SECONDS, allow_redirects=False)
            if 200 <= resp.status_code < 300:
                now = timezone.now()
                Dispatch.objects.filter(pk=pk).update(forwarded_119_at=now, updated_at=now,
                                                      forward_119_status=_status(f"sent {attempts}"))
                audit_record(actor=None, action=AuditAction.UPDATE, obj=d, summary=f"dispatch {pk} forwarded to 119",
                             changes={"attempts": attempts}, jurisdiction_path=d.jurisdiction.path)
                return True
            error = f"HTTP {resp.status_code}"
        except requests.RequestException as exc:
            error = type(exc).__name__
        log.warning("forward_119 dispatch %s attempt %s: %s", pk, attempts, error)
        if i < len(delays) - 1:
            Dispatch.objects.filter(pk=pk).update(forward_119_status=_status(f"sending {attempts}: {error}"))
    state = "dead" if attempts >= FORWARD_MAX_ATTEMPTS else "failed"
    Dispatch.objects.filter(pk=pk).update(forward_119_status=_status(f"{state} {attempts}: {error}"),
                                          updated_at=timezone.now())
    return False


def forward_119_retry_due(now: datetime | None = None, *, sleep=time.sleep) -> int:
    """The scheduler's retry of fires not yet forwarded (failed, or a thread that died
    mid-send); one attempt each per run. Returns the number sent."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=FORWARD_STALE_SECONDS)
    qs = Dispatch.objects.filter(forwarded_119_at__isnull=True).filter(
        Q(forward_119_status__startswith="failed") | Q(forward_119_status="pending", updated_at__lt=stale)
        | Q(forward_119_status__startswith="sending", updated_at__lt=stale))
    sent = 0
    for pk in list(qs.values_list("pk", flat=True)[:50]):
        if forward_119(pk, retry_delays=(), sleep=sleep):
            sent += 1
    return sent

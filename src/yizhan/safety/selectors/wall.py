"""Reads of the duty officer's wall (``/safety/wall/``) and its live stream.

* ``alarm_dict`` — one alarm as the API and the stream show it;
* ``wall_alarms`` / ``wall_dispatches`` / ``wall_responders`` — the page's first state;
* ``wall_device_cells`` — 11,810 devices folded into H3 cells per state (the map never
  gets one point per device; devices with an open alarm come from the alarm list);
* ``WallFeed`` — the change feed the SSE stream polls every second: the rows of alarms,
  assignments and responders whose ``updated_at`` (indexed) moved since the cursor, never
  the whole table.

Everything is scoped with ``core.permissions.restrict`` to where the user holds the
wall's permission (``safety.duty``).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Count, Max, Min, Q
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime

from yizhan.core import permissions
from yizhan.core.geo import cell_center, cell_of
from yizhan.safety.choices import AlarmState, DeviceStatus, DispatchState
from yizhan.safety.models import Alarm, Assignment, Device, Dispatch, Responder

WALL_PERM = "safety.duty"
OPEN_DISPATCH = (DispatchState.OPEN, DispatchState.ON_SCENE)
# A row committed a little after a later row was read still has the earlier updated_at:
# each poll re-reads this window behind the cursor (and skips what it already sent).
FEED_LAG = timedelta(seconds=3)
FEED_BATCH = 500
CELL_RES = (6, 7, 8, 9, 10)
CELLS_TTL_SECONDS = 10.0


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z") if dt else None


def _person(user) -> str:
    if user is None:
        return ""
    return user.display_name or str(user)


# ---- alarms -----------------------------------------------------------------------------


def alarm_dict(a: Alarm) -> dict:
    """The contract's alarm fields (``id, device, kind, severity, state, started_at,
    acknowledged_at, cleared_at, place, trigger_count, details``) and what the wall
    shows beside them (labels, rank, where in the place, the place's point)."""
    d, p = a.device, a.place
    where = d.location_text or " ".join(x for x in (f"{d.floor}层" if d.floor else "", d.room) if x)
    return {
        "id": a.pk,
        "device": d.code,
        "device_kind": d.kind,
        "kind": a.kind,
        "kind_label": str(a.get_kind_display()),
        "severity": a.severity,
        "severity_label": str(a.get_severity_display()),
        "rank": a.rank,
        "state": a.state,
        "state_label": str(a.get_state_display()),
        "open": a.open,
        "started_at": _iso(a.started_at),
        "last_triggered_at": _iso(a.last_triggered_at),
        "acknowledged_at": _iso(a.acknowledged_at),
        "cleared_at": _iso(a.cleared_at),
        "place": {"code": p.code, "name": p.name, "kind": p.kind, "address": p.address, "lat": p.lat, "lng": p.lng},
        "location": where,
        "trigger_count": a.trigger_count,
        "channel": a.channel,
        "details": a.details or {},
    }


def _alarms(user):
    return permissions.restrict(Alarm.objects.select_related("device", "place"), user, WALL_PERM)


def wall_alarms(*, user, limit: int = 200) -> list[dict]:
    """Open alarms (active and acknowledged), fire first (``rank``), newest first."""
    qs = _alarms(user).filter(open=True).order_by("rank", "-started_at", "-id")[:limit]
    return [alarm_dict(a) for a in qs]


# ---- dispatches and responders ---------------------------------------------------------


def _assignment_dict(s: Assignment) -> dict:
    r = s.responder
    return {
        "id": s.pk, "state": s.state, "state_label": str(s.get_state_display()), "wave": s.wave,
        "responder": {"id": r.pk, "name": _person(r.user), "kind": r.kind},
        "travel_seconds": s.travel_seconds, "distance_m": s.distance_m,
        "notified_at": _iso(s.notified_at), "acknowledged_at": _iso(s.acknowledged_at),
        "en_route_at": _iso(s.en_route_at), "arrived_at": _iso(s.arrived_at), "resolved_at": _iso(s.resolved_at),
    }


def dispatch_dict(d: Dispatch, assignments) -> dict:
    """One dispatch with its timers' marks (t0 = the alarm's start) and its assignments."""
    return {
        "id": d.pk, "alarm": d.alarm_id, "state": d.state, "state_label": str(d.get_state_display()),
        "open": d.state in OPEN_DISPATCH, "wave": d.wave, "outcome": d.outcome,
        "place": d.alarm.place.name if d.alarm_id else "",
        "started_at": _iso(d.created_at_alarm), "notified_at": _iso(d.notified_at),
        "first_ack_at": _iso(d.first_ack_at), "first_en_route_at": _iso(d.first_en_route_at),
        "first_arrived_at": _iso(d.first_arrived_at), "resolved_at": _iso(d.resolved_at),
        "assignments": [_assignment_dict(s) for s in assignments],
    }


def _dispatch_dicts(dispatches) -> list[dict]:
    dispatches = list(dispatches)
    by_dispatch = defaultdict(list)
    for s in (Assignment.objects.filter(dispatch__in=dispatches).select_related("responder__user")
              .order_by("wave", "travel_seconds", "id")):
        by_dispatch[s.dispatch_id].append(s)
    return [dispatch_dict(d, by_dispatch[d.pk]) for d in dispatches]


def wall_dispatches(*, user, limit: int = 50) -> list[dict]:
    qs = (permissions.restrict(Dispatch.objects.select_related("alarm__place"), user, WALL_PERM)
          .filter(state__in=OPEN_DISPATCH).order_by("-created_at_alarm")[:limit])
    return _dispatch_dicts(qs)


def responder_dict(r: Responder) -> dict:
    """Position only while on duty (nobody tracks a responder off duty)."""
    on = bool(r.on_duty and r.lat is not None and r.lng is not None)
    return {
        "id": r.pk, "name": _person(r.user), "kind": r.kind, "kind_label": str(r.get_kind_display()),
        "on_duty": r.on_duty, "station": r.station.name if r.station_id else "",
        "lat": r.lat if on else None, "lng": r.lng if on else None, "position_at": _iso(r.position_at) if on else None,
    }


def wall_responders(*, user) -> list[dict]:
    qs = permissions.restrict(Responder.objects.select_related("user", "station"), user, WALL_PERM).filter(on_duty=True)
    return [responder_dict(r) for r in qs.order_by("id")[:500]]


# ---- devices by state, folded into cells ------------------------------------------------

_cells_lock = threading.Lock()
_cells_cache: dict = {}


def wall_device_cells(*, user, res: int = 8) -> list[dict]:
    """Devices per H3 cell and state: ``[{"cell", "lat", "lng", "online", "offline",
    "new", "alarm", "total"}]`` (``alarm`` = devices with an open alarm; disabled devices
    are left out). Two grouped queries (per place and status), folded into cells in Python,
    cached per scope and resolution for ``CELLS_TTL_SECONDS``: a wall asks every minute."""
    paths = tuple(permissions.scope_paths(user, WALL_PERM))
    if not paths:
        return []
    key = (paths, res)
    now = time.monotonic()
    with _cells_lock:
        hit = _cells_cache.get(key)
        if hit and now - hit[0] < CELLS_TTL_SECONDS:
            return hit[1]
    live = permissions.restrict(Device.objects.exclude(status=DeviceStatus.DISABLED), user, WALL_PERM)
    # per place and status (a few thousand rows for 11,810 devices), then devices with an
    # open alarm (a handful) moved from their status to "alarm"
    per_place = (live.values_list("place_id", "place__cell", "place__lat", "place__lng", "status")
                 .annotate(n=Count("id")).order_by())
    alarmed = (permissions.restrict(Alarm.objects.filter(open=True), user, WALL_PERM)
               .exclude(device__status=DeviceStatus.DISABLED)
               .values_list("device__place_id", "device__status").annotate(n=Count("device", distinct=True))
               .order_by())
    moved = {(place, status): n for place, status, n in alarmed}
    cells: dict[str, dict] = {}
    for place, cell, lat, lng, status, n in per_place:
        if not cell or res != 8:
            cell = cell_of(lat, lng, res)
        c = cells.get(cell)
        if c is None:
            c = cells[cell] = {"cell": cell, "online": 0, "offline": 0, "new": 0, "alarm": 0, "total": 0}
        c["total"] += n
        a = moved.get((place, status), 0)
        c["alarm"] += a
        if status in (DeviceStatus.ONLINE, DeviceStatus.OFFLINE, DeviceStatus.NEW):
            c[status] += n - a
    out = []
    for c in cells.values():
        lat, lng = cell_center(c["cell"])
        out.append({**c, "lat": round(lat, 6), "lng": round(lng, 6)})
    out.sort(key=lambda c: c["cell"])
    with _cells_lock:
        _cells_cache[key] = (now, out)
    return out


def wall_bounds(*, user) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of the places holding devices in scope (where the
    wall's map opens), or None."""
    b = permissions.restrict(Device.objects.exclude(status=DeviceStatus.DISABLED), user, WALL_PERM).aggregate(
        s=Min("place__lat"), w=Min("place__lng"), n=Max("place__lat"), e=Max("place__lng"))
    return None if b["s"] is None else [[b["s"], b["w"]], [b["n"], b["e"]]]


def wall_cells_forget() -> None:
    with _cells_lock:
        _cells_cache.clear()


def wall_counts(*, user, perm: str = WALL_PERM) -> dict:
    """``{online, offline, new, alarm, total, active_alarms, unacknowledged, fire}``: the
    keys of ``selectors.alarms.alarm_counts`` with the same meaning (``alarm`` = devices
    with an open alarm, ``active_alarms`` = open alarms) plus devices never seen, open
    alarms nobody acknowledged yet and open fire alarms. Disabled devices are left out.
    One grouped query on the status index and one aggregate over the open alarms."""
    out = {"online": 0, "offline": 0, "new": 0, "alarm": 0, "total": 0,
           "active_alarms": 0, "unacknowledged": 0, "fire": 0}
    if not permissions.scope_paths(user, perm):
        return out
    by_status = (permissions.restrict(Device.objects.exclude(status=DeviceStatus.DISABLED), user, perm)
                 .values("status").annotate(n=Count("id")).order_by())
    for row in by_status:
        out["total"] += row["n"]
        if row["status"] in out:
            out[row["status"]] = row["n"]
    open_alarms = permissions.restrict(Alarm.objects.filter(open=True), user, perm)
    agg = open_alarms.aggregate(
        n=Count("id"), devices=Count("device", distinct=True),
        active=Count("id", filter=Q(state=AlarmState.ACTIVE)), fire=Count("id", filter=Q(kind="fire")),
    )
    out.update(alarm=agg["devices"], active_alarms=agg["n"], unacknowledged=agg["active"], fire=agg["fire"])
    return out


# ---- the change feed ------------------------------------------------------------------------


def cursor_to_id(at: datetime) -> str:
    """An SSE event id: the cursor as microseconds since the epoch."""
    return str(int(at.timestamp() * 1_000_000))


def cursor_from_id(value: str | None) -> datetime | None:
    """The cursor of a ``Last-Event-ID`` (or ``?since=``); None when missing or unreadable,
    or when it lies in the future or more than a day back (start from now then)."""
    if not value or not value.strip().isdigit() or len(value.strip()) > 20:
        return None
    try:
        at = datetime.fromtimestamp(int(value.strip()) / 1_000_000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    now = timezone.now()
    if at > now + timedelta(seconds=5) or at < now - timedelta(days=1):
        return None
    return at


def sse(event: str, data, *, event_id: str | None = None) -> bytes:
    lines = []
    if event_id:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(lines) + "\n\n").encode()


class WallFeed:
    """What changed for one wall since its cursor. ``poll()`` returns SSE frames
    (``alarm``, ``alarm_cleared``, ``assignment``, ``responder``, ``counts``); each frame
    carrying a change has the new cursor as its id, so a reconnect with Last-Event-ID
    resumes there (re-reading ``FEED_LAG``: the client applies an event twice harmlessly).

    Per poll: three indexed range reads on ``updated_at`` (alarms, assignments,
    responders), and every ``counts_every`` seconds the header counts (sent when they
    changed)."""

    def __init__(self, *, user, since: datetime | None = None, counts_every: float = 5.0, lang: str | None = None):
        self.user = user
        self.lang = lang  # the labels' language: the stream's request's, whatever thread polls
        self.cursor = since or timezone.now()
        self.seen: dict[tuple[str, int], datetime] = {}
        self.counts_every = counts_every
        self.counts_at = 0.0
        self.counts: dict | None = None

    def _fresh(self, kind: str, rows):
        out = []
        for row in rows:
            key = (kind, row.pk)
            if self.seen.get(key) == row.updated_at:
                continue
            self.seen[key] = row.updated_at
            out.append(row)
        return out

    def poll(self) -> list[bytes]:
        if self.lang:
            with translation.override(self.lang):
                return self._poll()
        return self._poll()

    def _poll(self) -> list[bytes]:
        user, low = self.user, self.cursor - FEED_LAG
        frames: list[bytes] = []
        latest = last_change()
        if latest is not None and latest >= low:
            frames = self._changes(low)
        now = time.monotonic()
        if frames or self.counts is None or now - self.counts_at >= self.counts_every:
            self.counts_at = now
            counts = wall_counts(user=user)
            if counts != self.counts:
                self.counts = counts
                frames.append(sse("counts", counts))
        return frames

    def _read(self, kind: str, qs) -> list:
        """The next rows not sent yet, at most ``FEED_BATCH`` (the rest next poll). A
        full page already sent (an alarm storm: thousands written in one statement share
        an ``updated_at``) is read past by (updated_at, id), never read again and again."""
        qs = qs.order_by("updated_at", "id")
        page = list(qs[:FEED_BATCH])
        fresh = self._fresh(kind, page)
        while not fresh and len(page) == FEED_BATCH:
            last = page[-1]
            page = list(qs.filter(Q(updated_at__gt=last.updated_at) | Q(updated_at=last.updated_at, id__gt=last.pk))
                        [:FEED_BATCH])
            fresh = self._fresh(kind, page)
        return fresh

    def _changes(self, low: datetime) -> list[bytes]:
        user = self.user
        alarms = self._read("a", _alarms(user).filter(updated_at__gte=low))
        assignments = self._read("s", permissions.restrict(
            Assignment.objects.filter(updated_at__gte=low), user, WALL_PERM, path_field="dispatch__jurisdiction__path"))
        responders = self._read("r", permissions.restrict(
            Responder.objects.filter(updated_at__gte=low).select_related("user", "station"), user, WALL_PERM))
        frames: list[bytes] = []
        changed = alarms + assignments + responders
        if changed:
            self.cursor = max(self.cursor, *(r.updated_at for r in changed))
            event_id = cursor_to_id(self.cursor)
            for a in alarms:
                if a.open:
                    frames.append(sse("alarm", alarm_dict(a), event_id=event_id))
                else:
                    frames.append(sse("alarm_cleared", {"id": a.pk, "device": a.device.code,
                                                        "cleared_at": _iso(a.cleared_at)}, event_id=event_id))
            dispatch_ids = sorted({s.dispatch_id for s in assignments})
            if dispatch_ids:
                for d in _dispatch_dicts(Dispatch.objects.filter(pk__in=dispatch_ids).select_related("alarm__place")):
                    frames.append(sse("assignment", d, event_id=event_id))
            for r in responders:
                frames.append(sse("responder", responder_dict(r), event_id=event_id))
            # forget what fell out of the window behind the cursor
            floor = self.cursor - FEED_LAG
            self.seen = {k: v for k, v in self.seen.items() if v >= floor}
        return frames


_PROBE_SQL = None


def last_change() -> datetime | None:
    """The latest ``updated_at`` of alarms, assignments and responders, whoever's: one
    round trip reading the end of three indexes. An idle wall's poll stops here."""
    global _PROBE_SQL
    if _PROBE_SQL is None:
        _PROBE_SQL = "SELECT " + ", ".join(
            f"(SELECT MAX(updated_at) FROM {m._meta.db_table})" for m in (Alarm, Assignment, Responder))
    with connection.cursor() as cursor:
        cursor.execute(_PROBE_SQL)
        values = [_aware(v) for v in cursor.fetchone() if v is not None]
    return max(values) if values else None


def _aware(value) -> datetime:
    if isinstance(value, str):  # SQLite
        value = parse_datetime(value)
    return timezone.make_aware(value, UTC) if timezone.is_naive(value) else value

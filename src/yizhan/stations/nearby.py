"""Nearest open stations: an in-process spatial index.

Travel time is estimated from straight-line distance:

    eta_min = ceil(distance_m × DETOUR_FACTOR / speed)

with walking at 4.5 km/h and an e-bike at 15 km/h (a rider in city traffic, not the
25 km/h legal top speed). DETOUR_FACTOR 1.3 is the usual ratio of street-network to
straight-line distance in Chinese urban grids. Because every station gets the same
speed, ordering by eta is ordering by distance.

The index keeps every open station in NumPy arrays (lat, lng, amenity bit mask) and a
dict of grid buckets (0.05° × 0.05°, about 5.5 × 4.8 km at Suzhou's latitude). A query
scans rings of buckets outwards until it has ``limit`` stations that pass the filters
and the ring already covers the distance of the last one, so it never misses a closer
station. Open-now is checked only for candidates, in distance order, against
pre-computed minute-of-week spans (stations with a holiday exception near today go
through ``hours.open_status``).

Freshness across processes (web, worker): station services call
``nearby_index_invalidate`` on commit, which bumps a version in the shared cache; each
process compares that version and a cheap fingerprint of the stations table (count,
latest ``updated_at``, holiday rows) at most every ``YIZHAN_NEARBY_REFRESH_SECONDS``
(2 s by default, 0 in tests) and rebuilds when they change.
"""

from __future__ import annotations

import math
import threading
import time as _time
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max
from django.utils import timezone

from yizhan.core.errors import Message, ValidationError
from yizhan.core.geo import EARTH_RADIUS_M, validate_lat_lng
from yizhan.stations import hours as H
from yizhan.stations.choices import Amenity, StationStatus

WALK_KMH = 4.5
EBIKE_KMH = 15.0
DETOUR_FACTOR = 1.3
SPEEDS_KMH = {"walk": WALK_KMH, "ebike": EBIKE_KMH}
MAX_LIMIT = 100
MAX_RADIUS_M = 100_000  # farther than this is not "nearby" for anyone on foot or e-bike
BUCKET_DEG = 0.05
_VERSION_KEY = "stations:nearby:version"

AMENITY_BITS = {a: 1 << i for i, a in enumerate(Amenity.values)}


def eta_minutes(distance_m: float, mode: str) -> int:
    return max(1, math.ceil(distance_m * DETOUR_FACTOR / 1000 / SPEEDS_KMH[mode] * 60))


# ---- validation ------------------------------------------------------------------


def _clean_query(lat, lng, limit, amenities, mode) -> tuple[float, float, int, int, tuple[str, ...], str]:
    lat, lng = validate_lat_lng(lat, lng)
    try:
        limit_i = int(limit)
        if isinstance(limit, float) and limit != limit_i:
            raise ValueError
    except (TypeError, ValueError):
        raise ValidationError(
            Message("limit 必须是整数", "limit must be a whole number"), code="invalid_limit", field="limit"
        ) from None
    if limit_i > MAX_LIMIT:
        raise ValidationError(
            Message(f"limit 不能超过 {MAX_LIMIT}", f"limit cannot exceed {MAX_LIMIT}"),
            code="limit_too_large", field="limit",
        )
    if limit_i < 1:
        raise ValidationError(
            Message("limit 至少为 1", "limit must be at least 1"), code="invalid_limit", field="limit"
        )
    if isinstance(amenities, str):
        amenities = (amenities,)
    mask = 0
    wanted = []
    for a in amenities or ():
        if a not in AMENITY_BITS:
            raise ValidationError(
                Message(f"未知的设施：{a}", f"Unknown amenity: {a}"), code="unknown_amenity", field="amenity"
            )
        mask |= AMENITY_BITS[a]
        wanted.append(a)
    if mode not in SPEEDS_KMH:
        raise ValidationError(
            Message("出行方式只能是步行(walk)或电动车(ebike)", "mode must be walk or ebike"),
            code="invalid_mode", field="mode",
        )
    return lat, lng, limit_i, mask, tuple(wanted), mode


# ---- the index -----------------------------------------------------------------------


@dataclass
class _Index:
    ids: np.ndarray
    lat: np.ndarray  # degrees
    lng: np.ndarray
    lat_r: np.ndarray  # radians
    lng_r: np.ndarray
    cos_lat: np.ndarray
    mask: np.ndarray  # amenity bits
    rows: list[dict]  # per station: public fields
    spans: list[list[tuple[int, int]]]  # merged minute-of-week spans
    hours: list[dict]
    buckets: dict[tuple[int, int], np.ndarray]
    holidays: dict[int, dict]  # station position -> {date: intervals} within the window
    holiday_window: tuple = ()
    built_at: float = field(default_factory=_time.monotonic)


def _merge_week(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _bucket(lat: float, lng: float) -> tuple[int, int]:
    return (math.floor(lat / BUCKET_DEG), math.floor(lng / BUCKET_DEG))


def _holiday_window(now: datetime) -> tuple:
    today = now.astimezone(H.SHANGHAI).date()
    return (today - timedelta(days=1), today + timedelta(days=H.HORIZON_DAYS))


def _load_holidays(positions: dict[int, int], window: tuple) -> dict[int, dict]:
    from yizhan.stations.models import StationHoliday

    out: dict[int, dict] = {}
    rows = StationHoliday.objects.filter(date__gte=window[0], date__lte=window[1]).values_list(
        "station_id", "date", "intervals"
    )
    for station_id, day, intervals in rows:
        pos = positions.get(station_id)
        if pos is not None:
            out.setdefault(pos, {})[day] = intervals
    return out


def _build(now: datetime) -> _Index:
    from yizhan.stations.models import Station

    qs = Station.objects.filter(status=StationStatus.OPEN).values_list(
        "id", "code", "name", "type", "lat", "lng", "amenities", "hours", "last_confirmed_at"
    ).order_by("id")
    ids, lats, lngs, masks, rows, spans, hours = [], [], [], [], [], [], []
    for sid, code, name, type_, lat, lng, amenities, hrs, confirmed in qs.iterator(chunk_size=5000):
        bits = 0
        for a in amenities or ():
            bits |= AMENITY_BITS.get(a, 0)
        ids.append(sid)
        lats.append(lat)
        lngs.append(lng)
        masks.append(bits)
        rows.append({
            "id": sid, "code": code, "name": name, "type": type_, "lat": lat, "lng": lng,
            "amenities": [a for a in Amenity.values if a in (amenities or ())],
            "last_confirmed_at": confirmed,
        })
        try:
            spans.append(_merge_week(H.week_spans(hrs or {})))
        except ValidationError:  # a malformed legacy schedule counts as closed
            spans.append([])
        hours.append(hrs or {})
    lat_a = np.asarray(lats, dtype=np.float64)
    lng_a = np.asarray(lngs, dtype=np.float64)
    buckets: dict[tuple[int, int], list[int]] = {}
    for i, (la, ln) in enumerate(zip(lats, lngs, strict=True)):
        buckets.setdefault(_bucket(la, ln), []).append(i)
    window = _holiday_window(now)
    positions = {sid: i for i, sid in enumerate(ids)}
    return _Index(
        ids=np.asarray(ids, dtype=np.int64),
        lat=lat_a,
        lng=lng_a,
        lat_r=np.radians(lat_a),
        lng_r=np.radians(lng_a),
        cos_lat=np.cos(np.radians(lat_a)),
        mask=np.asarray(masks, dtype=np.int64),
        rows=rows,
        spans=spans,
        hours=hours,
        buckets={k: np.asarray(v, dtype=np.int64) for k, v in buckets.items()},
        holidays=_load_holidays(positions, window),
        holiday_window=window,
    )


class _State:
    lock = threading.Lock()
    index: _Index | None = None
    version = None  # the shared cache version the index was built at
    table_fp: tuple | None = None  # the stations-table fingerprint it was built at
    checked_at: float = -1e9  # monotonic time of the last version check
    table_checked_at: float = -1e9  # ... and of the last table fingerprint
    dirty: bool = True


def _cache_version():
    try:
        return cache.get(_VERSION_KEY, 0)
    except Exception:  # no cache table (a fresh database before createcachetable)
        return None


def _table_fingerprint() -> tuple:
    from yizhan.stations.models import Station, StationHoliday

    agg = Station.objects.aggregate(n=Count("id"), m=Max("updated_at"))
    hol = StationHoliday.objects.aggregate(n=Count("id"), m=Max("id"))
    return (agg["n"], agg["m"], hol["n"], hol["m"])


def nearby_index_invalidate() -> None:
    """Call after any station write (on commit). Other processes notice via the cache."""
    _State.dirty = True
    try:
        cache.set(_VERSION_KEY, _time.time_ns(), timeout=None)
    except Exception:  # the cache table may not exist yet during migrate
        pass


def nearby_index_forget() -> None:
    """Drop this process's index (tests); the next query rebuilds it."""
    with _State.lock:
        _State.index = None
        _State.version = None
        _State.table_fp = None
        _State.dirty = True


def _current_index(now: datetime) -> _Index:
    """This process's index, rebuilt when stale.

    * ``nearby_index_invalidate`` in this process marks it dirty at once;
    * the shared cache version (bumped by any process) is read at most every
      ``YIZHAN_NEARBY_REFRESH_SECONDS`` (2 s): one indexed row read;
    * a fingerprint of the tables (count and latest ``updated_at`` of stations, count
      and latest id of holiday rows) is compared at most every
      ``YIZHAN_NEARBY_TABLE_CHECK_SECONDS`` (30 s), a safety net for writes that
      bypassed the services (shell, raw SQL, a failed cache write);
    * inside a transaction (tests, or a caller that has just written) both are checked
      on every call, since on-commit invalidation has not run yet;
    * the index of another day is rebuilt (holiday exceptions are loaded per window).

    While one thread rebuilds, the others keep answering from the previous index.
    """
    refresh = float(getattr(settings, "YIZHAN_NEARBY_REFRESH_SECONDS", 2.0))
    table_every = float(getattr(settings, "YIZHAN_NEARBY_TABLE_CHECK_SECONDS", 30.0))
    in_tx = connection.in_atomic_block
    window = _holiday_window(now)
    idx = _State.index
    if (
        idx is not None
        and not _State.dirty
        and not in_tx
        and _time.monotonic() - _State.checked_at < refresh
        and idx.holiday_window == window
    ):
        return idx
    if not _State.lock.acquire(blocking=idx is None):
        return idx  # another thread is checking or rebuilding: serve the previous index
    try:
        mono = _time.monotonic()
        version = _cache_version()
        full = in_tx or _State.index is None or mono - _State.table_checked_at >= table_every
        table_fp = _table_fingerprint() if full else _State.table_fp
        idx = _State.index
        if (
            idx is None
            or _State.dirty
            or version != _State.version
            or table_fp != _State.table_fp
            or idx.holiday_window != window
        ):
            _State.dirty = False  # cleared before the build so a concurrent invalidate wins
            if not full:
                table_fp, full = _table_fingerprint(), True
            idx = _build(now)
            _State.index = idx
            _State.version = version
            _State.table_fp = table_fp
        _State.checked_at = mono
        if full:
            _State.table_checked_at = mono
        return idx
    finally:
        _State.lock.release()


# ---- open-now -------------------------------------------------------------------------


def _fast_status(spans: list[tuple[int, int]], at: datetime) -> H.OpenStatus:
    """Open status from the weekly spans alone (no exception near this date)."""
    if not spans:
        return H.OpenStatus(False, None, None)
    local = at.astimezone(H.SHANGHAI).replace(second=0, microsecond=0)
    m = H.minute_of_week(local)
    week = H.MINUTES_PER_WEEK
    if spans[0][0] == 0 and spans[-1][1] == week and len(spans) == 1:
        return H.OpenStatus(True, None, None)  # open around the clock
    i = bisect_right(spans, (m, week + 1)) - 1
    if i >= 0 and spans[i][0] <= m < spans[i][1]:
        end = spans[i][1]
        if end == week and spans[0][0] == 0:  # runs on across Sunday midnight
            end = week + spans[0][1]
        return H.OpenStatus(True, None, local + timedelta(minutes=end - m))
    nxt = spans[i + 1][0] if i + 1 < len(spans) else spans[0][0] + week
    return H.OpenStatus(False, local + timedelta(minutes=nxt - m), None)


def _status(idx: _Index, pos: int, at: datetime) -> H.OpenStatus:
    hol = idx.holidays.get(pos)
    if hol:
        return H.open_status(hours=idx.hours[pos], holidays=hol, at=at)
    return _fast_status(idx.spans[pos], at)


# ---- the query ---------------------------------------------------------------------------


def _distances(idx: _Index, cand: np.ndarray, lat: float, lng: float) -> np.ndarray:
    la, ln = math.radians(lat), math.radians(lng)
    dlat = idx.lat_r[cand] - la
    dlng = idx.lng_r[cand] - ln
    a = np.sin(dlat / 2) ** 2 + math.cos(la) * idx.cos_lat[cand] * np.sin(dlng / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def _covered_m(lat: float, lng: float, b_lat: int, b_lng: int, ring: int) -> float:
    """A lower bound of the distance from the query to any point outside the rings
    0..``ring`` of buckets around it: exact spherical bounds, no flat-earth guess.

    Outside the rings a point differs in latitude by at least ``gap_lat`` (distance
    >= R·gap_lat) or in longitude by at least ``gap_lng``; the closest a point at a
    longitude difference of gap_lng can be is the distance to that meridian,
    R·asin(cos(lat)·sin(gap_lng)).
    """
    gap_lat = min(lat - (b_lat - ring) * BUCKET_DEG, (b_lat + ring + 1) * BUCKET_DEG - lat)
    gap_lng = min(lng - (b_lng - ring) * BUCKET_DEG, (b_lng + ring + 1) * BUCKET_DEG - lng)
    d_lat = EARTH_RADIUS_M * math.radians(max(0.0, gap_lat))
    g = math.radians(min(90.0, max(0.0, gap_lng)))
    d_lng = EARTH_RADIUS_M * math.asin(min(1.0, math.cos(math.radians(lat)) * math.sin(g)))
    return min(d_lat, d_lng)


@lru_cache(maxsize=512)
def _max_ring_for(lat_band: int) -> int:
    lat = min(89.0, abs(lat_band) * 0.5 + 0.5)
    m_per_bucket = EARTH_RADIUS_M * math.radians(BUCKET_DEG) * math.cos(math.radians(lat))
    return max(1, math.ceil(MAX_RADIUS_M / m_per_bucket)) + 1


def _max_ring(lat: float) -> int:
    """Rings needed to reach MAX_RADIUS_M east-west (the narrow side of a bucket)."""
    return _max_ring_for(int(abs(lat) // 0.5))


def station_nearby(
    *, lat, lng, limit=10, amenities=(), open_now=False, mode="walk", at: datetime | None = None
) -> list[dict]:
    """The ``limit`` nearest open stations with every amenity asked for, nearest first."""
    lat, lng, limit, mask, _wanted, mode = _clean_query(lat, lng, limit, amenities, mode)
    at = at or timezone.now()
    idx = _current_index(at)
    if len(idx.ids) == 0:
        return []
    b_lat, b_lng = _bucket(lat, lng)
    max_ring = _max_ring(lat)
    found: list[tuple[float, int, H.OpenStatus]] = []
    pending = np.empty(0, dtype=np.int64)
    pending_d = np.empty(0, dtype=np.float64)
    for ring in range(max_ring + 1):
        parts = []
        if ring == 0:
            b = idx.buckets.get((b_lat, b_lng))
            if b is not None:
                parts.append(b)
        else:
            for dl in range(-ring, ring + 1):
                for dg in (-ring, ring):
                    b = idx.buckets.get((b_lat + dl, b_lng + dg))
                    if b is not None:
                        parts.append(b)
            for dg in range(-ring + 1, ring):
                for dl in (-ring, ring):
                    b = idx.buckets.get((b_lat + dl, b_lng + dg))
                    if b is not None:
                        parts.append(b)
        if parts:
            cand = parts[0] if len(parts) == 1 else np.concatenate(parts)
            if mask:
                cand = cand[(idx.mask[cand] & mask) == mask]
            if len(cand):
                pending = np.concatenate([pending, cand])
                pending_d = np.concatenate([pending_d, _distances(idx, cand, lat, lng)])
        covered = _covered_m(lat, lng, b_lat, b_lng, ring)  # every station closer than this has been seen
        if len(pending):
            # take, in distance order, the pending candidates closer than `covered`
            ready = pending_d <= covered if ring < max_ring else np.ones(len(pending), dtype=bool)
            if ready.any():
                r_pos, r_d = pending[ready], pending_d[ready]
                pending, pending_d = pending[~ready], pending_d[~ready]
                order = np.argsort(r_d, kind="stable")
                for j in order:
                    pos = int(r_pos[j])
                    status = _status(idx, pos, at)
                    if open_now and not status.open_now:
                        continue
                    found.append((float(r_d[j]), pos, status))
                    if len(found) >= limit:
                        break
        if len(found) >= limit or covered >= MAX_RADIUS_M:
            break
    out = []
    for dist, pos, status in found[:limit]:
        if dist > MAX_RADIUS_M:
            break
        row = dict(idx.rows[pos])
        row["distance_m"] = int(round(dist))
        row["eta_min"] = eta_minutes(dist, mode)
        row["eta_walk_min"] = eta_minutes(dist, "walk")
        row["eta_ebike_min"] = eta_minutes(dist, "ebike")
        row["open_now"] = status.open_now
        row["opens_at"] = status.opens_at
        row["closes_at"] = status.closes_at
        out.append(row)
    return out

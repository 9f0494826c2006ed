"""Nearest open stations: an in-process spatial index.

Travel time is estimated from straight-line distance:

    eta_min = ceil(distance_m × DETOUR_FACTOR / speed)

with walking at 4.5 km/h and an e-bike at 15 km/h (a rider in city traffic, not the
25 km/h legal top speed). DETOUR_FACTOR 1.3 is the usual ratio of street-network to
straight-line distance in Chinese urban grids. Because every station gets the same
speed, ordering by eta is ordering by distance.

The index keeps every open station column-wise: NumPy arrays (lat, lng, amenity bit
mask, schedule number) plus plain lists for the text a result shows; schedules and
amenity sets are decoded once per distinct value (130,000 stations: ~35 MiB, ~1 s to
build). Stations sit in grid buckets of 0.05° × 0.05° (about 5.5 × 4.8 km at Suzhou's
latitude). A query scans rings of buckets outwards, drops stations without the amenities
(bit mask) and, with ``open_now``, those whose weekly schedule is closed at this minute
(one flag per distinct schedule, cached per minute); it stops once it holds ``limit``
results and the rings cover the distance of the last one (an exact spherical lower
bound, see ``_covered_m``), so it never misses a closer station. Open status, opens_at
and closes_at are worked out only for those candidates, in distance order, from
minute-of-week spans; stations with a holiday exception near today go through
``hours.open_status``. Nothing farther than MAX_RADIUS_M (100 km) is returned. Longitude
wrap-around at ±180° is not handled (China is far from it).

Freshness across processes (web, worker): station services call
``nearby_index_invalidate`` on commit; it marks this process's index dirty and bumps a
version in the shared cache (settings.CACHES: DatabaseCache, so every process sees it).
Each process reads that version at most every ``YIZHAN_NEARBY_REFRESH_SECONDS`` (2 s),
and compares a fingerprint of the tables (count and latest ``updated_at`` of stations,
holiday rows) at most every ``YIZHAN_NEARBY_TABLE_CHECK_SECONDS`` (30 s) as a safety
net for writes that bypass the services; inside a transaction (tests) both are checked
on every call. See ``_current_index``. Thread-safe: one thread rebuilds under a lock
while the others keep answering from the previous index.
"""

from __future__ import annotations

import math
import threading
import time as _time
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max
from django.utils import timezone

from yizhan.core.errors import ValidationError
from yizhan.core.geo import EARTH_RADIUS_M, validate_lat_lng
from yizhan.stations import errors as E
from yizhan.stations import hours as H
from yizhan.stations.choices import Amenity, StationStatus
from yizhan.stations.models import Station, StationHoliday

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
        raise E.InvalidLimit(E.InvalidLimit.not_whole) from None
    if limit_i > MAX_LIMIT:
        raise E.LimitTooLarge(most=MAX_LIMIT)
    if limit_i < 1:
        raise E.InvalidLimit(E.InvalidLimit.below_one)
    if isinstance(amenities, str):
        amenities = (amenities,)
    mask = 0
    wanted = []
    for a in amenities or ():
        if a not in AMENITY_BITS:
            raise E.UnknownAmenity(field="amenity", value=a)
        mask |= AMENITY_BITS[a]
        wanted.append(a)
    if mode not in SPEEDS_KMH:
        raise E.InvalidMode(E.InvalidMode.spelled_out)
    return lat, lng, limit_i, mask, tuple(wanted), mode


# ---- the index -----------------------------------------------------------------------


@dataclass
class _Index:
    """Column store of the open stations: NumPy arrays for the search, plain lists for
    the few text fields a result needs, schedules deduplicated (most stations share a
    handful of schedules), so 130,000 stations take tens of MiB and few Python objects."""

    ids: np.ndarray  # int64
    lat: np.ndarray  # degrees
    lng: np.ndarray
    lat_r: np.ndarray  # radians
    lng_r: np.ndarray
    cos_lat: np.ndarray
    mask: np.ndarray  # int64 amenity bits
    sched: np.ndarray  # int32: position in sched_spans / sched_hours
    codes: list[str]
    names: list[str]
    types: list[str]
    confirmed: list  # last_confirmed_at or None
    sched_spans: list[list[tuple[int, int]]]  # merged minute-of-week spans per distinct schedule
    sched_hours: list[dict]
    buckets: dict[tuple[int, int], np.ndarray]
    holidays: dict[int, dict]  # station position -> {date: intervals} within the window
    has_holiday: np.ndarray  # bool per station: an exception within the window
    holiday_window: tuple = ()
    open_cache: tuple | None = None  # (minute of week, open flag per schedule)
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
    out: dict[int, dict] = {}
    rows = StationHoliday.objects.filter(date__gte=window[0], date__lte=window[1]).values_list(
        "station_id", "date", "intervals"
    )
    for station_id, day, intervals in rows:
        pos = positions.get(station_id)
        if pos is not None:
            out.setdefault(pos, {})[day] = intervals
    return out


_AMENITY_ORDER = tuple((a, AMENITY_BITS[a]) for a in Amenity.values)


@lru_cache(maxsize=1 << len(AMENITY_BITS))
def _amenity_list(bits: int) -> tuple[str, ...]:
    return tuple(a for a, bit in _AMENITY_ORDER if bits & bit)


def _build(now: datetime) -> _Index:
    import json

    from django.db.models import F, TextField
    from django.db.models.functions import Cast

    # JSON columns read as text and decoded once per distinct value: stations share
    # schedules and amenity sets, so this is a few hundred json.loads, not 2 × 130,000.
    qs = (
        Station.objects.filter(status=StationStatus.OPEN)
        .annotate(amen_t=Cast(F("amenities"), TextField()), hours_t=Cast(F("hours"), TextField()))
        .values_list("id", "code", "name", "type", "lat", "lng", "amen_t", "hours_t", "last_confirmed_at")
        .order_by("id")
    )
    ids, lats, lngs, masks, scheds = [], [], [], [], []
    codes, names, types, confirmed = [], [], [], []
    mask_of: dict[str, int] = {}
    sched_of: dict[str, int] = {}
    sched_spans: list[list[tuple[int, int]]] = []
    sched_hours: list[dict] = []
    type_intern: dict[str, str] = {}
    for sid, code, name, type_, lat, lng, amen_t, hours_t, conf in qs.iterator(chunk_size=5000):
        bits = mask_of.get(amen_t)
        if bits is None:
            bits = 0
            for a in json.loads(amen_t) if amen_t else ():
                bits |= AMENITY_BITS.get(a, 0)
            mask_of[amen_t] = bits
        k = sched_of.get(hours_t)
        if k is None:
            hrs = (json.loads(hours_t) if hours_t else None) or {}
            try:
                spans = _merge_week(H.week_spans(hrs))
            except ValidationError:  # a malformed legacy schedule counts as closed
                spans, hrs = [], {}
            k = sched_of[hours_t] = len(sched_spans)
            sched_spans.append(spans)
            sched_hours.append(hrs)
        ids.append(sid)
        lats.append(lat)
        lngs.append(lng)
        masks.append(bits)
        scheds.append(k)
        codes.append(code)
        names.append(name)
        types.append(type_intern.setdefault(type_, type_))
        confirmed.append(conf)
    lat_a = np.asarray(lats, dtype=np.float64)
    lng_a = np.asarray(lngs, dtype=np.float64)
    buckets: dict[tuple[int, int], np.ndarray] = {}
    if len(ids):
        b_lat = np.floor(lat_a / BUCKET_DEG).astype(np.int64)
        b_lng = np.floor(lng_a / BUCKET_DEG).astype(np.int64)
        order = np.lexsort((b_lng, b_lat))
        keys = np.column_stack([b_lat[order], b_lng[order]])
        starts = np.flatnonzero(np.r_[True, np.any(keys[1:] != keys[:-1], axis=1)])
        ends = np.r_[starts[1:], len(order)]
        for st_, en in zip(starts.tolist(), ends.tolist(), strict=True):
            buckets[(int(keys[st_, 0]), int(keys[st_, 1]))] = np.sort(order[st_:en])
    window = _holiday_window(now)
    positions = {sid: i for i, sid in enumerate(ids)}
    holidays = _load_holidays(positions, window)
    has_holiday = np.zeros(len(ids), dtype=bool)
    if holidays:
        has_holiday[np.fromiter(holidays, dtype=np.int64)] = True
    return _Index(
        ids=np.asarray(ids, dtype=np.int64),
        lat=lat_a,
        lng=lng_a,
        lat_r=np.radians(lat_a),
        lng_r=np.radians(lng_a),
        cos_lat=np.cos(np.radians(lat_a)),
        mask=np.asarray(masks, dtype=np.int64),
        sched=np.asarray(scheds, dtype=np.int32),
        codes=codes,
        names=names,
        types=types,
        confirmed=confirmed,
        sched_spans=sched_spans,
        sched_hours=sched_hours,
        buckets=buckets,
        holidays=holidays,
        has_holiday=has_holiday,
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


def _fast_status(spans: list[tuple[int, int]], local: datetime, m: int) -> H.OpenStatus:
    """Open status from the weekly spans alone (no exception near this date).
    ``local``: the query time in Shanghai, truncated to the minute; ``m``: its minute of week."""
    if not spans:
        return H.OpenStatus(False, None, None)
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


def _open_by_schedule(idx: _Index, m: int) -> np.ndarray:
    """Per distinct schedule: open at minute-of-week ``m``? Cached on the index per minute
    (one bisect per distinct schedule, shared by every query in that minute)."""
    cached = idx.open_cache
    if cached is not None and cached[0] == m:
        return cached[1]
    flags = np.zeros(len(idx.sched_spans), dtype=bool)
    week1 = H.MINUTES_PER_WEEK + 1
    for k, spans in enumerate(idx.sched_spans):
        i = bisect_right(spans, (m, week1)) - 1
        flags[k] = i >= 0 and spans[i][0] <= m < spans[i][1]
    idx.open_cache = (m, flags)
    return flags


class _Statuses:
    """Open status of stations at one instant: by schedule for most stations (computed
    once per distinct schedule), through ``hours.open_status`` for those with a holiday
    exception in the window."""

    __slots__ = ("at", "cache", "idx", "local", "m")

    def __init__(self, idx: _Index, at: datetime):
        self.idx = idx
        self.at = at
        self.local = at.astimezone(H.SHANGHAI).replace(second=0, microsecond=0)
        self.m = H.minute_of_week(self.local)
        self.cache: dict[int, H.OpenStatus] = {}

    def of(self, pos: int) -> H.OpenStatus:
        idx = self.idx
        k = int(idx.sched[pos])
        if idx.has_holiday[pos]:
            return H.open_status(hours=idx.sched_hours[k], holidays=idx.holidays[pos], at=self.at)
        st = self.cache.get(k)
        if st is None:
            st = self.cache[k] = _fast_status(idx.sched_spans[k], self.local, self.m)
        return st


def _status(idx: _Index, pos: int, at: datetime) -> H.OpenStatus:
    return _Statuses(idx, at).of(pos)


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
    statuses = _Statuses(idx, at)
    open_flags = _open_by_schedule(idx, statuses.m) if open_now else None
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
            if open_flags is not None and len(cand):
                # closed by the weekly schedule and no exception near today: never a result
                cand = cand[open_flags[idx.sched[cand]] | idx.has_holiday[cand]]
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
                    status = statuses.of(pos)
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
        row = {
            "id": int(idx.ids[pos]), "code": idx.codes[pos], "name": idx.names[pos], "type": idx.types[pos],
            "lat": float(idx.lat[pos]), "lng": float(idx.lng[pos]),
            "amenities": list(_amenity_list(int(idx.mask[pos]))),
            "last_confirmed_at": idx.confirmed[pos],
        }
        row["distance_m"] = int(round(dist))
        row["eta_min"] = eta_minutes(dist, mode)
        row["eta_walk_min"] = eta_minutes(dist, "walk")
        row["eta_ebike_min"] = eta_minutes(dist, "ebike")
        row["open_now"] = status.open_now
        row["opens_at"] = status.opens_at
        row["closes_at"] = status.closes_at
        out.append(row)
    return out

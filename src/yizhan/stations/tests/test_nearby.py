"""station_nearby: ordering, travel time, filters, freshness, and agreement with brute force."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yizhan.core.errors import ValidationError
from yizhan.core.geo import haversine_m
from yizhan.stations import nearby
from yizhan.stations.hours import SHANGHAI, open_status
from yizhan.stations.models import Station, StationHoliday
from yizhan.stations.nearby import (
    DETOUR_FACTOR,
    EBIKE_KMH,
    MAX_RADIUS_M,
    WALK_KMH,
    eta_minutes,
    nearby_index_invalidate,
    station_nearby,
)
from yizhan.stations.tests.factories import make_station

pytestmark = pytest.mark.django_db

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NEVER = {d: [] for d in DAYS}
DAYTIME = {d: [["08:00", "20:00"]] for d in DAYS}
NIGHT = {d: [["20:00", "08:00"]] for d in DAYS}
NOON = datetime(2024, 3, 1, 12, 0, tzinfo=SHANGHAI)  # a Friday
MIDNIGHT = datetime(2024, 3, 1, 23, 30, tzinfo=SHANGHAI)

LAT, LNG = 31.32, 120.37  # inside the test tree's community A


@pytest.fixture(autouse=True)
def _fresh_index():
    nearby.nearby_index_forget()
    yield
    nearby.nearby_index_forget()


def north(metres: float) -> float:
    return LAT + metres / 111_195.0


def codes(items):
    return [it["code"] for it in items]


def test_constants_are_the_documented_ones():
    assert (WALK_KMH, EBIKE_KMH, DETOUR_FACTOR) == (4.5, 15.0, 1.3)
    # 1 km on foot: 1.3 km at 4.5 km/h = 17.33 min -> 18
    assert eta_minutes(1000, "walk") == 18
    assert eta_minutes(1000, "ebike") == math.ceil(1.3 / 15 * 60) == 6
    assert eta_minutes(0, "walk") == 1


def test_ordered_by_eta_with_every_field(tree):
    c = tree.community
    make_station(c, code="FAR", lat=north(900), lng=LNG)
    make_station(c, code="NEAR", lat=north(100), lng=LNG, amenities=["wifi", "toilet"])
    make_station(c, code="MID", lat=north(400), lng=LNG)
    items = station_nearby(lat=LAT, lng=LNG, at=NOON)
    assert codes(items) == ["NEAR", "MID", "FAR"]
    first = items[0]
    assert {"id", "code", "name", "type", "lat", "lng", "distance_m", "eta_min", "open_now", "amenities",
            "opens_at", "closes_at", "last_confirmed_at"} <= set(first)
    assert abs(first["distance_m"] - 100) <= 1
    assert first["eta_min"] == eta_minutes(first["distance_m"], "walk") == 2
    assert first["amenities"] == ["toilet", "wifi"]  # in the catalogue's order
    assert first["open_now"] is True and first["closes_at"] is None  # open around the clock
    assert [it["eta_min"] for it in items] == sorted(it["eta_min"] for it in items)
    assert codes(station_nearby(lat=LAT, lng=LNG, limit=2, at=NOON)) == ["NEAR", "MID"]


def test_mode_changes_eta_not_order(tree):
    make_station(tree.community, code="A", lat=north(2000), lng=LNG)
    make_station(tree.community, code="B", lat=north(500), lng=LNG)
    walk = station_nearby(lat=LAT, lng=LNG, mode="walk", at=NOON)
    bike = station_nearby(lat=LAT, lng=LNG, mode="ebike", at=NOON)
    assert codes(walk) == codes(bike) == ["B", "A"]
    assert [it["eta_min"] for it in walk] == [9, 35]  # 0.65 km, 2.6 km at 4.5 km/h
    assert [it["eta_min"] for it in bike] == [3, 11]  # ... at 15 km/h


def test_amenities_must_all_match(tree):
    c = tree.community
    make_station(c, code="WATER", lat=north(100), lng=LNG, amenities=["drinking_water"])
    make_station(c, code="BOTH", lat=north(300), lng=LNG, amenities=["drinking_water", "ebike_charging"])
    make_station(c, code="EBIKE", lat=north(200), lng=LNG, amenities=["ebike_charging"])
    assert codes(station_nearby(lat=LAT, lng=LNG, amenities=["ebike_charging"], at=NOON)) == ["EBIKE", "BOTH"]
    assert codes(station_nearby(lat=LAT, lng=LNG, amenities=["ebike_charging", "drinking_water"], at=NOON)) == [
        "BOTH"]
    assert station_nearby(lat=LAT, lng=LNG, amenities=("hot_meal",), at=NOON) == []


def test_open_now_filter_and_status(tree):
    c = tree.community
    make_station(c, code="DAY", lat=north(100), lng=LNG, hours=DAYTIME)
    make_station(c, code="NIGHT", lat=north(200), lng=LNG, hours=NIGHT)
    make_station(c, code="NEVER", lat=north(300), lng=LNG, hours=NEVER)
    assert codes(station_nearby(lat=LAT, lng=LNG, open_now=True, at=NOON)) == ["DAY"]
    assert codes(station_nearby(lat=LAT, lng=LNG, open_now=True, at=MIDNIGHT)) == ["NIGHT"]
    items = {it["code"]: it for it in station_nearby(lat=LAT, lng=LNG, at=NOON)}
    assert items["DAY"]["closes_at"] == datetime(2024, 3, 1, 20, tzinfo=SHANGHAI)
    assert items["NIGHT"]["open_now"] is False
    assert items["NIGHT"]["opens_at"] == datetime(2024, 3, 1, 20, tzinfo=SHANGHAI)
    assert items["NEVER"]["opens_at"] is None and items["NEVER"]["open_now"] is False
    # the overnight shift that began Friday evening is still open early on Saturday
    sat_early = datetime(2024, 3, 2, 3, tzinfo=SHANGHAI)
    night = station_nearby(lat=LAT, lng=LNG, open_now=True, at=sat_early)
    assert codes(night) == ["NIGHT"] and night[0]["closes_at"] == datetime(2024, 3, 2, 8, tzinfo=SHANGHAI)


def test_holiday_exception_closes_a_station(tree):
    s = make_station(tree.community, code="HOL", lat=north(100), lng=LNG, hours=DAYTIME)
    make_station(tree.community, code="OTHER", lat=north(200), lng=LNG, hours=DAYTIME)
    StationHoliday.objects.create(station=s, date=date(2024, 3, 1), intervals=[])
    assert codes(station_nearby(lat=LAT, lng=LNG, open_now=True, at=NOON)) == ["OTHER"]
    item = station_nearby(lat=LAT, lng=LNG, at=NOON)[0]
    assert item["code"] == "HOL" and item["opens_at"] == datetime(2024, 3, 2, 8, tzinfo=SHANGHAI)


def test_only_open_status_stations(tree):
    c = tree.community
    make_station(c, code="OK", lat=north(300), lng=LNG)
    make_station(c, code="PAUSED", lat=north(100), lng=LNG, status="closed", status_reason="装修")
    make_station(c, code="GONE", lat=north(200), lng=LNG, status="removed", status_reason="拆除")
    assert codes(station_nearby(lat=LAT, lng=LNG, at=NOON)) == ["OK"]


def test_nothing_beyond_the_radius(tree):
    make_station(tree.community, code="FAR", lat=LAT + 1.5, lng=LNG)  # ~167 km
    assert station_nearby(lat=LAT, lng=LNG, at=NOON) == []
    assert station_nearby(lat=0, lng=0, at=NOON) == []


def test_new_station_is_picked_up(tree):
    make_station(tree.community, code="OLD", lat=north(500), lng=LNG)
    assert codes(station_nearby(lat=LAT, lng=LNG, at=NOON)) == ["OLD"]
    make_station(tree.community, code="NEW", lat=north(50), lng=LNG)
    assert codes(station_nearby(lat=LAT, lng=LNG, at=NOON)) == ["NEW", "OLD"]


def test_invalidate_picks_up_changes_the_fingerprint_cannot_see(tree, settings):
    settings.YIZHAN_NEARBY_REFRESH_SECONDS = 3600
    s = make_station(tree.community, code="S", lat=north(100), lng=LNG, amenities=["toilet"])
    assert codes(station_nearby(lat=LAT, lng=LNG, amenities=["wifi"], at=NOON)) == []
    # a queryset update keeps updated_at: only the invalidation tells the index
    Station.objects.filter(pk=s.pk).update(amenities=["toilet", "wifi"])
    assert codes(station_nearby(lat=LAT, lng=LNG, amenities=["wifi"], at=NOON)) == []
    nearby_index_invalidate()
    assert codes(station_nearby(lat=LAT, lng=LNG, amenities=["wifi"], at=NOON)) == ["S"]


def test_another_process_invalidating_is_seen_through_the_cache(tree):
    s = make_station(tree.community, code="S", lat=north(100), lng=LNG, amenities=["toilet"])
    assert codes(station_nearby(lat=LAT, lng=LNG, amenities=["wifi"], at=NOON)) == []
    Station.objects.filter(pk=s.pk).update(amenities=["wifi"])
    # what nearby_index_invalidate does in the other process: only the shared version moves
    cache.set(nearby._VERSION_KEY, -1, timeout=None)
    assert codes(station_nearby(lat=LAT, lng=LNG, amenities=["wifi"], at=NOON)) == ["S"]


@pytest.mark.parametrize("kwargs, code, field", [
    ({"lat": 95, "lng": 120}, "invalid_coordinates", "lat"),
    ({"lat": "x", "lng": 120}, "invalid_coordinates", "lat"),
    ({"lat": 31, "lng": 200}, "invalid_coordinates", "lng"),
    ({"lat": 31, "lng": float("nan")}, "invalid_coordinates", "lng"),
    ({"lat": 31, "lng": 120, "limit": 101}, "limit_too_large", "limit"),
    ({"lat": 31, "lng": 120, "limit": 0}, "invalid_limit", "limit"),
    ({"lat": 31, "lng": 120, "amenities": ["sauna"]}, "unknown_amenity", "amenity"),
    ({"lat": 31, "lng": 120, "mode": "car"}, "invalid_mode", "mode"),
])
def test_bad_input(kwargs, code, field):
    with pytest.raises(ValidationError) as exc:
        station_nearby(**kwargs)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert exc.value.message.zh and exc.value.message.en


# ---- property: the index answers what a scan of every station answers -------------------

AMENITY_POOL = ["phone_charging", "ebike_charging", "drinking_water", "toilet", "wifi"]
HOURS_POOL = [None, DAYTIME, NIGHT, NEVER, {"fri": [["11:00", "13:00"]], "sat": [["22:00", "03:00"]]}]


@pytest.fixture
def scattered(tree):
    """~160 stations: dense around the query area, sparse farther out, across many buckets
    (and bucket edges), with mixed hours, holidays and statuses."""
    rng = random.Random(20240301)
    c = tree.community
    made = []
    for i in range(160):
        spread = 0.02 if i < 80 else (0.3 if i < 140 else 1.2)
        lat = LAT + rng.uniform(-spread, spread)
        lng = LNG + rng.uniform(-spread, spread)
        if i % 17 == 0:  # exactly on a bucket line
            lat = round(lat / nearby.BUCKET_DEG) * nearby.BUCKET_DEG
        status = "open" if i % 11 else rng.choice(["closed", "removed"])
        made.append(make_station(
            c, code=f"R{i:03d}", lat=lat, lng=lng,
            amenities=rng.sample(AMENITY_POOL, rng.randint(0, 4)),
            hours=rng.choice(HOURS_POOL), status=status, status_reason="" if status == "open" else "测试",
        ))
    for s in made[::9]:
        StationHoliday.objects.create(station=s, date=date(2024, 3, 1), intervals=[["12:00", "12:30"]])
    return made


def brute(stations, *, lat, lng, limit, amenities, open_now, at):
    holidays = {}
    for h in StationHoliday.objects.all():
        holidays.setdefault(h.station_id, {})[h.date] = h.intervals
    rows = []
    for s in stations:
        if s.status != "open" or not set(amenities) <= set(s.amenities):
            continue
        d = haversine_m(lat, lng, s.lat, s.lng)
        if d > MAX_RADIUS_M:
            continue
        if open_now and not open_status(hours=s.hours, holidays=holidays.get(s.pk, {}), at=at).open_now:
            continue
        rows.append((d, s.code))
    rows.sort()
    return [code for _d, code in rows[:limit]]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    dlat=st.floats(-0.6, 0.6),
    dlng=st.floats(-0.6, 0.6),
    limit=st.integers(1, 25),
    amenities=st.lists(st.sampled_from(AMENITY_POOL), max_size=2, unique=True),
    open_now=st.booleans(),
    minute=st.integers(0, 7 * 24 * 60 - 1),
)
def test_agrees_with_brute_force(scattered, dlat, dlng, limit, amenities, open_now, minute):
    at = datetime(2024, 2, 26, tzinfo=SHANGHAI) + timedelta(minutes=minute)  # a week from Monday
    lat, lng = LAT + dlat, LNG + dlng
    got = station_nearby(lat=lat, lng=lng, limit=limit, amenities=amenities, open_now=open_now, at=at)
    assert codes(got) == brute(scattered, lat=lat, lng=lng, limit=limit, amenities=amenities,
                               open_now=open_now, at=at)
    for it in got:
        assert it["eta_min"] == eta_minutes(haversine_m(lat, lng, it["lat"], it["lng"]), "walk")

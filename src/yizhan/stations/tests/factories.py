"""Station test data. People and jurisdictions come from core.testing.factories."""

from __future__ import annotations

import itertools

from yizhan.core.geo import cell_of
from yizhan.core.testing.factories import grant, make_staff, make_user, unique_phone
from yizhan.stations.models import Station, StationKeeper, StationSupply

_seq = itertools.count(1)

ALL_DAY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def make_station(jurisdiction, *, code: str | None = None, name: str | None = None, lat=None, lng=None,
                 type: str = "station", amenities=("phone_charging", "drinking_water"), hours=None,
                 **extra) -> Station:
    """A station inside ``jurisdiction`` (at its centre unless lat/lng given), open 24/7."""
    lat = jurisdiction.center_lat if lat is None else lat
    lng = jurisdiction.center_lng if lng is None else lng
    n = next(_seq)
    return Station.objects.create(
        code=code or f"T-{n:04d}", name=name or f"测试驿站{n}", address=f"测试路 {n} 号", lat=lat, lng=lng,
        cell=cell_of(lat, lng), jurisdiction=jurisdiction, type=type, amenities=list(amenities),
        hours=ALL_DAY if hours is None else hours, **extra,
    )


def make_keeper(station: Station, *, phone: str | None = None, display_name: str = "王站长"):
    """A keeper (keeper role on the station's community, listed for the station)."""
    user = make_user(username=f"keeper{next(_seq)}", phone=phone or unique_phone(), display_name=display_name)
    grant(user, "keeper", station.jurisdiction)
    StationKeeper.objects.create(station=station, user=user, is_primary=True)
    return user


def make_supply(station: Station, item: str = "water", *, quantity: int = 10, threshold: int = 0) -> StationSupply:
    return StationSupply.objects.create(station=station, item=item, quantity=quantity, threshold=threshold)


__all__ = ["make_keeper", "make_staff", "make_station", "make_supply"]

"""The "15-minute service circle": how much of a jurisdiction, and how many of its
registered workers, are within ``minutes`` of an open station.

* The area is the set of H3 resolution-9 cells (``core.geo.COVERAGE_RES``, ~0.1 km²)
  whose centres lie inside the jurisdiction's boundary (``core.geo.cells_in_geometry``).
* A cell is covered when its centre is within ``minutes`` of a station whose status is
  "open" (opening hours are not considered: the circle is about where stations are),
  with the same travel model as the nearby search: straight-line distance ×
  ``DETOUR_FACTOR`` at ``WALK_KMH`` or ``EBIKE_KMH``. The comparison is exact (not the
  rounded-up minutes shown in lists): covered ⇔ distance × 1.3 / speed ≤ minutes.
  Stations outside the jurisdiction count too — a worker does not stop at the border.
* Workers are ``WorkerProfile.home_cell`` (res 9) of active users whose home cell is one
  of the jurisdiction's cells; worker_share = covered / total (0 when there are none).
* ``uncovered`` is a GeoJSON FeatureCollection with one feature: the uncovered cells
  merged into a MultiPolygon (``h3.cells_to_geo``), lng/lat order, 6 decimals.

Cost: stations are loaded only from the boundary's bounding box grown by the radius; the
cell centres are sorted by latitude and each station tests only the band of cells within
the radius north and south of it (one NumPy haversine per station), so a district of tens
of thousands of cells and hundreds of stations takes a few tens of milliseconds.
"""

from __future__ import annotations

import math

import h3
import numpy as np
from django.db.models import Count
from shapely.geometry import shape

from yizhan.accounts.models import WorkerProfile
from yizhan.core.geo import COVERAGE_RES, EARTH_RADIUS_M, cells_in_geometry
from yizhan.stations import errors as E
from yizhan.stations.choices import StationStatus
from yizhan.stations.models import Station
from yizhan.stations.nearby import DETOUR_FACTOR, SPEEDS_KMH

MAX_MINUTES = 60


def reach_m(minutes: float, mode: str) -> float:
    """Straight-line distance reachable in ``minutes`` (the inverse of the eta model)."""
    return minutes * SPEEDS_KMH[mode] * 1000 / 60 / DETOUR_FACTOR


def _validate(jurisdiction, minutes, mode) -> float:
    if mode not in SPEEDS_KMH:
        raise E.InvalidMode()
    try:
        m = float(minutes)
    except (TypeError, ValueError):
        m = math.nan
    if not (math.isfinite(m) and 1 <= m <= MAX_MINUTES):
        raise E.InvalidMinutes(most=MAX_MINUTES)
    if not jurisdiction.boundary:
        raise E.NoBoundary()
    return m


def _haversine_np(lat1: float, lng1: float, lat2: np.ndarray, lng2: np.ndarray) -> np.ndarray:
    p1 = math.radians(lat1)
    p2 = np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(np.radians(lng2 - lng1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def _open_stations_near(bounds: tuple[float, float, float, float], radius_m: float) -> np.ndarray:
    min_lng, min_lat, max_lng, max_lat = bounds
    dlat = math.degrees(radius_m / EARTH_RADIUS_M) * 1.01
    cos_edge = max(0.01, math.cos(math.radians(min(89.0, max(abs(min_lat), abs(max_lat)) + dlat))))
    dlng = dlat / cos_edge
    rows = Station.objects.filter(
        status=StationStatus.OPEN,
        lat__gte=min_lat - dlat, lat__lte=max_lat + dlat,
        lng__gte=min_lng - dlng, lng__lte=max_lng + dlng,
    ).values_list("lat", "lng")
    return np.asarray(list(rows), dtype=np.float64).reshape(-1, 2)


def covered_mask(cells: list[str], stations: np.ndarray, radius_m: float) -> np.ndarray:
    """Boolean per cell: is its centre within ``radius_m`` of any station (lat, lng rows)?"""
    n = len(cells)
    covered = np.zeros(n, dtype=bool)
    if n == 0 or len(stations) == 0:
        return covered
    centres = np.asarray([h3.cell_to_latlng(c) for c in cells], dtype=np.float64)
    order = np.argsort(centres[:, 0], kind="stable")
    lat_sorted = centres[order, 0]
    lng_sorted = centres[order, 1]
    dlat = math.degrees(radius_m / EARTH_RADIUS_M) * 1.0001  # any point within radius differs less in latitude
    hit = np.zeros(n, dtype=bool)  # in sorted order
    for s_lat, s_lng in stations:
        lo = np.searchsorted(lat_sorted, s_lat - dlat, side="left")
        hi = np.searchsorted(lat_sorted, s_lat + dlat, side="right")
        if lo >= hi:
            continue
        d = _haversine_np(float(s_lat), float(s_lng), lat_sorted[lo:hi], lng_sorted[lo:hi])
        hit[lo:hi] |= d <= radius_m
    covered[order] = hit
    return covered


def _round_coords(obj):
    if isinstance(obj, (list, tuple)):
        if len(obj) == 2 and all(isinstance(v, float) for v in obj):
            return [round(obj[0], 6), round(obj[1], 6)]
        return [_round_coords(v) for v in obj]
    return obj


def uncovered_geojson(cells: list[str], *, minutes, mode: str) -> dict:
    features = []
    if cells:
        geo = h3.cells_to_geo(cells)
        coords = [geo["coordinates"]] if geo["type"] == "Polygon" else geo["coordinates"]
        features.append({
            "type": "Feature",
            "geometry": {"type": "MultiPolygon", "coordinates": _round_coords(coords)},
            "properties": {"kind": "uncovered", "cells": len(cells), "minutes": minutes, "mode": mode},
        })
    return {"type": "FeatureCollection", "features": features}


def _workers(cell_set: set[str], covered_cells: set[str]) -> tuple[int, int]:

    total = covered = 0
    rows = (
        WorkerProfile.objects.filter(user__is_active=True)
        .exclude(home_cell="")
        .values("home_cell")
        .annotate(n=Count("id"))
        .values_list("home_cell", "n")
    )
    for cell, n in rows:
        if cell in cell_set:
            total += n
            if cell in covered_cells:
                covered += n
    return total, covered


def station_coverage(*, jurisdiction, minutes=15, mode: str = "walk") -> dict:
    """Share of the jurisdiction's area and registered workers within ``minutes`` of an
    open station (see the module docstring for the model)."""
    minutes_f = _validate(jurisdiction, minutes, mode)
    minutes_out = int(minutes_f) if minutes_f.is_integer() else minutes_f
    radius = reach_m(minutes_f, mode)
    cells = cells_in_geometry(jurisdiction.boundary, COVERAGE_RES)
    bounds = shape(jurisdiction.boundary).bounds
    stations = _open_stations_near(bounds, radius)
    mask = covered_mask(cells, stations, radius)
    n_total = len(cells)
    n_covered = int(mask.sum())
    covered_cells = {c for c, m in zip(cells, mask, strict=True) if m}
    uncovered = [c for c, m in zip(cells, mask, strict=True) if not m]
    workers_total, workers_covered = _workers(set(cells), covered_cells)
    return {
        "jurisdiction": jurisdiction.code,
        "minutes": minutes_out,
        "mode": mode,
        "radius_m": round(radius),
        "stations_counted": len(stations),
        "area_share": n_covered / n_total if n_total else 0.0,
        "cells_total": n_total,
        "cells_covered": n_covered,
        "worker_share": workers_covered / workers_total if workers_total else 0.0,
        "workers_total": workers_total,
        "workers_covered": workers_covered,
        "uncovered": uncovered_geojson(uncovered, minutes=minutes_out, mode=mode),
    }

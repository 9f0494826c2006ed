"""Geography helpers: distance, H3 cells, WGS-84 <-> GCJ-02, polygons.

Everything is stored in WGS-84. Chinese base maps (AutoNavi/Tencent) use GCJ-02;
pages convert at the edge with ``wgs84_to_gcj02`` / ``gcj02_to_wgs84``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import h3
from shapely.geometry import Point, shape
from shapely.prepared import prep

from yizhan.core.errors import InvalidCoordinates

EARTH_RADIUS_M = 6_371_008.8
# H3 resolution used to index points (res 8: ~0.74 km² hexagons, edge ~531 m).
INDEX_RES = 8
# Coverage analysis resolution (res 9: ~0.105 km², edge ~201 m).
COVERAGE_RES = 9


def validate_lat_lng(lat, lng, *, field_prefix: str = "") -> tuple[float, float]:
    try:
        lat_f, lng_f = float(lat), float(lng)
    except (TypeError, ValueError):
        raise InvalidCoordinates(field=f"{field_prefix}lat") from None
    if not (math.isfinite(lat_f) and -90.0 <= lat_f <= 90.0):
        raise InvalidCoordinates(InvalidCoordinates.lat_range, field=f"{field_prefix}lat")
    if not (math.isfinite(lng_f) and -180.0 <= lng_f <= 180.0):
        raise InvalidCoordinates(InvalidCoordinates.lng_range, field=f"{field_prefix}lng")
    return lat_f, lng_f


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def cell_of(lat: float, lng: float, res: int = INDEX_RES) -> str:
    return h3.latlng_to_cell(lat, lng, res)


def cell_center(cell: str) -> tuple[float, float]:
    return h3.cell_to_latlng(cell)


def cell_polygon_geojson(cells) -> dict:
    """GeoJSON MultiPolygon of a set of H3 cells (lng, lat order)."""
    cells = list(cells)
    if not cells:
        return {"type": "MultiPolygon", "coordinates": []}
    geo = h3.cells_to_geo(cells)
    if geo["type"] == "Polygon":
        return {"type": "MultiPolygon", "coordinates": [geo["coordinates"]]}
    return {"type": geo["type"], "coordinates": geo["coordinates"]}


def cells_in_geometry(geometry: dict, res: int = COVERAGE_RES) -> list[str]:
    """H3 cells whose centres fall inside a GeoJSON Polygon/MultiPolygon."""
    return sorted(h3.geo_to_cells(geometry, res))


# ---- WGS-84 <-> GCJ-02 -------------------------------------------------------
# The public, widely reproduced GCJ-02 forward formula; the inverse is iterative
# (fixed-point), accurate to well under a centimetre after a few rounds.
_A = 6378245.0
_EE = 0.00669342162296594323


def out_of_china(lat: float, lng: float) -> bool:
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    if out_of_china(lat, lng):
        return lat, lng
    dlat = _transform_lat(lng - 105.0, lat - 35.0)
    dlng = _transform_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lat + dlat, lng + dlng


def gcj02_to_wgs84(lat: float, lng: float, *, rounds: int = 8) -> tuple[float, float]:
    if out_of_china(lat, lng):
        return lat, lng
    wlat, wlng = lat, lng
    for _ in range(rounds):
        glat, glng = wgs84_to_gcj02(wlat, wlng)
        wlat += lat - glat
        wlng += lng - glng
    return wlat, wlng


# ---- polygons ----------------------------------------------------------------


@lru_cache(maxsize=4096)
def _prepared(geometry_json: str):
    import json

    geom = shape(json.loads(geometry_json))
    return geom, prep(geom)


def point_in_geometry(lat: float, lng: float, geometry: dict | str) -> bool:
    import json

    key = geometry if isinstance(geometry, str) else json.dumps(geometry, sort_keys=True)
    _geom, prepared = _prepared(key)
    return prepared.covers(Point(lng, lat))

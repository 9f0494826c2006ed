"""What every map page tells the shared map script (``stations/static/stations/map.js``).

One place for the tile source (``YIZHAN_TILE_*`` settings), the fallback outline (the
jurisdiction boundaries with their names, drawn when tiles are off or cannot load) and
the place to show when a worker's location is unknown. Station, report and staff views
all build their map configuration from :func:`map_config` / :func:`tile_settings`.
"""

from __future__ import annotations

import threading
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db.models import Count, Max
from django.urls import reverse
from shapely.geometry import mapping, shape

from yizhan.core.geo import point_in_geometry, wgs84_to_gcj02
from yizhan.core.permissions import jurisdiction_model

# Chinese base maps (AutoNavi/Amap, Tencent) are drawn in GCJ-02; guessed from the URL
# unless YIZHAN_TILE_GCJ02 says otherwise. Tianditu is CGCS2000 (WGS-84 to a few cm).
GCJ02_HOSTS = ("autonavi", "amap", "gtimg", "tencent", "qq.com")
OUTLINE_LEVELS = ("district", "street", "community")
OUTLINE_TOLERANCE_DEG = 0.0002  # ~20 m: plenty for a boundary drawn under pins


def tile_settings() -> dict:
    url = getattr(settings, "YIZHAN_TILE_URL", "") or ""
    gcj = getattr(settings, "YIZHAN_TILE_GCJ02", None)
    if gcj is None:
        gcj = any(h in url for h in GCJ02_HOSTS)
    return {
        "url": url,
        "gcj02": bool(gcj),
        "attribution": getattr(settings, "YIZHAN_TILE_ATTRIBUTION", "") or "",
        "subdomains": getattr(settings, "YIZHAN_TILE_SUBDOMAINS", "abc") or "abc",
        "maxZoom": int(getattr(settings, "YIZHAN_TILE_MAX_ZOOM", 19) or 19),
        # boundaries and names, fetched only when tiles are off or fail to load
        "outline": reverse("stations:map_outline"),
    }


def tile_host() -> str:
    """The tile server's origin (for a Content-Security-Policy ``img-src``), or ""."""
    url = getattr(settings, "YIZHAN_TILE_URL", "") or ""
    if "://" not in url:
        return ""
    scheme, rest = url.split("://", 1)
    host = rest.split("/", 1)[0].replace("{s}", "*")
    return f"{scheme}://{host}"


def default_place() -> dict:
    """Where a map opens and which stations a worker sees before (or without) a location:
    the centre of the district that holds ``YIZHAN_DEFAULT_CENTER`` (the district running
    the site), else of the first district, else that point itself."""

    Jurisdiction = jurisdiction_model()  # core names no app
    lat, lng = settings.YIZHAN_DEFAULT_CENTER
    districts = list(Jurisdiction.objects.filter(level="district", center_lat__isnull=False, center_lng__isnull=False)
                     .only("name", "name_en", "center_lat", "center_lng", "boundary").order_by("path")[:200])
    node = next((d for d in districts if d.boundary and _holds(point_in_geometry, d.boundary, lat, lng)), None)
    node = node or (districts[0] if districts else None)
    if node is not None:
        return {"lat": node.center_lat, "lng": node.center_lng, "name": node.name, "name_en": node.name_en}
    return {"lat": lat, "lng": lng, "name": "", "name_en": ""}


def _holds(test, boundary, lat, lng) -> bool:
    try:
        return bool(test(lat, lng, boundary))
    except Exception:  # noqa: BLE001 - a malformed stored boundary does not hold the point
        return False


def map_config(*, center=None, **extra) -> dict:
    """The JSON a map page puts in ``<script id="map-config">``; ``extra`` keys with a
    ``None`` value are left out."""
    if center is None:
        center = list(settings.YIZHAN_DEFAULT_CENTER)
    cfg = {"tiles": tile_settings(), "center": list(center)}
    cfg.update({k: v for k, v in extra.items() if v is not None})
    return cfg


# ------------------------------------------------------------------ the outline

_lock = threading.Lock()
_cache: dict = {"stamp": None, "data": None}


def _round(coords):
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(coords[0], 5), round(coords[1], 5)]
    return [_round(c) for c in coords]


def _simplified(geometry: dict) -> dict | None:
    try:

        geom = shape(geometry).simplify(OUTLINE_TOLERANCE_DEG, preserve_topology=True)
        if geom.is_empty:
            return None
        out = mapping(geom)
        return {"type": out["type"], "coordinates": _round(out["coordinates"])}
    except Exception:  # noqa: BLE001 - a malformed stored boundary is left off the outline
        return None


def outline() -> dict:
    """A GeoJSON FeatureCollection of the district, street and community boundaries
    (simplified, 5 decimals) with ``name``, ``name_en``, ``level`` and the label point.
    Rebuilt when a jurisdiction changes."""

    Jurisdiction = jurisdiction_model()  # core names no app

    qs = Jurisdiction.objects.filter(level__in=OUTLINE_LEVELS, boundary__isnull=False)
    agg = qs.aggregate(n=Count("id"), at=Max("updated_at"))
    stamp = (agg["n"], agg["at"])
    with _lock:
        if _cache["stamp"] == stamp and _cache["data"] is not None:
            return _cache["data"]
    features = []
    for node in qs.only("code", "name", "name_en", "level", "boundary", "center_lat", "center_lng").order_by("path"):
        geometry = _simplified(node.boundary) if isinstance(node.boundary, dict) else None
        if geometry is None:
            continue
        label = None
        if node.center_lat is not None and node.center_lng is not None:
            label = [round(node.center_lat, 5), round(node.center_lng, 5)]
        features.append({"type": "Feature", "geometry": geometry, "properties": {
            "code": node.code, "name": node.name, "name_en": node.name_en, "level": node.level, "label": label,
        }})
    data = {"type": "FeatureCollection", "features": features}
    with _lock:
        _cache.update(stamp=stamp, data=data)
    return data


def outline_forget() -> None:
    with _lock:
        _cache.update(stamp=None, data=None)


# ------------------------------------------------------------------ getting there


def navigation_links(*, lat: float, lng: float, name: str, address: str = "") -> list[dict]:
    """Links that open a map app with directions to a point stored in WGS-84.

    AutoNavi (Amap) and Apple Maps in China take GCJ-02, so the point is converted; Baidu
    is told the coordinates are WGS-84 (``coord_type=wgs84``) and converts itself; a
    ``geo:`` URI (RFC 5870) is WGS-84 by definition and lets Android pick any map app."""


    glat, glng = wgs84_to_gcj02(lat, lng)
    label = name.replace(",", " ").replace("(", " ").replace(")", " ").strip()
    return [
        {"key": "amap", "url": "https://uri.amap.com/navigation?" + urlencode(
            {"to": f"{glng:.6f},{glat:.6f},{label}", "coordinate": "gaode", "callnative": "1", "src": "yizhan"})},
        {"key": "baidu", "url": "https://api.map.baidu.com/marker?" + urlencode(
            {"location": f"{lat:.6f},{lng:.6f}", "title": name, "content": address or name, "coord_type": "wgs84",
             "output": "html", "src": "yizhan"})},
        {"key": "apple", "url": "https://maps.apple.com/?" + urlencode(
            {"daddr": f"{glat:.6f},{glng:.6f}", "q": name})},
        {"key": "geo", "url": f"geo:{lat:.6f},{lng:.6f}?q={lat:.6f},{lng:.6f}({quote(label)})"},
    ]


def tel_href(phone: str) -> str:
    """``tel:`` link of a number as people write it ("0512-6661 2345" -> "tel:051266612345")."""
    digits = "".join(ch for ch in (phone or "") if ch.isdigit() or ch == "+")
    return f"tel:{digits}" if digits else ""


def full_address(*, address: str, jurisdiction) -> str:
    """The street address with the city, district and street in front unless it already
    names them ("苏州市高新区科学城街道" + "科技路 1 号")."""
    if jurisdiction is None:
        return address
    codes = [c for c in (jurisdiction.path or "").split("/") if c]
    nodes = {n.code: n for n in jurisdiction_model().objects.filter(code__in=codes, level__in=("city", "district", "street"))
             .only("code", "name")}
    prefix = ""
    for code in codes:
        node = nodes.get(code)
        if node is None:
            continue
        short = node.name.split("（")[0].split("(")[0].strip()
        bare = short[:-1] if len(short) > 2 and short.endswith("市") else short  # "苏州高新区…" names 苏州市
        if short and bare not in address and short not in prefix:
            prefix += short
    return prefix + address

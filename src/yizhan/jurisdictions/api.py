"""/api/v1/jurisdictions: the tree (scoped for staff, names only for the public),
point location, GeoJSON import."""

from __future__ import annotations

from ninja import File, Router
from ninja.files import UploadedFile

from yizhan.core.api_auth import optional_user
from yizhan.core.permissions import has_perm_anywhere, require
from yizhan.jurisdictions import selectors, services
from yizhan.jurisdictions.schemas import ImportOut, JurisdictionListOut, LocateOut

router = Router(tags=["jurisdictions"])


def public_dict(node) -> dict:
    parts = node.path.strip("/").split("/")
    return {
        "code": node.code,
        "name": node.name,
        "name_en": node.name_en,
        "level": node.level,
        "parent": parts[-2] if len(parts) > 1 else None,
        "depth": node.depth,
    }


def staff_dict(node, *, boundary: bool) -> dict:
    d = public_dict(node)
    d.update(center_lat=node.center_lat, center_lng=node.center_lng, area_km2=node.area_km2)
    d["boundary"] = node.boundary if boundary else None
    return d


@router.get("/", auth=None, response=JurisdictionListOut,
            summary="The tree: scoped details for staff, names for everyone")
def jurisdiction_list(request, root: str | None = None, level: str | None = None, boundary: bool = False):
    user = optional_user(request)
    staff = user is not None and (user.is_superuser or has_perm_anywhere(user, "jurisdictions.view"))
    qs = selectors.jurisdiction_list(actor=user if staff else None)
    if root:
        node = selectors.jurisdiction_get(code=root, field="root")
        qs = qs.filter(path__startswith=node.path)
    if level:
        qs = qs.filter(level=level)
    if staff:
        items = [staff_dict(n, boundary=boundary) for n in qs]
    else:
        items = [public_dict(n) for n in qs.only("code", "name", "name_en", "level", "path", "depth")]
    return {"items": items, "count": len(items), "scoped": staff}


@router.get("/locate", auth=None, response=LocateOut, summary="The grid containing a point, then its ancestors")
def jurisdiction_locate(request, lat: float | None = None, lng: float | None = None):
    nodes = selectors.jurisdiction_locate(lat=lat, lng=lng) or []
    return {"items": [public_dict(n) for n in nodes], "count": len(nodes)}


@router.post("/import", response=ImportOut, summary="Import a GeoJSON FeatureCollection (all-or-nothing)")
def jurisdiction_import(request, file: UploadedFile = File(...)):  # noqa: B008 (ninja idiom)

    if not request.auth.is_superuser:
        require(request.auth, "jurisdictions.manage")
    return services.jurisdictions_import_geojson(actor=request.auth, content=file.read(10_000_001))

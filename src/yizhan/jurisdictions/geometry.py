"""A jurisdiction's boundary, from GeoJSON to a valid shapely geometry (used by the writes
and by the locate index)."""

from __future__ import annotations

import json

from shapely.geometry import shape
from shapely.validation import explain_validity

from yizhan.core.errors import ValidationError
from yizhan.jurisdictions import errors as E


def _err(err_code: str, /, *, field: str | None = None, **params) -> ValidationError:
    return ValidationError(E.MESSAGES[err_code], code=err_code, field=field, **params)


def boundary_geometry(boundary, *, code: str = "", field: str = "boundary"):
    """A valid shapely (Multi)Polygon from GeoJSON, or ValidationError ``invalid_geometry``."""
    if isinstance(boundary, str):
        try:
            boundary = json.loads(boundary)
        except ValueError:
            raise _err(E.INVALID_GEOMETRY, field=field, node=code, reason="JSON") from None
    if not isinstance(boundary, dict) or boundary.get("type") not in ("Polygon", "MultiPolygon"):
        raise _err(E.INVALID_GEOMETRY, field=field, node=code, reason="Polygon/MultiPolygon")
    try:
        geom = shape(boundary)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise _err(E.INVALID_GEOMETRY, field=field, node=code, reason=type(exc).__name__) from None
    if geom.is_empty:
        raise _err(E.INVALID_GEOMETRY, field=field, node=code, reason="empty")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise _err(E.INVALID_GEOMETRY, field=field, node=code, reason="lng/lat out of range")
    if not geom.is_valid:
        raise _err(E.INVALID_GEOMETRY, field=field, node=code, reason=explain_validity(geom))
    return geom

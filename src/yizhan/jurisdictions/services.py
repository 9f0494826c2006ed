"""Writes of the jurisdiction tree (city > district > street > community > grid).

Codes and the tree shape never change once created (the materialised ``path`` and
every role grant depend on them); names and boundaries may be corrected.
"""

from __future__ import annotations

import json
import math
import re

from django.db import transaction

from yizhan.core import permissions
from yizhan.core.audit import AuditAction, audit_record
from yizhan.core.errors import NotAuthenticated, ValidationError
from yizhan.jurisdictions import errors as E
from yizhan.jurisdictions.choices import LEVEL_ORDER, Level, level_rank
from yizhan.jurisdictions.geometry import boundary_geometry
from yizhan.jurisdictions.locate import locate_index_invalidate
from yizhan.jurisdictions.models import Jurisdiction

_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LNG_EQ = 111.320


def _err(err_code: str, /, *, field: str | None = None, **params) -> ValidationError:
    return ValidationError(E.MESSAGES[err_code], code=err_code, field=field, **params)


def area_km2(geom) -> float:
    """Area of a WGS-84 polygon, equirectangular at its centroid (good to <1% at district size)."""
    lat = geom.centroid.y
    return abs(geom.area) * KM_PER_DEG_LAT * KM_PER_DEG_LNG_EQ * math.cos(math.radians(lat))


def _check_may_manage(actor, parent: Jurisdiction | None) -> None:
    """``actor=None`` is the system (management commands, migrations, demo)."""
    if actor is None or getattr(actor, "is_superuser", False):
        return
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if parent is None:  # new roots (cities) are for superusers only
        raise permissions.PermissionDenied()
    permissions.require(actor, "jurisdictions.manage", parent)


def _validate_node(*, code, level, parent: Jurisdiction | None, field_prefix: str = "") -> None:
    if not isinstance(code, str) or not _CODE_RE.match(code):
        raise _err(E.INVALID_CODE, field=f"{field_prefix}code")
    if level not in Level.values:
        raise _err(E.INVALID_LEVEL, field=f"{field_prefix}level", level=level)
    expected = 0 if parent is None else level_rank(parent.level) + 1
    if level_rank(level) != expected:
        raise _err(E.WRONG_LEVEL_ORDER, field=f"{field_prefix}level", node=code)


def _apply_geometry(node: Jurisdiction, geom, parent: Jurisdiction | None, field: str) -> None:
    if geom is None:
        node.boundary = None
        node.center_lat = node.center_lng = node.area_km2 = None
        return
    if parent is not None and parent.boundary:
        parent_geom = boundary_geometry(parent.boundary, code=parent.code)
        # A representative point is always inside the polygon: tolerant of shared edges.
        if not parent_geom.buffer(1e-9).covers(geom.representative_point()):
            raise _err(E.OUTSIDE_PARENT, field=field, node=node.code)
    center = geom.representative_point() if not geom.centroid.within(geom) else geom.centroid
    node.boundary = json.loads(json.dumps(geom.__geo_interface__))
    node.center_lat = round(center.y, 7)
    node.center_lng = round(center.x, 7)
    node.area_km2 = round(area_km2(geom), 4)


def _invalidate_on_commit() -> None:
    # Now (this thread sees its own writes) and again once committed (other threads).
    locate_index_invalidate()
    transaction.on_commit(locate_index_invalidate)


@transaction.atomic
def jurisdiction_create(
    *,
    actor,
    code: str,
    name: str,
    level: str,
    parent: Jurisdiction | None = None,
    boundary: dict | None = None,
    name_en: str = "",
    field_prefix: str = "",
) -> Jurisdiction:
    _check_may_manage(actor, parent)
    _validate_node(code=code, level=level, parent=parent, field_prefix=field_prefix)
    if not (name or "").strip():
        raise E.NameRequired(field=f"{field_prefix}name")
    if Jurisdiction.objects.filter(code=code).exists():
        raise _err(E.DUPLICATE_CODE, field=f"{field_prefix}code", node=code)
    node = Jurisdiction(
        code=code,
        name=name.strip(),
        name_en=(name_en or "").strip(),
        level=level,
        parent=parent,
        path=f"{parent.path if parent else '/'}{code}/",
        depth=(parent.depth + 1) if parent else 0,
    )
    geom = boundary_geometry(boundary, code=code, field=f"{field_prefix}boundary") if boundary else None
    _apply_geometry(node, geom, parent, f"{field_prefix}boundary")
    node.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=node,
        summary=f"jurisdiction {code} ({level})",
        jurisdiction_path=node.path,
    )
    _invalidate_on_commit()
    return node


@transaction.atomic
def jurisdiction_update(
    *,
    actor,
    jurisdiction: Jurisdiction,
    name: str | None = None,
    name_en: str | None = None,
    boundary: dict | None = None,
    field_prefix: str = "",
) -> Jurisdiction:
    """Correct a node's names or boundary. Code, level and parent are fixed."""
    _check_may_manage(actor, jurisdiction)
    node = Jurisdiction.objects.select_for_update().get(pk=jurisdiction.pk)
    changes = {}
    if name is not None and name.strip() and name.strip() != node.name:
        changes["name"] = [node.name, name.strip()]
        node.name = name.strip()
    if name_en is not None and name_en.strip() != node.name_en:
        changes["name_en"] = [node.name_en, name_en.strip()]
        node.name_en = name_en.strip()
    if boundary is not None:
        geom = boundary_geometry(boundary, code=node.code, field=f"{field_prefix}boundary")
        new = json.loads(json.dumps(geom.__geo_interface__))
        if new != node.boundary:
            changes["boundary"] = "changed"
            _apply_geometry(node, geom, node.parent, f"{field_prefix}boundary")
    if changes:
        node.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=node,
            summary=f"jurisdiction {node.code}",
            changes=changes,
            jurisdiction_path=node.path,
        )
        _invalidate_on_commit()
    return node


def _parse_feature_collection(content) -> list[dict]:
    if isinstance(content, (bytes, bytearray, str)):
        try:
            content = json.loads(content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _err(E.INVALID_GEOJSON, field="file", reason=str(exc)[:80]) from None
    if not isinstance(content, dict) or content.get("type") != "FeatureCollection":
        raise _err(E.INVALID_GEOJSON, field="file", reason="FeatureCollection")
    features = content.get("features")
    if not isinstance(features, list):
        raise _err(E.INVALID_GEOJSON, field="features", reason="features")
    rows = []
    for i, feature in enumerate(features):
        props = (feature or {}).get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            raise _err(E.INVALID_GEOJSON, field=f"features[{i}].properties", reason="properties")
        rows.append(
            {
                "index": i,
                "code": str(props.get("code") or "").strip(),
                "name": str(props.get("name") or "").strip(),
                "name_en": str(props.get("name_en") or "").strip(),
                "level": str(props.get("level") or "").strip(),
                "parent": str(props.get("parent") or "").strip() or None,
                "geometry": feature.get("geometry"),
            }
        )
    return rows


@transaction.atomic
def jurisdictions_import_geojson(*, actor, content: bytes | str | dict) -> dict:
    """Upsert a FeatureCollection (properties: code, name, name_en, level, parent).

    Idempotent by ``code``; parents are created before their children whatever the
    order in the file; any error rolls back the whole file. Returns
    ``{"created", "updated", "unchanged", "total"}``.
    """
    rows = _parse_feature_collection(content)
    seen: set[str] = set()
    for row in rows:
        prefix = f"features[{row['index']}]."
        if not _CODE_RE.match(row["code"]):
            raise _err(E.INVALID_CODE, field=prefix + "code")
        if row["code"] in seen:
            raise _err(E.DUPLICATE_CODE, field=prefix + "code", node=row["code"])
        seen.add(row["code"])
        if row["level"] not in Level.values:
            raise _err(E.INVALID_LEVEL, field=prefix + "level", level=row["level"])
    rows.sort(key=lambda r: (LEVEL_ORDER.index(r["level"]), r["index"]))

    summary = {"created": 0, "updated": 0, "unchanged": 0, "total": len(rows)}
    by_code: dict[str, Jurisdiction] = {}
    for row in rows:
        prefix = f"features[{row['index']}]."
        parent = None
        if row["parent"]:
            parent = by_code.get(row["parent"]) or Jurisdiction.objects.filter(code=row["parent"]).first()
            if parent is None:
                raise _err(E.MISSING_PARENT, field=prefix + "parent", parent=row["parent"])
        existing = Jurisdiction.objects.filter(code=row["code"]).first()
        if existing is not None:
            if existing.level != row["level"] or (existing.parent_id != (parent.pk if parent else None)):
                raise _err(E.JURISDICTION_MOVED, field=prefix + "parent", node=row["code"])
            before = (existing.name, existing.name_en, existing.boundary)
            node = jurisdiction_update(
                actor=actor,
                jurisdiction=existing,
                name=row["name"] or existing.name,
                name_en=row["name_en"],
                boundary=row["geometry"] if row["geometry"] else None,
                field_prefix=prefix,
            )
            changed = before != (node.name, node.name_en, node.boundary)
            summary["updated" if changed else "unchanged"] += 1
        else:
            node = jurisdiction_create(
                actor=actor,
                code=row["code"],
                name=row["name"],
                name_en=row["name_en"],
                level=row["level"],
                parent=parent,
                boundary=row["geometry"] or None,
                field_prefix=prefix,
            )
            summary["created"] += 1
        by_code[node.code] = node
    audit_record(
        actor=actor,
        action=AuditAction.IMPORT,
        object_type="jurisdictions.jurisdiction",
        summary=f"GeoJSON import: {summary['created']} created, {summary['updated']} updated",
        changes=summary,
    )
    return summary

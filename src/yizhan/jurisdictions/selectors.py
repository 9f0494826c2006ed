"""Reads of the jurisdiction tree. (``ancestor_paths`` is core's path arithmetic, kept
importable from here.)"""

from __future__ import annotations

from django.db.models import QuerySet

from yizhan.core.geo import validate_lat_lng
from yizhan.core.permissions import ancestor_paths, restrict  # noqa: F401 (ancestor_paths: re-exported)
from yizhan.jurisdictions.errors import JurisdictionNotFound
from yizhan.jurisdictions.locate import locate
from yizhan.jurisdictions.models import Jurisdiction


def codes_deepest_first(path: str) -> list[str]:
    """The codes of a node and its ancestors, the node first: ``"/SZ/SZ-GX/"`` -> ``["SZ-GX", "SZ"]``."""
    return [c for c in reversed(path.split("/")) if c]


def jurisdiction_locate(*, lat, lng) -> list[Jurisdiction] | None:
    """The grid (or deepest node) containing the point, then its ancestors up to the
    city. ``None`` when no boundary contains it. Served from an in-memory index."""
    lat_f, lng_f = validate_lat_lng(lat, lng)
    return locate(lat_f, lng_f)


def jurisdiction_subtree(*, node: Jurisdiction, include_self: bool = True) -> QuerySet:
    qs = Jurisdiction.objects.filter(path__startswith=node.path)
    return qs if include_self else qs.exclude(pk=node.pk)


def jurisdiction_get(*, code=None, pk=None, field: str = "jurisdiction") -> Jurisdiction:
    """The one lookup of a jurisdiction by ``code`` (str, or a ``Jurisdiction`` passed through)
    or ``pk``; :class:`JurisdictionNotFound` (400, ``field``) when there is none."""
    if isinstance(code, Jurisdiction):
        return code
    code = "" if code is None else str(code).strip()
    node = None
    if code:
        node = Jurisdiction.objects.filter(code=code).first()
    elif pk is not None:
        try:
            node = Jurisdiction.objects.filter(pk=int(pk)).first()
        except (TypeError, ValueError, OverflowError):
            node = None
    if node is None:
        raise JurisdictionNotFound(field=field)
    return node


def jurisdiction_list(*, actor=None, perm: str = "jurisdictions.view") -> QuerySet:
    """Every node for superusers, the actor's scoped subtrees for staff, all nodes
    (names only — callers must not expose boundaries) for everyone else."""
    qs = Jurisdiction.objects.all()
    if actor is None or not getattr(actor, "is_authenticated", False) or actor.is_superuser:
        return qs
    scoped = restrict(qs, actor, perm, path_field="path")
    return scoped


def jurisdiction_ancestors(*, node: Jurisdiction) -> list[Jurisdiction]:
    codes = [c for c in node.path.strip("/").split("/") if c]
    by_code = {j.code: j for j in Jurisdiction.objects.filter(code__in=codes)}
    return [by_code[c] for c in codes if c in by_code]

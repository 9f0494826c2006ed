"""The category taxonomy: loading the shipped one, editing a category, per-jurisdiction
overrides."""

from __future__ import annotations

from django.db import transaction

from yizhan.core.audit import audit_record
from yizhan.core.errors import Message
from yizhan.core.models import AuditAction
from yizhan.reports.choices import CategoryKind
from yizhan.reports.models import Category
from yizhan.reports.services.setup.common import (
    NotOverridable,
    _apply,
    _choice,
    _require_scope,
    category_clean,
    require_platform_configure,
    taxonomy_data,
)

__all__ = ["category_taxonomy_load", "category_update", "category_override_reset"]


def category_taxonomy_load(*, actor=None, overwrite: bool = False) -> int:
    """Upsert ``data/categories.json``: missing categories are created; existing ones
    keep what admins changed unless ``overwrite``. Returns how many rows were written
    (0 when run again). ``actor`` None is the system (migrations, demo, tests)."""
    if actor is not None:
        require_platform_configure(actor)
    written = 0
    with transaction.atomic():
        existing = {c.code: c for c in Category.objects.select_for_update()}
        for entry in taxonomy_data():
            values = {k: v for k, v in entry.items() if k != "code"}
            values["kind"] = _choice(values.get("kind"), CategoryKind, field="kind",
                                     what=Message("类型", "kind"))
            cat = existing.get(entry["code"])
            if cat is None:
                Category.objects.create(code=entry["code"], **values)
                written += 1
            elif overwrite:
                changes = _apply(cat, values)
                if changes:
                    cat.save()
                    written += 1
        if written:
            audit_record(actor=actor, action=AuditAction.IMPORT, object_type="reports.category",
                         summary=f"category taxonomy loaded: {written} written"
                                 + (" (overwrite)" if overwrite else ""))
    return written



def _category_settings_changed() -> None:
    from yizhan.reports.selectors.setup import category_settings_forget

    category_settings_forget()
    transaction.on_commit(category_settings_forget)


def category_update(*, actor, category: Category, data: dict, jurisdiction=None):
    """Edit a category: names, icon, conditions, department, urgency, clock, the five
    stage limits (minutes > 0), extra fields, keywords, hazard flag, active, sort.
    ``code``, ``kind`` and ``group`` are fixed (Open311 clients know the code).

    Without ``jurisdiction``: the platform-wide category (configure on every root).
    With one: that node's own override (``CategorySetting``: department, urgency, clock,
    limits, active; configure there), created from what applies there now; returns the
    override."""
    if jurisdiction is not None:
        return _category_override_save(actor=actor, category=category, data=data, jurisdiction=jurisdiction)
    require_platform_configure(actor)
    cleaned, errors = category_clean(data)
    if errors:
        raise errors[0]
    with transaction.atomic():
        cat = Category.objects.select_for_update().get(pk=category.pk)
        changes = _apply(cat, cleaned)
        if changes:
            cat.save()
            audit_record(actor=actor, action=AuditAction.UPDATE, obj=cat,
                         summary=f"category {cat.code} {cat.name}", changes=changes)
    return cat


def _category_override_save(*, actor, category: Category, data: dict, jurisdiction):
    from yizhan.reports.models import CategorySetting
    from yizhan.reports.selectors.setup import OVERRIDE_FIELDS, category_effective

    _require_scope(actor, jurisdiction)
    for key in data:
        if key not in OVERRIDE_FIELDS:
            raise NotOverridable(field=key, key=key)
    cleaned, errors = category_clean(data)
    if errors:
        raise errors[0]
    with transaction.atomic():
        Category.objects.select_for_update().get(pk=category.pk)  # serialises concurrent first saves
        row = CategorySetting.objects.select_for_update().filter(category=category, jurisdiction=jurisdiction).first()
        created = row is None
        if created:
            inherited = category_effective(category=category, jurisdiction=jurisdiction)
            row = CategorySetting(category=category, jurisdiction=jurisdiction,
                                  **{f: getattr(inherited, f) for f in OVERRIDE_FIELDS})
        changes = _apply(row, cleaned)
        if created or changes:
            row.save()
            audit_record(actor=actor, action=AuditAction.CREATE if created else AuditAction.UPDATE, obj=row,
                         summary=f"category {category.code} settings of {jurisdiction.code}", changes=changes,
                         jurisdiction_path=jurisdiction.path)
            _category_settings_changed()
    return row


def category_override_reset(*, actor, category: Category, jurisdiction) -> bool:
    """Delete ``jurisdiction``'s override of ``category`` (back to what its parent or the
    platform has); False when there was none."""
    from yizhan.reports.models import CategorySetting

    _require_scope(actor, jurisdiction)
    with transaction.atomic():
        row = CategorySetting.objects.select_for_update().filter(category=category, jurisdiction=jurisdiction).first()
        if row is None:
            return False
        audit_record(actor=actor, action=AuditAction.DELETE, obj=row,
                     summary=f"category {category.code} settings of {jurisdiction.code} reset to default",
                     changes={f: getattr(row, f) for f in ("department_code", "urgency", "clock", "accept_minutes",
                                                           "dispatch_minutes", "handle_minutes", "verify_minutes",
                                                           "close_minutes", "active")},
                     jurisdiction_path=jurisdiction.path)
        row.delete()
        _category_settings_changed()
    return True

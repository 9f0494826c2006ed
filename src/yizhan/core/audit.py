"""Writing the audit log. Call inside the same transaction as the change."""

from __future__ import annotations

import threading
from contextlib import contextmanager

from django.utils import timezone

from yizhan.core.middleware import current_ip
from yizhan.core.models import AuditAction, AuditLog

_batch = threading.local()


def audit_record(
    *,
    actor,
    action: str,
    obj=None,
    object_type: str = "",
    object_id: str | int = "",
    summary: str = "",
    changes: dict | None = None,
    jurisdiction_path: str = "",
    ip: str | None = None,
) -> AuditLog:
    entry = audit_entry(
        actor=actor, action=action, obj=obj, object_type=object_type, object_id=object_id, summary=summary,
        changes=changes, jurisdiction_path=jurisdiction_path, ip=ip,
    )
    rows = getattr(_batch, "rows", None)
    if rows is not None:  # inside audit_batch(): written when the block ends
        entry.at = timezone.now()
        rows.append(entry)
        return entry
    entry.save(force_insert=True)
    return entry


@contextmanager
def audit_batch():
    """Bulk path for loaders that run many services in one transaction (``yizhan demo``):
    the rows ``audit_record`` writes in this thread inside the block are collected and
    written with one ``bulk_create`` when it ends — the same rows, in the same order, each
    with the time it was recorded (``at``). Use it inside the transaction (so the rows
    commit or roll back with the changes); a collected row has no id until the block
    ends, and nothing is written if the block raises. Nested blocks join the outer one.
    A savepoint rolled back inside the block does not take back the rows collected in it:
    run such a part under ``audit_unbatched()``."""
    if getattr(_batch, "rows", None) is not None:
        yield
        return
    _batch.rows = rows = []
    try:
        yield
    finally:
        _batch.rows = None
    if rows:
        field = AuditLog._meta.get_field("at")
        field.auto_now_add = False  # keep each row's own time
        try:
            AuditLog.objects.bulk_create(rows, batch_size=500)
        finally:
            field.auto_now_add = True


def audit_entry(
    *,
    actor,
    action: str,
    obj=None,
    object_type: str = "",
    object_id: str | int = "",
    summary: str = "",
    changes: dict | None = None,
    jurisdiction_path: str = "",
    ip: str | None = None,
) -> AuditLog:
    """The row ``audit_record`` writes, unsaved: bulk services collect these and write
    them with one ``AuditLog.objects.bulk_create`` in the same transaction."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    return AuditLog(
        actor=actor_obj,
        actor_label=(actor_obj.get_username() if actor_obj else "anonymous")[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        summary=summary[:300],
        changes=changes or {},
        ip=ip or current_ip(),
        jurisdiction_path=jurisdiction_path,
    )


@contextmanager
def audit_unbatched():
    """Inside ``audit_batch()``: write audit rows at once again for this block (a part
    the caller may roll back to a savepoint)."""
    rows = getattr(_batch, "rows", None)
    _batch.rows = None
    try:
        yield
    finally:
        _batch.rows = rows


__all__ = ["audit_record", "audit_entry", "audit_batch", "audit_unbatched", "AuditAction"]

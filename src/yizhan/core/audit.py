"""Writing the audit log. Call inside the same transaction as the change."""

from __future__ import annotations

from yizhan.core.middleware import current_ip
from yizhan.core.models import AuditAction, AuditLog


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
    entry.save(force_insert=True)
    return entry


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


__all__ = ["audit_record", "audit_entry", "AuditAction"]

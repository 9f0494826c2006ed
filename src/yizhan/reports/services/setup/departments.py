"""Departments of a jurisdiction and their members."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from yizhan.core import permissions
from yizhan.core.audit import audit_record
from yizhan.core.errors import Message
from yizhan.core.models import AuditAction
from yizhan.reports.models import (
    Department,
    DepartmentMember,
)
from yizhan.reports.services.setup.common import (
    PHONE_RE,
    DepartmentCodeTaken,
    DepartmentMemberNotFound,
    InvalidPerson,
    InvalidPhone,
    _apply,
    _bool,
    _department_code,
    _require_scope,
    _text,
    default_departments_data,
)

__all__ = ["department_defaults_create", "department_create", "department_update", "department_member_add", "department_member_remove"]


def department_defaults_create(*, actor, jurisdiction) -> list[Department]:
    """The standard departments (``data/departments.json``) of ``jurisdiction``
    (usually a district); existing codes are kept as they are. Idempotent."""
    if actor is not None:
        _require_scope(actor, jurisdiction)
    with transaction.atomic():
        have = {d.code: d for d in Department.objects.filter(jurisdiction=jurisdiction)}
        created = []
        for entry in default_departments_data():
            if entry["code"] in have:
                continue
            dept = Department.objects.create(
                jurisdiction=jurisdiction, code=entry["code"], name=entry["name"],
                name_en=entry.get("name_en", ""), phone=entry.get("phone", ""),
            )
            have[dept.code] = dept
            created.append(dept.code)
        if created:
            audit_record(actor=actor, action=AuditAction.CREATE, object_type="reports.department",
                         summary=f"default departments of {jurisdiction.code}: {', '.join(created)}",
                         jurisdiction_path=jurisdiction.path)
    codes = [d["code"] for d in default_departments_data()]
    return [have[c] for c in codes]



# ---- departments -----------------------------------------------------------------------


def _department_fields(*, name, name_en, phone) -> dict:
    phone = _text(phone, field="phone", limit=20)
    if phone and not PHONE_RE.match(phone):
        raise InvalidPhone()
    return {
        "name": _text(name, field="name", limit=100, required=True, label=Message("部门名称", "department name")),
        "name_en": _text(name_en, field="name_en", limit=150),
        "phone": phone,
    }


def department_create(*, actor, jurisdiction, code, name, name_en="", phone="") -> Department:
    _require_scope(actor, jurisdiction)
    code = _department_code(code, field="code", must_exist=False)
    fields = _department_fields(name=name, name_en=name_en, phone=phone)
    with transaction.atomic():
        if Department.objects.filter(jurisdiction=jurisdiction, code=code).exists():
            raise DepartmentCodeTaken()
        try:
            with transaction.atomic():
                dept = Department.objects.create(jurisdiction=jurisdiction, code=code, **fields)
        except IntegrityError:
            raise DepartmentCodeTaken() from None
        audit_record(actor=actor, action=AuditAction.CREATE, obj=dept, summary=f"department {code} {dept.name}",
                     changes={"code": code, **fields}, jurisdiction_path=jurisdiction.path)
    return dept


def department_update(*, actor, department: Department, name, name_en="", phone="",
                      active: bool = True) -> Department:
    _require_scope(actor, department.jurisdiction)
    fields = {**_department_fields(name=name, name_en=name_en, phone=phone), "active": _bool(active, field="active")}
    with transaction.atomic():
        dept = Department.objects.select_for_update().get(pk=department.pk)
        changes = _apply(dept, fields)
        if changes:
            dept.save()
            audit_record(actor=actor, action=AuditAction.UPDATE, obj=dept, summary=f"department {dept.code}",
                         changes=changes, jurisdiction_path=dept.jurisdiction.path)
    return dept


def department_member_add(*, actor, department: Department, user, is_lead: bool = False) -> DepartmentMember:
    """Make ``user`` a member (``is_lead``: receives escalations). A member without
    ``reports.handle`` on the department's jurisdiction gets the handler role there."""
    from yizhan.accounts.services import role_grant

    _require_scope(actor, department.jurisdiction)
    if user is None or not getattr(user, "pk", None) or not user.is_active:
        raise InvalidPerson()
    is_lead = _bool(is_lead, field="is_lead")
    with transaction.atomic():
        link, created = DepartmentMember.objects.get_or_create(
            department=department, user=user, defaults={"is_lead": is_lead})
        if not created and link.is_lead != is_lead:
            link.is_lead = is_lead
            link.save(update_fields=["is_lead", "updated_at"])
        if not permissions.can(user, "reports.handle", department.jurisdiction):
            role_grant(actor=actor, user=user, role="handler", jurisdiction=department.jurisdiction)
        audit_record(
            actor=actor, action=AuditAction.CREATE if created else AuditAction.UPDATE, obj=link,
            summary=f"{user.get_username()} member of department {department.code}" + (" (lead)" if is_lead else ""),
            jurisdiction_path=department.jurisdiction.path,
        )
    return link


def department_member_remove(*, actor, department: Department, user) -> None:
    """Unlink a member; drop their handler role there when they are in no other
    department of that jurisdiction."""
    from yizhan.accounts.models import RoleGrant
    from yizhan.accounts.services import role_revoke

    _require_scope(actor, department.jurisdiction)
    with transaction.atomic():
        link = DepartmentMember.objects.filter(department=department, user=user).first()
        if link is None:
            raise DepartmentMemberNotFound(field="user")
        audit_record(actor=actor, action=AuditAction.DELETE, obj=link,
                     summary=f"{user.get_username()} removed from department {department.code}",
                     jurisdiction_path=department.jurisdiction.path)
        link.delete()
        still = DepartmentMember.objects.filter(user=user, department__jurisdiction=department.jurisdiction).exists()
        if not still and RoleGrant.objects.filter(user=user, role="handler",
                                                  jurisdiction=department.jurisdiction).exists():
            role_revoke(actor=actor, user=user, role="handler", jurisdiction=department.jurisdiction)

"""Test factories of the reports app (plain functions, like core.testing.factories).

    cat = make_category()                       # a working-time category, dept "urban"
    dept = make_department(district=tree.district, code="urban")
    worker = make_grid_worker(tree.grid)        # grid_worker role on that grid
"""

from __future__ import annotations

import itertools

from yizhan.core.testing.factories import make_staff
from yizhan.reports.models import Category, Department, DepartmentMember

_seq = itertools.count(1)


def make_category(code: str | None = None, **fields) -> Category:
    n = next(_seq)
    values = {
        "code": code or f"test_cat_{n}",
        "kind": "event",
        "group": "street_order",
        "group_name": "街面秩序",
        "group_name_en": "Street order",
        "name": fields.pop("name", f"测试类别{n}"),
        "name_en": f"Test category {n}",
        "icon": "⚠️",
        "department_code": "urban",
        "accept_minutes": 60,
        "dispatch_minutes": 60,
        "handle_minutes": 240,
        "verify_minutes": 480,
        "close_minutes": 480,
    }
    values.update(fields)
    return Category.objects.create(**values)


def make_department(*, jurisdiction, code: str = "urban", name: str = "城市管理局", members=(),
                    leads=()) -> Department:
    dept, _ = Department.objects.get_or_create(
        jurisdiction=jurisdiction, code=code, defaults={"name": name, "name_en": code.title()}
    )
    for user in members:
        DepartmentMember.objects.get_or_create(department=dept, user=user)
    for user in leads:
        DepartmentMember.objects.update_or_create(department=dept, user=user, defaults={"is_lead": True})
    return dept


def make_grid_worker(grid, **kwargs):
    return make_staff("grid_worker", grid, **kwargs)


def make_handler(department: Department, **kwargs):
    """A department handler: 'handler' role on the department's jurisdiction + membership."""
    user = make_staff("handler", department.jurisdiction, **kwargs)
    DepartmentMember.objects.get_or_create(department=department, user=user)
    return user

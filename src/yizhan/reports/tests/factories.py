"""Test factories of the reports app (plain functions, like core.testing.factories).

    cat = make_category()                       # a working-time category, dept "urban"
    dept = make_department(district=tree.district, code="urban")
    worker = make_grid_worker(tree.grid)        # grid_worker role on that grid

Cases are made through the real services (domain helper's additions below):

    case = make_case(jurisdiction=tree.grid)                 # submitted, by a fresh worker
    case = make_case_in("in_progress", jurisdiction=tree.grid)  # driven there through the services
    case = drive_case(case, "handled")                       # further along
    jpeg = photo_upload()                                    # a small JPEG upload
"""

from __future__ import annotations

import io
import itertools

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from yizhan.core.testing.factories import make_staff, make_worker
from yizhan.reports.models import Case, Category, Department, DepartmentMember

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


# ---- cases through the real services (domain helper) ----------------------------------


def photo_upload(*, size=(64, 48), color=(200, 30, 30), fmt="JPEG", name="photo.jpg") -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, fmt)
    return SimpleUploadedFile(name, buf.getvalue(), content_type=f"image/{fmt.lower()}")


def _default_grid():
    from yizhan.jurisdictions.models import Jurisdiction

    grid = Jurisdiction.objects.filter(level="grid").order_by("path").first()
    assert grid is not None, "make_case needs a jurisdiction tree (core.testing.factories.make_jurisdiction_tree)"
    return grid


def make_case(*, reporter=None, category: Category | str | None = None, jurisdiction=None, lat=None, lng=None,
              **kwargs) -> Case:
    """A submitted case through ``services.case_submit`` (a fresh worker reports it at
    the centre of ``jurisdiction``, default the first grid, unless lat/lng are given)."""
    from yizhan.reports.services import case_submit

    if category is None:
        category = make_category()
    code = category.code if isinstance(category, Category) else category
    if lat is None or lng is None:
        node = jurisdiction or _default_grid()
        lat, lng = node.center_lat, node.center_lng
    reporter = reporter if reporter is not None else make_worker()
    kwargs.setdefault("description", "井盖缺失")
    return case_submit(actor=reporter, category=code, lat=lat, lng=lng, **kwargs).case


def _district_of(case: Case):
    from yizhan.jurisdictions.models import Jurisdiction

    codes = [c for c in case.jurisdiction.path.split("/") if c]
    nodes = {n.code: n for n in Jurisdiction.objects.filter(code__in=codes)}
    chain = [nodes[c] for c in codes]
    return next((n for n in chain if n.level == "district"), chain[0])


def _community_of(case: Case):
    from yizhan.jurisdictions.models import Jurisdiction

    node = case.jurisdiction
    while node.level == "grid" and node.parent_id:
        node = Jurisdiction.objects.get(pk=node.parent_id)
    return node


def case_department(case: Case) -> Department:
    """The department routing gives ``case`` (made on its district when missing)."""
    from yizhan.reports.routing import department_for

    dept = department_for(jurisdiction=case.jurisdiction, department_code=case.category.department_code)
    return dept or make_department(jurisdiction=_district_of(case), code=case.category.department_code)


def case_dispatcher(case: Case):
    """A community admin of the case's community (made fresh)."""
    return make_staff("community_admin", _community_of(case))


def case_handler(case: Case):
    """Who handles ``case`` now: its assignee, else a (new) member of its department."""
    case.refresh_from_db()
    if case.assignee_id:
        return case.assignee
    dept = case.department or case_department(case)
    member = DepartmentMember.objects.filter(department=dept).select_related("user").first()
    return member.user if member else make_handler(dept)


PATHS = {
    "submitted": [],
    "accepted": ["accept"],
    "rejected": ["reject"],
    "dispatched": ["accept", "dispatch"],
    "in_progress": ["accept", "dispatch", "start"],
    "returned": ["accept", "dispatch", "return"],
    "handled": ["accept", "dispatch", "start", "handle"],
    "verified": ["accept", "dispatch", "start", "handle", "verify"],
    "closed": ["accept", "dispatch", "start", "handle", "verify", "close"],
    "evaluated": ["accept", "dispatch", "start", "handle", "verify", "close", "evaluate"],
    "parked": ["accept", "park"],
    "merged": ["merge"],
}


def drive_case(case: Case, state: str, *, dispatcher=None, handler=None, department=None) -> Case:
    """Move a *submitted* case to ``state`` through the real services (the shortest
    path of ``PATHS``). Returns the case (refreshed)."""
    from yizhan.reports import services as svc

    case.refresh_from_db()
    assert case.state == "submitted", f"drive_case starts from submitted, not {case.state}"
    dispatcher = dispatcher or case_dispatcher(case)
    for action in PATHS[state]:
        if action == "accept":
            svc.case_accept(actor=dispatcher, case=case)
        elif action == "reject":
            svc.case_reject(actor=dispatcher, case=case, note="不属于受理范围")
        elif action == "dispatch":
            svc.case_dispatch(actor=dispatcher, case=case, department=department or case_department(case))
            handler = handler or case_handler(case)
        elif action == "start":
            svc.case_start(actor=handler, case=case)
        elif action == "return":
            svc.case_return(actor=handler, case=case, note="不属于本部门职责")
        elif action == "handle":
            svc.case_handle(actor=handler, case=case, note="已处理", photos=[photo_upload(color=(30, 200, 30))])
        elif action == "verify":
            svc.case_verify(actor=dispatcher, case=case, note="现场核查通过")
        elif action == "close":
            svc.case_close(actor=dispatcher, case=case)
        elif action == "evaluate":
            svc.case_evaluate(actor=case.reporter, case=case, rating=5)
        elif action == "park":
            svc.case_park(actor=dispatcher, case=case, note="需规划调整，暂无法解决")
        elif action == "merge":
            into = make_case(category=case.category, lat=case.lat, lng=case.lng)
            svc.case_merge(actor=dispatcher, case=case, into=into)
    case.refresh_from_db()
    assert case.state == state, (case.state, state)
    return case


def make_case_in(state: str = "submitted", *, dispatcher=None, handler=None, department=None, **kwargs) -> Case:
    """``make_case(**kwargs)`` driven to ``state``."""
    return drive_case(make_case(**kwargs), state, dispatcher=dispatcher, handler=handler, department=department)

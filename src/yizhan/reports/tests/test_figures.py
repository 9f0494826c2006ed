"""Figures of the case workflow: exact on hand-made data, percentiles against a brute
force, the Excel file, scope, and the page."""

from __future__ import annotations

import gzip
import io
import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yizhan.core.errors import OutOfJurisdiction, PermissionDenied, ValidationError
from yizhan.core.models import AuditLog
from yizhan.core.testing.factories import make_jurisdiction_tree, make_staff, make_worker
from yizhan.reports.figures import (
    ROW_KEYS,
    case_figures,
    case_figures_export,
    case_figures_xlsx,
    percentile_cont,
)
from yizhan.reports.models import Case
from yizhan.reports.tests.factories import make_category, make_department

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=SH)  # a Monday morning
_n = itertools.count(1)


def H(hours: float) -> timedelta:
    return timedelta(hours=hours)


def mk_case(*, jurisdiction, category, department=None, state="submitted", at=T0, accept=None, dispatch=None,
            handle=None, close=None, was_overdue=False, reopen_count=0, rating=None, merged_into=None) -> Case:
    """A case row with milestones ``accept``/``dispatch``/``handle`` hours after the previous
    milestone and ``close`` hours after submission (hand-made data; the service-driven
    test is below)."""
    n = next(_n)
    accepted = at + H(accept) if accept is not None else None
    dispatched = accepted + H(dispatch) if dispatch is not None else None
    handled = dispatched + H(handle) if handle is not None else None
    closed = at + H(close) if close is not None else None
    return Case.objects.create(
        number=f"20261102-{n:06d}", token=f"tok{n:029d}", category=category, state=state,
        lat=jurisdiction.center_lat, lng=jurisdiction.center_lng, cell="8928308280fffff",
        jurisdiction=jurisdiction, department=department, submitted_at=at, accepted_at=accepted,
        dispatched_at=dispatched, handled_at=handled, closed_at=closed, verified_at=closed,
        was_overdue=was_overdue, reopen_count=reopen_count, rating=rating,
        reject_reason="不属于受理范围" if state == "rejected" else "",
        merged_into=merged_into,
    )


@pytest.fixture
def world():
    tree = make_jurisdiction_tree()
    urban = make_department(jurisdiction=tree.district, code="urban", name="城市管理局")
    fire = make_department(jurisdiction=tree.district, code="fire", name="消防救援大队")
    cat_a = make_category("fig_rubbish", name="暴露垃圾", department_code="urban")
    cat_b = make_category("fig_fire_exit", name="消防通道堵塞", department_code="fire", is_hazard=True)
    a1, b1 = tree.grids[0], tree.grids[2]
    c = {}
    c[1] = mk_case(jurisdiction=a1, category=cat_a, department=urban, state="evaluated",
                   accept=1, dispatch=2, handle=3, close=10, rating=5)
    c[2] = mk_case(jurisdiction=a1, category=cat_a, department=urban, state="evaluated",
                   accept=2, dispatch=1, handle=5, close=12, was_overdue=True, reopen_count=1, rating=3)
    c[3] = mk_case(jurisdiction=a1, category=cat_a, department=urban, state="handled",
                   accept=4, dispatch=1, handle=10)
    c[4] = mk_case(jurisdiction=a1, category=cat_a)
    c[5] = mk_case(jurisdiction=b1, category=cat_b, department=fire, state="evaluated",
                   accept=0.5, dispatch=0.5, handle=1, close=3, rating=4)
    c[6] = mk_case(jurisdiction=b1, category=cat_b, state="rejected", was_overdue=True)
    c[7] = mk_case(jurisdiction=b1, category=cat_b)
    # not counted: merged into c1; in another district; before the window
    c[8] = mk_case(jurisdiction=a1, category=cat_a, department=urban, state="merged", merged_into=c[1],
                   accept=9, dispatch=9, handle=9, close=99, rating=1, was_overdue=True)
    c[9] = mk_case(jurisdiction=tree.far_grid, category=cat_a, accept=50)
    c[10] = mk_case(jurisdiction=a1, category=cat_a, at=datetime(2026, 10, 15, 9, 0, tzinfo=SH), accept=100)
    admin = make_staff("district_admin", tree.district)
    return tree, admin, {"urban": urban, "fire": fire, "a": cat_a, "b": cat_b}, c


def row(rows, department, category=None):
    found = [r for r in rows if r["department"] == department and (category is None or r["category"] == category)]
    assert len(found) == 1, (department, category, rows)
    return found[0]


# ---------------------------------------------------------------- exact figures


def test_figures_are_exact_on_hand_computed_data(world):
    tree, admin, o, c = world
    f = case_figures(actor=admin, since="2026-11-01")
    ua = row(f["rows"], "urban", "fig_rubbish")
    assert ua["cases"] == 3
    assert ua["accept_p50_h"] == pytest.approx(2)      # [1, 2, 4]
    assert ua["accept_p90_h"] == pytest.approx(3.6)    # 2 + (4 - 2) * 0.8
    assert ua["dispatch_p50_h"] == pytest.approx(1)    # [1, 1, 2]
    assert ua["dispatch_p90_h"] == pytest.approx(1.8)
    assert ua["handle_p50_h"] == pytest.approx(5)      # [3, 5, 10]
    assert ua["handle_p90_h"] == pytest.approx(9)
    assert ua["close_p50_h"] == pytest.approx(11)      # [10, 12]
    assert ua["close_p90_h"] == pytest.approx(11.8)
    assert ua["overdue_rate"] == pytest.approx(1 / 3)
    assert ua["reopen_rate"] == pytest.approx(1 / 3)   # 1 of the 3 handled
    assert ua["satisfaction"] == pytest.approx(4)
    assert ua["rated"] == 2
    assert set(ROW_KEYS) <= set(ua)
    assert ua["department_name"] == "城市管理局" and ua["category_name"] == "暴露垃圾"

    fb = row(f["rows"], "fire", "fig_fire_exit")
    assert fb["cases"] == 1
    assert fb["accept_p50_h"] == pytest.approx(0.5) and fb["accept_p90_h"] == pytest.approx(0.5)
    assert fb["close_p50_h"] == pytest.approx(3)
    assert fb["overdue_rate"] == 0
    assert fb["reopen_rate"] == 0
    assert fb["satisfaction"] == pytest.approx(4) and fb["rated"] == 1

    none = row(f["rows"], "", "fig_fire_exit")  # one rejected, one not yet accepted
    assert none["department_name"] == "未派遣" and none["cases"] == 2
    assert none["accept_p50_h"] is None and none["reopen_rate"] is None and none["satisfaction"] is None
    assert none["overdue_rate"] == pytest.approx(0.5)
    assert row(f["rows"], "", "fig_rubbish")["cases"] == 1
    assert len(f["rows"]) == 4

    t = f["totals"]
    assert t["cases"] == 7
    assert t["accept_p50_h"] == pytest.approx(1.5)    # [0.5, 1, 2, 4]
    assert t["accept_p90_h"] == pytest.approx(3.4)    # 2 + 2 * 0.7
    assert t["close_p50_h"] == pytest.approx(10)      # [3, 10, 12]
    assert t["close_p90_h"] == pytest.approx(11.6)
    assert t["handle_p50_h"] == pytest.approx(4)      # [1, 3, 5, 10]
    assert t["overdue_rate"] == pytest.approx(2 / 7)
    assert t["reopen_rate"] == pytest.approx(1 / 4)
    assert t["satisfaction"] == pytest.approx(4) and t["rated"] == 3

    by_dept = {r["department"]: r for r in f["by_department"]}
    assert by_dept["urban"]["cases"] == 3 and by_dept["fire"]["cases"] == 1 and by_dept[""]["cases"] == 3
    by_cat = {r["category"]: r for r in f["by_category"]}
    assert by_cat["fig_rubbish"]["cases"] == 4 and by_cat["fig_fire_exit"]["cases"] == 3
    assert by_cat["fig_fire_exit"]["is_hazard"] is True
    assert by_cat["fig_fire_exit"]["overdue_rate"] == pytest.approx(1 / 3)


def test_window_and_jurisdiction_filters(world):
    tree, admin, o, c = world
    everything = case_figures(actor=admin)
    assert everything["totals"]["cases"] == 8  # + the October case
    assert everything["totals"]["accept_p90_h"] > 50
    # until is inclusive, as a whole day in Asia/Shanghai
    october = case_figures(actor=admin, since=date(2026, 10, 1), until=date(2026, 10, 15))
    assert october["totals"]["cases"] == 1
    assert october["totals"]["accept_p50_h"] == pytest.approx(100)
    assert october["filters"] == {**october["filters"], "since": "2026-10-01", "until": "2026-10-15"}
    assert case_figures(actor=admin, until="2026-10-14")["totals"]["cases"] == 0
    # a datetime bound is exact
    assert case_figures(actor=admin, since=T0)["totals"]["cases"] == 7
    assert case_figures(actor=admin, since=T0 + timedelta(seconds=1))["totals"]["cases"] == 0
    community_b = case_figures(actor=admin, jurisdiction=tree.community_b.code, since="2026-11-01")
    assert community_b["totals"]["cases"] == 3
    assert {r["category"] for r in community_b["rows"]} == {"fig_fire_exit"}
    assert community_b["filters"]["jurisdiction_name"] == tree.community_b.name


@pytest.mark.parametrize("kwargs, field", [
    ({"since": "2026-13-01"}, "since"), ({"until": "yesterday"}, "until"),
    ({"since": "2026-11-05", "until": "2026-11-01"}, "until"), ({"jurisdiction": "NOPE"}, "jurisdiction"),
])
def test_bad_filters_are_field_errors(world, kwargs, field):
    _tree, admin, _o, _c = world
    with pytest.raises(ValidationError) as exc:
        case_figures(actor=admin, **kwargs)
    assert exc.value.field == field
    assert exc.value.message.zh and exc.value.message.en


def test_empty_scope_gives_empty_figures():
    tree = make_jurisdiction_tree()
    admin = make_staff("community_admin", tree.community)
    f = case_figures(actor=admin)
    assert f["rows"] == [] and f["by_department"] == [] and f["by_category"] == []
    t = f["totals"]
    assert t["cases"] == 0 and t["overdue_rate"] is None and t["close_p50_h"] is None and t["rated"] == 0
    workbook = openpyxl.load_workbook(io.BytesIO(case_figures_xlsx(figures=f)))
    assert workbook.worksheets[0].max_row == 2  # header + totals


# ---------------------------------------------------------------- scope


def test_scope_other_district_and_community(world):
    tree, _admin, o, c = world
    other = make_staff("district_admin", tree.other_district)
    f = case_figures(actor=other)
    assert f["totals"]["cases"] == 1  # only its own far-grid case
    assert f["by_department"] == [row(f["by_department"], "")]
    community_a = make_staff("community_admin", tree.community)
    fa = case_figures(actor=community_a, since="2026-11-01")
    assert fa["totals"]["cases"] == 4
    assert {r["category"] for r in fa["rows"]} == {"fig_rubbish"}
    city = make_staff("city_admin", tree.city)
    assert case_figures(actor=city)["totals"]["cases"] == 9


@pytest.mark.parametrize("role", ["auditor", "grid_worker", "handler", "keeper"])
def test_roles_without_figures_are_denied(world, role):
    tree, _admin, _o, _c = world
    user = make_staff(role, tree.district)
    with pytest.raises(PermissionDenied):
        case_figures(actor=user)


def test_worker_and_outside_jurisdiction_denied(world):
    tree, _admin, _o, _c = world
    with pytest.raises(PermissionDenied):
        case_figures(actor=make_worker())
    community_a = make_staff("community_admin", tree.community)
    with pytest.raises(OutOfJurisdiction):
        case_figures(actor=community_a, jurisdiction=tree.community_b.code)
    with pytest.raises(OutOfJurisdiction):
        case_figures(actor=community_a, jurisdiction=tree.district.code)


# ---------------------------------------------------------------- Excel


def test_excel_has_the_numbers_headers_and_formats(world):
    tree, admin, o, c = world
    f = case_figures(actor=admin, since="2026-11-01")
    wb = openpyxl.load_workbook(io.BytesIO(case_figures_xlsx(figures=f)))
    assert [ws.title for ws in wb.worksheets] == [
        "按部门和类别 By dept & category", "按部门 By department", "按类别 By category", "说明 Notes"]
    ws = wb.worksheets[0]
    header = [cell.value for cell in ws[1]]
    assert header[:4] == ["部门\nDepartment", "部门编码\nDepartment code", "类别\nCategory", "类别编码\nCategory code"]
    assert "案件数\nCases" in header and "超期率\nOverdue rate" in header
    assert all("\n" in h for h in header)  # Chinese and English in every header cell
    assert ws.freeze_panes == "E2"
    col = {h.split("\n")[1]: i for i, h in enumerate(header)}
    data = {(r[col["Department code"]].value or "", r[col["Category code"]].value): r for r in ws.iter_rows(min_row=2)}
    ua = data[("urban", "fig_rubbish")]
    assert ua[col["Cases"]].value == 3
    assert ua[col["Accept (report→accepted) p90 (h)"]].value == pytest.approx(3.6)
    assert ua[col["Close (report→closed) median (h)"]].value == pytest.approx(11)
    assert ua[col["Overdue rate"]].value == pytest.approx(1 / 3)
    assert ua[col["Overdue rate"]].number_format == "0.0%"
    assert ua[col["Accept (report→accepted) p90 (h)"]].number_format == "0.00"
    assert ua[col["Satisfaction (mean rating 1–5)"]].value == pytest.approx(4)
    assert data[("", "fig_fire_exit")][col["Accept (report→accepted) median (h)"]].value is None
    total = list(ws.iter_rows(min_row=ws.max_row))[0]
    assert total[0].value == "合计 Total" and total[col["Cases"]].value == 7
    assert total[col["Reopen rate"]].value == pytest.approx(0.25)
    assert total[0].font.bold
    by_dept = wb.worksheets[1]
    assert by_dept.freeze_panes == "C2"
    assert [r[0].value for r in by_dept.iter_rows(min_row=2)] == ["消防救援大队", "城市管理局", "未派遣", "合计 Total"]
    notes = {r[0].value: r[1].value for r in wb.worksheets[3].iter_rows(min_row=2)}
    assert notes["开始日期 Since"] == "2026-11-01"


def test_export_is_audited(world):
    tree, admin, o, c = world
    before = AuditLog.objects.filter(action="export").count()
    figures, content = case_figures_export(actor=admin, jurisdiction=tree.community.code)
    assert content[:2] == b"PK"
    log = AuditLog.objects.filter(action="export").latest("id")
    assert AuditLog.objects.filter(action="export").count() == before + 1
    assert log.actor == admin and log.object_type == "reports.figures"
    assert log.changes["jurisdiction"] == tree.community.code and log.changes["cases"] == figures["totals"]["cases"]
    assert log.jurisdiction_path == tree.community.path
    auditor = make_staff("auditor", tree.district)
    with pytest.raises(PermissionDenied):
        case_figures_export(actor=auditor)
    assert AuditLog.objects.filter(action="export").count() == before + 1


# ---------------------------------------------------------------- percentiles


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(values=st.lists(finite, min_size=1, max_size=60), p=st.floats(min_value=0, max_value=1))
def test_percentile_matches_numpy_linear(values, p):
    got = percentile_cont(values, p)
    ref = float(np.percentile(np.asarray(values, dtype=float), p * 100, method="linear"))
    assert got == pytest.approx(ref, rel=1e-9, abs=1e-6)
    assert min(values) <= got <= max(values)


@given(values=st.lists(finite, min_size=1, max_size=40), p=st.floats(0, 1), q=st.floats(0, 1))
def test_percentile_properties(values, p, q):
    lo, hi = sorted((p, q))
    assert percentile_cont(values, lo) <= percentile_cont(values, hi) + 1e-9  # monotone in p
    assert percentile_cont(values, 0) == min(values)
    assert percentile_cont(values, 1) == max(values)
    assert percentile_cont(list(reversed(values)) + [None], p) == percentile_cont(values, p)  # order, NULLs
    if len(values) % 2 == 1:
        assert percentile_cont(values, 0.5) == sorted(values)[len(values) // 2]


def test_percentile_of_nothing_is_none():
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([None, None], 0.9) is None
    with pytest.raises(ValueError):
        percentile_cont([1.0], 1.5)


seconds = st.integers(min_value=0, max_value=30 * 24 * 3600)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(groups=st.lists(st.lists(st.tuples(seconds, st.one_of(st.none(), seconds)), min_size=1, max_size=12),
                       min_size=1, max_size=3))
def test_database_percentiles_match_brute_force(db_world, groups):
    """The database's percentiles (PostgreSQL's percentile_cont, or the aggregate registered
    on SQLite) equal the Python reference on the same durations, per group and in total."""
    tree, admin, cats = db_world
    created = []
    try:
        expected = {}
        all_accept, all_close = [], []
        for cat, cases in zip(cats, groups, strict=False):
            accept, close = [], []
            for acc_s, close_s in cases:
                at = T0
                case = mk_case(jurisdiction=tree.grid, category=cat, at=at, accept=acc_s / 3600,
                               close=None if close_s is None else (acc_s + close_s) / 3600)
                created.append(case.pk)
                accept.append(acc_s / 3600)
                if close_s is not None:
                    close.append((acc_s + close_s) / 3600)
            expected[cat.code] = (accept, close)
            all_accept += accept
            all_close += close
        f = case_figures(actor=admin)
        for code, (accept, close) in expected.items():
            r = row(f["rows"], "", code)
            assert r["cases"] == len(accept)
            for p, key in ((0.5, "p50"), (0.9, "p90")):
                assert r[f"accept_{key}_h"] == pytest.approx(percentile_cont(accept, p), rel=1e-9, abs=1e-9)
                want = percentile_cont(close, p)
                assert (r[f"close_{key}_h"] is None) if want is None else \
                    r[f"close_{key}_h"] == pytest.approx(want, rel=1e-9, abs=1e-9)
        assert f["totals"]["accept_p90_h"] == pytest.approx(percentile_cont(all_accept, 0.9), rel=1e-9, abs=1e-9)
    finally:
        Case.objects.filter(pk__in=created).delete()


@pytest.fixture
def db_world():
    tree = make_jurisdiction_tree()
    cats = [make_category(f"fig_h{i}") for i in range(3)]
    return tree, make_staff("district_admin", tree.district), cats


# ---------------------------------------------------------------- the page


def test_page_shows_the_figures(world, client):
    tree, admin, o, c = world
    client.force_login(admin)
    resp = client.get("/dispatch/figures/", {"since": "2026-11-01"})
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'data-figure="cases">7<' in html
    assert 'data-figure="close_p50_h">10.0<' in html
    assert "城市管理局" in html and "消防救援大队" in html and "暴露垃圾" in html
    assert "/dispatch/figures.xlsx?since=2026-11-01" in html
    assert "echarts" not in html  # CSS bars: the page stays light
    assert len(gzip.compress(resp.content)) < 200_000


def test_page_filter_error_is_shown_beside_the_field(world, client):
    tree, admin, o, c = world
    client.force_login(admin)
    resp = client.get("/dispatch/figures/", {"since": "not-a-date"})
    assert resp.status_code == 400
    html = resp.content.decode()
    assert 'data-code="invalid_date"' in html
    assert 'id="f-since" name="since" value="not-a-date" aria-invalid="true"' in html


def test_page_scope_and_roles(world, client):
    tree, admin, o, c = world
    resp = client.get("/dispatch/figures/")
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")
    for role in ("auditor", "grid_worker"):
        client.force_login(make_staff(role, tree.district))
        resp = client.get("/dispatch/figures/")
        assert resp.status_code == 403, role
        assert client.get("/dispatch/figures.xlsx").status_code == 403
    client.force_login(make_worker())
    assert client.get("/dispatch/figures/").status_code == 403
    other = make_staff("district_admin", tree.other_district)
    client.force_login(other)
    resp = client.get("/dispatch/figures/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "城市管理局" not in html and 'data-figure="cases">1<' in html
    assert client.get("/dispatch/figures/", {"jurisdiction": tree.district.code}).status_code == 403


def test_excel_download_is_audited(world, client):
    tree, admin, o, c = world
    client.force_login(admin)
    resp = client.get("/dispatch/figures.xlsx", {"since": "2026-11-01", "until": "2026-11-30"})
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in resp["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(resp.content))
    assert wb.worksheets[0].cell(row=wb.worksheets[0].max_row, column=5).value == 7
    log = AuditLog.objects.filter(action="export", object_type="reports.figures").latest("id")
    assert log.actor == admin and log.changes["since"] == "2026-11-01" and log.changes["until"] == "2026-11-30"


# ---------------------------------------------------------------- through the real services


def _jpeg():
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (120, 160, 90)).save(buf, "JPEG")
    return SimpleUploadedFile("after.jpg", buf.getvalue(), content_type="image/jpeg")


def test_figures_of_cases_driven_through_the_services(monkeypatch, settings, tmp_path):
    """Two cases walked through the workflow services at chosen moments (the services read
    ``timezone.now()``; the test moves it): the figures are exactly the elapsed hours."""
    from django.utils import timezone

    from yizhan.reports import services
    from yizhan.reports.tests.factories import make_grid_worker

    settings.MEDIA_ROOT = tmp_path
    now = {"at": T0}
    monkeypatch.setattr(timezone, "now", lambda: now["at"])

    def at(hours_from_t0):
        now["at"] = T0 + H(hours_from_t0)

    tree = make_jurisdiction_tree()
    make_department(jurisdiction=tree.district, code="urban", name="城市管理局")
    make_category("fig_svc", name="暴露垃圾", department_code="urban", clock="natural",
                  accept_minutes=600, dispatch_minutes=600, handle_minutes=6000, verify_minutes=600,
                  close_minutes=600)
    worker = make_grid_worker(tree.grid)
    centre = make_staff("community_admin", tree.community)
    reporter = make_worker()
    lat, lng = tree.point(tree.grid)

    at(0)
    one = services.case_submit(actor=reporter, category="fig_svc", lat=lat, lng=lng, idempotency_key="a").case
    at(0.25)
    two = services.case_submit(actor=reporter, category="fig_svc", lat=lat, lng=lng + 0.001,
                               idempotency_key="b").case
    at(1)
    services.case_accept(actor=centre, case=one)
    at(3.25)
    services.case_accept(actor=centre, case=two)           # two: accept 3 h
    at(3)
    services.case_dispatch(actor=centre, case=one)         # one: dispatch 2 h
    assert one.assignee == worker and one.department.code == "urban"
    at(4.25)
    services.case_dispatch(actor=centre, case=two)         # two: dispatch 1 h
    at(3.5)
    services.case_start(actor=worker, case=one)
    at(6.5)
    services.case_handle(actor=worker, case=one, photos=[_jpeg()])   # one: handle 3.5 h
    at(7.5)
    services.case_verify(actor=centre, case=one)
    at(8)
    services.case_close(actor=centre, case=one)            # one: close 8 h
    at(9)
    services.case_evaluate(actor=reporter, case=one, rating=4)
    at(5)
    services.case_start(actor=worker, case=two)
    at(9.25)
    services.case_handle(actor=worker, case=two, photos=[_jpeg()])   # two: handle 5 h
    at(10)
    services.case_reopen(actor=reporter, case=two, note="还是没修好")
    at(11)
    services.case_handle(actor=worker, case=two, photos=[_jpeg()])
    at(12)
    services.case_confirm(actor=reporter, case=two)
    at(12.75)
    services.case_close(actor=centre, case=two)            # two: close 12.5 h

    admin = make_staff("district_admin", tree.district)
    f = case_figures(actor=admin)
    r = row(f["rows"], "urban", "fig_svc")
    assert r["cases"] == 2
    assert r["accept_p50_h"] == pytest.approx(2) and r["accept_p90_h"] == pytest.approx(2.8)   # [1, 3]
    assert r["dispatch_p50_h"] == pytest.approx(1.5) and r["dispatch_p90_h"] == pytest.approx(1.9)  # [2, 1]
    assert r["handle_p50_h"] == pytest.approx(4.25) and r["handle_p90_h"] == pytest.approx(4.85)  # [3.5, 5]
    assert r["close_p50_h"] == pytest.approx(10.25) and r["close_p90_h"] == pytest.approx(12.05)  # [8, 12.5]
    assert r["reopen_rate"] == pytest.approx(0.5)
    assert r["overdue_rate"] == 0
    assert r["satisfaction"] == pytest.approx(4) and r["rated"] == 1
    assert f["totals"]["cases"] == 2


# ---------------------------------------------------------------- in a browser, at 360 px


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_figures_page_on_a_phone(browser_page_factory, live_server):
    """An admin logs in on a 360 px screen: the page fits the width (tables scroll inside
    their box), the filters and the Excel link are reachable with Tab, the download is an .xlsx."""
    import re

    from yizhan.core.testing.factories import DEFAULT_PASSWORD

    tree = make_jurisdiction_tree()
    urban = make_department(jurisdiction=tree.district, code="urban", name="城市管理局")
    cat = make_category("fig_browser", name="暴露垃圾", department_code="urban")
    for hours in (1, 2, 3, 5):
        mk_case(jurisdiction=tree.grid, category=cat, department=urban, state="closed", accept=hours,
                dispatch=1, handle=hours, close=hours * 4)
    make_staff("district_admin", tree.district, username="figures_browser")

    page = browser_page_factory()
    page.goto(f"{live_server.url}/dispatch/figures/")
    assert "/accounts/login/" in page.url
    page.get_by_label("用户名").fill("figures_browser")
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.get_by_label("密码").press("Enter")
    page.wait_for_url(re.compile(r"/dispatch/figures/"))
    assert page.locator("[data-figure=cases]").inner_text() == "4"
    assert page.locator("#by-department tr[data-department=urban]").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
        if "导出 Excel" in reached:
            break
    assert {"f-since", "f-until", "f-j", "导出 Excel"} <= reached, reached
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert download.value.suggested_filename.endswith(".xlsx")

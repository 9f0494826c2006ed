"""The demo cases: from the seeds, through the services, every state, idempotent and
deterministic, and the figures page has something to show."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from yizhan.accounts.models import User
from yizhan.reports.choices import CaseState
from yizhan.reports.demo import reports_demo_load
from yizhan.reports.figures import case_figures
from yizhan.reports.models import CalendarDay, Case, CaseEvent, GridDuty

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 16, 0, tzinfo=SH)
MILESTONES = ["submitted_at", "accepted_at", "dispatched_at", "handled_at", "verified_at", "closed_at",
              "evaluated_at"]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def demo(demo_world, _shared_data):
    """The demo loaded once per session (core.testing.shared) and how long that took."""
    return demo_world, _shared_data.seconds


def snapshot() -> list[tuple]:
    rows = Case.objects.filter(idempotency_key__startswith="demo-").order_by("idempotency_key").values_list(
        "idempotency_key", "number", "category__code", "state", "jurisdiction__code", "department__code",
        "assignee__username", "rating", "reopen_count", "was_overdue", "merged_into__idempotency_key", *MILESTONES)
    return list(rows)


def test_demo_cases_follow_the_seeds(demo):
    summary, seconds = demo
    rep = summary.reports
    assert rep.created >= 150
    # seed 004, Xian'an: 132 reports, 24 hazards, all accepted at once
    xa = Case.objects.filter(jurisdiction__path__startswith="/XN/XN-XA/")
    assert xa.count() == 132
    assert xa.filter(category__is_hazard=True).count() == 24
    assert not xa.filter(accepted_at__isnull=True).exists()
    hazards = xa.filter(category__is_hazard=True)
    assert all(c.accepted_at - c.submitted_at < timedelta(minutes=30) for c in hazards)
    # seed 003: the ground lock at 新胜花苑, from the command centre to the grid worker
    lock = Case.objects.get(idempotency_key="demo-NT-CC-LS-000")
    assert lock.category.code == "ground_lock" and lock.source == "hotline" and lock.state == CaseState.CLOSED
    assert lock.jurisdiction.code == "NT-CC-LS-C02-G01"
    assert lock.assignee.username == "demo-grid-nt-cc-ls-c02-g01"
    assert lock.submitted_at.astimezone(SH).strftime("%m-%d") == "08-30"
    notes = " ".join(CaseEvent.objects.filter(case=lock).values_list("note", flat=True))
    for dept in ("公安", "城管", "市场监管"):
        assert dept in notes
    actions = list(CaseEvent.objects.filter(case=lock).values_list("action", flat=True))
    assert actions[:3] == ["submit", "accept", "dispatch"] and "close" in actions and "follow_up" in actions
    # Science City: at least one case in every state
    states = set(Case.objects.filter(idempotency_key__startswith="demo-").values_list("state", flat=True))
    assert states == set(CaseState.values)
    # the working calendar with 2026's holidays and make-up days, grid workers on duty
    assert CalendarDay.objects.filter(calendar__jurisdiction__code="XN", date="2026-10-01", is_workday=False).exists()
    assert CalendarDay.objects.filter(calendar__jurisdiction__code="SZ", date="2026-02-28", is_workday=True).exists()
    assert GridDuty.objects.filter(grid__path__startswith="/SZ/SZ-GX/SZ-GX-DZ/").count() == 21
    print(f"demo_load {seconds:.1f}s")  # the case part is ~10-20 s on the 2-core box; not asserted (shared CPU)
    _timelines_are_real()
    _figures_are_meaningful()


def _timelines_are_real():
    for case in Case.objects.filter(idempotency_key__startswith="demo-").prefetch_related("events"):
        events = list(case.events.all())
        assert events[0].action == "submit" and events[0].at == case.submitted_at
        ats = [e.at for e in events]
        assert ats == sorted(ats), case.number
        assert case.number.startswith(case.submitted_at.astimezone(SH).strftime("%Y%m%d"))
        firsts = {}
        for e in events:
            firsts.setdefault(e.to_state, e.at)
        for state, field in [("accepted", "accepted_at"), ("dispatched", "dispatched_at"), ("handled", "handled_at"),
                             ("closed", "closed_at")]:
            assert getattr(case, field) == firsts.get(state), (case.number, field)
        if case.handled_at:
            assert case.photos.filter(stage="after").exists()


def _figures_are_meaningful():
    admin = User.objects.get(username="demo-district-xn-xa")
    f = case_figures(actor=admin)
    t = f["totals"]
    assert t["cases"] == 132
    for key in ("accept_p50_h", "dispatch_p50_h", "handle_p50_h", "close_p50_h", "close_p90_h"):
        assert t[key] is not None and t[key] > 0, key
    assert t["close_p90_h"] > t["close_p50_h"]
    assert 0 < t["overdue_rate"] < 0.5
    assert 0 < t["reopen_rate"] < 0.3
    assert 3 <= t["satisfaction"] <= 5 and t["rated"] > 40
    assert len(f["by_department"]) >= 5 and len(f["by_category"]) >= 10
    # Science City's admin sees only Science City
    sz = case_figures(actor=User.objects.get(username="demo-district-sz-gx"))
    assert sz["totals"]["cases"] == Case.objects.filter(jurisdiction__path__startswith="/SZ/SZ-GX/").exclude(
        state="merged").count() > 0


def _demo_prerequisites():
    """What the case loader needs from demo_load, without the stations (faster)."""
    import random

    from yizhan.accounts.choices import Role
    from yizhan.demo.services import DATA_DIR, DemoSummary, _demo_workers, _staff
    from yizhan.jurisdictions.models import Jurisdiction
    from yizhan.jurisdictions.services import jurisdictions_import_geojson

    jurisdictions_import_geojson(actor=None, content=(DATA_DIR / "jurisdictions.geojson").read_bytes())
    admin = User.objects.create_superuser("admin", password=None, display_name="系统管理员")
    for code in ("XN-XA", "SZ-GX", "NT-CC"):
        _staff(f"demo-district-{code.lower()}", "区管理员", Role.DISTRICT_ADMIN, Jurisdiction.objects.get(code=code))
    _staff("demo-community-sz-gx-dz-c01", "社区管理员", Role.COMMUNITY_ADMIN,
           Jurisdiction.objects.get(code="SZ-GX-DZ-C01"))
    _demo_workers(random.Random(1), DemoSummary())
    return admin


def test_demo_publishes_report_photos_without_exif(media):
    from PIL import Image

    from yizhan.reports.models import CasePhoto
    from yizhan.reports.selectors import case_public_view

    admin = _demo_prerequisites()
    reports_demo_load(admin=admin, now=NOW)
    photos = CasePhoto.objects.filter(stage="report", case__idempotency_key__startswith="demo-")
    assert photos.count() >= 15
    published = photos.filter(approved_at__isnull=False).exclude(public_image="")
    assert published.count() == photos.count() - 1  # one still waits for review
    redacted = [p for p in published if p.redactions]
    assert len(redacted) == 1
    for p in photos:
        with Image.open(p.image.path) as img:
            assert not img.getexif() and img.format == "JPEG"
    # the public page of a case with a published photo shows it
    case = published.filter(case__state="evaluated").first().case
    view = case_public_view(case=Case.objects.get(pk=case.pk))
    assert view["photos"] and view["photos"][0]["url"].startswith("/media/cases/public/")
    # deterministic: the same picture bytes on every run
    first = {p.case.idempotency_key: p.image.read() for p in photos.select_related("case")}
    from yizhan.reports.demo import _report_photo

    assert _report_photo(3).read() == _report_photo(3).read()
    assert len(set(first.values())) == len(first)


def test_demo_is_idempotent_and_deterministic(media):
    admin = _demo_prerequisites()
    first = reports_demo_load(admin=admin, now=NOW)
    assert first.created >= 150 and set(first.by_state) == set(CaseState.values)
    one = snapshot()
    assert len(one) == first.created
    assert max(r[11] for r in one) < NOW  # every report is in the past
    # idempotent: nothing new, nothing changed
    again = reports_demo_load(admin=admin, now=NOW)
    assert again.created == 0 and sorted(again.skipped_districts) == ["NT-CC", "SZ-GX", "XN-XA"]
    assert snapshot() == one
    # deterministic: the same history again for the same "now"
    demo = Case.objects.filter(idempotency_key__startswith="demo-")
    demo.filter(state="merged").delete()  # first: the others' delete would orphan them
    demo.delete()
    reports_demo_load(admin=admin, now=NOW)
    assert snapshot() == one

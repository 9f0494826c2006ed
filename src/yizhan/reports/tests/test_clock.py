"""Stage clocks on the working calendar (nights, lunch, weekends, holidays, make-up
days, natural time), the 80 % warning, escalation up the tree (once per full stage
overdue, idempotent), and extensions."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from yizhan.core.models import Notification
from yizhan.core.testing.factories import make_staff, make_worker
from yizhan.reports import services as svc
from yizhan.reports.models import CalendarDay, CaseEvent, WorkCalendar
from yizhan.reports.routing import routing_index_invalidate
from yizhan.reports.tests.factories import (
    make_case,
    make_category,
    make_department,
    make_handler,
)

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def sh(y, m, d, hh, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.fixture(autouse=True)
def fast(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    routing_index_invalidate()
    yield
    routing_index_invalidate()


class Clock:
    """Freeze ``timezone.now`` (services, auto_now fields) at a chosen instant."""

    def __init__(self, monkeypatch):
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def set(self, at: datetime):
        self.now = at.astimezone(UTC)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def cat(db):
    return make_category("litter", accept_minutes=60, dispatch_minutes=60, handle_minutes=240)


def submit_at(clock, at, cat, tree):
    clock.set(at)
    return make_case(category=cat, jurisdiction=tree.grid)


# ---- deadlines on the calendar ----------------------------------------------------------


@pytest.mark.parametrize("at, due", [
    (sh(2026, 11, 23, 9, 0), sh(2026, 11, 23, 10, 0)),     # Monday morning: +1 h
    (sh(2026, 11, 23, 11, 30), sh(2026, 11, 23, 14, 0)),   # over lunch (12:00-13:30)
    (sh(2026, 11, 24, 20, 0), sh(2026, 11, 25, 9, 30)),    # overnight: from 08:30 next day
    (sh(2026, 11, 27, 17, 30), sh(2026, 11, 30, 9, 0)),    # Friday evening -> Monday
    (sh(2026, 11, 28, 10, 0), sh(2026, 11, 30, 9, 30)),    # Saturday -> Monday
])
def test_accept_clock_on_the_default_calendar(clock, tree, cat, at, due):
    case = submit_at(clock, at, cat, tree)
    assert case.stage_started_at == at and case.stage_due_at == due


def test_holidays_and_make_up_days_of_the_district_calendar(clock, tree, cat):
    cal = WorkCalendar.objects.create(jurisdiction=tree.district, hours={
        d: [["08:30", "12:00"], ["13:30", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")})
    CalendarDay.objects.create(calendar=cal, date=date(2026, 11, 30), is_workday=False, note="假日")  # Monday off
    case = submit_at(clock, sh(2026, 11, 27, 17, 30), cat, tree)
    assert case.stage_due_at == sh(2026, 12, 1, 9, 0)  # Friday 30 min, Tuesday 30 min
    CalendarDay.objects.create(calendar=cal, date=date(2026, 11, 28), is_workday=True,
                               intervals=[["09:00", "17:00"]], note="调休")  # Saturday make-up day
    case = submit_at(clock, sh(2026, 11, 27, 17, 30), cat, tree)
    assert case.stage_due_at == sh(2026, 11, 28, 9, 30)
    # another district's calendar does not apply
    far = make_case(category=cat, jurisdiction=tree.far_grid)
    assert far.stage_due_at == sh(2026, 11, 30, 9, 0)


def test_natural_clock_runs_through_the_night(clock, tree):
    emergency = make_category("fire_exit", clock="natural", urgency="emergency", accept_minutes=30)
    case = submit_at(clock, sh(2026, 11, 28, 23, 50), emergency, tree)
    assert case.urgency == "emergency" and case.stage_due_at == sh(2026, 11, 29, 0, 20)


def test_stage_clocks_through_the_workflow(clock, tree, cat):
    make_department(jurisdiction=tree.district, code="urban")
    admin = make_staff("community_admin", tree.community)
    case = submit_at(clock, sh(2026, 11, 23, 9, 0), cat, tree)
    clock.set(sh(2026, 11, 23, 9, 10))
    svc.case_accept(actor=admin, case=case)
    assert case.stage_due_at == sh(2026, 11, 23, 10, 10)  # dispatch limit 60
    clock.set(sh(2026, 11, 23, 9, 20))
    svc.case_dispatch(actor=admin, case=case)
    assert case.stage_due_at == sh(2026, 11, 23, 14, 50)  # handle 240: 9:20-12:00 160 + 80 after lunch
    handler = make_handler(case.department)
    clock.set(sh(2026, 11, 23, 10, 0))
    svc.case_start(actor=handler, case=case)
    assert case.stage_due_at == sh(2026, 11, 23, 14, 50)  # signing for it does not reset the clock
    police = make_department(jurisdiction=tree.district, code="police")
    clock.set(sh(2026, 11, 23, 11, 0))
    svc.case_transfer(actor=admin, case=case, department=police, note="属公安职责")
    assert case.stage_started_at == sh(2026, 11, 23, 11, 0) and case.stage_due_at == sh(2026, 11, 23, 16, 30)
    assert case.assignee is None and case.department == police


# ---- warnings and escalation -----------------------------------------------------------


def test_warn_at_80_percent_then_escalate_level_by_level(clock, tree):
    cat = make_category("litter", accept_minutes=100)
    community = make_staff("community_admin", tree.community)
    street = make_staff("street_admin", tree.street)
    district = make_staff("district_admin", tree.district)
    case = submit_at(clock, sh(2026, 11, 23, 9, 0), cat, tree)
    assert case.stage_due_at == sh(2026, 11, 23, 10, 40)

    clock.set(sh(2026, 11, 23, 10, 19))
    assert svc.case_clocks_check()["warned"] == 0
    clock.set(sh(2026, 11, 23, 10, 20))  # 80 of 100 minutes
    assert svc.case_clocks_check()["warned"] == 1
    assert svc.case_clocks_check()["warned"] == 0  # once
    assert Notification.objects.filter(user=community, kind="case_due_soon").count() == 1

    clock.set(sh(2026, 11, 23, 10, 41))
    assert svc.case_clocks_check()["escalated"] == 1
    case.refresh_from_db()
    assert case.overdue_at == sh(2026, 11, 23, 10, 41) and case.was_overdue
    # level 1 is the grid's parent: the community
    assert case.escalation_level == 1 and case.escalated_to == tree.community
    assert Notification.objects.filter(user=community, kind="case_escalated").count() == 1
    assert Notification.objects.filter(user=community, kind="case_overdue").count() == 1
    assert not Notification.objects.filter(user=street).exists()
    assert not Notification.objects.filter(user=district).exists()
    ev = CaseEvent.objects.get(case=case, action="escalate")
    assert (ev.from_state, ev.to_state, ev.is_public, ev.data["level"]) == ("submitted", "submitted", False, 1)
    assert tree.community.name in ev.note and tree.community.code not in ev.note

    clock.set(sh(2026, 11, 23, 13, 49))  # 99 working minutes late: still level 1
    assert svc.case_clocks_check()["escalated"] == 0
    clock.set(sh(2026, 11, 23, 13, 50))  # another full stage (100 working minutes) late
    assert svc.case_clocks_check()["escalated"] == 1
    case.refresh_from_db()
    assert case.escalation_level == 2 and case.escalated_to == tree.street
    assert case.overdue_at == sh(2026, 11, 23, 10, 41)
    assert Notification.objects.filter(user=street, kind="case_escalated").count() == 1
    assert not Notification.objects.filter(user=district).exists()
    assert Notification.objects.filter(user=community, kind="case_overdue").count() == 1  # once per stage
    assert svc.case_clocks_check()["escalated"] == 0

    # the next stage starts a fresh clock; was_overdue stays for the figures
    svc.case_accept(actor=community, case=case)
    assert case.escalation_level == 0 and case.overdue_at is None and case.escalated_to is None
    assert case.was_overdue and case.warned_at is None


def test_escalation_while_dispatched_tells_handlers_and_department_leads(clock, tree, cat):
    lead = make_worker()
    dept = make_department(jurisdiction=tree.district, code="urban")
    make_department(jurisdiction=tree.district, code="urban", leads=[lead])
    admin = make_staff("community_admin", tree.community)
    street = make_staff("street_admin", tree.street)
    case = submit_at(clock, sh(2026, 11, 23, 9, 0), cat, tree)
    svc.case_accept(actor=admin, case=case)
    svc.case_dispatch(actor=admin, case=case, department=dept)
    handler = make_handler(dept)
    # handle limit 240 from 09:00 Monday: due 14:30 Monday; Tuesday 08:50 is 230 working minutes
    # late, still level 1 (at 09:00, one full stage late, the case is due for level 2 at once)
    clock.set(sh(2026, 11, 24, 8, 50))
    result = svc.case_clocks_check()
    assert result["escalated"] == 1
    assert Notification.objects.filter(user=lead, kind="case_escalated").count() == 1
    assert Notification.objects.filter(user=admin, kind="case_escalated").count() == 1  # level 1: the community
    assert not Notification.objects.filter(user=street, kind="case_escalated").exists()
    assert Notification.objects.filter(user=handler, kind="case_overdue").count() == 1


def test_escalation_walks_up_past_nodes_without_dispatchers_then_to_superusers(clock, tree, cat):
    from yizhan.accounts.models import User

    district = make_staff("district_admin", tree.district)
    case = submit_at(clock, sh(2026, 11, 23, 9, 0), cat, tree)
    clock.set(sh(2026, 11, 23, 10, 1))
    assert svc.case_clocks_check()["escalated"] == 1
    case.refresh_from_db()
    # level 1 is the community, which has nobody: the nearest holder above hears of it
    assert case.escalated_to == tree.community
    assert Notification.objects.filter(user=district, kind="case_escalated").count() == 1

    lonely = make_case(category=cat, jurisdiction=tree.far_grid)
    root = User.objects.create_superuser(username="root_esc", password="x")
    clock.set(sh(2026, 11, 23, 11, 30))
    svc.case_clocks_check()
    lonely.refresh_from_db()
    assert lonely.escalation_level == 1
    # nobody holds reports.dispatch above the far grid: the superusers are told
    assert Notification.objects.filter(user=root, kind="case_escalated").count() == 1


def test_hazard_and_urgent_categories_accept_and_dispatch_on_natural_time(clock, tree):
    hazard = make_category("flying_wire", is_hazard=True, accept_minutes=30, dispatch_minutes=60,
                           handle_minutes=240)
    urgent = make_category("gas_smell", urgency="urgent", accept_minutes=30)
    admin = make_staff("community_admin", tree.community)
    make_department(jurisdiction=tree.district, code="urban")
    case = submit_at(clock, sh(2026, 11, 27, 22, 0), hazard, tree)  # Friday 22:00
    assert case.stage_due_at == sh(2026, 11, 27, 22, 30)
    assert submit_at(clock, sh(2026, 11, 27, 22, 0), urgent, tree).stage_due_at == sh(2026, 11, 27, 22, 30)
    clock.set(sh(2026, 11, 27, 22, 10))
    svc.case_accept(actor=admin, case=case)
    assert case.stage_due_at == sh(2026, 11, 27, 23, 10)  # dispatch: natural time too
    clock.set(sh(2026, 11, 27, 22, 20))
    svc.case_dispatch(actor=admin, case=case)
    assert case.stage_due_at == sh(2026, 11, 30, 14, 0)  # handling: the working clock (Monday)


def test_clock_check_is_quiet_without_due_cases(clock, tree, cat):
    submit_at(clock, sh(2026, 11, 23, 9, 0), cat, tree)
    assert svc.case_clocks_check() == {"warned": 0, "escalated": 0, "overdue": 0}


def test_parked_and_closed_cases_have_no_clock(clock, tree, cat):
    admin = make_staff("community_admin", tree.community)
    case = submit_at(clock, sh(2026, 11, 23, 9, 0), cat, tree)
    svc.case_accept(actor=admin, case=case)
    svc.case_park(actor=admin, case=case, note="需整体改造")
    assert case.stage_due_at is None and case.parked_reason == "需整体改造"
    clock.set(sh(2026, 12, 30, 9, 0))
    assert svc.case_clocks_check()["escalated"] == 0
    svc.case_unpark(actor=admin, case=case)
    assert case.state == "accepted" and case.parked_reason == "" and case.stage_due_at == sh(2026, 12, 30, 10, 0)


# ---- extensions --------------------------------------------------------------------------


def test_extension_request_and_approval_move_the_deadline_in_working_time(clock, tree, cat):
    dept = make_department(jurisdiction=tree.district, code="urban")
    admin = make_staff("community_admin", tree.community)
    case = submit_at(clock, sh(2026, 11, 27, 9, 0), cat, tree)  # Friday
    svc.case_accept(actor=admin, case=case)
    svc.case_dispatch(actor=admin, case=case, department=dept)
    handler = make_handler(dept)
    assert case.stage_due_at == sh(2026, 11, 27, 14, 30)
    req = svc.case_request_extension(actor=handler, case=case, minutes=240, note="等配件")
    assert req.state == "pending" and req.minutes == 240
    from yizhan.core.errors import AppError

    with pytest.raises(AppError) as exc:
        svc.case_request_extension(actor=handler, case=case, minutes=60, note="再等等")
    assert exc.value.code == "extension_pending"
    for bad in (0, -5, "x", True, 10**9):
        with pytest.raises(AppError) as exc:
            svc.case_request_extension(actor=handler, case=case, minutes=bad, note="x")
        assert exc.value.code in ("invalid_minutes", "extension_pending")
    assert Notification.objects.filter(user=admin, kind="case_extension").count() == 1
    clock.set(sh(2026, 11, 27, 15, 0))  # already overdue
    svc.case_clocks_check()
    case.refresh_from_db()
    assert case.escalation_level == 1
    svc.case_decide_extension(actor=admin, case=case, approve=True, note="同意")
    req.refresh_from_db()
    assert req.state == "approved" and req.decided_by == admin
    # 14:30 Friday + 240 working minutes: 14:30-18:00 (210) + Monday 08:30-09:00 (30)
    assert case.stage_due_at == sh(2026, 11, 30, 9, 0)
    assert case.escalation_level == 0 and case.overdue_at is None and case.was_overdue
    assert Notification.objects.filter(user=handler, kind="case_extension").count() == 1
    with pytest.raises(AppError) as exc:
        svc.case_decide_extension(actor=admin, case=case, approve=False)
    assert exc.value.code == "no_pending_extension"
    svc.case_request_extension(actor=handler, case=case, minutes=60, note="还要一小时")
    svc.case_decide_extension(actor=admin, case=case, approve=False, note="不同意")
    assert case.stage_due_at == sh(2026, 11, 30, 9, 0)
    assert timedelta(0) < case.stage_due_at - case.stage_started_at


def test_time_of_day_helper_sanity():
    assert sh(2026, 11, 23, 9).astimezone(UTC).time() == time(1, 0)


def test_the_clock_job_is_registered_every_minute():
    from yizhan.core import scheduler
    from yizhan.reports import jobs

    job = scheduler.REGISTRY["yizhan.reports.jobs.case_clocks"]
    assert job.seconds == 60 and job.func is jobs.case_clocks


def test_many_overdue_cases_are_escalated_once_per_level(clock, tree):
    cat = make_category("litter", accept_minutes=60)
    make_staff("street_admin", tree.street)
    cases = [submit_at(clock, sh(2026, 11, 23, 9, 0), cat, tree) for _ in range(3)]
    clock.set(sh(2026, 11, 23, 10, 30))
    assert svc.case_clocks_check() == {"warned": 0, "escalated": 3, "overdue": 3}
    assert svc.case_clocks_check() == {"warned": 0, "escalated": 0, "overdue": 3}
    clock.set(sh(2026, 11, 23, 11, 0))  # one full stage (60 working minutes) after the deadline
    assert svc.case_clocks_check()["escalated"] == 3
    assert {c.escalation_level for c in type(cases[0]).objects.all()} == {2}


def test_a_pending_extension_lapses_when_the_stage_ends(clock, tree, cat):
    dept = make_department(jurisdiction=tree.district, code="urban")
    admin = make_staff("community_admin", tree.community)
    case = submit_at(clock, sh(2026, 11, 23, 9, 0), cat, tree)
    svc.case_accept(actor=admin, case=case)
    svc.case_dispatch(actor=admin, case=case, department=dept)
    handler = make_handler(dept)
    svc.case_start(actor=handler, case=case)
    req = svc.case_request_extension(actor=handler, case=case, minutes=60, note="等配件")
    from yizhan.reports.tests.factories import photo_upload

    svc.case_handle(actor=handler, case=case, photos=[photo_upload()])
    req.refresh_from_db()
    assert req.state == "denied" and "lapsed" in req.decision_note
    svc.case_reopen(actor=case.reporter, case=case, note="没修好")
    assert svc.case_request_extension(actor=handler, case=case, minutes=30, note="再给半小时").state == "pending"

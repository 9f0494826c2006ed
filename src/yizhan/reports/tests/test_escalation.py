"""Escalation bounded by the tree, on the stage's own clock, one message per level per
person (issue 8, "Runaway escalation"); urgent categories on natural time throughout.

The main test drives the scheduler job (``case_clocks_check``) over 48 simulated hours,
every 5 minutes, on the demo loaded as ``make run`` would on a Thursday at 23:35 (the
night the demo case 20261202-000001 climbed one level a minute up to 18 and the city's
admin got 64 messages in 17 minutes), and counts what it did to each case."""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from yizhan.core.models import Notification
from yizhan.core.testing.factories import make_jurisdiction_tree, make_staff
from yizhan.reports import calendar as cal
from yizhan.reports import services as svc
from yizhan.reports.models import OPEN_STATES, Case, CaseEvent
from yizhan.reports.services.cases import clocks
from yizhan.reports.tests.factories import (
    make_case,
    make_category,
    make_department,
    make_handler,
    photo_upload,
)

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 23, 35, tzinfo=SH)  # a Thursday night
STEP = timedelta(minutes=5)
HOURS = 48
TITLE = re.compile(r"\(level (\d+)\): (\S+)$")  # the English title carries the level and the number


def sh(y, m, d, hh, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def _forget_caches() -> None:
    """The per-process indexes (calendars, category settings, routing, locate) must not
    keep the demo once its transaction is rolled back."""
    try:
        from yizhan.core.manifest import forget_process_caches
    except ImportError:  # before the app manifests
        forget_process_caches = None
    if forget_process_caches is not None:
        forget_process_caches()
    from yizhan.jurisdictions.locate import locate_index_invalidate
    from yizhan.reports.routing import routing_index_invalidate
    from yizhan.reports.selectors.setup import category_settings_forget

    cal.calendar_cache_forget()
    category_settings_forget()
    routing_index_invalidate()
    locate_index_invalidate()


@dataclass
class Run:
    """What 48 hours of the scheduler did, read once for the tests below."""

    before: dict  # number -> escalation level when the demo was loaded
    after: dict  # number -> escalation level 48 h later
    events: dict = field(default_factory=dict)  # number -> [escalate CaseEvent] in the window
    messages: dict = field(default_factory=dict)  # number -> [(username, level, reminder)] case_escalated
    overdue_messages: Counter = field(default_factory=Counter)  # (number, username) -> case_overdue count
    top: dict = field(default_factory=dict)  # number -> top level of its tree
    clock: dict = field(default_factory=dict)  # number -> the stage's clock
    stage: dict = field(default_factory=dict)  # number -> the stage's length (minutes of its clock)
    spec: dict = field(default_factory=dict)  # number -> calendar spec
    checks: list = field(default_factory=list)  # the job's answers
    depth: int = 0  # nodes from the root to the deepest grid


@pytest.fixture(scope="class")
def run(django_db_setup, django_db_blocker, tmp_path_factory, _shared_data):
    """Load the demo once (as of ``NOW``), drive the clocks job for 48 simulated hours,
    then roll everything back. The shared test tree of the tests before (core.testing.shared)
    is rolled back first: this class-scoped set-up runs before any test's own, and the demo
    inside the tree's transaction overlapped its jurisdictions (out_of_jurisdiction)."""
    _shared_data.close()
    from yizhan.demo.services import demo_load
    from yizhan.jurisdictions.models import Jurisdiction

    media = tmp_path_factory.mktemp("escalation-media")
    with django_db_blocker.unblock(), override_settings(
        MEDIA_ROOT=str(media), PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    ):
        _forget_caches()
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            clock = {"at": NOW.astimezone(UTC)}
            started = time.perf_counter()
            with mock.patch.object(timezone, "now", lambda: clock["at"]):
                demo_load()
                loaded = time.perf_counter()
                cases = {c.number: c for c in Case.objects.filter(state__in=OPEN_STATES).select_related(
                    "category", "jurisdiction")}
                result = Run(before={n: c.escalation_level for n, c in cases.items()}, after={})
                first_event = CaseEvent.objects.order_by("-id").values_list("id", flat=True).first()
                first_note = Notification.objects.order_by("-id").values_list("id", flat=True).first()
                t, end = NOW, NOW + timedelta(hours=HOURS)
                while t <= end:
                    clock["at"] = t.astimezone(UTC)
                    result.checks.append((t, clocks.case_clocks_check(now=t)))
                    t += STEP
                print(f"demo {loaded - started:.1f}s, 48 h of the clocks job {time.perf_counter() - loaded:.1f}s")
            for c in Case.objects.filter(number__in=cases).select_related("category", "jurisdiction"):
                result.after[c.number] = c.escalation_level
                result.top[c.number] = clocks._top_level(c)
                result.clock[c.number] = clocks._clock_of(c)
                result.spec[c.number] = clocks._spec(c)
                result.stage[c.number] = max(1.0, clocks._stage_minutes(c, result.spec[c.number]))
                assert c.state == cases[c.number].state  # nobody moved the cases meanwhile
            for e in CaseEvent.objects.filter(id__gt=first_event, action="escalate").select_related("case") \
                    .order_by("at", "id"):
                result.events.setdefault(e.case.number, []).append(e)
            rows = Notification.objects.filter(id__gt=first_note).values_list("kind", "user__username", "title_en")
            for kind, user, title in rows:
                if kind == "case_escalated":
                    level, number = TITLE.search(title).groups()
                    result.messages.setdefault(number, []).append((user, int(level), title.startswith("Still")))
                elif kind == "case_overdue":
                    result.overdue_messages[(title.rsplit(" ", 1)[-1], user)] += 1
            result.depth = max(len([c for c in p.split("/") if c]) for p in
                               Jurisdiction.objects.values_list("path", flat=True))
            yield result
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            _forget_caches()


# What the 48 hours from Thursday 23:35 to Saturday 23:35 do to every case that moves in them:
# number -> (escalations, of which reminders at the top, final level, case_escalated messages).
# The working clocks are paused on Thursday night, Friday night and Saturday. On Friday at
# 08:30 the cases that were already days late go to the top (4: the city) in one step, each
# person of the levels passed told once: the community's centre, the district's (the street
# has no dispatcher of its own) and the city's - 3 messages. A 30-minute stage at the top is
# reminded once 240 working minutes later (14:00, lunch paused); the next would fall at 18:00,
# when the clock stops, so it waits for Monday. A 480-minute stage is not reminded on Friday.
# A case that falls due on Friday (trash_bin, 13:44) or whose stage is three working days long
# (guardrail, Xian'an) reaches level 1 only. The urgent 飞线充电 case waits to be closed on
# natural time: it reached the top when the demo was loaded and is reminded every 4 hours,
# night and day (12 in 48 hours), to the city's admin alone.
EXPECTED = {
    "20261122-000004": (1, 0, 4, 3),  # street_sign in progress since 11-23, 480-minute stage
    "20261129-000001": (1, 0, 1, 1),  # guardrail (Xian'an) in progress, 1440-minute stage, due Thursday 09:16
    "20261130-000001": (12, 12, 4, 12),  # flying_wire_charging verified, urgent: natural time
    "20261202-000001": (2, 1, 4, 4),  # the runaway case of issue 8: construction_noise returned
    "20261202-000003": (2, 1, 4, 4),  # illegal_parking dispatched, 120-minute stage
    "20261202-000004": (2, 1, 4, 4),  # street_vending handled, 60-minute verify stage
    "20261203-000002": (2, 1, 4, 4),  # shared_bikes submitted, 30-minute accept stage
    "20261203-000003": (2, 1, 4, 4),  # illegal_ads accepted, 30-minute dispatch stage
    "20261203-000004": (1, 0, 1, 1),  # trash_bin in progress, due Friday 13:44
    "20261203-000005": (2, 1, 4, 4),  # exposed_rubbish submitted
}


class TestFortyEightHoursOfTheDemo:
    """One demo load (class scope: the tests after it make their own tree)."""

    def test_escalation_is_bounded_by_the_tree(self, run):
        assert run.depth == 5  # city / district / street / community / grid
        for number, level in run.after.items():
            assert level <= run.top[number] <= run.depth - 1, number
            for e in run.events.get(number, []):
                assert e.data["level"] <= run.top[number]
        # the city is as high as it goes, and it is reached: the old runaway case included
        assert run.after["20261202-000001"] == run.top["20261202-000001"] == 4


    def test_one_level_per_full_stage_limit_on_the_stage_clock(self, run):
        for number, events in run.events.items():
            spec, clock, stage = run.spec[number], run.clock[number], run.stage[number]
            case = events[0].case
            level = run.before[number]
            for e in events:
                late = cal.working_minutes_between(spec=spec, start=case.stage_due_at, end=e.at, clock=clock)
                due = min(run.top[number], 1 + int(late // stage))
                if e.data.get("reminder"):
                    assert level == e.data["level"] == run.top[number]
                else:
                    # it goes exactly to the level it is due for: never ahead of the clock
                    assert e.data["level"] == due > level, (number, e.at)
                level = e.data["level"]


    def test_no_escalation_while_a_working_clock_is_paused(self, run):
        paused_checks = 0
        for number, events in run.events.items():
            if run.clock[number] != "working":
                continue
            for e in events:
                assert cal.is_working_time(spec=run.spec[number], at=e.at), (number, e.at.astimezone(SH))
        for t, _answer in run.checks:
            if t.weekday() == 5 or t.hour >= 18 or t.hour < 8:  # Saturday, evenings, nights
                paused_checks += 1
        assert paused_checks > 400  # most of the 48 hours are paused working time


    def test_at_the_top_it_reminds_at_most_once_per_stage_limit(self, run):
        for number, events in run.events.items():
            spec, clock, stage = run.spec[number], run.clock[number], run.stage[number]
            for prev, e in zip(events, events[1:], strict=False):
                if e.data.get("reminder"):
                    gap = cal.working_minutes_between(spec=spec, start=prev.at, end=e.at, clock=clock)
                    assert gap >= max(stage, clocks.REMIND_MIN_MINUTES), (number, prev.at, e.at)


    def test_one_message_per_level_per_person_never_a_stream(self, run):
        for number, messages in run.messages.items():
            per_level = Counter((user, level) for user, level, reminder in messages if not reminder)
            assert set(per_level.values()) <= {1}, number
            reminders = Counter(user for user, _level, reminder in messages if reminder)
            n_reminders = sum(1 for e in run.events.get(number, []) if e.data.get("reminder"))
            assert all(n == n_reminders for n in reminders.values())
        # the case's owners hear "overdue" at most once per stage
        assert set(run.overdue_messages.values()) <= {1}
        # the city's admin: 7 cases reaching the top, 6 reminders on Friday, 12 for the urgent
        # case over two nights and a day (was: 64 in 17 minutes)
        city_admin = Counter(user for ms in run.messages.values() for user, _l, _r in ms)["demo-city-sz"]
        assert city_admin == 7 + 6 + 12


    def test_exact_escalations_and_messages_per_case(self, run):
        got = {}
        for number, events in sorted(run.events.items()):
            reminders = sum(1 for e in events if e.data.get("reminder"))
            got[number] = (len(events), reminders, run.after[number], len(run.messages.get(number, [])))
        assert got == EXPECTED


    def test_the_job_is_quiet_once_everything_is_done(self, run):
        # every case that could move has moved by its own clock; between the moves the job did nothing
        moves = sum(a["escalated"] for _t, a in run.checks)
        assert moves == sum(len(v) for v in run.events.values())


# ---- urgent categories run on natural time in every stage --------------------------------


@pytest.fixture
def frozen(monkeypatch):
    class Frozen:
        at = timezone.now()

        def set(self, value):
            self.at = value.astimezone(UTC)

    f = Frozen()
    monkeypatch.setattr(timezone, "now", lambda: f.at)
    return f


def test_an_open_manhole_at_2238_is_due_through_the_night_in_every_stage(frozen, client):
    from yizhan.reports.services.setup import category_taxonomy_load
    from yizhan.reports.views.staff import case_time_left

    tree = make_jurisdiction_tree()
    category_taxonomy_load()
    admin = make_staff("community_admin", tree.community)
    dept = make_department(jurisdiction=tree.district, code="municipal", name="市政")
    frozen.set(sh(2026, 12, 3, 22, 38))  # Thursday night
    case = make_case(category="manhole_cover", jurisdiction=tree.grid)
    assert case.category.urgency == "urgent" and case.category.clock == "working"
    assert case.stage_due_at == sh(2026, 12, 3, 22, 53)  # accept: 15 minutes
    frozen.set(sh(2026, 12, 3, 22, 45))
    svc.case_accept(actor=admin, case=case)
    assert case.stage_due_at == sh(2026, 12, 3, 23, 0)  # dispatch: 15 minutes
    frozen.set(sh(2026, 12, 3, 22, 50))
    svc.case_dispatch(actor=admin, case=case, department=dept)
    assert case.stage_due_at == sh(2026, 12, 4, 0, 50)  # handle: 120 minutes, not "tomorrow 10:30"
    handler = make_handler(dept)
    frozen.set(sh(2026, 12, 3, 23, 20))
    svc.case_start(actor=handler, case=case)
    assert case.stage_due_at == sh(2026, 12, 4, 0, 50)
    left = case_time_left(case, timezone.now())
    assert left["working"] is False and not left["overdue"] and "工作时间" not in str(left["text"])
    frozen.set(sh(2026, 12, 4, 0, 10))
    svc.case_handle(actor=handler, case=case, photos=[photo_upload()])
    assert case.stage_due_at == sh(2026, 12, 4, 1, 10)  # verify: 60 minutes
    frozen.set(sh(2026, 12, 4, 0, 40))
    svc.case_verify(actor=admin, case=case)
    assert case.stage_due_at == sh(2026, 12, 4, 1, 40)  # close: 60 minutes
    # the public page shows the stage's deadline, that night
    resp = client.get(f"/reports/c/{case.number}/")
    assert resp.status_code == 200 and "12-04 01:40" in resp.content.decode()


def test_a_hazard_of_normal_urgency_is_filed_at_night_and_handled_in_working_time(frozen):
    tree = make_jurisdiction_tree()
    hydrant = make_category("fire_hydrant", is_hazard=True, urgency="normal", accept_minutes=30,
                            dispatch_minutes=30, handle_minutes=960)
    admin = make_staff("community_admin", tree.community)
    dept = make_department(jurisdiction=tree.district, code="water")
    frozen.set(sh(2026, 12, 3, 22, 38))
    case = make_case(category=hydrant, jurisdiction=tree.grid)
    assert case.stage_due_at == sh(2026, 12, 3, 23, 8)
    frozen.set(sh(2026, 12, 3, 22, 45))
    svc.case_accept(actor=admin, case=case)
    assert case.stage_due_at == sh(2026, 12, 3, 23, 15)
    frozen.set(sh(2026, 12, 3, 22, 50))
    svc.case_dispatch(actor=admin, case=case, department=dept)
    # handled on working time: 960 minutes from Friday 08:30 are Friday and Monday (480 each)
    assert case.stage_due_at == sh(2026, 12, 7, 18, 0)


def test_a_case_past_its_due_level_jumps_once_and_tells_each_person_once(frozen):
    tree = make_jurisdiction_tree()
    cat = make_category("litter", accept_minutes=60)
    community = make_staff("community_admin", tree.community)
    street = make_staff("street_admin", tree.street)
    district = make_staff("district_admin", tree.district)
    city = make_staff("city_admin", tree.city)
    frozen.set(sh(2026, 11, 23, 9, 0))  # Monday: accept due 10:00
    case = make_case(category=cat, jurisdiction=tree.grid)
    frozen.set(sh(2026, 11, 23, 20, 0))  # the scheduler was down all day; now the clock is paused
    assert svc.case_clocks_check()["escalated"] == 0
    case.refresh_from_db()
    # nobody is told at night, but the figures count it as overdue already
    assert case.was_overdue and case.escalation_level == 0 and case.overdue_at is None
    assert not Notification.objects.filter(kind__in=["case_escalated", "case_overdue"]).exists()
    frozen.set(sh(2026, 11, 24, 8, 30))  # Tuesday: 390 working minutes late, due for level 7: the top, 4
    assert svc.case_clocks_check()["escalated"] == 1
    case.refresh_from_db()
    assert case.escalation_level == 4 and case.escalated_to == tree.city
    for user in (community, street, district, city):
        assert Notification.objects.filter(user=user, kind="case_escalated").count() == 1
    assert Notification.objects.filter(user=community, kind="case_overdue").count() == 1
    for minute in range(1, 240, 5):  # the next four working hours: quiet
        frozen.set(sh(2026, 11, 24, 8, 30) + timedelta(minutes=minute))
        assert svc.case_clocks_check()["escalated"] == 0
    frozen.set(sh(2026, 11, 24, 14, 0))  # 240 working minutes later (lunch paused): one reminder
    assert svc.case_clocks_check()["escalated"] == 1
    assert svc.case_clocks_check()["escalated"] == 0
    case.refresh_from_db()
    assert case.escalation_level == 4
    assert Notification.objects.filter(user=city, kind="case_escalated").count() == 2
    assert Notification.objects.filter(user=community, kind="case_escalated").count() == 1
    ev = CaseEvent.objects.filter(case=case, action="escalate").order_by("at").last()
    assert ev.data["reminder"] is True and ev.data["level"] == 4


def test_a_case_escalated_past_the_root_before_the_fix_is_brought_back(frozen):
    tree = make_jurisdiction_tree()
    cat = make_category("litter", accept_minutes=60)
    make_staff("city_admin", tree.city)
    frozen.set(sh(2026, 11, 23, 9, 0))
    case = make_case(category=cat, jurisdiction=tree.grid)
    Case.objects.filter(pk=case.pk).update(escalation_level=18, escalated_to=tree.city, overdue_at=timezone.now())
    frozen.set(sh(2026, 11, 23, 15, 0))
    assert svc.case_clocks_check()["escalated"] == 1  # a reminder at the top, no level 19
    case.refresh_from_db()
    assert case.escalation_level == 4
    assert svc.case_clocks_check()["escalated"] == 0

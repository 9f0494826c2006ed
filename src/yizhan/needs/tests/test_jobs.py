"""The scheduler job that tells a need's owner, once, when the need goes overdue."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from yizhan.core import scheduler
from yizhan.core.models import AuditLog, Notification
from yizhan.core.testing.factories import make_staff
from yizhan.needs import services
from yizhan.needs.jobs import need_overdue_notify
from yizhan.needs.models import Need
from yizhan.needs.tests.factories import make_need

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(tree):
    return make_staff("community_admin", tree.community)


def overdue_notices(user):
    return Notification.objects.filter(user=user, kind="need_overdue")


def test_owner_told_once_when_overdue_and_again_only_for_a_new_due_date(tree, admin):
    owner = make_staff("community_admin", tree.community)
    today = timezone.localdate()
    late = make_need(tree.community, actor=admin, owner=owner, raised_on=today - dt.timedelta(days=10),
                     due_in_days=7, title="骑手充电桩不够")                       # due 3 days ago
    due_today = make_need(tree.community, actor=admin, owner=owner, due_in_days=0, title="今天到期")
    later = make_need(tree.community, actor=admin, owner=owner, due_in_days=5, title="还没到期")
    solved = make_need(tree.community, actor=admin, owner=owner, raised_on=today - dt.timedelta(days=10),
                       due_in_days=1, title="已解决的")
    services.need_solve(actor=owner, need=solved, note="已加装 20 个充电口")

    assert need_overdue_notify() == 1
    notes = list(overdue_notices(owner))
    assert len(notes) == 1
    assert notes[0].title_zh == "需求已超期：骑手充电桩不够" and notes[0].title_en == "Need overdue: 骑手充电桩不够"
    assert "3" in notes[0].body_zh and notes[0].url == f"/needs/staff/needs/{late.pk}/"
    late.refresh_from_db()
    assert late.overdue_notified_for == late.due_on
    assert AuditLog.objects.filter(object_type="needs.need", object_id=str(late.pk),
                                   summary="need overdue notice").count() == 1

    # Idempotent: the next runs tell nobody, through the registered scheduler job too.
    assert need_overdue_notify() == 0
    scheduler.discover_jobs()
    job = scheduler.REGISTRY["yizhan.needs.jobs.need_overdue"]
    assert job.seconds <= 3600
    assert job.func() == 0
    assert overdue_notices(owner).count() == 1

    # Tomorrow the need due today is overdue: one notice for it.
    assert need_overdue_notify(today=today + dt.timedelta(days=1)) == 1
    assert {n.url for n in overdue_notices(owner)} == {f"/needs/staff/needs/{late.pk}/",
                                                      f"/needs/staff/needs/{due_today.pk}/"}
    # A new due date that passes again warns again (once); the one not yet due never warns.
    services.need_reassign(actor=admin, need=late, due_on=today - dt.timedelta(days=1))
    assert need_overdue_notify() == 1
    assert need_overdue_notify() == 0
    assert overdue_notices(owner).count() == 3
    assert Need.objects.get(pk=later.pk).overdue_notified_for is None
    assert Need.objects.get(pk=solved.pk).overdue_notified_for is None


def test_reassigned_owner_of_an_already_announced_need_is_not_told_again(tree, admin):
    """The marker is per due date, not per owner: a new owner of the same late need
    sees it in their list; the job does not repeat the notice."""
    owner = make_staff("community_admin", tree.community)
    other = make_staff("community_admin", tree.community)
    today = timezone.localdate()
    need = make_need(tree.community, actor=admin, owner=owner, raised_on=today - dt.timedelta(days=5),
                     due_in_days=1)
    assert need_overdue_notify() == 1
    services.need_reassign(actor=admin, need=need, owner=other)
    assert need_overdue_notify() == 0
    assert overdue_notices(other).count() == 0 and overdue_notices(owner).count() == 1

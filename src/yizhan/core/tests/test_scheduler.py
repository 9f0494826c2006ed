"""The scheduler loop: jobs run when due, a failing job does not stop others, heartbeat."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from yizhan.core import scheduler

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(scheduler, "REGISTRY", {})
    return scheduler.REGISTRY


def test_jobs_run_when_due_and_not_before(registry):
    calls = []
    scheduler.every(60, name="a")(lambda: calls.append("a"))
    scheduler.every(10, name="b")(lambda: calls.append("b"))
    assert scheduler.run_due(now=1000) == ["a", "b"]
    assert scheduler.run_due(now=1005) == []
    assert scheduler.run_due(now=1010) == ["b"]
    assert scheduler.run_due(now=1060) == ["a", "b"]
    assert calls == ["a", "b", "b", "a", "b"]


def test_a_failing_job_does_not_stop_the_others(registry):
    calls = []

    def broken():
        raise RuntimeError("boom")

    scheduler.every(5, name="broken")(broken)
    scheduler.every(5, name="fine")(lambda: calls.append(1))
    assert scheduler.run_due(now=0) == ["broken", "fine"]
    assert calls == [1]


def test_heartbeat_is_recorded_and_seen_by_check(registry):
    scheduler.run_due(now=0)
    age = scheduler.heartbeat_age_seconds()
    assert age is not None and age < 5
    call_command("check_platform", "--require-scheduler")


def test_check_fails_on_a_stale_heartbeat(registry):
    from django.core.cache import cache

    cache.set(scheduler.HEARTBEAT_KEY, timezone.now() - timedelta(minutes=10), timeout=None)
    with pytest.raises(CommandError, match="heartbeat"):
        call_command("check_platform")


def test_discovery_finds_the_jobs_the_manifests_list():
    jobs = scheduler.discover_jobs()
    assert "yizhan.core.jobs.outbox_prune" in jobs
    assert "yizhan.accounts.jobs.prune_one_time_codes" in jobs  # accounts' manifest lists it

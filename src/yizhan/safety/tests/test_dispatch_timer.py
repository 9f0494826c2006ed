"""The escalation timer end to end, with committed rows and the timer's own thread and
database connection: a deadline is met when it falls due, not at the scheduler's next
tick. The acknowledgement window is shortened to 0.5 s so the test waits well under a
second (the 15 s rule itself is tested with injected time in test_dispatch.py)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from yizhan.safety.choices import AlarmKind
from yizhan.safety.dispatch_waker import Waker
from yizhan.safety.models import Dispatch
from yizhan.safety.services import dispatch as svc
from yizhan.safety.tests.dispatch_kit import make_alarm

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_timer_escalates_at_the_deadline(safety_tree, monkeypatch):
    st = safety_tree
    monkeypatch.setattr(svc, "ACK_SECONDS", 0.5)
    d = svc.dispatch_start(alarm=make_alarm(st.smoke, kind=AlarmKind.SMOKE))
    due = svc.escalation_due_at(d)
    assert due == d.notified_at + timedelta(seconds=0.5)
    waker = Waker(fn=svc.dispatch_escalate_due)
    waker.enabled = True
    times = svc.dispatch_due_times(until=timezone.now() + timedelta(seconds=7))
    assert times == [due] and waker.arm(times[0])
    armed_at = timezone.now()
    deadline = time.monotonic() + 10
    while waker.runs == 0 and time.monotonic() < deadline:  # no reads meanwhile (SQLite's shared cache)
        time.sleep(0.02)
    row = Dispatch.objects.get(pk=d.pk)
    assert row.wave == 2, "the timer did not escalate"
    # at the deadline (or at once when armed after it on a busy machine), not a 5-s tick later
    late = (row.escalated_at - max(due, armed_at)).total_seconds()
    assert late < 1.0, late
    assert waker.runs == 1

"""Scheduler jobs of the fire-safety app (offline sweep, dispatch escalation, pruning)."""

from datetime import timedelta

from django.utils import timezone

from yizhan.core.scheduler import every
from yizhan.safety import dispatch_waker
from yizhan.safety.ingest.pipeline import offline_sweep as ingest_offline_sweep
from yizhan.safety.services.dispatch import (
    dispatch_due_times,
    dispatch_escalate_due,
    forward_119_retry_due,
)
from yizhan.safety.services.inspections import inspection_overdue_sweep

# ---- dispatch (owner: dispatch) -----------------------------------------------------------
ESCALATION_TICK_SECONDS = 5
ARM_AHEAD_SECONDS = ESCALATION_TICK_SECONDS + 2  # a little past the next tick: a slow tick loses nothing


@every(ESCALATION_TICK_SECONDS)
def dispatch_escalation() -> dict:
    """Escalate overdue dispatches (15 s no ack / 60 s nobody en route), then arm the
    in-process timer for every deadline before the next tick (sub-tick precision)."""
    dispatch_waker.enable(dispatch_escalate_due)
    now = timezone.now()
    escalated = dispatch_escalate_due(now)
    armed = dispatch_waker.arm_many(dispatch_due_times(until=now + timedelta(seconds=ARM_AHEAD_SECONDS)))
    return {"escalated": escalated, "armed": armed}


@every(5)
def dispatch_forward_119_retry() -> int:
    """Fires whose 119 forward failed (or whose sending thread died): one more attempt each."""
    return forward_119_retry_due()


# ---- ingest liveness (owner: rules) -------------------------------------------------------
OFFLINE_SWEEP_SECONDS = 5


@every(OFFLINE_SWEEP_SECONDS, name="safety_offline_sweep")
def offline_sweep() -> int:
    """Devices whose heartbeat is later than interval + 10 s go offline with an OFFLINE
    alarm (through the indexed ``offline_due_at``, never a scan; the ingest processes'
    own timers usually get there first)."""
    return ingest_offline_sweep()


# ---- 331 inspections (owner: places) ---------------------------------------------------------


@every(15 * 60, name="safety_inspection_overdue")
def inspection_overdue() -> int:
    """Failed inspections still rectifying after their deadline become overdue (the
    inspector is told once: the transition happens once)."""
    return inspection_overdue_sweep()

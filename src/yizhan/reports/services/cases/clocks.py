"""The stage clocks: deadlines on the district's working calendar (or natural time), the
warning at 80 % of a stage and the escalations when a case is overdue
(``case_clocks_check``, run by the scheduler)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from yizhan.core.errors import Message
from yizhan.jurisdictions.selectors import codes_deepest_first as _codes_deepest_first
from yizhan.reports import calendar as cal
from yizhan.reports import routing, workflow
from yizhan.reports.choices import Clock
from yizhan.reports.models import OPEN_STATES, Case
from yizhan.reports.services.cases.audience import _stage_owners, _supervisors, _tell
from yizhan.reports.services.cases.common import A, S, _console_url, _effective, _lock, _staff_url

WARN_SHARE = 0.8  # "about to be overdue" at 80 % of a stage's time


def _spec(case: Case):
    return cal.calendar_spec_for(jurisdiction=case.jurisdiction)


def _clock_of(case: Case) -> str:
    """The clock of the case's current stage (``workflow.stage_is_natural``: hazard and
    urgent categories accept and dispatch on natural time)."""
    cat = _effective(case)
    natural = workflow.stage_is_natural(
        case.state, clock=cat.clock, is_hazard=cat.is_hazard,
        urgency=case.urgency if case.urgency != "normal" else cat.urgency,
    )
    return Clock.NATURAL if natural else Clock.WORKING


def _deadline(case: Case, start: datetime, minutes: float, spec=None) -> datetime:
    try:
        return cal.deadline_add(spec=spec or _spec(case), start=start, minutes=minutes, clock=_clock_of(case))
    except ValueError:  # a calendar with no working time left: fall back to natural time
        return start + timedelta(minutes=minutes)


def _clock_start(case: Case, now: datetime) -> None:
    """Start the clock of the stage ``case.state`` (none for finished/parked cases)."""
    case.stage_started_at = now
    case.warned_at = None
    case.overdue_at = None
    case.escalation_level = 0
    case.escalated_to = None
    limit_field = workflow.STAGE_LIMIT.get(case.state)
    if not limit_field:
        case.stage_due_at = None
        return
    case.stage_due_at = _deadline(case, now, getattr(_effective(case), limit_field))


def _restarts_clock(from_state: str, to_state: str, action: str) -> bool:
    if action == A.TRANSFER:
        return True
    if from_state == to_state:
        return False
    # the handle clock runs from dispatch to handled: signing for it does not reset it
    return not (from_state == S.DISPATCHED and to_state == S.IN_PROGRESS)


# ---- the clocks (scheduler job) ------------------------------------------------------

# (case id, stage start, stage due) -> the instant 80 % of the stage's time is used.
# The scheduler is one long-lived process, so each stage's warning instant is worked
# out on the calendar once, not every minute.
_warn_memo: dict[tuple, datetime] = {}
_memo_lock = threading.Lock()


def _stage_minutes(case: Case, spec) -> float:
    """The stage's length in (working) minutes, extensions included."""
    try:
        return cal.working_minutes_between(spec=spec, start=case.stage_started_at, end=case.stage_due_at,
                                           clock=_clock_of(case))
    except ValueError:
        return (case.stage_due_at - case.stage_started_at).total_seconds() / 60


def _warn_at(case: Case, spec) -> datetime:
    key = (case.pk, case.stage_started_at, case.stage_due_at)
    hit = _warn_memo.get(key)
    if hit is None:
        total = _stage_minutes(case, spec)
        hit = _deadline(case, case.stage_started_at, max(0.0, total * WARN_SHARE), spec)
        with _memo_lock:
            if len(_warn_memo) > 200_000:
                _warn_memo.clear()
            _warn_memo[key] = hit
    return hit


def _escalation_target(case: Case, level: int):
    """Level 1 is the parent of the case's node (for a grid case: its community), level
    2 the next one up, ...; capped at the root."""
    from yizhan.jurisdictions.models import Jurisdiction

    codes = _codes_deepest_first(case.jurisdiction.path)
    nodes = {n.code: n for n in Jurisdiction.objects.filter(code__in=codes)}
    chain = [nodes[c] for c in codes if c in nodes]
    return chain[min(max(1, level), len(chain) - 1)]


def _warn(case_id: int, now: datetime) -> bool:
    with transaction.atomic():
        c = _lock(case_id)
        if c.warned_at is not None or c.state not in OPEN_STATES or c.stage_due_at is None or c.stage_due_at <= now:
            return False
        if _warn_at(c, _spec(c)) > now:
            return False
        c.warned_at = now
        c.save(update_fields=["warned_at", "updated_at"])
        local_due = timezone.localtime(c.stage_due_at, routing.SHANGHAI)
        _tell(_stage_owners(c), kind="case_due_soon",
              title=Message(f"即将超时：{c.number}", f"Due soon: {c.number}"),
              body=Message(f"办理时限 {local_due:%m-%d %H:%M}", f"Due at {local_due:%m-%d %H:%M} (Beijing time)"),
              url=_staff_url(c) if c.state in (S.DISPATCHED, S.IN_PROGRESS) else _console_url(c),
              jurisdiction=c.jurisdiction)
    return True


def _next_escalation_at(case: Case, spec) -> datetime:
    """When the case reaches its next escalation level: the deadline for level 1, one
    more full stage (in the stage's clock) for each level after that."""
    if case.escalation_level <= 0:
        return case.stage_due_at
    key = ("esc", case.pk, case.stage_started_at, case.stage_due_at, case.escalation_level)
    hit = _warn_memo.get(key)
    if hit is None:
        stage = max(1.0, _stage_minutes(case, spec))
        hit = _deadline(case, case.stage_due_at, stage * case.escalation_level, spec)
        with _memo_lock:
            _warn_memo[key] = hit
    return hit


def _escalate(case_id: int, now: datetime) -> bool:
    # the engine restarts clocks (imports this module): imported here to break the cycle
    from yizhan.reports.services.cases.transitions import _transition

    with transaction.atomic():
        c = _lock(case_id)
        if c.state not in OPEN_STATES or c.stage_due_at is None or c.stage_due_at > now:
            return False
        spec = _spec(c)
        stage = max(1.0, _stage_minutes(c, spec))
        try:
            late = cal.working_minutes_between(spec=spec, start=c.stage_due_at, end=now, clock=_clock_of(c))
        except ValueError:
            late = (now - c.stage_due_at).total_seconds() / 60
        # one level when the deadline passes, one more each time another full stage passes
        due_level = 1 + int(late // stage)
        if c.escalation_level >= due_level:
            return False
        level = c.escalation_level + 1
        node = _escalation_target(c, level)
        first = c.overdue_at is None

        def apply(case, step):
            case.overdue_at = case.overdue_at or now
            case.was_overdue = True
            case.escalation_level = level
            case.escalated_to = node
            step.data.update({"level": level, "to": node.code, "to_name": node.name})
            title = Message(f"工单超时升级（{level} 级）：{case.number}",
                            f"Overdue case escalated (level {level}): {case.number}")
            body = Message(f"{case.category.name}，已升级至{node.name}",
                           f"{case.category.name_en or case.category.name}, escalated to {node.name_en or node.name}")
            step.tell.append((_supervisors(case, node), "case_escalated", title, body, _console_url(case)))
            if first:
                step.tell.append((_stage_owners(case), "case_overdue",
                                  Message(f"工单已超时：{case.number}", f"Case overdue: {case.number}"),
                                  None, _staff_url(case)))

        _transition(actor=None, case=c, action=A.ESCALATE, system=True, apply=apply, lock=False,
                    note=f"超时升级（{level} 级）至{node.name} (escalated to {node.name_en or node.name})")
    return True


def case_clocks_check(*, now: datetime | None = None) -> dict:
    """Warn at 80 % of a stage, escalate when overdue (and again each further full
    stage). Idempotent: each case row is re-checked under its lock."""
    now = now or timezone.now()
    warned = escalated = 0
    fields = ("pk", "state", "urgency", "stage_started_at", "stage_due_at", "escalation_level", "category__clock",
              "category__is_hazard", "category__urgency",
              "jurisdiction__path", "jurisdiction__code")
    open_q = (
        Case.objects.filter(state__in=OPEN_STATES, stage_due_at__isnull=False, stage_started_at__isnull=False)
        .select_related("category", "jurisdiction").only(*fields)
    )
    specs: dict[str, object] = {}

    def spec_of(case):
        spec = specs.get(case.jurisdiction.path)
        if spec is None:
            spec = specs[case.jurisdiction.path] = _spec(case)
        return spec

    overdue = 0
    # overdue cases: only those whose next level is due are locked and escalated
    for case in open_q.filter(stage_due_at__lte=now).order_by("stage_due_at").iterator(chunk_size=500):
        overdue += 1
        if _next_escalation_at(case, spec_of(case)) <= now:
            escalated += _escalate(case.pk, now)
    for case in open_q.filter(stage_due_at__gt=now, warned_at__isnull=True).iterator(chunk_size=500):
        if _warn_at(case, spec_of(case)) <= now:
            warned += _warn(case.pk, now)
    return {"warned": warned, "escalated": escalated, "overdue": overdue}

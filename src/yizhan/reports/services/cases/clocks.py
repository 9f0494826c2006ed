"""The stage clocks: deadlines on the district's working calendar (or natural time), the
warning at 80 % of a stage and the escalations when a case is overdue
(``case_clocks_check``, run by the scheduler)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from yizhan.core.errors import Message
from yizhan.jurisdictions.selectors import codes_deepest_first as _codes_deepest_first
from yizhan.reports import calendar as cal
from yizhan.reports import routing, workflow
from yizhan.reports.choices import Clock
from yizhan.reports.models import OPEN_STATES, Case, CaseEvent
from yizhan.reports.services.cases.audience import _stage_owners, _supervisors, _tell
from yizhan.reports.services.cases.common import A, S, _console_url, _effective, _lock, _staff_url

WARN_SHARE = 0.8  # "about to be overdue" at 80 % of a stage's time


def _spec(case: Case):
    return cal.calendar_spec_for(jurisdiction=case.jurisdiction)


def _clock_of(case: Case) -> str:
    """The clock of the case's current stage (``workflow.stage_is_natural``: urgent and
    emergency categories run every stage on natural time, other hazards their accept and
    dispatch stages)."""
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
#
# Escalation (超时升级), as the scheduler runs it every minute (``case_clocks_check``):
# * Level n is due when the stage is n-1 full stage limits past its deadline, counted on
#   the stage's own clock (working minutes on the district calendar, or natural minutes):
#   level 1 at the deadline, level 2 one stage limit later, and so on.
# * Level n is the n-th ancestor of the case's node (a grid case: 1 community, 2 street,
#   3 district, 4 city) and never above the root: ``_top_level``.
# * A case whose due level is several levels above its current one (the scheduler was
#   down, the demo was just loaded) goes there in one step: one message to each person of
#   the levels passed, never one level a minute.
# * At the top the case stays there; its top's people are reminded once per stage limit,
#   but never more often than every ``REMIND_MIN_MINUTES`` of the stage's clock.
# * A working-time stage neither escalates nor reminds while its clock is paused (nights,
#   weekends, holidays): what became due at 18:00 is sent at 08:30 the next working day.
# * The stage's owners hear "overdue" once per deadline (``overdue_at``).

REMIND_MIN_MINUTES = 240

# (case id, stage start, stage due[, level / last reminder]) -> the instant of the next
# warning, level or reminder. The scheduler is one long-lived process, so each instant is
# worked out on the calendar once, not every minute.
_warn_memo: dict[tuple, datetime] = {}
_memo_lock = threading.Lock()


def _memo_put(key: tuple, value: datetime) -> None:
    with _memo_lock:
        if len(_warn_memo) > 200_000:
            _warn_memo.clear()
        _warn_memo[key] = value


def _stage_minutes(case: Case, spec) -> float:
    """The stage's length in (working) minutes, extensions included."""
    try:
        return cal.working_minutes_between(spec=spec, start=case.stage_started_at, end=case.stage_due_at,
                                           clock=_clock_of(case))
    except ValueError:
        return (case.stage_due_at - case.stage_started_at).total_seconds() / 60


def _minutes_since(case: Case, spec, start: datetime, now: datetime) -> float:
    """(Working) minutes from ``start`` to ``now`` on the stage's clock."""
    try:
        return cal.working_minutes_between(spec=spec, start=start, end=now, clock=_clock_of(case))
    except ValueError:
        return (now - start).total_seconds() / 60


def _clock_runs(case: Case, spec, now: datetime) -> bool:
    """Whether the stage's clock is running at ``now`` (always, on natural time)."""
    return _clock_of(case) == Clock.NATURAL or cal.is_working_time(spec=spec, at=now)


def _warn_at(case: Case, spec) -> datetime:
    key = (case.pk, case.stage_started_at, case.stage_due_at)
    hit = _warn_memo.get(key)
    if hit is None:
        total = _stage_minutes(case, spec)
        hit = _deadline(case, case.stage_started_at, max(0.0, total * WARN_SHARE), spec)
        _memo_put(key, hit)
    return hit


def _top_level(case: Case) -> int:
    """The highest escalation level: the root of the case's tree (4 for a grid case:
    grid, community, street, district, city), at least 1."""
    return max(1, len(_codes_deepest_first(case.jurisdiction.path)) - 1)


def _escalation_chain(case: Case) -> list:
    """The case's node and its ancestors, the node first: level n is ``chain[n]``."""
    from yizhan.jurisdictions.models import Jurisdiction

    codes = _codes_deepest_first(case.jurisdiction.path)
    nodes = {n.code: n for n in Jurisdiction.objects.filter(code__in=codes)}
    return [nodes[c] for c in codes if c in nodes]


def _escalation_target(case: Case, level: int):
    """Level 1 is the parent of the case's node (for a grid case: its community), level
    2 the next one up, ...; capped at the root."""
    chain = _escalation_chain(case)
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


def _remind_minutes(stage: float) -> float:
    return max(stage, float(REMIND_MIN_MINUTES))


def _last_escalation_at(case: Case) -> datetime | None:
    """When the case last escalated (or was reminded) in its current stage."""
    return CaseEvent.objects.filter(case_id=case.pk, action=A.ESCALATE, at__gte=case.stage_started_at).aggregate(
        at=Max("at"))["at"]


def _next_escalation_at(case: Case, spec, last_at: datetime | None = None) -> datetime:
    """When the case is next due to move: the deadline for level 1, one more full stage
    (in the stage's clock) for each level after that, and at the top, the next reminder
    (``last_at``: its last escalation in this stage)."""
    level = case.escalation_level
    if level <= 0:
        return case.stage_due_at
    top = _top_level(case)
    if level >= top:
        if last_at is None or last_at < case.stage_started_at:
            return case.stage_due_at  # nothing recorded for this stage: let _escalate look
        key = ("remind", case.pk, case.stage_started_at, case.stage_due_at, last_at)
        hit = _warn_memo.get(key)
        if hit is None:
            hit = _deadline(case, last_at, _remind_minutes(max(1.0, _stage_minutes(case, spec))), spec)
            _memo_put(key, hit)
        return hit
    key = ("esc", case.pk, case.stage_started_at, case.stage_due_at, level)
    hit = _warn_memo.get(key)
    if hit is None:
        stage = max(1.0, _stage_minutes(case, spec))
        hit = _deadline(case, case.stage_due_at, stage * level, spec)
        _memo_put(key, hit)
    return hit


def _escalate(case_id: int, now: datetime) -> bool:
    """Move an overdue case to the level it is due for, or remind its top; see above.
    Re-checked under the row lock, so two schedulers cannot both send."""
    # the engine restarts clocks (imports this module): imported here to break the cycle
    from yizhan.reports.services.cases.transitions import _transition

    with transaction.atomic():
        c = _lock(case_id)
        if c.state not in OPEN_STATES or c.stage_due_at is None or c.stage_due_at > now:
            return False
        spec = _spec(c)
        if not _clock_runs(c, spec, now):
            return False
        stage = max(1.0, _stage_minutes(c, spec))
        late = _minutes_since(c, spec, c.stage_due_at, now)
        chain = _escalation_chain(c)
        top = max(1, len(chain) - 1)
        was = min(c.escalation_level, top)  # rows escalated past the root before this rule
        # one level at the deadline, one more each time another full stage passes; never above the root
        due_level = min(top, 1 + int(max(0.0, late) // stage))
        if due_level > was:
            level, reminder = due_level, False
        elif was >= top:
            last_at = _last_escalation_at(c)
            if last_at is not None and _minutes_since(c, spec, last_at, now) < _remind_minutes(stage):
                return False
            level, reminder = top, True
        else:
            return False
        node = chain[min(level, len(chain) - 1)]
        first = c.overdue_at is None
        # who hears of it: the people of every level passed (each once), or the top's on a reminder
        passed = [chain[min(n, len(chain) - 1)] for n in range(level if reminder else was + 1, level + 1)]

        def apply(case, step):
            case.overdue_at = case.overdue_at or now
            case.was_overdue = True
            case.escalation_level = level
            case.escalated_to = node
            step.data.update({"level": level, "to": node.code, "to_name": node.name})
            if reminder:
                step.data["reminder"] = True
                title = Message(f"超时提醒（已至最高级 {level} 级）：{case.number}",
                                f"Still overdue at the top (level {level}): {case.number}")
            else:
                title = Message(f"工单超时升级（{level} 级）：{case.number}",
                                f"Overdue case escalated (level {level}): {case.number}")
            body = Message(f"{case.category.name}，已升级至{node.name}",
                           f"{case.category.name_en or case.category.name}, escalated to {node.name_en or node.name}")
            users = [u for n in passed for u in _supervisors(case, n)]
            step.tell.append((users, "case_escalated", title, body, _console_url(case)))
            if first:
                step.tell.append((_stage_owners(case), "case_overdue",
                                  Message(f"工单已超时：{case.number}", f"Case overdue: {case.number}"),
                                  None, _staff_url(case)))

        if reminder:
            note = f"超时提醒：仍在{node.name}（{level} 级，最高级） (reminder: still at {node.name_en or node.name})"
        else:
            note = f"超时升级（{level} 级）至{node.name} (escalated to {node.name_en or node.name})"
        _transition(actor=None, case=c, action=A.ESCALATE, system=True, apply=apply, lock=False, note=note)
    return True


def case_clocks_check(*, now: datetime | None = None) -> dict:
    """Warn at 80 % of a stage, escalate when overdue (one level per further full stage,
    up to the root), remind at the top; see above. Idempotent: each case row is
    re-checked under its lock."""
    from yizhan.reports.selectors.setup import OVERRIDE_FIELDS

    now = now or timezone.now()
    warned = escalated = 0
    fields = ("pk", "state", "urgency", "stage_started_at", "stage_due_at", "escalation_level", "was_overdue",
              "category__code",
              "category__is_hazard", *(f"category__{f}" for f in OVERRIDE_FIELDS),
              "jurisdiction__path", "jurisdiction__code")
    open_q = (
        Case.objects.filter(state__in=OPEN_STATES, stage_due_at__isnull=False, stage_started_at__isnull=False)
        .select_related("category", "jurisdiction").only(*fields)
    )
    specs: dict[str, object] = {}
    running: dict[str, bool] = {}

    def spec_of(case):
        spec = specs.get(case.jurisdiction.path)
        if spec is None:
            spec = specs[case.jurisdiction.path] = _spec(case)
        return spec

    def clock_runs(case):
        if _clock_of(case) == Clock.NATURAL:
            return True
        key = case.jurisdiction.path
        if key not in running:
            running[key] = cal.is_working_time(spec=spec_of(case), at=now)
        return running[key]

    late = list(open_q.filter(stage_due_at__lte=now).order_by("stage_due_at"))
    overdue = len(late)
    # the last escalation of the cases at the top (their next reminder counts from it)
    at_top = [c.pk for c in late if c.escalation_level >= _top_level(c)]
    last: dict[int, datetime] = {}
    for i in range(0, len(at_top), 500):
        rows = (CaseEvent.objects.filter(case_id__in=at_top[i:i + 500], action=A.ESCALATE)
                .values("case_id").annotate(at=Max("at")).values_list("case_id", "at"))
        last.update(rows)
    # only the overdue cases whose next level (or reminder) is due, with their clock running, are locked
    paused_late = []
    for case in late:
        if not clock_runs(case):
            if not case.was_overdue:
                paused_late.append(case.pk)
            continue
        if _next_escalation_at(case, spec_of(case), last.get(case.pk)) <= now:
            escalated += _escalate(case.pk, now)
    if paused_late:
        # Past its deadline while its clock is paused: nobody is told before the clock runs
        # again, but the figures count the case as overdue now (it may be finished before then).
        Case.objects.filter(pk__in=paused_late, was_overdue=False).update(was_overdue=True)
    for case in open_q.filter(stage_due_at__gt=now, warned_at__isnull=True).iterator(chunk_size=500):
        if _warn_at(case, spec_of(case)) <= now:
            warned += _warn(case.pk, now)
    return {"warned": warned, "escalated": escalated, "overdue": overdue}

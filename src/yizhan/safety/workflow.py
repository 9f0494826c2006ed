"""State machines of the fire-safety app, one section per workflow (see docs/workflow.md).

Hooks that live in services are named by dotted path (services import this module).
"""

from __future__ import annotations

from yizhan.core import permissions
from yizhan.core.errors import OutOfJurisdiction, PermissionDenied
from yizhan.core.workflow import SYSTEM, Transition, Workflow, WorkflowErrors
from yizhan.safety import errors as E
from yizhan.safety.choices import AlarmState, AssignmentState, DispatchState, InspectionState
from yizhan.safety.models import (
    Alarm,
    AlarmEvent,
    Assignment,
    AssignmentEvent,
    Dispatch,
    Inspection,
)

T = Transition

# ---- ASSIGNMENT (owner: dispatch) ------------------------------------------------------
# One responder sent to one alarm: notified → acknowledged (接警) → en_route (出发) →
# arrived (到场, position checked against the place) → resolved (处置, with an outcome).
# A responder who skips a button (pressing 出发 without 接警, or arriving next door) gets
# the skipped steps' times filled with the same moment. The duty officer (or the system,
# when another responder resolves the dispatch) stands the others down.

RESPONDER, DUTY = "responder", "duty"
_A = AssignmentState
_ACTIVE = (_A.NOTIFIED, _A.ACKNOWLEDGED, _A.EN_ROUTE, _A.ARRIVED)

ASSIGNMENT_TRANSITIONS = {
    (_A.NOTIFIED, "acknowledge"): T(_A.ACKNOWLEDGED, frozenset({RESPONDER})),
    (_A.NOTIFIED, "en_route"): T(_A.EN_ROUTE, frozenset({RESPONDER})),
    (_A.ACKNOWLEDGED, "en_route"): T(_A.EN_ROUTE, frozenset({RESPONDER})),
    (_A.NOTIFIED, "arrive"): T(_A.ARRIVED, frozenset({RESPONDER})),
    (_A.ACKNOWLEDGED, "arrive"): T(_A.ARRIVED, frozenset({RESPONDER})),
    (_A.EN_ROUTE, "arrive"): T(_A.ARRIVED, frozenset({RESPONDER})),
    (_A.ARRIVED, "resolve"): T(_A.RESOLVED, frozenset({RESPONDER, DUTY})),
    **{(s, "stand_down"): T(_A.STOOD_DOWN, frozenset({DUTY, SYSTEM})) for s in _ACTIVE},
}
ASSIGNMENT_ACTIONS = ("acknowledge", "en_route", "arrive", "resolve", "stand_down")


def assignment_kinds(actor, assignment: Assignment) -> set[str]:
    kinds = set()
    # a responder may be sent across a community line (nearest by travel time): their own
    # assignment is theirs wherever it is, as long as they hold safety.respond somewhere
    if assignment.responder.user_id == actor.pk and permissions.has_perm_anywhere(actor, "safety.respond"):
        kinds.add(RESPONDER)
    if permissions.can(actor, "safety.duty", assignment.dispatch.jurisdiction):
        kinds.add(DUTY)
    return kinds


def _assignment_denied(actor, assignment) -> Exception:
    if permissions.has_perm_anywhere(actor, "safety.respond") or permissions.has_perm_anywhere(actor, "safety.duty"):
        return OutOfJurisdiction()
    return PermissionDenied()


def _assignment_event(step) -> AssignmentEvent:
    return AssignmentEvent.objects.create(
        assignment=step.obj, action=step.action, from_state=step.from_state, to_state=step.to_state,
        actor=None if step.system else step.actor, note=step.note[:300], data=step.data, at=step.now,
    )


ASSIGNMENT = Workflow(
    name="safety.assignment", model=Assignment, transitions=ASSIGNMENT_TRANSITIONS,
    actor_kinds=assignment_kinds,
    select_related=("dispatch", "dispatch__jurisdiction", "dispatch__alarm", "dispatch__alarm__device__place",
                    "responder"),
    errors=WorkflowErrors(invalid=E.InvalidAssignmentTransition, not_found=E.AssignmentNotFound,
                          denied=_assignment_denied),
    finished_states=frozenset({_A.RESOLVED, _A.STOOD_DOWN}),
    event=_assignment_event,
    prepare=("yizhan.safety.services.dispatch.assignment_prepare",),
    apply=("yizhan.safety.services.dispatch.assignment_apply",),
)

# ---- DISPATCH (owner: dispatch) --------------------------------------------------------
# The response to one alarm follows its assignments: the first arrival puts it on scene,
# the first resolution resolves it with that outcome. Only the system moves it (from the
# assignment's step); escalation waves change no state (wave, escalated_at).

_D = DispatchState
DISPATCH_TRANSITIONS = {
    (_D.OPEN, "arrive"): T(_D.ON_SCENE, frozenset({SYSTEM})),
    (_D.OPEN, "resolve"): T(_D.RESOLVED, frozenset({SYSTEM})),
    (_D.ON_SCENE, "resolve"): T(_D.RESOLVED, frozenset({SYSTEM})),
}

DISPATCH = Workflow(
    name="safety.dispatch", model=Dispatch, transitions=DISPATCH_TRANSITIONS,
    actor_kinds=lambda actor, dispatch: set(),
    select_related=("jurisdiction",),
    errors=WorkflowErrors(invalid=E.InvalidAssignmentTransition, not_found=E.DispatchNotFound),
    finished_states=frozenset({_D.RESOLVED}),
)

# ---- ALARM (owner: rules) --------------------------------------------------------------
# One open alarm per device and kind (ThingsBoard's rule): active (未确认) → acknowledged
# (已确认) → cleared (已消除), or active → cleared. The ingest raises and re-triggers it
# (services.alarms.alarm_trigger: a new row, or the open one's count and time; neither is a
# state change); the duty officer acknowledges and clears; the system clears what cleared
# itself (an offline device back, a fault gone, the battery replaced). Clearing closes the
# row (``open`` False): the next trigger opens a new alarm.

_AL = AlarmState
ALARM_TRANSITIONS = {
    (_AL.ACTIVE, "acknowledge"): T(_AL.ACKNOWLEDGED, frozenset({DUTY})),
    (_AL.ACTIVE, "clear"): T(_AL.CLEARED, frozenset({DUTY, SYSTEM})),
    (_AL.ACKNOWLEDGED, "clear"): T(_AL.CLEARED, frozenset({DUTY, SYSTEM})),
}


def alarm_kinds(actor, alarm: Alarm) -> set[str]:
    return {DUTY} if permissions.can(actor, "safety.duty", alarm.jurisdiction) else set()


def _alarm_denied(actor, alarm) -> Exception:
    if permissions.has_perm_anywhere(actor, "safety.duty"):
        return OutOfJurisdiction()
    return PermissionDenied()


def _alarm_event(step) -> AlarmEvent:
    return AlarmEvent.objects.create(
        alarm=step.obj, action=step.action, from_state=step.from_state, to_state=step.to_state,
        actor=None if step.system else step.actor, note=step.note[:300], data=step.data, at=step.now,
    )


ALARM = Workflow(
    name="safety.alarm", model=Alarm, transitions=ALARM_TRANSITIONS,
    actor_kinds=alarm_kinds,
    select_related=("jurisdiction",),
    errors=WorkflowErrors(invalid=E.InvalidAlarmTransition, not_found=E.AlarmNotFound, denied=_alarm_denied),
    finished_states=frozenset({_AL.CLEARED}),
    event=_alarm_event,
    apply=("yizhan.safety.services.alarms.alarm_apply",),
    sync=True,
)

# ---- INSPECTION (owner: places) ---------------------------------------------------------
# A 331 check (services.inspections.inspection_create) starts passed (合格, finished) or,
# when anything failed, rectifying (整改中) with a follow-up deadline and a reports hazard
# case. The inspector or a manager records the rectification (rectified, 已整改); the
# scheduler marks a check whose deadline passed overdue (逾期未整改), which can still be
# rectified. No timeline model: the audit row of each step is the record.

_I = InspectionState
INSPECTOR, INSPECTION_MANAGER = "inspector", "manager"
INSPECTION_TRANSITIONS = {
    (_I.RECTIFYING, "rectify"): T(_I.RECTIFIED, frozenset({INSPECTOR, INSPECTION_MANAGER})),
    (_I.OVERDUE, "rectify"): T(_I.RECTIFIED, frozenset({INSPECTOR, INSPECTION_MANAGER})),
    (_I.RECTIFYING, "expire"): T(_I.OVERDUE, frozenset({SYSTEM})),
}


def inspection_kinds(actor, inspection: Inspection) -> set[str]:
    kinds = set()
    if permissions.can(actor, "safety.inspect", inspection.jurisdiction):
        kinds.add(INSPECTOR)
    if permissions.can(actor, "safety.manage", inspection.jurisdiction):
        kinds.add(INSPECTION_MANAGER)
    return kinds


def _inspection_denied(actor, inspection) -> Exception:
    if permissions.has_perm_anywhere(actor, "safety.inspect") or permissions.has_perm_anywhere(actor, "safety.manage"):
        return OutOfJurisdiction()
    return PermissionDenied()


INSPECTION = Workflow(
    name="safety.inspection", model=Inspection, transitions=INSPECTION_TRANSITIONS,
    actor_kinds=inspection_kinds,
    select_related=("jurisdiction", "place"),
    errors=WorkflowErrors(invalid=E.InvalidInspectionTransition, not_found=E.InspectionNotFound,
                          denied=_inspection_denied),
    finished_states=frozenset({_I.PASSED, _I.RECTIFIED}),
    sync=True,
)

"""The one transition table of the case workflow.

``TRANSITIONS[(state, action)] = (to_state, allowed actor kinds)``. A pair that is
not in the table is not allowed. ``to_state`` may equal ``state`` (progress notes,
extension requests, follow-up calls, escalations). The engine
(``core.workflow``) runs ``CASE`` (declared at the end, from this table) and
``EXTENSION``; nothing else decides what may happen to a case, and nothing else assigns
``Case.state`` or ``ExtensionRequest.state`` (see docs/workflow.md).

Actor kinds (``choices.Actor``):
* reporter   — the user who reported the case;
* dispatcher — staff holding ``reports.dispatch`` on the case's jurisdiction (the
               community / street / district centre: accepts, dispatches, verifies on
               site, closes, follows up);
* handler    — the case's assignee, or a member of its department who holds
               ``reports.handle`` on the case's jurisdiction;
* system     — the scheduler (time limits).
"""

from __future__ import annotations

from yizhan.core import permissions
from yizhan.core.errors import AppError, InvalidTransition, OutOfJurisdiction, PermissionDenied
from yizhan.core.workflow import Transition, Workflow, WorkflowErrors
from yizhan.reports import errors as E
from yizhan.reports.choices import Actor, CaseAction, CaseState, ExtensionState
from yizhan.reports.models import (
    FINISHED_STATES,
    TERMINAL_STATES,
    Case,
    DepartmentMember,
    ExtensionRequest,
)

S, A = CaseState, CaseAction
R, D, H, SYS = Actor.REPORTER, Actor.DISPATCHER, Actor.HANDLER, Actor.SYSTEM

# Every state where the case is still being worked on can be escalated by the clock.
_CLOCKED = (S.SUBMITTED, S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS, S.RETURNED, S.HANDLED, S.VERIFIED)

TRANSITIONS: dict[tuple[str, str], tuple[str, frozenset[str]]] = {
    # the centre files the report (立案) or turns it down, or folds it into another
    (S.SUBMITTED, A.ACCEPT): (S.ACCEPTED, frozenset({D})),
    (S.SUBMITTED, A.REJECT): (S.REJECTED, frozenset({D})),
    (S.SUBMITTED, A.MERGE): (S.MERGED, frozenset({D})),
    (S.ACCEPTED, A.DISPATCH): (S.DISPATCHED, frozenset({D})),
    (S.ACCEPTED, A.MERGE): (S.MERGED, frozenset({D})),
    (S.ACCEPTED, A.PARK): (S.PARKED, frozenset({D})),
    # the department / grid worker signs for it, or sends it back as not theirs (退单)
    (S.DISPATCHED, A.START): (S.IN_PROGRESS, frozenset({H})),
    (S.DISPATCHED, A.RETURN): (S.RETURNED, frozenset({H})),
    (S.DISPATCHED, A.TRANSFER): (S.DISPATCHED, frozenset({D})),
    (S.DISPATCHED, A.REQUEST_EXTENSION): (S.DISPATCHED, frozenset({H})),
    (S.DISPATCHED, A.DECIDE_EXTENSION): (S.DISPATCHED, frozenset({D})),
    (S.DISPATCHED, A.PARK): (S.PARKED, frozenset({D})),
    (S.IN_PROGRESS, A.PROGRESS): (S.IN_PROGRESS, frozenset({H})),
    (S.IN_PROGRESS, A.HANDLE): (S.HANDLED, frozenset({H})),
    (S.IN_PROGRESS, A.RETURN): (S.RETURNED, frozenset({H})),
    (S.IN_PROGRESS, A.TRANSFER): (S.DISPATCHED, frozenset({D})),
    (S.IN_PROGRESS, A.REQUEST_EXTENSION): (S.IN_PROGRESS, frozenset({H})),
    (S.IN_PROGRESS, A.DECIDE_EXTENSION): (S.IN_PROGRESS, frozenset({D})),
    (S.IN_PROGRESS, A.PARK): (S.PARKED, frozenset({D})),
    # returned to the centre: re-dispatch elsewhere, turn down, or park
    (S.RETURNED, A.DISPATCH): (S.DISPATCHED, frozenset({D})),
    (S.RETURNED, A.REJECT): (S.REJECTED, frozenset({D})),
    (S.RETURNED, A.PARK): (S.PARKED, frozenset({D})),
    # handled: the community verifies on site or the reporter confirms; or it is not fixed
    (S.HANDLED, A.VERIFY): (S.VERIFIED, frozenset({D})),
    (S.HANDLED, A.CONFIRM): (S.VERIFIED, frozenset({R})),
    (S.HANDLED, A.VERIFY_FAIL): (S.IN_PROGRESS, frozenset({D})),
    (S.HANDLED, A.REOPEN): (S.IN_PROGRESS, frozenset({R})),
    (S.VERIFIED, A.CLOSE): (S.CLOSED, frozenset({D})),
    # closed: the reporter rates it, the centre calls back (回访), or it is reopened — by
    # the reporter, or by the centre when the follow-up call finds it unfixed (Open311 and
    # hotline cases have no reporter account; a written reason is required either way)
    (S.CLOSED, A.EVALUATE): (S.EVALUATED, frozenset({R})),
    (S.CLOSED, A.FOLLOW_UP): (S.CLOSED, frozenset({D})),
    (S.CLOSED, A.REOPEN): (S.DISPATCHED, frozenset({R, D})),
    (S.EVALUATED, A.FOLLOW_UP): (S.EVALUATED, frozenset({D})),
    (S.EVALUATED, A.REOPEN): (S.DISPATCHED, frozenset({R, D})),
    # parked (挂账): kept on the books with a written reason until it can be solved
    (S.PARKED, A.UNPARK): (S.ACCEPTED, frozenset({D})),
}
for _state in _CLOCKED:
    TRANSITIONS[(_state, A.ESCALATE)] = (_state, frozenset({SYS}))
# "Me too" while the case is open (not a state change).
for _state in (S.SUBMITTED, S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS, S.RETURNED, S.HANDLED, S.VERIFIED):
    TRANSITIONS[(_state, A.SUPPORT)] = (_state, frozenset({R, D, H}))  # anyone logged in; see services

# States whose clock runs and which stage limit applies (Category.<stage>_minutes).
STAGE_LIMIT: dict[str, str | None] = {
    S.SUBMITTED: "accept_minutes",
    S.ACCEPTED: "dispatch_minutes",
    S.RETURNED: "dispatch_minutes",
    S.DISPATCHED: "handle_minutes",
    S.IN_PROGRESS: "handle_minutes",  # the handle clock runs from dispatch to handled
    S.HANDLED: "verify_minutes",
    S.VERIFIED: "close_minutes",
    S.CLOSED: None,
    S.EVALUATED: None,
    S.PARKED: None,
    S.REJECTED: None,
    S.MERGED: None,
}

# Which clock a stage runs on (README "Time limits"):
# * a category whose ``clock`` is natural runs every stage on natural time;
# * an emergency or urgent category (``urgency``, or a case marked urgent) runs *every*
#   stage on natural time, whatever its ``clock`` says: an open manhole reported at 22:38
#   is due to be filed, dispatched *and* made safe that night, not "tomorrow 10:30";
# * a hazard of normal urgency (``is_hazard``: a fire hydrant, a dead street tree, a
#   damaged road, e-bikes taken indoors) is filed and dispatched on natural time, so it
#   is in a department's hands that night, but handled, verified and closed on the
#   category's clock: its risk is not immediate, the repair needs the department's crews
#   in office hours, and its limits (days of work) were set in working time — on natural
#   time they would shrink to a third;
# * everything else runs on the category's clock (working time on the district calendar).
NATURAL_TIME_STAGES = {S.SUBMITTED, S.ACCEPTED, S.RETURNED}
NATURAL_TIME_URGENCIES = {"emergency", "urgent"}


def stage_is_natural(state: str, *, clock: str, is_hazard: bool = False, urgency: str = "") -> bool:
    """Whether the stage ``state`` of a case of this category runs on natural time."""
    if clock == "natural" or str(urgency) in NATURAL_TIME_URGENCIES:
        return True
    return state in NATURAL_TIME_STAGES and bool(is_hazard)


# Actions whose note is required (a written reason).
REASON_REQUIRED = {A.REJECT, A.RETURN, A.PARK, A.REQUEST_EXTENSION, A.VERIFY_FAIL, A.REOPEN, A.TRANSFER}
# Actions that need a photo.
PHOTO_REQUIRED = {A.HANDLE}
# How long after closing the reporter may still reopen.
REOPEN_DAYS = 7


def transition_for(state: str, action: str) -> tuple[str, frozenset[str]] | None:
    return TRANSITIONS.get((state, action))


def actions_from(state: str) -> list[str]:
    return [a for (s, a) in TRANSITIONS if s == state]


# ---- the workflows, declared for the engine (core.workflow) ----------------------------
# Everything here is data or a pure function; the hooks that write (clocks, photos,
# timeline, notifications) live in services/cases/steps.py and are named by path
# (the services import this module).


def case_actor_kinds(actor, case: Case) -> set[str]:
    """The kinds (``choices.Actor``) ``actor`` has on ``case``."""
    if not (bool(getattr(actor, "is_authenticated", False)) and getattr(actor, "is_active", True)):
        return set()
    kinds: set[str] = set()
    path = case.jurisdiction.path
    if case.reporter_id is not None and case.reporter_id == actor.pk:
        kinds.add(R)
    if permissions.can(actor, "reports.dispatch", path):
        kinds.add(D)
    if permissions.can(actor, "reports.handle", path) and (
        case.assignee_id == actor.pk
        or (bool(case.department_id)
            and DepartmentMember.objects.filter(department_id=case.department_id, user=actor).exists())
    ):
        kinds.add(H)
    return kinds


def case_denied(actor, case: Case) -> AppError:
    """The error for someone with nothing to do with the case: out of jurisdiction when
    they see cases elsewhere, else permission denied."""
    path = case.jurisdiction.path
    if permissions.can(actor, "reports.view", path):
        return PermissionDenied()
    if permissions.has_perm_anywhere(actor, "reports.view"):
        return OutOfJurisdiction()
    return PermissionDenied()


_STEPS = "yizhan.reports.services.cases.steps."

CASE = Workflow(
    name="reports.case",
    model=Case,
    transitions={
        key: Transition(to, actors, reason_required=key[1] in REASON_REQUIRED,
                        photo_required=key[1] in PHOTO_REQUIRED)
        for key, (to, actors) in TRANSITIONS.items()
    },
    actor_kinds=case_actor_kinds,
    errors=WorkflowErrors(
        invalid=InvalidTransition, finished=E.CaseFinished, wrong_actor=PermissionDenied, denied=case_denied,
        reason_required=E.ReasonRequired, photo_required=E.PhotoRequired, not_found=E.CaseNotFound,
    ),
    finished_states=frozenset(FINISHED_STATES) | frozenset(TERMINAL_STATES),
    select_related=("category", "jurisdiction"),
    validate=(_STEPS + "case_validate",),  # note and public reply lengths
    prepare=(_STEPS + "case_clean_photos",),
    apply=(_STEPS + "case_milestones_and_clock",),
    event=_STEPS + "case_event",  # the CaseEvent line
    audit=_STEPS + "case_audit",
    after=(_STEPS + "case_after",),  # photos of the event, lapsed extension requests, case_verified
    notify=_STEPS + "case_notify",
    sync=True,
)

# Extension requests: created pending by ``case_request_extension`` (the model's
# default state); decided by the centre or lapsed by the case moving on.
APPROVE, DENY, LAPSE = "approve", "deny", "lapse"
X = ExtensionState
EXTENSION_TRANSITIONS = {
    (X.PENDING, APPROVE): Transition(X.APPROVED, frozenset({D})),
    (X.PENDING, DENY): Transition(X.DENIED, frozenset({D})),
    (X.PENDING, LAPSE): Transition(X.DENIED, frozenset({SYS})),
}
LAPSED_NOTE = "案件已流转，申请自动失效 (lapsed)"


def extension_actor_kinds(actor, request: ExtensionRequest) -> set[str]:
    return {D} if permissions.can(actor, "reports.dispatch", request.case.jurisdiction.path) else set()


def _extension_decided(request: ExtensionRequest, step) -> None:
    request.decided_by = step.actor if not step.system else None
    request.decided_at = step.now
    request.decision_note = (LAPSED_NOTE if step.action == LAPSE else step.note)[:500]


def _extension_audit(step) -> dict:
    request = step.obj
    return {
        "summary": f"extension {step.action} {request.case.number}: {step.from_state} -> {step.to_state}",
        "changes": {"action": step.action, "state": [step.from_state, step.to_state], "minutes": request.minutes},
        "jurisdiction_path": request.case.jurisdiction.path,
    }


EXTENSION = Workflow(
    name="reports.extension",
    model=ExtensionRequest,
    transitions=EXTENSION_TRANSITIONS,
    actor_kinds=extension_actor_kinds,
    errors=WorkflowErrors(invalid=E.NoPendingExtension, not_found=E.NoPendingExtension),
    select_related=("case", "case__jurisdiction"),
    apply=(_extension_decided,),
    audit=_extension_audit,  # the case's timeline line is written by the case's own step
)

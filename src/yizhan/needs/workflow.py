"""The state machines of the needs app, declared for the engine (``core.workflow``):
``NEED``, ``WISH`` and ``SUGGESTION`` at the end, built from the tables below. A pair
that is not in a table is not allowed, and only the engine assigns a state.

Need actor kinds:
* manager — staff holding ``needs.manage`` on the need's jurisdiction;
* owner   — the staff user the need is assigned to (may work it without needs.manage).
"""

from __future__ import annotations

from yizhan.core import permissions
from yizhan.core.errors import AppError, InvalidTransition, OutOfJurisdiction, PermissionDenied
from yizhan.core.workflow import Transition, Workflow, WorkflowErrors
from yizhan.needs import errors as E
from yizhan.needs.choices import (
    NeedAction,
    NeedState,
    SuggestionOutcome,
    SuggestionState,
    WishAction,
    WishState,
)
from yizhan.needs.models import Need, NeedEvent, Suggestion, Wish

MANAGER, OWNER = "manager", "owner"
N, NA = NeedState, NeedAction

NEED_TRANSITIONS: dict[tuple[str, str], tuple[str, frozenset[str]]] = {
    (N.OPEN, NA.START): (N.IN_PROGRESS, frozenset({MANAGER, OWNER})),
    (N.OPEN, NA.SOLVE): (N.SOLVED, frozenset({MANAGER, OWNER})),
    (N.OPEN, NA.DECLINE): (N.DECLINED, frozenset({MANAGER})),
    (N.OPEN, NA.REASSIGN): (N.OPEN, frozenset({MANAGER})),
    (N.IN_PROGRESS, NA.PROGRESS): (N.IN_PROGRESS, frozenset({MANAGER, OWNER})),
    (N.IN_PROGRESS, NA.SOLVE): (N.SOLVED, frozenset({MANAGER, OWNER})),
    (N.IN_PROGRESS, NA.DECLINE): (N.DECLINED, frozenset({MANAGER})),
    (N.IN_PROGRESS, NA.REASSIGN): (N.IN_PROGRESS, frozenset({MANAGER})),
    (N.SOLVED, NA.REOPEN): (N.IN_PROGRESS, frozenset({MANAGER})),
    (N.DECLINED, NA.REOPEN): (N.OPEN, frozenset({MANAGER})),
}
# The written note each action needs (field "note" unless said otherwise).
NEED_NOTE_REQUIRED = {NA.PROGRESS, NA.SOLVE, NA.DECLINE, NA.REOPEN}
NEED_OPEN_STATES = (N.OPEN, N.IN_PROGRESS)

S, SO = SuggestionState, SuggestionOutcome
SUGGESTION_TRANSITIONS: dict[tuple[str, str], str] = {
    (S.SUBMITTED, SO.REPLY): S.REPLIED,
    (S.SUBMITTED, SO.ADOPT): S.ADOPTED,
    (S.SUBMITTED, SO.TO_NEED): S.TO_NEED,
    (S.SUBMITTED, SO.CLOSE): S.CLOSED,
    (S.REPLIED, SO.REPLY): S.REPLIED,
    (S.REPLIED, SO.ADOPT): S.ADOPTED,
    (S.REPLIED, SO.TO_NEED): S.TO_NEED,
    (S.REPLIED, SO.CLOSE): S.CLOSED,
}

W, WA = WishState, WishAction
WISH_TRANSITIONS: dict[tuple[str, str], str] = {
    (W.PENDING, WA.APPROVE): W.PUBLIC,
    (W.PENDING, WA.REJECT): W.REJECTED,
    (W.PUBLIC, WA.FULFILLING): W.FULFILLING,
    (W.PUBLIC, WA.FULFILLED): W.FULFILLED,
    (W.FULFILLING, WA.FULFILLED): W.FULFILLED,
}
WISH_PUBLIC_STATES = (W.PUBLIC, W.FULFILLING, W.FULFILLED)
WISH_SUPPORTABLE = (W.PUBLIC, W.FULFILLING)


def need_transition(state: str, action: str) -> tuple[str, frozenset[str]] | None:
    return NEED_TRANSITIONS.get((state, action))


def need_actions_from(state: str) -> list[str]:
    return [a for (s, a) in NEED_TRANSITIONS if s == state]


# ---- the workflows, declared for the engine (core.workflow) ----------------------------


def _logged_in(actor) -> bool:
    return bool(getattr(actor, "is_authenticated", False))


def _label(actor) -> str:
    return actor.get_username()[:150] if _logged_in(actor) else "anonymous"


def need_actor_kinds(actor, need: Need) -> set[str]:
    kinds = set()
    if not _logged_in(actor):
        return kinds
    if permissions.can(actor, "needs.manage", need.jurisdiction):
        kinds.add(MANAGER)
    if need.owner_id == actor.pk:
        kinds.add(OWNER)
    return kinds


def _need_denied(actor, need: Need) -> AppError:
    if permissions.has_perm_anywhere(actor, "needs.view") or permissions.has_perm_anywhere(actor, "needs.manage"):
        return OutOfJurisdiction()
    return PermissionDenied()


def _need_event(step) -> NeedEvent:
    return NeedEvent.objects.create(
        need=step.obj, action=step.action, from_state=step.from_state, to_state=step.to_state,
        actor=step.actor if _logged_in(step.actor) else None, actor_label=_label(step.actor), at=step.now,
        note=step.note, data=step.data,
    )


def _need_audit(step) -> dict:
    return {"summary": f"need {step.action}", "changes": {"state": [step.from_state, step.to_state], **step.data},
            "jurisdiction_path": step.obj.jurisdiction.path}


NEED = Workflow(
    name="needs.need",
    model=Need,
    transitions={
        key: Transition(to, actors, reason_required=key[1] in NEED_NOTE_REQUIRED)
        for key, (to, actors) in NEED_TRANSITIONS.items()
    },
    actor_kinds=need_actor_kinds,
    errors=WorkflowErrors(
        invalid=lambda: InvalidTransition(field="action"), denied=_need_denied,
        reason_required=E.ReasonRequired, not_found=E.NeedNotFound,
    ),
    select_related=("jurisdiction", "owner"),
    authenticated=_logged_in,
    event=_need_event,
    audit=_need_audit,
)


def manager_kinds(actor, obj) -> set[str]:
    """Wishes and suggestions: staff holding needs.manage on the item's jurisdiction."""
    return {MANAGER} if permissions.can(actor, "needs.manage", obj.jurisdiction) else set()


def _manage_denied(actor, obj) -> AppError:
    """The error ``permissions.require(actor, "needs.manage", jurisdiction)`` raises."""
    try:
        permissions.require(actor, "needs.manage", obj.jurisdiction)
    except AppError as err:
        return err
    return PermissionDenied()


def _audit_as(noun: str):
    def audit(step) -> dict:
        return {"summary": f"{noun} {step.action}",
                "changes": {"state": [step.from_state, step.to_state], **step.data},
                "jurisdiction_path": step.obj.jurisdiction.path}

    return audit


WISH = Workflow(
    name="needs.wish",
    model=Wish,
    transitions={key: Transition(to, frozenset({MANAGER})) for key, to in WISH_TRANSITIONS.items()},
    actor_kinds=manager_kinds,
    errors=WorkflowErrors(invalid=lambda: InvalidTransition(field="action"), denied=_manage_denied,
                          not_found=E.WishNotFound),
    select_related=("jurisdiction",),
    authenticated=_logged_in,
    audit=_audit_as("wish"),
)

SUGGESTION = Workflow(
    name="needs.suggestion",
    model=Suggestion,
    transitions={key: Transition(to, frozenset({MANAGER})) for key, to in SUGGESTION_TRANSITIONS.items()},
    actor_kinds=manager_kinds,
    errors=WorkflowErrors(invalid=lambda: InvalidTransition(field="outcome"), denied=_manage_denied,
                          not_found=E.SuggestionNotFound),
    select_related=("jurisdiction",),
    authenticated=_logged_in,
    audit=_audit_as("suggestion"),
)

"""The transition tables of the needs app. Services look pairs up here; a pair
that is not in a table is not allowed, and only ``services.py`` assigns a state.

Need actor kinds:
* manager — staff holding ``needs.manage`` on the need's jurisdiction;
* owner   — the staff user the need is assigned to (may work it without needs.manage).
"""

from __future__ import annotations

from yizhan.needs.choices import (
    NeedAction,
    NeedState,
    SuggestionOutcome,
    SuggestionState,
    WishAction,
    WishState,
)

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

"""The one workflow engine: every state machine of every app runs through
``workflow_transition``.

An app declares each state machine as data in its ``workflow.py`` (a ``Workflow``:
the model and its state field, the table of ``Transition``s with the actor kinds
allowed and what each needs — a written reason, a photo, a confirmation —, how to
find the actor's kinds on a row, the app's own error classes, the timeline writer and
the hooks for clocks and side effects) and its services call one function::

    step = workflow_transition(NEED, obj=need, action="solve", actor=user, note=note, apply=apply)

which, in one transaction:

1. refuses an anonymous actor (``NotAuthenticated``) unless ``system=True``;
2. locks the row (``select_for_update``: two people acting on one row cannot both
   win; the loser sees the new state and gets the workflow's "invalid transition");
3. works out the actor's kinds on the row (none at all → ``errors.denied``);
4. looks ``(state, action)`` up in the table (missing → ``errors.finished`` on a
   finished row, else ``errors.invalid``) and checks the actor's kinds against the
   transition's (``errors.wrong_actor``);
5. runs ``validate`` hooks (text limits), then checks the reason / photo /
   confirmation the transition requires;
6. runs the caller's ``prepare(obj, step)`` and the workflow's ``prepare`` hooks
   (they may still refuse: nothing is written yet);
7. sets the state, runs the caller's ``apply(obj, step)`` and the workflow's
   ``apply`` hooks (milestones, clocks), saves the row;
8. writes the timeline row (``event(step)``), the audit row (``core.audit``) and runs
   the ``after`` hooks (photos of the event, domain events, dependent rows);
9. sends the notifications collected in ``step.tell`` (the inbox rows are written in
   this transaction, so a rolled-back step tells nobody; ``core.outbox`` delivers
   them after commit) and registers ``step.on_commit`` callbacks with
   ``transaction.on_commit``.

Errors are the app's own classes, so every code and status a client sees is the
app's. A hook may be a callable or a dotted path ("yizhan.x.services.f", imported on
first use): services import ``workflow.py``, so ``workflow.py`` names service-side
hooks by path. See docs/workflow.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from yizhan.core.audit import audit_record
from yizhan.core.errors import (
    AppError,
    ConfirmationRequired,
    InvalidTransition,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    PhotoRequired,
    ReasonRequired,
)
from yizhan.core.models import AuditAction
from yizhan.core.notifications import notify

SYSTEM = "system"

Hook = Callable[..., Any] | str


@dataclass(frozen=True)
class Transition:
    """One row of a table: ``(state, action) -> Transition(to, actors, ...)``."""

    to: str
    actors: frozenset[str]
    reason_required: bool = False
    photo_required: bool = False
    confirm_required: bool = False


def _reason_required() -> AppError:
    return ReasonRequired()


def _photo_required() -> AppError:
    return PhotoRequired()


def _confirm_required() -> AppError:
    return ConfirmationRequired()


@dataclass(frozen=True)
class WorkflowErrors:
    """What the engine raises: zero-argument callables (an app's ``AppError`` classes or
    lambdas giving them a field), except ``denied(actor, obj)``."""

    invalid: Callable[[], Exception] = InvalidTransition
    finished: Callable[[], Exception] | None = None  # a finished row (default: ``invalid``)
    wrong_actor: Callable[[], Exception] = PermissionDenied  # has kinds here, not the right one
    denied: Callable[[Any, Any], Exception] | None = None  # no kind at all on this row
    reason_required: Callable[[], Exception] = _reason_required
    photo_required: Callable[[], Exception] = _photo_required
    confirm_required: Callable[[], Exception] = _confirm_required
    not_found: Callable[[], Exception] = NotFound


def _authenticated(actor) -> bool:
    return bool(getattr(actor, "is_authenticated", False)) and getattr(actor, "is_active", True)


@dataclass(frozen=True)
class Workflow:
    """A state machine declared as data (see the module docstring for the order)."""

    name: str  # "reports.case": the audit's wording and the docs' handle
    model: type[models.Model]
    transitions: Mapping[tuple[str, str], Transition]
    actor_kinds: Hook  # (actor, obj) -> set[str]
    errors: WorkflowErrors = WorkflowErrors()
    state_field: str = "state"
    finished_states: frozenset[str] = frozenset()
    select_related: tuple[str, ...] = ()  # loaded with the locked row
    authenticated: Callable[[Any], bool] = _authenticated  # who counts as logged in
    event: Hook | None = None  # (step) -> the timeline row, or None for no timeline
    audit: Hook | None = None  # (step) -> audit_record kwargs (summary, changes, jurisdiction_path)
    validate: tuple[Hook, ...] = ()  # (step): clean step.note / step.options; may raise
    prepare: tuple[Hook, ...] = ()  # (obj, step): after the caller's prepare; may raise
    apply: tuple[Hook, ...] = ()  # (obj, step): after the state and the caller's apply, before save
    after: tuple[Hook, ...] = ()  # (obj, step): after the save, the event and the audit row
    notify: Hook | None = None  # (step, users, kind, title, body, url); default core.notifications
    sync: bool = False  # copy the saved row's fields onto the caller's instance

    def transition_for(self, state: str, action: str) -> Transition | None:
        return self.transitions.get((state, action))

    def actions_from(self, state: str) -> list[str]:
        return [a for (s, a) in self.transitions if s == state]

    def actions_for(self, state: str, kinds: Iterable[str]) -> list[str]:
        """The actions the holder of ``kinds`` may take from ``state``."""
        kinds = set(kinds)
        return [a for (s, a), t in self.transitions.items() if s == state and kinds & t.actors]


@dataclass
class Step:
    """One move in progress: what hooks and the caller's prepare/apply read and fill."""

    workflow: Workflow
    obj: Any
    actor: Any
    kinds: set[str]
    action: str
    from_state: str
    to_state: str
    transition: Transition
    now: datetime
    note: str = ""
    photos: list = field(default_factory=list)
    system: bool = False
    options: dict = field(default_factory=dict)  # call-time extras for the app's hooks
    data: dict = field(default_factory=dict)  # written to the timeline row and the audit row
    extra: dict = field(default_factory=dict)  # objects passed from prepare to apply
    # notifications sent at the end of the step: (users, kind, title, body, url)
    tell: list = field(default_factory=list)
    commit_callbacks: list = field(default_factory=list)
    event: Any = None
    result: Any = None

    def on_commit(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` after the transaction commits (never if it rolls back)."""
        self.commit_callbacks.append(fn)


@cache
def _resolve(hook: str) -> Callable:
    return import_string(hook)


def resolve(hook: Hook | None) -> Callable | None:
    if hook is None or callable(hook):
        return hook
    return _resolve(hook)


def _lock(wf: Workflow, obj) -> models.Model:
    pk = obj.pk if isinstance(obj, models.Model) else obj
    qs = wf.model._default_manager.select_for_update(of=("self",))
    if wf.select_related:
        qs = qs.select_related(*wf.select_related)
    try:
        return qs.get(pk=pk)
    except wf.model.DoesNotExist:
        raise wf.errors.not_found() from None


def _sync(target, source) -> None:
    if target is source or not isinstance(target, models.Model):
        return
    for f in source._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))
    target._state.fields_cache.clear()


def _default_notify(step: Step, users, kind, title, body, url) -> None:
    seen = set()
    for user in users:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        notify(user=user, kind=kind, title=title, body=body, url=url)


def _default_audit(step: Step) -> dict:
    jurisdiction = getattr(step.obj, "jurisdiction", None)
    return {
        "summary": f"{step.workflow.name} {step.action}: {step.from_state} -> {step.to_state}",
        "changes": {"action": step.action, "state": [step.from_state, step.to_state], **step.data},
        "jurisdiction_path": getattr(jurisdiction, "path", ""),
    }


def workflow_transition(
    wf: Workflow, *, obj, action: str, actor, note: str = "", photos=(), system: bool = False,
    prepare: Callable | None = None, apply: Callable | None = None, data: dict | None = None,
    lock: bool = True, confirmed: bool = False, **options,
) -> Step:
    """Move ``obj`` by ``action`` (see the module docstring). ``lock=False`` when the
    caller already holds the row's lock (and passes the locked instance). ``options``
    reach the workflow's hooks as ``step.options``. Returns the ``Step``; ``step.obj``
    (and ``step.result`` unless the caller's apply set it) is the saved row."""
    if not system and not wf.authenticated(actor):
        raise NotAuthenticated()
    photos = [p for p in (photos or ()) if p is not None]
    with transaction.atomic():
        row = _lock(wf, obj) if lock else obj
        kinds = {SYSTEM} if system else set(resolve(wf.actor_kinds)(actor, row))
        if not kinds:
            raise wf.errors.denied(actor, row) if wf.errors.denied else PermissionDenied()
        state = getattr(row, wf.state_field)
        rule = wf.transition_for(state, action)
        if rule is None:
            if state in wf.finished_states and wf.errors.finished is not None:
                raise wf.errors.finished()
            raise wf.errors.invalid()
        if not kinds & rule.actors:
            raise wf.errors.wrong_actor()
        step = Step(workflow=wf, obj=row, actor=actor, kinds=kinds, action=action, from_state=state,
                    to_state=rule.to, transition=rule, now=timezone.now(), note=note or "", photos=photos,
                    system=system, options=options, data=dict(data or {}))
        for hook in wf.validate:
            resolve(hook)(step)
        if rule.reason_required and not step.note:
            raise wf.errors.reason_required()
        if rule.photo_required and not step.photos:
            raise wf.errors.photo_required()
        if rule.confirm_required and not confirmed:
            raise wf.errors.confirm_required()
        if prepare is not None:
            prepare(row, step)
        for hook in wf.prepare:
            resolve(hook)(row, step)
        setattr(row, wf.state_field, step.to_state)
        if apply is not None:
            apply(row, step)
        for hook in wf.apply:
            resolve(hook)(row, step)
        row.save()
        if wf.event is not None:
            step.event = resolve(wf.event)(step)
        audit = resolve(wf.audit)(step) if wf.audit is not None else _default_audit(step)
        audit_record(actor=actor if not system else None, action=AuditAction.UPDATE, obj=row, **audit)
        for hook in wf.after:
            resolve(hook)(row, step)
        send = resolve(wf.notify) or _default_notify
        for users, kind, title, body, url in step.tell:
            send(step, users, kind, title, body, url)
        for fn in step.commit_callbacks:
            transaction.on_commit(fn)
    if wf.sync:
        _sync(obj, row)
    if step.result is None:
        step.result = row
    return step

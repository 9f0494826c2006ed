"""Shared by the case services: the one entry to the workflow engine (``_transition``),
login checks, text limits, labels, page URLs, row locking and the category as it
applies in the case's district."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from yizhan.core.errors import NotAuthenticated
from yizhan.core.workflow import Step, workflow_transition
from yizhan.reports import errors as E
from yizhan.reports import workflow
from yizhan.reports.choices import CaseAction, CaseState
from yizhan.reports.models import Case
from yizhan.reports.selectors.setup import category_effective

S, A = CaseState, CaseAction


def _authenticated(actor) -> bool:
    return bool(getattr(actor, "is_authenticated", False)) and getattr(actor, "is_active", True)


def _require_login(actor) -> None:
    if not _authenticated(actor):
        raise NotAuthenticated()


def _text(value, *, field: str, limit: int) -> str:
    text = "" if value is None else str(value).strip()
    if len(text) > limit:
        raise E.TextTooLong(field=field, limit=limit)
    return text


def _label(user) -> str:
    if user is None:
        return "system"
    return (getattr(user, "display_name", "") or user.get_username())[:150]


def _url(name: str, number: str, fallback: str) -> str:
    try:
        return reverse(f"reports:{name}", args=[number])
    except NoReverseMatch:
        return fallback


def _staff_url(case: Case) -> str:
    return _url("work_case", case.number, f"/work/c/{case.number}/")


def _console_url(case: Case) -> str:
    return _url("console_case", case.number, f"/dispatch/c/{case.number}/")


def _public_url(case: Case) -> str:
    return _url("case_public", case.number, f"/reports/c/{case.number}/")


def _sync(target: Case, source: Case) -> None:
    """Copy the locked, updated row onto the caller's instance."""
    if target is source:
        return
    for f in Case._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))
    target._state.fields_cache.clear()


def _lock(case: Case | int) -> Case:
    pk = case if isinstance(case, int) else case.pk
    try:
        return (
            Case.objects.select_for_update(of=("self",))
            .select_related("category", "jurisdiction")
            .get(pk=pk)
        )
    except Case.DoesNotExist:
        raise E.CaseNotFound() from None


def _effective(case: Case):
    """The case's category as it applies in the case's district (per-district overrides
    of department, urgency, clock and stage limits; ``selectors.category_effective``)."""
    return category_effective(category=case.category, jurisdiction=case.jurisdiction)


def _transition(*, actor, case: Case, action: str, note="", photos=(), system: bool = False,
                prepare=None, apply=None, public: bool | None = None, lock: bool = True,
                public_reply="") -> Step:
    """Run one move of the case workflow: ``workflow.CASE`` on the engine
    (``core.workflow.workflow_transition``; the case's hooks are in steps.py).
    ``prepare(case, step)`` validates and may raise before anything is written;
    ``apply(case, step)`` changes the case's fields (after the state is set, before the
    clock and the save); both may add to ``step.data`` (the event's and the audit's
    data) and ``step.tell`` (notifications). ``public`` overrides whether the timeline
    line shows on the public page. ``lock=False`` when the caller holds the row lock."""
    return workflow_transition(workflow.CASE, obj=case, action=action, actor=actor, note=note, photos=photos,
                               system=system, prepare=prepare, apply=apply, lock=lock, public=public,
                               public_reply=public_reply)

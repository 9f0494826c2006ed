"""Who is who on a case (``actor_kinds``: reporter / dispatcher / handler) and who is
told: the dispatchers of a node, the handlers of a case, the supervisors an escalation
goes to, and the helpers that send the notifications."""

from __future__ import annotations

from django.db.models import F

from yizhan.core import permissions
from yizhan.core.errors import Message
from yizhan.core.notifications import notify
from yizhan.jurisdictions.selectors import codes_deepest_first as _codes_deepest_first
from yizhan.reports import workflow
from yizhan.reports.models import Case, DepartmentMember
from yizhan.reports.services.cases.common import S, _public_url

DISPATCH_ROLES = tuple(r for r, perms in permissions.ROLE_PERMISSIONS.items() if "reports.dispatch" in perms)


# who is who on a case: declared with the workflow (reports/workflow.py)
actor_kinds = workflow.case_actor_kinds
_denied = workflow.case_denied


# ---- people to tell ------------------------------------------------------------------


def _dispatchers(case: Case, *, path: str | None = None) -> list:
    """Holders of reports.dispatch on the nearest ancestor-or-self of the case's node
    that has any (the community's centre, else the street's, ...)."""

    from yizhan.accounts.models import User

    codes = _codes_deepest_first(path or case.jurisdiction.path)
    # one query: the active holders of a dispatch role on any node of the chain, with the node
    users = list(
        User.objects.filter(is_active=True, role_grants__role__in=DISPATCH_ROLES,
                            role_grants__jurisdiction__code__in=codes)
        .annotate(grant_code=F("role_grants__jurisdiction__code")).order_by("pk")
    )
    for code in codes:
        out, seen = [], set()
        for user in users:
            if user.grant_code == code and user.pk not in seen:
                seen.add(user.pk)
                out.append(user)
        if out:
            return out
    return []


def _handlers(case: Case) -> list:
    if case.assignee_id:
        return [case.assignee] if case.assignee and case.assignee.is_active else []
    if case.department_id:
        from yizhan.accounts.models import User

        return list(User.objects.filter(
            is_active=True, pk__in=DepartmentMember.objects.filter(department_id=case.department_id).values("user_id")
        ))
    return []


def _tell(users, *, kind: str, title: Message, body: Message | None = None, url: str = "",
          jurisdiction=None) -> int:
    """Notify each user once. ``jurisdiction`` is where it happened (the case's node):
    the notifications outbox routes webhook subscriptions by it."""
    seen = set()
    for user in users:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        notify(user=user, kind=kind, title=title, body=body, url=url, jurisdiction=jurisdiction)
    return len(seen)


def _tell_reporter(case: Case, *, kind: str, title: Message, body: Message | None = None) -> None:
    if case.reporter_id and case.reporter and case.reporter.is_active:
        notify(user=case.reporter, kind=kind, title=title, body=body, url=_public_url(case),
               jurisdiction=case.jurisdiction)


def _supervisors(case: Case, node) -> list:
    """Who hears of an escalation to ``node``: the holders of reports.dispatch on the
    node or, when it has none, on the nearest ancestor that has some; the department's
    leads; and when nobody holds reports.dispatch anywhere up the chain, the
    superusers (an escalation never goes to nobody)."""
    from yizhan.accounts.models import User

    users = _dispatchers(case, path=node.path)
    if not users:
        users = list(User.objects.filter(is_active=True, is_superuser=True).order_by("pk"))
    if case.department_id:
        users += list(User.objects.filter(
            is_active=True,
            pk__in=DepartmentMember.objects.filter(department_id=case.department_id, is_lead=True).values("user_id"),
        ))
    return users


def _stage_owners(case: Case) -> list:
    """Whose move it is: the handlers while the case is with them, else the centre."""
    if case.state in (S.DISPATCHED, S.IN_PROGRESS):
        return _handlers(case) or _dispatchers(case)
    return _dispatchers(case)

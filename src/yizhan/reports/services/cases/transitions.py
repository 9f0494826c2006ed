"""The workflow transitions of a case: one service per action, ``case_act``, bulk dispatch, merging.

Every move of a case goes through ``_transition`` (common.py), which runs
``workflow.CASE`` on the one engine (``core.workflow.workflow_transition``): it locks
the case row (``select_for_update``, so two people acting on one case cannot both
win), resolves the actor's kinds on this case (reporter / dispatcher / handler /
system, ``workflow.case_actor_kinds``), looks the (state, action) pair up in the
table, checks the written reason and photos, applies the action, and runs the case's
hooks (steps.py: milestones, the stage clock, the ``CaseEvent`` with its photos, the
audit row, the notifications and — on verification — the ``reports.case_verified``
domain event), all in one transaction. ``Case.state`` is assigned nowhere else.

Denials, in this order: not logged in → ``NotAuthenticated``; nothing to do with the
case (not its reporter, no dispatch right there, not its handler) →
``OutOfJurisdiction`` / ``PermissionDenied``; a pair not in the table (including any
edit of a finished case) → ``InvalidTransition``; a pair whose actor kinds do not
include the actor's → ``PermissionDenied``.
"""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta

from django.db import transaction

from yizhan.core import permissions
from yizhan.core.errors import AppError, Message
from yizhan.core.workflow import workflow_transition
from yizhan.reports import errors as E
from yizhan.reports import routing, workflow
from yizhan.reports.choices import Actor, ExtensionState
from yizhan.reports.models import (
    FINISHED_STATES,
    OPEN_STATES,
    Case,
    CaseEvent,
    CaseSupporter,
    Department,
    ExtensionRequest,
)
from yizhan.reports.services.cases.audience import (
    _dispatchers,
    _handlers,
)
from yizhan.reports.services.cases.clocks import _deadline
from yizhan.reports.services.cases.common import (
    A,
    _authenticated,
    _console_url,
    _effective,
    _label,
    _lock,
    _public_url,
    _require_login,
    _staff_url,
    _sync,
    _transition,
)
from yizhan.reports.services.cases.submit import case_support

MAX_EXTENSION_MINUTES = 60 * 24 * 90
MAX_BULK = 200

# ---- the transitions -----------------------------------------------------------------


def case_accept(*, actor, case: Case, note="", public_reply="") -> Case:
    def apply(c, step):
        step.tell.append(([c.reporter] if c.reporter_id else [], "case_accepted",
                          Message(f"您的上报已立案：{c.number}", f"Your report was accepted: {c.number}"),
                          None, _public_url(c)))

    return _transition(actor=actor, case=case, action=A.ACCEPT, note=note, public_reply=public_reply, apply=apply).result


def case_reject(*, actor, case: Case, note="", public_reply="") -> Case:
    def apply(c, step):
        c.reject_reason = step.note[:500]
        step.tell.append(([c.reporter] if c.reporter_id else [], "case_rejected",
                          Message(f"您的上报未予立案：{c.number}", f"Your report was not accepted: {c.number}"),
                          Message(reply[:200], reply[:200]) if (reply := step.options["public_reply"]) else None,
                          _public_url(c)))

    return _transition(actor=actor, case=case, action=A.REJECT, note=note, public_reply=public_reply, apply=apply).result


def _resolve_department(case: Case, department) -> Department:
    if department is None or department == "":
        dept = routing.department_for(jurisdiction=case.jurisdiction, department_code=_effective(case).department_code)
        if dept is None:
            raise E.NoDepartment()
        return dept
    if isinstance(department, Department):
        dept = Department.objects.select_related("jurisdiction").filter(pk=department.pk, active=True).first()
    elif isinstance(department, int) or (isinstance(department, str) and department.isdigit()):
        dept = Department.objects.select_related("jurisdiction").filter(pk=int(department), active=True).first()
    else:
        dept = routing.department_for(jurisdiction=case.jurisdiction, department_code=str(department).strip())
    if dept is None or not case.jurisdiction.path.startswith(dept.jurisdiction.path):
        raise E.UnknownDepartment()
    return dept


def _resolve_assignee(case: Case, assignee, dept: Department | None, now: datetime):
    from yizhan.accounts.models import User

    if assignee in (None, ""):
        uid = routing.assignee_id_for(grid=case.jurisdiction, at=now, fresh=True)
        return User.objects.filter(pk=uid, is_active=True).first() if uid else None
    if isinstance(assignee, User):
        user = assignee
    else:
        try:
            user = User.objects.filter(pk=int(assignee)).first()
        except (TypeError, ValueError):
            user = User.objects.filter(username=str(assignee)).first()
    if user is None or not user.is_active or not permissions.can(user, "reports.handle", case.jurisdiction.path):
        raise E.InvalidAssignee()
    return user


def _dispatch_apply(department, assignee):
    def prepare(c, step):
        dept = _resolve_department(c, department)
        step.extra["dept"] = dept
        step.extra["assignee"] = _resolve_assignee(c, assignee, dept, step.now)

    def apply(c, step):
        dept, user = step.extra["dept"], step.extra["assignee"]
        step.data.update({"department": dept.code, "department_name": dept.name,
                          "assignee": user.pk if user else None, "from_department": c.department_id})
        c.department = dept
        c.assignee = user
        title = Message(f"新工单：{c.category.name} {c.number}", f"New work order: {c.category.name_en or c.category.name} {c.number}")
        body = Message(c.address or c.description[:80], c.address or c.description[:80])
        step.tell.append((_handlers(c), "case_dispatched", title, body, _staff_url(c)))

    return prepare, apply


def case_dispatch(*, actor, case: Case, department: Department | str | None = None, assignee=None, note="",
                  public_reply="") -> Case:
    prepare, apply = _dispatch_apply(department, assignee)
    return _transition(actor=actor, case=case, action=A.DISPATCH, note=note, public_reply=public_reply, prepare=prepare, apply=apply).result


def case_transfer(*, actor, case: Case, department, assignee=None, note="", public_reply="") -> Case:
    prepare, dispatch_apply = _dispatch_apply(department, assignee)

    def prepare_transfer(c, step):
        if department in (None, ""):  # a transfer names where to (routing would pick the same)
            raise E.UnknownDepartment()
        prepare(c, step)
        if assignee in (None, ""):
            step.extra["assignee"] = None  # the new department picks its own handler

    return _transition(actor=actor, case=case, action=A.TRANSFER, note=note, public_reply=public_reply, prepare=prepare_transfer,
                       apply=dispatch_apply).result


def case_start(*, actor, case: Case, note="", public_reply="") -> Case:
    def apply(c, step):
        if c.assignee_id is None and _authenticated(step.actor):
            c.assignee = step.actor  # a department member signs for it: it is theirs now

    return _transition(actor=actor, case=case, action=A.START, note=note, public_reply=public_reply, apply=apply).result


def case_progress(*, actor, case: Case, note="", photos=(), public_reply="") -> Case:
    def prepare(c, step):
        if not step.note and not [p for p in (photos or ()) if p is not None]:
            raise E.ReasonRequired(Message("请填写进展或上传照片", "Please write what was done or add a photo"))

    return _transition(actor=actor, case=case, action=A.PROGRESS, note=note, public_reply=public_reply, photos=photos, prepare=prepare).result


def case_return(*, actor, case: Case, note="", public_reply="") -> Case:
    def apply(c, step):
        step.data.update({"department": c.department.code if c.department_id else None,
                          "assignee": c.assignee_id})
        c.department = None
        c.assignee = None
        step.tell.append((_dispatchers(c), "case_returned",
                          Message(f"工单被退回：{c.number}", f"Work order returned: {c.number}"),
                          Message(step.note[:200], step.note[:200]), _console_url(c)))

    return _transition(actor=actor, case=case, action=A.RETURN, note=note, public_reply=public_reply, apply=apply).result


def case_handle(*, actor, case: Case, note="", photos=(), public_reply="") -> Case:
    def apply(c, step):
        step.tell.append(([c.reporter] if c.reporter_id else [], "case_handled",
                          Message(f"您上报的问题已处置，请确认：{c.number}",
                                  f"Your report was dealt with; please confirm: {c.number}"),
                          None, _public_url(c)))

    return _transition(actor=actor, case=case, action=A.HANDLE, note=note, public_reply=public_reply, photos=photos, apply=apply).result


def _whole(value) -> int | None:
    """A whole number from an int or a string of digits (forms post strings), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def case_request_extension(*, actor, case: Case, minutes: int, note="", public_reply="") -> ExtensionRequest:
    minutes_i = _whole(minutes)

    def prepare(c, step):
        if minutes_i is None or not 0 < minutes_i <= MAX_EXTENSION_MINUTES:
            raise E.InvalidMinutes(limit=MAX_EXTENSION_MINUTES)
        if ExtensionRequest.objects.filter(case=c, state=ExtensionState.PENDING).exists():
            raise E.ExtensionPending()

    def apply(c, step):
        step.data["minutes"] = minutes_i
        step.extra["request"] = ExtensionRequest.objects.create(
            case=c, requested_by=step.actor, minutes=minutes_i, reason=step.note[:500]
        )
        step.tell.append((_dispatchers(c), "case_extension",
                          Message(f"延期申请：{c.number}（{minutes_i} 分钟）",
                                  f"Extension requested: {c.number} ({minutes_i} min)"),
                          Message(step.note[:200], step.note[:200]), _console_url(c)))

    step = _transition(actor=actor, case=case, action=A.REQUEST_EXTENSION, note=note, public_reply=public_reply, prepare=prepare, apply=apply)
    return step.extra["request"]


def case_decide_extension(*, actor, case: Case, approve: bool, note="", public_reply="") -> Case:
    def prepare(c, step):
        if approve is None:
            raise E.InvalidField(Message("请选择批准或不批准", "Choose approve or deny"), field="approve")
        req = ExtensionRequest.objects.select_for_update().filter(case=c, state=ExtensionState.PENDING).first()
        if req is None:
            raise E.NoPendingExtension()
        req.case = c
        step.extra["request"] = req

    def apply(c, step):
        req = workflow_transition(workflow.EXTENSION, obj=step.extra["request"], actor=step.actor, note=step.note,
                                  action=workflow.APPROVE if approve else workflow.DENY, lock=False).obj
        step.data.update({"request": req.pk, "approved": bool(approve), "minutes": req.minutes})
        if approve:
            base = c.stage_due_at or step.now
            c.stage_due_at = _deadline(c, base, req.minutes)
            if c.stage_due_at > step.now:  # a fresh deadline: warnings and escalations start over
                c.warned_at = None
                c.overdue_at = None
                c.escalation_level = 0
                c.escalated_to = None
        verdict = Message("已批准", "approved") if approve else Message("未批准", "denied")
        step.tell.append(([req.requested_by], "case_extension",
                          Message(f"延期申请{verdict.zh}：{c.number}", f"Extension {verdict.en}: {c.number}"),
                          None, _staff_url(c)))

    return _transition(actor=actor, case=case, action=A.DECIDE_EXTENSION, note=note, public_reply=public_reply, prepare=prepare,
                       apply=apply).result


def case_park(*, actor, case: Case, note="", public_reply="") -> Case:
    def apply(c, step):
        c.parked_reason = step.note[:500]

    return _transition(actor=actor, case=case, action=A.PARK, note=note, public_reply=public_reply, apply=apply).result


def case_unpark(*, actor, case: Case, note="", public_reply="") -> Case:
    def apply(c, step):
        step.data["parked_reason"] = c.parked_reason
        c.parked_reason = ""

    return _transition(actor=actor, case=case, action=A.UNPARK, note=note, public_reply=public_reply, apply=apply).result


def case_verify(*, actor, case: Case, note="", photos=(), public_reply="") -> Case:
    return _transition(actor=actor, case=case, action=A.VERIFY, note=note, public_reply=public_reply, photos=photos).result


def _rework(c, step, title: Message):
    step.tell.append((_handlers(c), "case_dispatched", title, Message(step.note[:200], step.note[:200]),
                      _staff_url(c)))


def case_verify_fail(*, actor, case: Case, note="", photos=(), public_reply="") -> Case:
    def apply(c, step):
        _rework(c, step, Message(f"核查未通过，请重新处置：{c.number}", f"Not fixed on inspection; please redo: {c.number}"))

    return _transition(actor=actor, case=case, action=A.VERIFY_FAIL, note=note, public_reply=public_reply, photos=photos, apply=apply).result


def case_confirm(*, actor, case: Case, note="") -> Case:
    return _transition(actor=actor, case=case, action=A.CONFIRM, note=note).result


def case_close(*, actor, case: Case, note="", public_reply="") -> Case:
    def apply(c, step):
        step.tell.append(([c.reporter] if c.reporter_id else [], "case_closed",
                          Message(f"您上报的问题已结案，欢迎评价：{c.number}",
                                  f"Your report is closed; please rate it: {c.number}"),
                          None, _public_url(c)))

    return _transition(actor=actor, case=case, action=A.CLOSE, note=note, public_reply=public_reply, apply=apply).result


def case_evaluate(*, actor, case: Case, rating: int, note="") -> Case:
    value = _whole(rating)

    def prepare(c, step):
        if value is None or not 1 <= value <= 5:
            raise E.InvalidRating()

    def apply(c, step):
        c.rating = value
        c.rating_comment = step.note[:500]
        step.data["rating"] = value

    return _transition(actor=actor, case=case, action=A.EVALUATE, note=note, prepare=prepare, apply=apply).result


def case_follow_up(*, actor, case: Case, note="", public_reply="") -> Case:
    def prepare(c, step):
        if not step.note:
            raise E.ReasonRequired(Message("请填写回访记录", "Please write down the follow-up call"))

    return _transition(actor=actor, case=case, action=A.FOLLOW_UP, note=note, public_reply=public_reply, prepare=prepare).result


def case_reopen(*, actor, case: Case, note="", public_reply="") -> Case:
    """Not fixed after all: the reporter (within ``workflow.REOPEN_DAYS`` of closing), or
    the centre when the follow-up call (回访) finds it unfixed. The closed case's
    milestones and rating are cleared (kept in the event's data), so figures and the
    public page no longer show it as closed or rated."""
    def prepare(c, step):
        if c.state in FINISHED_STATES and Actor.DISPATCHER not in step.kinds:
            last_close = (
                CaseEvent.objects.filter(case=c, action=A.CLOSE).order_by("-at", "-id")
                .values_list("at", flat=True).first()
            ) or c.closed_at
            if last_close and step.now - last_close > timedelta(days=workflow.REOPEN_DAYS):
                raise E.ReopenWindowPassed(days=workflow.REOPEN_DAYS)

    def apply(c, step):
        c.reopen_count += 1
        previous = {
            "rating": c.rating, "rating_comment": c.rating_comment,
            **{f: getattr(c, f).isoformat() if getattr(c, f) else None
               for f in ("verified_at", "closed_at", "evaluated_at")},
        }
        if any(v not in (None, "") for v in previous.values()):
            step.data["previous"] = previous
        c.rating = None
        c.rating_comment = ""
        c.verified_at = c.closed_at = c.evaluated_at = None
        by_reporter = Actor.REPORTER in step.kinds and Actor.DISPATCHER not in step.kinds
        title = (Message(f"上报人反映问题未解决：{c.number}", f"The reporter says it is not fixed: {c.number}")
                 if by_reporter else
                 Message(f"回访发现问题未解决，请重新处置：{c.number}", f"Not fixed on follow-up; please redo: {c.number}"))
        _rework(c, step, title)

    return _transition(actor=actor, case=case, action=A.REOPEN, note=note, public_reply=public_reply,
                       prepare=prepare, apply=apply).result


def case_merge(*, actor, case: Case, into: Case, note="", public_reply="") -> Case:
    """Fold a duplicate into ``into``: its reporter and supporters become supporters there."""
    _require_login(actor)
    if into is None or not isinstance(into, Case) or into.pk == case.pk:
        raise E.InvalidMerge()
    with transaction.atomic():
        first, second = sorted([case.pk, into.pk])
        locked = {c.pk: c for c in [_lock(first), _lock(second)]}
        target = locked[into.pk]

        def prepare(c, step):
            if target.state not in OPEN_STATES or not permissions.can(actor, "reports.dispatch", target.jurisdiction.path):
                raise E.InvalidMerge()

        def apply(c, step):
            c.merged_into = target
            step.data.update({"into": target.number})
            people = set(CaseSupporter.objects.filter(case=c).values_list("user_id", flat=True))
            if c.reporter_id:
                people.add(c.reporter_id)
            people.discard(target.reporter_id)
            have = set(CaseSupporter.objects.filter(case=target).values_list("user_id", flat=True))
            CaseSupporter.objects.bulk_create([CaseSupporter(case=target, user_id=u) for u in sorted(people - have)])
            CaseSupporter.objects.filter(case=c).delete()
            target.supporter_count = CaseSupporter.objects.filter(case=target).count()
            c.supporter_count = 0
            target.save(update_fields=["supporter_count", "updated_at"])
            CaseEvent.objects.create(
                case=target, action=A.MERGE, from_state=target.state, to_state=target.state, actor=actor,
                actor_label=_label(actor), at=step.now, note=step.note, data={"merged": c.number}, is_public=False,
            )

        result = _transition(actor=actor, case=locked[case.pk], action=A.MERGE, note=note, public_reply=public_reply, prepare=prepare,
                             apply=apply, lock=False).result
    _sync(case, result)
    _sync(into, target)
    return result


def case_bulk_dispatch(*, actor, cases: list[Case], department=None, note="", public_reply="") -> list[Case]:
    """Dispatch every case or none (one transaction; the first error undoes all)."""
    _require_login(actor)
    cases = list(cases or [])
    if not cases or len(cases) > MAX_BULK:
        raise E.BulkEmpty(limit=MAX_BULK)
    out = []
    with transaction.atomic():
        for case in sorted(cases, key=lambda c: c.pk):
            try:
                out.append(case_dispatch(actor=actor, case=case, department=department, note=note,
                                         public_reply=public_reply))
            except AppError as err:
                err.field = err.field or "cases"
                err.case_number = case.number  # which case stopped the batch
                raise
    by_pk = {c.pk: c for c in out}
    return [by_pk[c.pk] for c in cases]


# ---- one entry point for the API and pages -------------------------------------------

ACTION_SERVICES = {
    A.ACCEPT: case_accept,
    A.REJECT: case_reject,
    A.DISPATCH: case_dispatch,
    A.TRANSFER: case_transfer,
    A.START: case_start,
    A.PROGRESS: case_progress,
    A.RETURN: case_return,
    A.HANDLE: case_handle,
    A.REQUEST_EXTENSION: case_request_extension,
    A.DECIDE_EXTENSION: case_decide_extension,
    A.PARK: case_park,
    A.UNPARK: case_unpark,
    A.VERIFY: case_verify,
    A.VERIFY_FAIL: case_verify_fail,
    A.CONFIRM: case_confirm,
    A.CLOSE: case_close,
    A.EVALUATE: case_evaluate,
    A.FOLLOW_UP: case_follow_up,
    A.REOPEN: case_reopen,
    A.MERGE: case_merge,
    A.SUPPORT: case_support,
}
_ACCEPTS = {a: set(inspect.signature(f).parameters) - {"actor", "case"} for a, f in ACTION_SERVICES.items()}
_REQUIRED = {
    a: {n for n, p in inspect.signature(f).parameters.items() if p.default is inspect.Parameter.empty}
    for a, f in ACTION_SERVICES.items()
}


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "approve", "approved")
    return bool(value)


def case_act(*, actor, case: Case, action: str, **kwargs) -> Case:
    """Run the service of ``action`` with the keyword arguments it takes (others are
    ignored, so a form may post every field). Returns the case."""
    _require_login(actor)
    service = ACTION_SERVICES.get(str(action or ""))
    if service is None:
        raise E.UnknownAction()
    args = {k: v for k, v in kwargs.items() if k in _ACCEPTS[action] and v is not None}
    if "approve" in args:
        args["approve"] = _truthy(args["approve"])
    # required arguments left out reach the service as None: it refuses them after the
    # permission checks, so a caller without rights learns nothing from a bad form
    for name in ("rating", "minutes", "department", "approve"):
        if name in _ACCEPTS[action] and name not in args and name in _REQUIRED[action]:
            args[name] = None
    if action == A.MERGE:
        into = args.get("into")
        if not isinstance(into, Case):
            into = Case.objects.filter(number=str(into or "").strip()).first()
        if into is None:
            raise E.InvalidMerge()
        args["into"] = into
    result = service(actor=actor, case=case, **args)
    return case if isinstance(result, ExtensionRequest) else result

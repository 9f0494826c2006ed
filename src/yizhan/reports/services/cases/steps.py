"""What every move of a case does besides the table: the hooks of ``workflow.CASE``
(named there by path, run by ``core.workflow.workflow_transition`` in this order):

* ``case_validate``      the note and the public reply within their limits;
* ``case_clean_photos``  the step's photos cleaned (EXIF stripped, size checked);
* ``case_milestones_and_clock``  accepted_at/dispatched_at/... set once, the stage
  clock restarted when the case enters a new stage;
* ``case_event``         the ``CaseEvent`` line of the timeline;
* ``case_audit``         what the audit row says;
* ``case_after``         the photos saved with the event, a pending extension request
  lapsed when its stage is over (``workflow.EXTENSION``), and on verification the
  ``reports.case_verified`` domain event;
* ``case_notify``        the notifications collected in ``step.tell``, routed by the
  case's jurisdiction.

``note`` is internal (staff, and the reporter's own words on their actions);
``step.options["public_reply"]`` is the reply the public and the reporter read
(FixMyStreet's public update). The public timeline shows an event's action and time
and its public reply, never its note.
"""

from __future__ import annotations

from django.utils import timezone

from yizhan.core.events import event_emit
from yizhan.core.workflow import workflow_transition
from yizhan.reports import workflow
from yizhan.reports.choices import ExtensionState, PhotoStage
from yizhan.reports.models import Case, CaseEvent, ExtensionRequest
from yizhan.reports.services.cases.audience import _tell
from yizhan.reports.services.cases.clocks import _clock_start, _restarts_clock
from yizhan.reports.services.cases.common import A, S, _authenticated, _label, _text
from yizhan.reports.services.cases.photos import _clean_photos, _save_photos

MAX_NOTE = 2000
# Which photo stage an action's photos are.
PHOTO_STAGE = {
    A.PROGRESS: PhotoStage.PROGRESS,
    A.HANDLE: PhotoStage.AFTER,
    A.VERIFY: PhotoStage.VERIFY,
    A.VERIFY_FAIL: PhotoStage.VERIFY,
}
# Timeline lines the public case page does not show (internal work of the office).
PRIVATE_ACTIONS = {
    A.TRANSFER, A.RETURN, A.REQUEST_EXTENSION, A.DECIDE_EXTENSION, A.FOLLOW_UP, A.ESCALATE, A.SUPPORT,
    A.PARK, A.UNPARK,
}
# States in which a handler may ask for more time (a pending request lapses outside them).
EXTENSIBLE = (S.DISPATCHED, S.IN_PROGRESS)
MILESTONES = {
    S.ACCEPTED: "accepted_at",
    S.DISPATCHED: "dispatched_at",
    S.HANDLED: "handled_at",
    S.VERIFIED: "verified_at",
    S.CLOSED: "closed_at",
    S.EVALUATED: "evaluated_at",
}


def case_validate(step) -> None:
    step.note = _text(step.note, field="note", limit=MAX_NOTE)
    step.options["public_reply"] = _text(step.options.get("public_reply", ""), field="public_reply",
                                         limit=MAX_NOTE)


def case_clean_photos(case: Case, step) -> None:
    step.extra["files"] = _clean_photos(step.photos)


def case_milestones_and_clock(case: Case, step) -> None:
    milestone = MILESTONES.get(step.to_state)
    if milestone and getattr(case, milestone) is None and step.to_state != step.from_state:
        setattr(case, milestone, step.now)
    step.extra["restarted"] = _restarts_clock(step.from_state, step.to_state, step.action)
    if step.extra["restarted"]:
        _clock_start(case, step.now)


def case_event(step) -> CaseEvent:
    actor, public, public_reply = step.actor, step.options.get("public"), step.options.get("public_reply", "")
    kinds_sorted = sorted(k for k in step.kinds if k in step.transition.actors)
    return CaseEvent.objects.create(
        case=step.obj, action=step.action, from_state=step.from_state, to_state=step.to_state,
        actor=actor if _authenticated(actor) else None, actor_label=_label(actor if not step.system else None),
        at=step.now, note=step.note, public_note=public_reply, data={"as": kinds_sorted, **step.data},
        is_public=(step.action not in PRIVATE_ACTIONS or bool(public_reply)) if public is None else public,
    )


def _audit_data(data: dict) -> dict:
    return {k: v for k, v in data.items() if isinstance(v, (str, int, float, bool, type(None), list))}


def case_audit(step) -> dict:
    case = step.obj
    return {
        "summary": f"{step.action} {case.number}: {step.from_state} -> {step.to_state}",
        "changes": {"action": step.action, "state": [step.from_state, step.to_state], **_audit_data(step.data)},
        "jurisdiction_path": case.jurisdiction.path,
    }


def extensions_lapse(case: Case) -> None:
    """The stage an extension was asked for is over: a pending request lapses."""
    for request in ExtensionRequest.objects.select_for_update().filter(case=case, state=ExtensionState.PENDING):
        request.case = case
        workflow_transition(workflow.EXTENSION, obj=request, action=workflow.LAPSE, actor=None, system=True,
                            lock=False)


def case_after(case: Case, step) -> None:
    if step.from_state in EXTENSIBLE and (step.extra.get("restarted") or step.to_state not in EXTENSIBLE):
        extensions_lapse(case)
    _save_photos(case, step.extra.get("files") or [], stage=PHOTO_STAGE.get(step.action, PhotoStage.PROGRESS),
                 event=step.event, actor=step.actor)
    if step.to_state == S.VERIFIED and step.from_state != S.VERIFIED:
        _emit_verified(case)


def case_notify(step, users, kind, title, body, url) -> None:
    _tell(users, kind=kind, title=title, body=body, url=url, jurisdiction=step.obj.jurisdiction)


def _emit_verified(case: Case) -> None:
    event_emit(
        name="reports.case_verified", aggregate_type="reports.case", aggregate_id=case.pk,
        payload={
            "case_id": case.pk,
            "number": case.number,
            "reporter_id": case.reporter_id,
            "category": case.category.code,
            "is_hazard": case.category.is_hazard,
            "verified_at": (case.verified_at or timezone.now()).isoformat(),
        },
    )

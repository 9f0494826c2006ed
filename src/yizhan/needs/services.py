"""Every write of the needs app (suggestion box, wish wall, forums, needs).

Keyword-only arguments with ``actor`` first, one transaction each, an audit row in
it; states change only on the engine (``core.workflow``), by the workflows declared
in ``workflow.py`` (``NEED``, ``WISH``, ``SUGGESTION``). Support counters move
with ``F()`` behind a unique constraint, so a +1 is counted once per person even
when two taps race.

Who may do what:
* anyone (even not logged in) drops a suggestion; a logged-in user posts a wish and
  supports wishes;
* staff with ``needs.manage`` on the item's jurisdiction answer suggestions, moderate
  wishes, record forums and create, assign, decline and reopen needs;
* the owner of a need (a staff user) starts it, adds progress and solves it.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from yizhan.accounts.models import RoleGrant, User
from yizhan.core import permissions
from yizhan.core.audit import audit_record
from yizhan.core.errors import (
    Message,
    NotAuthenticated,
)
from yizhan.core.geo import validate_lat_lng
from yizhan.core.middleware import current_ip
from yizhan.core.models import AuditAction, AuditLog
from yizhan.core.notifications import notify
from yizhan.core.pii import redact
from yizhan.core.workflow import workflow_transition
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.jurisdictions.selectors import jurisdiction_locate
from yizhan.needs import errors as E
from yizhan.needs import workflow as W
from yizhan.needs.choices import (
    NeedAction,
    NeedSource,
    NeedState,
    SuggestionCategory,
    SuggestionOutcome,
    WishAction,
)
from yizhan.needs.models import Forum, Need, NeedEvent, Suggestion, Wish, WishSupport

SUGGESTION_MAX = 2000
WISH_MAX = 500
TITLE_MAX = 200
NOTE_MAX = 2000
MAX_ATTENDEES = 100_000
# Visitors without an account: at most this many suggestions per IP address per hour
# (counted from the audit log, which records the IP of every write).
ANONYMOUS_SUGGESTIONS_PER_HOUR = 10

# ---- helpers -------------------------------------------------------------------


def _logged_in(actor) -> bool:
    return bool(getattr(actor, "is_authenticated", False))


def _require_login(actor) -> None:
    if not _logged_in(actor):
        raise NotAuthenticated()


def _text(value, *, field: str, limit: int, required: bool = False, what: Message | None = None) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        what = what or Message("内容", "text")
        raise E.Required(field=field, what=what.zh, what_en=what.en)
    if len(text) > limit:
        raise E.TextTooLong(field=field, limit=limit)
    return text


def _date(value, *, field: str, required: bool = True) -> date | None:
    if value in (None, ""):
        if required:
            raise E.InvalidDate(field=field)
        return None
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise E.InvalidDate(field=field) from None


def _count(value, *, field: str, limit: int) -> int:
    if isinstance(value, bool):
        raise E.InvalidNumber(field=field, limit=limit)
    try:
        number = int(str(value).strip()) if value not in (None, "") else 0
    except ValueError:
        raise E.InvalidNumber(field=field, limit=limit) from None
    if not 0 <= number <= limit:
        raise E.InvalidNumber(field=field, limit=limit)
    return number


def _jurisdiction(value, *, field: str = "jurisdiction"):
    if isinstance(value, Jurisdiction):
        return value
    code = "" if value is None else str(value).strip()
    node = Jurisdiction.objects.filter(code=code).first() if code else None
    if node is None:
        raise E.UnknownJurisdiction(field=field)
    return node


def locate_community(*, lat, lng):
    """The community containing the point (the deepest node above grid level)."""
    chain = jurisdiction_locate(lat=lat, lng=lng)
    if not chain:
        raise E.LocationOutside()
    for node in chain:  # deepest first
        if node.level != "grid":
            return node
    return chain[0]


def _place(*, jurisdiction, lat, lng):
    """(node, lat, lng) from a picked community, or else from a location."""
    if jurisdiction not in (None, ""):
        return _jurisdiction(jurisdiction), None, None
    if lat in (None, "") or lng in (None, ""):
        raise E.LocationRequired()

    lat_f, lng_f = validate_lat_lng(lat, lng)
    return locate_community(lat=lat_f, lng=lng_f), lat_f, lng_f


def _label(user) -> str:
    return user.get_username()[:150] if _logged_in(user) else "anonymous"


def _require_manage(actor, jurisdiction) -> None:
    permissions.require(actor, "needs.manage", jurisdiction)


# ---- suggestion box ---------------------------------------------------------------


def suggestion_submit(
    *, actor, text: str, category: str, jurisdiction=None, lat=None, lng=None, is_anonymous: bool = False
) -> Suggestion:
    """A suggestion from anyone; located to the picked community or the point's.
    Visitors without an account keep ``tracking_code`` to read the reply."""
    text = _text(text, field="text", limit=SUGGESTION_MAX, required=True, what=Message("建议内容", "suggestion"))
    if category not in SuggestionCategory.values:
        raise E.UnknownCategory()
    node, lat_f, lng_f = _place(jurisdiction=jurisdiction, lat=lat, lng=lng)
    author = actor if _logged_in(actor) else None
    if author is None:
        _check_anonymous_rate()
    with transaction.atomic():
        suggestion = Suggestion.objects.create(
            text=text, category=category, author=author, is_anonymous=bool(is_anonymous) or author is None,
            jurisdiction=node, lat=lat_f, lng=lng_f, tracking_code=secrets.token_hex(5).upper(),
        )
        audit_record(
            actor=actor, action=AuditAction.CREATE, obj=suggestion,
            summary=f"suggestion ({category}) {redact(text)[:80]}", jurisdiction_path=node.path,
        )
    return suggestion


def _check_anonymous_rate() -> None:
    from datetime import timedelta

    ip = current_ip()
    if not ip:
        return
    recent = AuditLog.objects.filter(
        object_type="needs.suggestion", action=AuditAction.CREATE, actor__isnull=True, ip=ip,
        at__gte=timezone.now() - timedelta(hours=1),
    ).count()
    if recent >= ANONYMOUS_SUGGESTIONS_PER_HOUR:
        raise E.TooManySuggestions()


def suggestion_answer(
    *, actor, suggestion: Suggestion, outcome: str, reply: str, owner=None, due_on=None, title: str = "",
) -> Suggestion:
    """Reply, adopt, close, or turn into a need (then ``owner`` and ``due_on`` are
    needed); always with a written reply the author reads."""
    _require_manage(actor, suggestion.jurisdiction)
    if outcome not in SuggestionOutcome.values:
        raise E.UnknownAction(field="outcome")
    reply = _text(reply, field="reply", limit=SUGGESTION_MAX)
    if not reply:
        raise E.ReplyRequired()

    def prepare(s, step):
        if outcome == SuggestionOutcome.TO_NEED:
            need = _need_create(
                actor=actor, title=title or s.text[:TITLE_MAX], detail=s.text,
                jurisdiction=s.jurisdiction, owner=owner, due_on=due_on, source=NeedSource.SUGGESTION,
                suggestion=s, raised_on=timezone.localtime(s.created_at).date(),
            )
            step.data["need"] = need.pk

    def apply(s, step):
        s.reply, s.replied_by, s.replied_at = reply, actor, step.now
        if s.author_id:
            step.tell.append(([s.author], "suggestion_replied", Message("您的建议有了答复", "Your suggestion has a reply"),
                              Message(reply[:200], reply[:200]), "/needs/mine/"))

    return workflow_transition(W.SUGGESTION, obj=suggestion, action=outcome, actor=actor, prepare=prepare,
                               apply=apply).obj


# ---- wish wall --------------------------------------------------------------------


def wish_submit(*, actor, text: str, jurisdiction=None, lat=None, lng=None, is_anonymous: bool = False) -> Wish:
    """A wish waiting for moderation (shown on the wall once approved)."""
    _require_login(actor)
    text = _text(text, field="text", limit=WISH_MAX, required=True, what=Message("心愿内容", "wish"))
    node, _lat, _lng = _place(jurisdiction=jurisdiction, lat=lat, lng=lng)
    with transaction.atomic():
        wish = Wish.objects.create(text=text, author=actor, is_anonymous=bool(is_anonymous), jurisdiction=node)
        audit_record(actor=actor, action=AuditAction.CREATE, obj=wish, summary=f"wish {redact(text)[:80]}",
                     jurisdiction_path=node.path)
    return wish


def wish_support(*, actor, wish: Wish) -> tuple[Wish, bool]:
    """+1 once per person (idempotent): returns (wish, created)."""
    _require_login(actor)
    with transaction.atomic():
        state = Wish.objects.filter(pk=wish.pk).values_list("state", flat=True).first()
        if state not in W.WISH_SUPPORTABLE:
            raise E.WishNotOpen() if state else E.WishNotFound()
        try:
            with transaction.atomic():
                WishSupport.objects.create(wish_id=wish.pk, user=actor)
            created = True
        except IntegrityError:  # already supported (or a racing double tap)
            created = False
        if created:
            Wish.objects.filter(pk=wish.pk).update(support_count=F("support_count") + 1)
            audit_record(actor=actor, action=AuditAction.CREATE, object_type="needs.wishsupport",
                         object_id=wish.pk, summary=f"support wish {wish.pk}",
                         jurisdiction_path=wish.jurisdiction.path)
    wish.refresh_from_db(fields=["support_count", "state"])
    return wish, created


_WISH_TOLD = {
    WishAction.APPROVE: Message("您的心愿已上墙", "Your wish is on the wall"),
    WishAction.REJECT: Message("您的心愿未能公开", "Your wish was not published"),
    WishAction.FULFILLED: Message("您的心愿已实现", "Your wish came true"),
}


def _wish_move(*, actor, wish: Wish, action: str, **fields) -> Wish:
    """One move of a wish on the engine (``workflow.WISH``), setting ``fields``."""

    def apply(w, step):
        for key, value in fields.items():
            setattr(w, key, value)
        if w.author_id and action in _WISH_TOLD:
            body = fields.get("reject_reason") or fields.get("fulfil_note") or ""
            step.tell.append(([w.author], f"wish_{action}", _WISH_TOLD[action],
                              Message(body, body) if body else None, "/needs/mine/"))

    return workflow_transition(W.WISH, obj=wish, action=action, actor=actor, apply=apply,
                               data={k: str(v) for k, v in fields.items()}).obj


def wish_approve(*, actor, wish: Wish) -> Wish:
    return _wish_move(actor=actor, wish=wish, action=WishAction.APPROVE, reviewed_by=actor,
                      reviewed_at=timezone.now())


def wish_reject(*, actor, wish: Wish, reason: str) -> Wish:
    reason = _text(reason, field="reason", limit=200)
    if not reason:
        raise E.ReasonRequired(field="reason")
    return _wish_move(actor=actor, wish=wish, action=WishAction.REJECT, reviewed_by=actor,
                      reviewed_at=timezone.now(), reject_reason=reason)


def wish_fulfilling(*, actor, wish: Wish, fulfiller: str, note: str = "") -> Wish:
    """Someone (a caring merchant, a volunteer, a department) takes the wish on."""
    fulfiller = _text(fulfiller, field="fulfiller", limit=100, required=True,
                      what=Message("认领方", "who fulfils it"))
    note = _text(note, field="note", limit=WISH_MAX)
    return _wish_move(actor=actor, wish=wish, action=WishAction.FULFILLING, fulfiller=fulfiller, fulfil_note=note)


def wish_fulfilled(*, actor, wish: Wish, fulfiller: str = "", note: str = "") -> Wish:
    current = Wish.objects.filter(pk=wish.pk).values("fulfiller", "fulfil_note").first() or {}
    fulfiller = _text(fulfiller, field="fulfiller", limit=100) or current.get("fulfiller", "")
    if not fulfiller:
        raise E.Required(field="fulfiller", what="认领方", what_en="who fulfilled it")
    note = _text(note, field="note", limit=WISH_MAX) or current.get("fulfil_note", "")
    return _wish_move(actor=actor, wish=wish, action=WishAction.FULFILLED, fulfiller=fulfiller, fulfil_note=note,
                      fulfilled_at=timezone.now())


def wish_act(*, actor, wish: Wish, action: str, reason: str = "", fulfiller: str = "", note: str = "") -> Wish:
    """The API's and pages' one entry point for moderation and fulfilment."""
    if action == WishAction.APPROVE:
        return wish_approve(actor=actor, wish=wish)
    if action == WishAction.REJECT:
        return wish_reject(actor=actor, wish=wish, reason=reason or note)
    if action == WishAction.FULFILLING:
        return wish_fulfilling(actor=actor, wish=wish, fulfiller=fulfiller, note=note)
    if action == WishAction.FULFILLED:
        return wish_fulfilled(actor=actor, wish=wish, fulfiller=fulfiller, note=note)
    permissions.require(actor, "needs.manage", wish.jurisdiction)
    raise E.UnknownAction()


# ---- forums -----------------------------------------------------------------------


def forum_create(
    *, actor, held_on, group: str, jurisdiction, attendees=0, hosts: str = "", notes: str = "", title: str = "",
    venue: str = "",
) -> Forum:
    """The record of a needs forum (问需会): date, trade or group, who came and hosted."""
    permissions.require(actor, "needs.manage")
    node = _jurisdiction(jurisdiction)
    _require_manage(actor, node)
    held_on = _date(held_on, field="held_on")
    if held_on > timezone.localdate():
        raise E.InvalidDate(Message("会议日期不能晚于今天", "The date cannot be in the future"), field="held_on")
    group = _text(group, field="group", limit=60, required=True, what=Message("参会群体", "trade or group"))
    data = {
        "held_on": held_on, "group": group, "jurisdiction": node,
        "attendees": _count(attendees, field="attendees", limit=MAX_ATTENDEES),
        "hosts": _text(hosts, field="hosts", limit=200), "notes": _text(notes, field="notes", limit=10_000),
        "title": _text(title, field="title", limit=120), "venue": _text(venue, field="venue", limit=120),
    }
    with transaction.atomic():
        forum = Forum.objects.create(recorded_by=actor, **data)
        audit_record(actor=actor, action=AuditAction.CREATE, obj=forum, summary=f"forum {held_on} {group}",
                     jurisdiction_path=node.path)
    return forum


# ---- needs ------------------------------------------------------------------------


def _check_owner(owner, jurisdiction):
    """A staff user working on this jurisdiction (a role on it, above it or inside it)."""
    if owner is None or not getattr(owner, "pk", None):
        raise E.InvalidOwner()
    if getattr(owner, "is_superuser", False):
        return owner
    paths = RoleGrant.objects.filter(user=owner).exclude(role="worker").values_list("jurisdiction__path", flat=True)
    if not any(jurisdiction.path.startswith(p) or p.startswith(jurisdiction.path) for p in paths):
        raise E.InvalidOwner()
    return owner


def _resolve_owner(owner):
    if owner is None or isinstance(owner, User):
        return owner
    text = str(owner).strip()
    if not text:
        return None
    qs = User.objects.filter(pk=int(text)) if text.isdigit() else User.objects.filter(username=text)
    user = qs.first()
    if user is None:
        raise E.InvalidOwner()
    return user


def _event(*, need: Need, actor, action: str, from_state: str, to_state: str, note: str = "", data=None):
    return NeedEvent.objects.create(
        need=need, action=action, from_state=from_state, to_state=to_state, actor=actor if _logged_in(actor) else None,
        actor_label=_label(actor), at=timezone.now(), note=note, data=data or {},
    )


def _notify_owner(need: Need, *, reassigned: bool = False) -> None:
    title = Message(f"新的需求待办理：{need.title[:40]}", f"A need to handle: {need.title[:40]}")
    if reassigned:
        title = Message(f"需求改派给您：{need.title[:40]}", f"A need was reassigned to you: {need.title[:40]}")
    notify(user=need.owner, kind="need_assigned", title=title,
           body=Message(f"办理期限：{need.due_on}", f"Due on {need.due_on}"), url=f"/needs/staff/needs/{need.pk}/")


def _need_create(*, actor, title, detail="", jurisdiction, owner, due_on, source, forum=None, suggestion=None,
                 wish=None, raised_on=None) -> Need:
    """Inside the caller's transaction and after its permission check."""
    title = _text(title, field="title", limit=TITLE_MAX, required=True, what=Message("需求标题", "title"))
    detail = _text(detail, field="detail", limit=SUGGESTION_MAX)
    owner = _check_owner(_resolve_owner(owner), jurisdiction)
    due_on = _date(due_on, field="due_on")
    raised_on = _date(raised_on, field="raised_on", required=False) or timezone.localdate()
    if due_on < raised_on:
        raise E.InvalidDate(Message("办理期限不能早于收集日期", "The due date cannot be before the day it was raised"),
                            field="due_on")
    need = Need.objects.create(
        title=title, detail=detail, jurisdiction=jurisdiction, source=source, forum=forum, suggestion=suggestion,
        wish=wish, raised_on=raised_on, owner=owner, due_on=due_on, created_by=actor,
    )
    _event(need=need, actor=actor, action=NeedAction.CREATE, from_state="", to_state=NeedState.OPEN,
           note=detail[:500], data={"source": source, "owner": owner.pk, "due_on": due_on.isoformat()})
    audit_record(actor=actor, action=AuditAction.CREATE, obj=need, summary=f"need ({source}) {redact(title)[:80]}",
                 changes={"owner": owner.pk, "due_on": due_on.isoformat()}, jurisdiction_path=jurisdiction.path)
    if owner.pk != getattr(actor, "pk", None):
        _notify_owner(need)
    return need


def need_create(
    *, actor, title: str, owner, due_on, detail: str = "", jurisdiction=None, forum: Forum | None = None,
    wish: Wish | None = None, raised_on=None,
) -> Need:
    """A tracked need raised at a forum, from a wish, or directly. Its jurisdiction is
    the forum's or the wish's unless given; ``raised_on`` defaults to the forum's date."""
    permissions.require(actor, "needs.manage")
    if forum is not None:
        node, source, raised_on = forum.jurisdiction, NeedSource.FORUM, raised_on or forum.held_on
    elif wish is not None:
        node, source = wish.jurisdiction, NeedSource.WISH
        if Wish.objects.filter(pk=wish.pk).values_list("state", flat=True).first() not in W.WISH_PUBLIC_STATES:
            raise E.WishNotOpen(Message("心愿审核通过后才能转为需求", "Approve the wish first"))
    else:
        node, source = _jurisdiction(jurisdiction), NeedSource.DIRECT
    _require_manage(actor, node)
    with transaction.atomic():
        return _need_create(actor=actor, title=title, detail=detail, jurisdiction=node, owner=owner, due_on=due_on,
                            source=source, forum=forum, wish=wish, raised_on=raised_on)


def need_actor_kinds(*, actor, need: Need) -> set[str]:
    return W.need_actor_kinds(actor, need)


def _need_move(*, actor, need: Need, action: str, note: str = "", apply=None):
    """One move of a need on the engine (``workflow.NEED``: table, actor, note, state,
    timeline, audit). ``apply(need, step)`` may add to ``step.data``. Returns the step."""
    return workflow_transition(W.NEED, obj=need, action=action, actor=actor, note=note, apply=apply)


def _note(note) -> str:
    return _text(note, field="note", limit=NOTE_MAX)


def need_start(*, actor, need: Need, note: str = "") -> Need:
    return _need_move(actor=actor, need=need, action=NeedAction.START, note=_note(note)).obj


def need_progress(*, actor, need: Need, note: str) -> Need:
    return _need_move(actor=actor, need=need, action=NeedAction.PROGRESS, note=_note(note)).obj


def need_solve(*, actor, need: Need, note: str) -> Need:
    """Solved, with the resolution (the note) the figures and the public read."""
    note = _note(note)

    def apply(n, step):
        n.resolution, n.solved_at, n.decline_reason = note, step.now, ""

    need = _need_move(actor=actor, need=need, action=NeedAction.SOLVE, note=note, apply=apply).obj
    if need.suggestion_id and need.suggestion.author_id:
        notify(user=need.suggestion.author, kind="need_solved",
               title=Message("您提出的建议已办结", "Your suggestion has been acted on"),
               body=Message(note[:200], note[:200]), url="/needs/mine/")
    return need


def need_decline(*, actor, need: Need, note: str) -> Need:
    note = _note(note)

    def apply(n, step):
        n.decline_reason = note

    return _need_move(actor=actor, need=need, action=NeedAction.DECLINE, note=note, apply=apply).obj


def need_reassign(*, actor, need: Need, owner=None, due_on=None, note: str = "") -> Need:
    """A new owner and/or due date."""
    note = _note(note)
    new_owner = _resolve_owner(owner)
    if new_owner is not None:
        _check_owner(new_owner, need.jurisdiction)
    new_due = _date(due_on, field="due_on", required=False)
    if new_owner is None and new_due is None:
        raise E.InvalidOwner(Message("请选择新的责任人或办理期限", "Choose a new owner or due date"))
    if new_due is not None and new_due < need.raised_on:
        raise E.InvalidDate(Message("办理期限不能早于收集日期", "The due date cannot be before the day it was raised"),
                            field="due_on")

    def apply(n, step):
        if new_owner is not None and new_owner.pk != n.owner_id:
            step.data["owner"] = [n.owner_id, new_owner.pk]
            n.owner = new_owner
        if new_due is not None and new_due != n.due_on:
            step.data["due_on"] = [n.due_on.isoformat(), new_due.isoformat()]
            n.due_on = new_due

    step = _need_move(actor=actor, need=need, action=NeedAction.REASSIGN, note=note, apply=apply)
    if "owner" in step.data and new_owner.pk != actor.pk:
        _notify_owner(step.obj, reassigned=True)
    return step.obj


def need_reopen(*, actor, need: Need, note: str) -> Need:
    note = _note(note)

    def apply(n, step):
        n.solved_at, n.resolution, n.decline_reason = None, "", ""

    return _need_move(actor=actor, need=need, action=NeedAction.REOPEN, note=note, apply=apply).obj


NEED_SERVICES = {
    NeedAction.START: need_start, NeedAction.PROGRESS: need_progress, NeedAction.SOLVE: need_solve,
    NeedAction.DECLINE: need_decline, NeedAction.REASSIGN: need_reassign, NeedAction.REOPEN: need_reopen,
}


def need_act(*, actor, need: Need, action: str, note: str = "", owner=None, due_on=None) -> Need:
    """Dispatch to the service of ``action`` (API and pages use it)."""
    service = NEED_SERVICES.get(action)
    if service is None:
        _require_login(actor)
        raise E.UnknownAction()
    if action == NeedAction.REASSIGN:
        return service(actor=actor, need=need, owner=owner, due_on=due_on, note=note)
    return service(actor=actor, need=need, note=note)

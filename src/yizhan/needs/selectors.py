"""Every read of the needs app other code may call.

Staff lists and details are scoped with ``core.permissions.restrict/require``
(``needs.view``); a need's owner may also read it. Public reads show wishes only
after approval and never who wrote an anonymous one. Figures are computed here
from the rows ("30 collected, 18 solved"), never typed in.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from yizhan.accounts.models import RoleGrant
from yizhan.core import permissions
from yizhan.core.errors import NotAuthenticated, OutOfJurisdiction, PermissionDenied
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.jurisdictions.selectors import ancestor_paths
from yizhan.needs import errors as E
from yizhan.needs import workflow as W
from yizhan.needs.choices import NeedState, SuggestionState, WishState
from yizhan.needs.models import Forum, Need, NeedEvent, Suggestion, Wish, WishSupport

ANONYMOUS = gettext_lazy("匿名")


def public_name(user, *, anonymous: bool) -> str:
    """"匿名", or the first character of the display name and "**" (王**)."""
    if anonymous or user is None:
        return str(ANONYMOUS)
    name = (user.display_name or "").strip()
    return f"{name[0]}**" if name else gettext("驿站朋友")


def _require_view(actor) -> None:
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if not permissions.has_perm_anywhere(actor, "needs.view"):
        raise PermissionDenied()


def _scoped(qs: QuerySet, actor) -> QuerySet:
    return permissions.restrict(qs, actor, "needs.view", path_field="jurisdiction__path")


def _under(qs: QuerySet, code: str) -> QuerySet:
    node = Jurisdiction.objects.filter(code=code).first()
    return qs.filter(jurisdiction__path__startswith=node.path) if node else qs.none()


# ---- suggestions ------------------------------------------------------------------


def suggestion_staff_list(*, actor, filters: dict | None = None) -> QuerySet:
    """filters: state, category, jurisdiction (code, subtree), q."""
    _require_view(actor)
    filters = filters or {}
    qs = _scoped(Suggestion.objects.select_related("jurisdiction", "author"), actor)
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    if filters.get("category"):
        qs = qs.filter(category=filters["category"])
    if filters.get("jurisdiction"):
        qs = _under(qs, filters["jurisdiction"])
    if filters.get("q"):
        qs = qs.filter(text__icontains=filters["q"])
    return qs.order_by("-created_at", "-id")


def suggestion_staff_get(*, actor, pk) -> Suggestion:
    _require_view(actor)
    s = Suggestion.objects.select_related("jurisdiction", "author").filter(pk=pk).first()
    if s is None:
        raise E.SuggestionNotFound()
    permissions.require(actor, "needs.view", s.jurisdiction)
    return s


def suggestions_of(*, actor) -> QuerySet:
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    return Suggestion.objects.filter(author=actor).select_related("jurisdiction").order_by("-created_at", "-id")


def suggestion_track(*, code: str) -> Suggestion:
    s = Suggestion.objects.select_related("jurisdiction").filter(tracking_code=str(code).strip().upper()).first()
    if s is None or not code:
        raise E.SuggestionNotFound()
    return s


def suggestion_view(*, suggestion: Suggestion, staff: bool = False) -> dict:
    """What the author (or, with ``staff``, the jurisdiction's staff) sees."""
    need = getattr(suggestion, "need", None) if suggestion.state == SuggestionState.TO_NEED else None
    return {
        "id": suggestion.pk,
        "text": suggestion.text,
        "category": suggestion.category,
        "category_label": str(suggestion.get_category_display()),
        "state": suggestion.state,
        "state_label": str(suggestion.get_state_display()),
        "is_anonymous": suggestion.is_anonymous,
        "author": (public_name(suggestion.author, anonymous=suggestion.is_anonymous) if staff else None),
        "jurisdiction": {"code": suggestion.jurisdiction.code, "name": suggestion.jurisdiction.name},
        "created_at": suggestion.created_at,
        "reply": suggestion.reply,
        "replied_at": suggestion.replied_at,
        "tracking_code": None if staff else suggestion.tracking_code,
        "need": {"id": need.pk, "state": need.state, "state_label": str(need.get_state_display())} if need else None,
    }


# ---- wishes -----------------------------------------------------------------------


def wish_public_list(*, filters: dict | None = None) -> QuerySet:
    """Approved wishes; filters: jurisdiction (code, subtree), state (public / fulfilling / fulfilled)."""
    filters = filters or {}
    qs = Wish.objects.filter(state__in=W.WISH_PUBLIC_STATES).select_related("jurisdiction", "author")
    if filters.get("state") in W.WISH_PUBLIC_STATES:
        qs = qs.filter(state=filters["state"])
    if filters.get("jurisdiction"):
        qs = _under(qs, filters["jurisdiction"])
    return qs.order_by("-support_count", "-created_at", "-id")


def wish_public_get(*, pk) -> Wish:
    wish = wish_public_list().filter(pk=pk).first()
    if wish is None:
        raise E.WishNotFound()
    return wish


def wish_get_for_support(*, pk) -> Wish:
    wish = Wish.objects.select_related("jurisdiction").filter(pk=pk, state__in=W.WISH_PUBLIC_STATES).first()
    if wish is None:
        raise E.WishNotFound()
    return wish


def wish_staff_list(*, actor, filters: dict | None = None) -> QuerySet:
    """filters: state, jurisdiction."""
    _require_view(actor)
    filters = filters or {}
    qs = _scoped(Wish.objects.select_related("jurisdiction", "author"), actor)
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    if filters.get("jurisdiction"):
        qs = _under(qs, filters["jurisdiction"])
    return qs.order_by("created_at", "id") if filters.get("state") == WishState.PENDING else qs


def wish_staff_get(*, actor, pk) -> Wish:
    _require_view(actor)
    wish = Wish.objects.select_related("jurisdiction", "author").filter(pk=pk).first()
    if wish is None:
        raise E.WishNotFound()
    permissions.require(actor, "needs.view", wish.jurisdiction)
    return wish


def wishes_of(*, actor) -> QuerySet:
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    return Wish.objects.filter(author=actor).select_related("jurisdiction").order_by("-created_at", "-id")


def supported_ids(*, actor, wishes) -> set[int]:
    if not getattr(actor, "is_authenticated", False):
        return set()
    ids = [w.pk for w in wishes]
    return set(WishSupport.objects.filter(user=actor, wish_id__in=ids).values_list("wish_id", flat=True))


def wish_view(*, wish: Wish, supported: bool = False, staff: bool = False) -> dict:
    out = {
        "id": wish.pk,
        "text": wish.text,
        "author": public_name(wish.author, anonymous=wish.is_anonymous),
        "jurisdiction": {"code": wish.jurisdiction.code, "name": wish.jurisdiction.name},
        "state": wish.state,
        "state_label": str(wish.get_state_display()),
        "support_count": wish.support_count,
        "supported": supported,
        "fulfiller": wish.fulfiller,
        "fulfil_note": wish.fulfil_note,
        "fulfilled_at": wish.fulfilled_at,
        "created_at": wish.created_at,
    }
    if staff:
        out["reject_reason"] = wish.reject_reason
    return out


# ---- forums and needs -------------------------------------------------------------


def forum_list(*, actor, filters: dict | None = None) -> QuerySet:
    _require_view(actor)
    filters = filters or {}
    qs = _scoped(Forum.objects.select_related("jurisdiction"), actor).annotate(
        needs_total=Count("needs"), needs_solved=Count("needs", filter=Q(needs__state=NeedState.SOLVED)))
    if filters.get("jurisdiction"):
        qs = _under(qs, filters["jurisdiction"])
    return qs.order_by("-held_on", "-id")


def forum_get(*, actor, pk) -> Forum:
    _require_view(actor)
    forum = Forum.objects.select_related("jurisdiction").filter(pk=pk).first()
    if forum is None:
        raise E.ForumNotFound()
    permissions.require(actor, "needs.view", forum.jurisdiction)
    return forum


def overdue_q(today: date | None = None) -> Q:
    today = today or timezone.localdate()
    return Q(state__in=W.NEED_OPEN_STATES, due_on__lt=today)


def is_overdue(need: Need, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return need.state in W.NEED_OPEN_STATES and need.due_on < today


def need_list(*, actor, filters: dict | None = None) -> QuerySet:
    """Scoped by needs.view, plus the needs the actor owns. filters: state (str or list),
    overdue (bool), owner ("me" or id), forum (id), source, jurisdiction (code), q."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    filters = filters or {}
    base = Need.objects.select_related("jurisdiction", "owner", "forum")
    paths = permissions.scope_paths(actor, "needs.view")
    if not paths and not Need.objects.filter(owner=actor).exists():
        raise PermissionDenied()
    scope = Q(owner=actor)
    for p in paths:
        scope |= Q(jurisdiction__path__startswith=p)
    qs = base.filter(scope)
    state = filters.get("state")
    if state:
        qs = qs.filter(state__in=[state] if isinstance(state, str) else list(state))
    if filters.get("overdue"):
        qs = qs.filter(overdue_q())
    owner = filters.get("owner")
    if owner == "me":
        qs = qs.filter(owner=actor)
    elif owner:
        qs = qs.filter(owner_id=owner)
    if filters.get("forum"):
        qs = qs.filter(forum_id=filters["forum"])
    if filters.get("source"):
        qs = qs.filter(source=filters["source"])
    if filters.get("jurisdiction"):
        qs = _under(qs, filters["jurisdiction"])
    if filters.get("q"):
        qs = qs.filter(title__icontains=filters["q"])
    return qs.order_by("due_on", "id")


def need_get(*, actor, pk) -> Need:
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    need = Need.objects.select_related("jurisdiction", "owner", "forum", "suggestion", "wish").filter(pk=pk).first()
    if need is None:
        if not permissions.has_perm_anywhere(actor, "needs.view") and not Need.objects.filter(owner=actor).exists():
            raise PermissionDenied()
        raise E.NeedNotFound()
    if need.owner_id == actor.pk:
        return need
    if not permissions.has_perm_anywhere(actor, "needs.view"):
        raise PermissionDenied()
    if not permissions.can(actor, "needs.view", need.jurisdiction):
        raise OutOfJurisdiction()
    return need


def need_timeline(*, need: Need) -> list[NeedEvent]:
    return list(need.events.select_related("actor").order_by("at", "id"))


def need_actions_for(*, actor, need: Need) -> list[str]:
    kinds = W.need_actor_kinds(actor, need)
    return [a for a in W.need_actions_from(need.state) if kinds & W.NEED_TRANSITIONS[(need.state, a)][1]]


def need_view(*, need: Need, today: date | None = None) -> dict:
    return {
        "id": need.pk,
        "title": need.title,
        "detail": need.detail,
        "jurisdiction": {"code": need.jurisdiction.code, "name": need.jurisdiction.name},
        "source": need.source,
        "source_label": str(need.get_source_display()),
        "forum_id": need.forum_id,
        "suggestion_id": need.suggestion_id,
        "wish_id": need.wish_id,
        "raised_on": need.raised_on,
        # None once the owner deleted their account, until a manager reassigns it.
        "owner": {"id": need.owner_id, "name": need.owner.display_name or need.owner.get_username()}
        if need.owner_id else None,
        "due_on": need.due_on,
        "state": need.state,
        "state_label": str(need.get_state_display()),
        "overdue": is_overdue(need, today),
        "resolution": need.resolution,
        "decline_reason": need.decline_reason,
        "solved_at": need.solved_at,
    }


def event_view(event: NeedEvent) -> dict:
    return {
        "action": event.action, "label": str(event.get_action_display()), "from_state": event.from_state,
        "to_state": event.to_state, "actor": (event.actor.display_name or event.actor_label) if event.actor else
        event.actor_label, "at": event.at, "note": event.note,
    }


# ---- figures ----------------------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def needs_figures(*, jurisdiction=None, since: date | None = None, until: date | None = None,
                  today: date | None = None) -> dict:
    """Figures of one subtree (all when ``jurisdiction`` is None) for needs raised,
    suggestions received and wishes posted between ``since`` and ``until`` (inclusive,
    local dates). ``solved`` etc. count the needs collected in the period by their
    state now; ``overdue`` = still open or in progress past the due date."""
    today = today or timezone.localdate()
    needs, suggestions, wishes = Need.objects.all(), Suggestion.objects.all(), Wish.objects.all()
    if jurisdiction is not None:
        path = jurisdiction.path
        needs = needs.filter(jurisdiction__path__startswith=path)
        suggestions = suggestions.filter(jurisdiction__path__startswith=path)
        wishes = wishes.filter(jurisdiction__path__startswith=path)
    if since:
        needs = needs.filter(raised_on__gte=since)
        suggestions = suggestions.filter(created_at__date__gte=since)
        wishes = wishes.filter(created_at__date__gte=since)
    if until:
        needs = needs.filter(raised_on__lte=until)
        suggestions = suggestions.filter(created_at__date__lte=until)
        wishes = wishes.filter(created_at__date__lte=until)
    n = needs.aggregate(
        collected=Count("id"),
        open=Count("id", filter=Q(state=NeedState.OPEN)),
        in_progress=Count("id", filter=Q(state=NeedState.IN_PROGRESS)),
        solved=Count("id", filter=Q(state=NeedState.SOLVED)),
        declined=Count("id", filter=Q(state=NeedState.DECLINED)),
        overdue=Count("id", filter=overdue_q(today)),
    )
    s = suggestions.aggregate(
        received=Count("id"), answered=Count("id", filter=~Q(state=SuggestionState.SUBMITTED)),
        adopted=Count("id", filter=Q(state=SuggestionState.ADOPTED)),
    )
    w = wishes.aggregate(
        posted=Count("id"), pending=Count("id", filter=Q(state=WishState.PENDING)),
        public=Count("id", filter=Q(state__in=W.WISH_PUBLIC_STATES)),
        fulfilled=Count("id", filter=Q(state=WishState.FULFILLED)),
        supports=Sum("support_count", filter=Q(state__in=W.WISH_PUBLIC_STATES)),
    )
    w["supports"] = w["supports"] or 0
    forums = Forum.objects.all()
    if jurisdiction is not None:
        forums = forums.filter(jurisdiction__path__startswith=jurisdiction.path)
    if since:
        forums = forums.filter(held_on__gte=since)
    if until:
        forums = forums.filter(held_on__lte=until)
    f = forums.aggregate(held=Count("id"), attendees=Sum("attendees"))
    f["attendees"] = f["attendees"] or 0
    return {
        "jurisdiction": ({"code": jurisdiction.code, "name": jurisdiction.name} if jurisdiction is not None else None),
        "since": since,
        "until": until,
        "needs": {**n, "solve_rate": _rate(n["solved"], n["collected"])},
        "suggestions": {**s, "answer_rate": _rate(s["answered"], s["received"])},
        "wishes": w,
        "forums": f,
    }


def needs_figures_rows(*, jurisdiction, since=None, until=None, today=None) -> list[dict]:
    """The figures of each child of ``jurisdiction`` (one row per child with any data)."""
    rows = []
    for child in jurisdiction.children.order_by("code"):
        fig = needs_figures(jurisdiction=child, since=since, until=until, today=today)
        if fig["needs"]["collected"] or fig["suggestions"]["received"] or fig["wishes"]["posted"]:
            rows.append(fig)
    return rows


def staff_scope_nodes(*, actor, perm: str = "needs.view") -> list:
    """The jurisdiction nodes at the top of the actor's scope (for figures and pickers)."""
    paths = permissions.scope_paths(actor, perm)
    if paths == ["/"]:
        return list(Jurisdiction.objects.filter(parent__isnull=True).order_by("code"))
    return list(Jurisdiction.objects.filter(path__in=paths).order_by("path"))


# ---- page helpers -------------------------------------------------------------------


def community_choices() -> list[tuple[str, str]]:
    """Every community (for the public forms), "街道 · 社区"."""
    rows = Jurisdiction.objects.filter(level="community").select_related("parent").order_by("path")[:1000]
    return [(j.code, f"{j.parent.name} · {j.name}" if j.parent_id else j.name) for j in rows]


def manage_place_choices(*, actor) -> list[tuple[str, str]]:
    """Nodes where the actor may record forums and needs (street, community, grid)."""
    qs = permissions.restrict(Jurisdiction.objects.all(), actor, "needs.manage", path_field="path")
    qs = qs.filter(level__in=["district", "street", "community"]).order_by("path")[:500]
    return [(j.code, ("　" * max(0, j.depth - 1)) + j.name) for j in qs]


def owner_choices(*, jurisdiction) -> list[tuple[str, str]]:
    """Staff who may own a need of ``jurisdiction``: a role on it, above it or inside it."""
    ancestors = [p for p in ancestor_paths(jurisdiction.path)]
    grants = (
        RoleGrant.objects.exclude(role="worker")
        .filter(Q(jurisdiction__path__in=ancestors) | Q(jurisdiction__path__startswith=jurisdiction.path))
        .select_related("user", "jurisdiction").order_by("jurisdiction__path", "user__username")
    )
    seen, out = set(), []
    for g in grants:
        if g.user_id in seen or g.role in ("auditor", "keeper", "employer", "merchant", "teacher"):
            continue
        seen.add(g.user_id)
        out.append((str(g.user_id), f"{g.user.display_name or g.user.username}（{g.jurisdiction.name}）"))
    return out[:300]

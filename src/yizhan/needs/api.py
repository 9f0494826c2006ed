"""Needs API (/api/v1/needs/...): parse, check, call the service/selector, shape.
Public: categories, figures, the wish wall, dropping a suggestion, tracking a reply.
Staff endpoints are scoped by ``needs.view`` / ``needs.manage`` in the selectors and
services. Static paths come before ``/{id}``."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from ninja import Query, Router
from ninja.responses import Status

from yizhan.core.api_auth import api_auth
from yizhan.core.errors import NotAuthenticated
from yizhan.core.schemas import LimitQuery, OffsetQuery, page
from yizhan.jurisdictions.selectors import jurisdiction_get
from yizhan.needs import schemas as S
from yizhan.needs import selectors, services
from yizhan.needs.choices import SuggestionCategory

router = Router(tags=["needs"])
OWNER_PATTERN = r"^(me|[0-9]{1,18})?$"


def _page(qs, limit: int, offset: int):
    return page(qs, limit=limit, offset=offset)


def _who(request):
    """The caller when known (Bearer token, or session with CSRF on writes), else None."""
    return api_auth(request)


def _login(request):
    user = request.auth
    if not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()
    return user


# ---- public ---------------------------------------------------------------------------


@router.get("/categories", auth=None, response=list[S.SuggestionCategoryOut], summary="Suggestion categories (public)")
def categories(request: HttpRequest):
    return [{"code": v, "label": str(label)} for v, label in SuggestionCategory.choices]


@router.get("/figures", auth=None, response=S.FiguresWithRowsOut,
            summary="Collected / solved / in progress / overdue needs, suggestions and wishes (public)")
def figures(request: HttpRequest, jurisdiction: str = "", since: date | None = None, until: date | None = None):

    node = jurisdiction_get(code=jurisdiction) if jurisdiction else None
    fig = selectors.needs_figures(jurisdiction=node, since=since, until=until)
    fig["rows"] = selectors.needs_figures_rows(jurisdiction=node, since=since, until=until) if node else []
    return fig


# ---- suggestions ------------------------------------------------------------------------


@router.post("/suggestions", auth=None, response={201: S.SuggestionOut}, openapi_extra={"x-errors": [429]},
             summary="Drop a suggestion in the box (anyone; logged-in authors see the reply under /mine)")
def suggestion_submit(request: HttpRequest, payload: S.SuggestionIn):
    s = services.suggestion_submit(actor=_who(request), **payload.dict())
    return Status(201, selectors.suggestion_view(suggestion=s))


@router.get("/suggestions/mine", response=S.SuggestionListOut, summary="My suggestions and their replies")
def suggestions_mine(request: HttpRequest, limit: int = LimitQuery(50), offset: int = OffsetQuery()):
    items, count = _page(selectors.suggestions_of(actor=_login(request)), limit, offset)
    return {"items": [selectors.suggestion_view(suggestion=s) for s in items], "count": count}


@router.get("/suggestions/track/{code}", auth=None, response=S.SuggestionOut,
            summary="A suggestion and its reply by tracking code (public)")
def suggestion_track(request: HttpRequest, code: str):
    return selectors.suggestion_view(suggestion=selectors.suggestion_track(code=code))


@router.get("/suggestions", response=S.SuggestionListOut, summary="Suggestions in my jurisdiction (staff)")
def suggestion_list(request: HttpRequest, state: str = "", category: str = "", jurisdiction: str = "", q: str = "",
                    limit: int = LimitQuery(50), offset: int = OffsetQuery()):
    filters = {"state": state, "category": category, "jurisdiction": jurisdiction, "q": q}
    qs = selectors.suggestion_staff_list(actor=request.auth, filters=filters)
    items, count = _page(qs, limit, offset)
    return {"items": [selectors.suggestion_view(suggestion=s, staff=True) for s in items], "count": count}


@router.get("/suggestions/{int:suggestion_id}", response=S.SuggestionOut, summary="One suggestion (staff)")
def suggestion_detail(request: HttpRequest, suggestion_id: int):
    s = selectors.suggestion_staff_get(actor=request.auth, pk=suggestion_id)
    return selectors.suggestion_view(suggestion=s, staff=True)


@router.post("/suggestions/{int:suggestion_id}/answer", response=S.SuggestionOut,
             summary="Reply, adopt, close or turn into a need (staff, needs.manage)")
def suggestion_answer(request: HttpRequest, suggestion_id: int, payload: S.AnswerIn):
    s = selectors.suggestion_staff_get(actor=request.auth, pk=suggestion_id)
    s = services.suggestion_answer(actor=request.auth, suggestion=s, **payload.dict())
    return selectors.suggestion_view(suggestion=s, staff=True)


# ---- wishes -------------------------------------------------------------------------------


def _wish_items(actor, wishes, *, staff=False):
    mine = selectors.supported_ids(actor=actor, wishes=wishes)
    return [selectors.wish_view(wish=w, supported=w.pk in mine, staff=staff) for w in wishes]


@router.get("/wishes", auth=None, response=S.WishListOut, summary="The wish wall: approved wishes (public)")
def wish_wall(request: HttpRequest, jurisdiction: str = "", state: str = "", limit: int = LimitQuery(50), offset: int = OffsetQuery()):
    qs = selectors.wish_public_list(filters={"jurisdiction": jurisdiction, "state": state})
    items, count = _page(qs, limit, offset)
    return {"items": _wish_items(_who(request), list(items)), "count": count}


@router.post("/wishes", response={201: S.WishOut}, summary="Post a wish (logged in; shown after approval)")
def wish_submit(request: HttpRequest, payload: S.WishIn):
    wish = services.wish_submit(actor=request.auth, **payload.dict())
    return Status(201, selectors.wish_view(wish=wish))


@router.get("/wishes/mine", response=S.WishListOut, summary="My wishes, approved or not")
def wishes_mine(request: HttpRequest, limit: int = LimitQuery(50), offset: int = OffsetQuery()):
    actor = _login(request)
    items, count = _page(selectors.wishes_of(actor=actor), limit, offset)
    return {"items": _wish_items(actor, list(items), staff=True), "count": count}


@router.get("/wishes/staff", response=S.WishListOut, summary="Wishes in my jurisdiction, any state (staff)")
def wish_staff_list(request: HttpRequest, state: str = "", jurisdiction: str = "", limit: int = LimitQuery(50), offset: int = OffsetQuery()):
    qs = selectors.wish_staff_list(actor=request.auth, filters={"state": state, "jurisdiction": jurisdiction})
    items, count = _page(qs, limit, offset)
    return {"items": _wish_items(request.auth, list(items), staff=True), "count": count}


@router.get("/wishes/{int:wish_id}", auth=None, response=S.WishOut, summary="One approved wish (public)")
def wish_detail(request: HttpRequest, wish_id: int):
    return _wish_items(_who(request), [selectors.wish_public_get(pk=wish_id)])[0]


@router.post("/wishes/{int:wish_id}/support", response=S.WishSupportOut,
             summary="+1 a wish (logged in; once per person, repeating changes nothing)")
def wish_support(request: HttpRequest, wish_id: int):
    actor = _login(request)
    wish, created = services.wish_support(actor=actor, wish=selectors.wish_get_for_support(pk=wish_id))
    return {"id": wish.pk, "support_count": wish.support_count, "supported": True, "created": created}


@router.post("/wishes/{int:wish_id}/actions/{action}", response=S.WishOut,
             summary="approve | reject | fulfilling | fulfilled (staff, needs.manage)")
def wish_action(request: HttpRequest, wish_id: int, action: str, payload: S.WishActionIn):
    wish = selectors.wish_staff_get(actor=request.auth, pk=wish_id)
    wish = services.wish_act(actor=request.auth, wish=wish, action=action, **payload.dict())
    return selectors.wish_view(wish=wish, staff=True)


# ---- forums ---------------------------------------------------------------------------------


def _forum_out(forum) -> dict:
    return {
        "id": forum.pk, "held_on": forum.held_on, "group": forum.group, "title": forum.title,
        "jurisdiction": {"code": forum.jurisdiction.code, "name": forum.jurisdiction.name}, "venue": forum.venue,
        "attendees": forum.attendees, "hosts": forum.hosts, "notes": forum.notes,
        "needs_total": getattr(forum, "needs_total", None) if hasattr(forum, "needs_total") else forum.needs.count(),
        "needs_solved": getattr(forum, "needs_solved", 0) if hasattr(forum, "needs_solved")
        else forum.needs.filter(state="solved").count(),
    }


@router.get("/forums", response=S.ForumListOut, summary="Needs forums in my jurisdiction (staff)")
def forum_list(request: HttpRequest, jurisdiction: str = "", limit: int = LimitQuery(50), offset: int = OffsetQuery()):
    items, count = _page(selectors.forum_list(actor=request.auth, filters={"jurisdiction": jurisdiction}),
                         limit, offset)
    return {"items": [_forum_out(f) for f in items], "count": count}


@router.post("/forums", response={201: S.ForumOut}, summary="Record a needs forum (staff, needs.manage)")
def forum_create(request: HttpRequest, payload: S.ForumIn):
    forum = services.forum_create(actor=request.auth, **payload.dict())
    return Status(201, _forum_out(forum))


@router.get("/forums/{int:forum_id}", response=S.ForumOut, summary="One forum (staff)")
def forum_detail(request: HttpRequest, forum_id: int):
    return _forum_out(selectors.forum_get(actor=request.auth, pk=forum_id))


@router.post("/forums/{int:forum_id}/needs", response={201: S.NeedOut},
             summary="An item raised at the forum becomes a tracked need (staff, needs.manage)")
def forum_need_create(request: HttpRequest, forum_id: int, payload: S.ForumNeedIn):
    forum = selectors.forum_get(actor=request.auth, pk=forum_id)
    need = services.need_create(actor=request.auth, forum=forum, **payload.dict())
    return Status(201, selectors.need_view(need=need))


# ---- needs -------------------------------------------------------------------------------------


@router.get("/needs", response=S.NeedListOut, summary="Needs in my jurisdiction and those I own (staff)")
def need_list(request: HttpRequest, state: str = "", overdue: bool = False,
              owner: str = Query("", pattern=OWNER_PATTERN, description='"me" or a person\'s id'), forum: int | None = None,
              source: str = "", jurisdiction: str = "", q: str = "", limit: int = LimitQuery(100), offset: int = OffsetQuery()):
    filters = {"state": state, "overdue": overdue, "owner": owner, "forum": forum, "source": source,
               "jurisdiction": jurisdiction, "q": q}
    items, count = _page(selectors.need_list(actor=request.auth, filters=filters), limit, offset)
    return {"items": [selectors.need_view(need=n) for n in items], "count": count}


@router.post("/needs", response={201: S.NeedOut}, summary="Record a need (staff, needs.manage)")
def need_create(request: HttpRequest, payload: S.NeedIn):
    data = payload.dict()
    forum_id, wish_id = data.pop("forum"), data.pop("wish")
    if forum_id is not None:
        data["forum"] = selectors.forum_get(actor=request.auth, pk=forum_id)
    if wish_id is not None:
        data["wish"] = selectors.wish_staff_get(actor=request.auth, pk=wish_id)
    need = services.need_create(actor=request.auth, **data)
    return Status(201, selectors.need_view(need=need))


def _need_detail(actor, need) -> dict:
    return {
        **selectors.need_view(need=need),
        "timeline": [selectors.event_view(e) for e in selectors.need_timeline(need=need)],
        "actions": selectors.need_actions_for(actor=actor, need=need),
    }


@router.get("/needs/{int:need_id}", response=S.NeedDetailOut, summary="One need with its timeline (staff or owner)")
def need_detail(request: HttpRequest, need_id: int):
    return _need_detail(request.auth, selectors.need_get(actor=request.auth, pk=need_id))


@router.post("/needs/{int:need_id}/actions/{action}", response=S.NeedDetailOut,
             summary="start | progress | solve | decline | reassign | reopen (owner or needs.manage)")
def need_action(request: HttpRequest, need_id: int, action: str, payload: S.NeedActionIn):
    need = selectors.need_get(actor=request.auth, pk=need_id)
    need = services.need_act(actor=request.auth, need=need, action=action, **payload.dict())
    return _need_detail(request.auth, selectors.need_get(actor=request.auth, pk=need.pk))

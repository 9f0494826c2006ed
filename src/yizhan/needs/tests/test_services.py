"""Services of the needs app: the need state machine exhaustively, support
idempotency, moderation, suggestion answers and exact figures."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from yizhan.core.errors import (
    AppError,
    InvalidTransition,
    NotAuthenticated,
    OutOfJurisdiction,
    PermissionDenied,
)
from yizhan.core.models import AuditLog, Notification
from yizhan.core.testing.factories import make_staff, make_worker
from yizhan.needs import selectors, services
from yizhan.needs import workflow as W
from yizhan.needs.choices import NeedAction, NeedState, SuggestionState, WishState
from yizhan.needs.models import Need, NeedEvent, Suggestion, Wish, WishSupport
from yizhan.needs.tests.factories import make_forum, make_need, make_suggestion, make_wish

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(tree):
    return make_staff("community_admin", tree.community)


# ---- suggestions ----------------------------------------------------------------


def test_anonymous_visitor_suggests_by_location_and_reads_reply_by_code(tree, admin):
    lat, lng = tree.point(tree.grid)
    s = services.suggestion_submit(actor=None, text="  希望多装几个充电桩  ", category="transport", lat=lat, lng=lng)
    assert s.jurisdiction == tree.community  # the community, not the grid
    assert s.author is None and s.is_anonymous and s.text == "希望多装几个充电桩"
    assert AuditLog.objects.filter(object_type="needs.suggestion", object_id=str(s.pk)).exists()
    services.suggestion_answer(actor=admin, suggestion=s, outcome="reply", reply="已联系供电所评估")
    got = selectors.suggestion_track(code=s.tracking_code.lower())
    assert got.reply == "已联系供电所评估" and got.state == SuggestionState.REPLIED


@pytest.mark.parametrize(("kwargs", "code", "field"), [
    ({"text": ""}, "required", "text"),
    ({"text": "长" * 2001}, "text_too_long", "text"),
    ({"category": "nope"}, "unknown_category", "category"),
    ({"jurisdiction": None}, "location_required", "jurisdiction"),
    ({"jurisdiction": "NOPE"}, "unknown_jurisdiction", "jurisdiction"),
    ({"jurisdiction": None, "lat": 10.0, "lng": 10.0}, "location_outside", "lat"),
    ({"jurisdiction": None, "lat": 100, "lng": 10.0}, None, "lat"),
])
def test_suggestion_bad_input_changes_nothing(tree, kwargs, code, field):
    args = {"text": "建议", "category": "other", "jurisdiction": tree.community.code, **kwargs}
    with pytest.raises(AppError) as exc:
        services.suggestion_submit(actor=make_worker(), **args)
    if code:
        assert exc.value.code == code
    assert exc.value.field == field
    assert Suggestion.objects.count() == 0


def test_exactly_2000_characters_is_fine(tree):
    s = make_suggestion(tree.community, text="字" * 2000)
    assert len(s.text) == 2000


def test_author_sees_reply_and_is_told(tree, admin):
    worker = make_worker()
    s = make_suggestion(tree.community, actor=worker, is_anonymous=True)
    services.suggestion_answer(actor=admin, suggestion=s, outcome="adopt", reply="采纳，下月起延长到22点")
    assert list(selectors.suggestions_of(actor=worker)) == [Suggestion.objects.get(pk=s.pk)]
    n = Notification.objects.get(user=worker, kind="suggestion_replied")
    assert "采纳" in n.body_zh
    # staff never see who wrote an anonymous one
    view = selectors.suggestion_view(suggestion=selectors.suggestion_staff_get(actor=admin, pk=s.pk), staff=True)
    assert view["author"] == "匿名" and view["tracking_code"] is None


def test_suggestion_to_need_makes_a_tracked_need(tree, admin):
    s = make_suggestion(tree.community, actor=make_worker())
    due = timezone.localdate() + dt.timedelta(days=30)
    s = services.suggestion_answer(actor=admin, suggestion=s, outcome="to_need", reply="已列入需求清单",
                                   owner=admin, due_on=due.isoformat())
    need = Need.objects.get(suggestion=s)
    assert s.state == SuggestionState.TO_NEED and need.source == "suggestion" and need.due_on == due
    assert need.jurisdiction == tree.community and need.events.get().action == NeedAction.CREATE
    with pytest.raises(InvalidTransition):
        services.suggestion_answer(actor=admin, suggestion=s, outcome="close", reply="x")


def test_suggestion_answer_rules(tree, admin):
    s = make_suggestion(tree.community)
    with pytest.raises(AppError) as exc:
        services.suggestion_answer(actor=admin, suggestion=s, outcome="adopt", reply="  ")
    assert exc.value.code == "reply_required"
    with pytest.raises(AppError) as exc:
        services.suggestion_answer(actor=admin, suggestion=s, outcome="bogus", reply="x")
    assert exc.value.code == "unknown_action"
    with pytest.raises(AppError) as exc:  # to_need without an owner: nothing written
        services.suggestion_answer(actor=admin, suggestion=s, outcome="to_need", reply="x", due_on="2030-01-01")
    assert exc.value.code == "invalid_owner"
    s.refresh_from_db()
    assert s.state == SuggestionState.SUBMITTED and not Need.objects.exists()
    other = make_staff("community_admin", tree.other_community)
    with pytest.raises(OutOfJurisdiction):
        services.suggestion_answer(actor=other, suggestion=s, outcome="close", reply="x")
    with pytest.raises(PermissionDenied):
        services.suggestion_answer(actor=make_worker(), suggestion=s, outcome="close", reply="x")
    services.suggestion_answer(actor=admin, suggestion=s, outcome="close", reply="已办结")
    with pytest.raises(InvalidTransition):
        services.suggestion_answer(actor=admin, suggestion=s, outcome="reply", reply="again")


# ---- wishes -------------------------------------------------------------------------


def test_wish_is_hidden_until_approved_then_supported_once_per_person(tree, admin):
    author = make_worker()
    wish = services.wish_submit(actor=author, text="希望给孩子开暑托班", jurisdiction=tree.community.code)
    assert wish.state == WishState.PENDING
    assert list(selectors.wish_public_list()) == []
    someone = make_worker()
    with pytest.raises(AppError) as exc:
        services.wish_support(actor=someone, wish=wish)
    assert exc.value.code == "wish_not_open"
    services.wish_approve(actor=admin, wish=wish)
    assert [w.pk for w in selectors.wish_public_list()] == [wish.pk]
    wish, created = services.wish_support(actor=someone, wish=wish)
    assert created and wish.support_count == 1
    wish, created = services.wish_support(actor=someone, wish=wish)  # a second tap: same count
    assert not created and wish.support_count == 1
    services.wish_support(actor=make_worker(), wish=wish)
    wish.refresh_from_db()
    assert wish.support_count == 2 == WishSupport.objects.filter(wish=wish).count()
    assert Notification.objects.filter(user=author, kind="wish_approve").exists()
    with pytest.raises(NotAuthenticated):
        services.wish_support(actor=None, wish=wish)


def test_support_counter_uses_the_database_not_a_stale_object(tree, admin):
    wish = make_wish(tree.community, approved_by=admin)
    stale = Wish.objects.get(pk=wish.pk)
    services.wish_support(actor=make_worker(), wish=wish)
    stale, _ = services.wish_support(actor=make_worker(), wish=stale)
    assert stale.support_count == 2


def test_wish_moderation_and_fulfilment(tree, admin):
    wish = make_wish(tree.community)
    with pytest.raises(AppError) as exc:
        services.wish_reject(actor=admin, wish=wish, reason="")
    assert exc.value.code == "reason_required"
    with pytest.raises(InvalidTransition):
        services.wish_fulfilled(actor=admin, wish=wish, fulfiller="老王面馆")
    services.wish_approve(actor=admin, wish=wish)
    with pytest.raises(AppError) as exc:
        services.wish_fulfilling(actor=admin, wish=wish, fulfiller="")
    assert exc.value.code == "required" and exc.value.field == "fulfiller"
    services.wish_fulfilling(actor=admin, wish=wish, fulfiller="爱心商家 老王面馆", note="捐赠微波炉一台")
    wish = services.wish_fulfilled(actor=admin, wish=wish)
    assert wish.state == WishState.FULFILLED and wish.fulfiller == "爱心商家 老王面馆" and wish.fulfilled_at
    with pytest.raises(AppError) as exc:
        services.wish_support(actor=make_worker(), wish=wish)
    assert exc.value.code == "wish_not_open"
    rejected = make_wish(tree.community)
    services.wish_reject(actor=admin, wish=rejected, reason="含有个人电话")
    assert Wish.objects.get(pk=rejected.pk).state == WishState.REJECTED
    with pytest.raises(OutOfJurisdiction):
        services.wish_approve(actor=make_staff("community_admin", tree.other_community), wish=make_wish(tree.community))


def test_wish_needs_login_and_text(tree):
    with pytest.raises(NotAuthenticated):
        services.wish_submit(actor=None, text="x", jurisdiction=tree.community)
    with pytest.raises(AppError) as exc:
        services.wish_submit(actor=make_worker(), text="x" * 501, jurisdiction=tree.community)
    assert exc.value.code == "text_too_long"
    assert not Wish.objects.exists()


def test_wish_to_need_only_after_approval(tree, admin):
    wish = make_wish(tree.community)
    due = timezone.localdate() + dt.timedelta(days=7)
    with pytest.raises(AppError) as exc:
        services.need_create(actor=admin, title="微波炉", owner=admin, due_on=due, wish=wish)
    assert exc.value.code == "wish_not_open"
    services.wish_approve(actor=admin, wish=wish)
    need = services.need_create(actor=admin, title="微波炉", owner=admin, due_on=due, wish=wish)
    assert need.source == "wish" and need.jurisdiction == tree.community


# ---- forums and needs -----------------------------------------------------------------


def test_forum_items_become_needs_with_owner_and_due_date(tree, admin):
    grid_worker = make_staff("grid_worker", tree.grid)
    forum = make_forum(tree.community, actor=admin, held_on=timezone.localdate() - dt.timedelta(days=3))
    need = make_need(tree.community, actor=admin, owner=grid_worker, forum=forum)
    assert need.source == "forum" and need.raised_on == forum.held_on and need.owner == grid_worker
    assert Notification.objects.filter(user=grid_worker, kind="need_assigned").exists()
    with pytest.raises(AppError) as exc:  # an owner from another community
        make_need(tree.community, actor=admin, owner=make_staff("grid_worker", tree.grids[2]))
    assert exc.value.code == "invalid_owner"
    with pytest.raises(AppError) as exc:
        make_need(tree.community, actor=admin, owner=make_worker())
    assert exc.value.code == "invalid_owner"
    with pytest.raises(AppError) as exc:
        make_need(tree.community, actor=admin, due_in_days=-1)
    assert exc.value.code == "invalid_date" and exc.value.field == "due_on"


@pytest.mark.parametrize(("kwargs", "code", "field"), [
    ({"group": ""}, "required", "group"),
    ({"held_on": "2026-13-01"}, "invalid_date", "held_on"),
    ({"held_on": "2099-01-01"}, "invalid_date", "held_on"),
    ({"attendees": -1}, "invalid_number", "attendees"),
    ({"attendees": "many"}, "invalid_number", "attendees"),
    ({"jurisdiction": "NOPE"}, "unknown_jurisdiction", "jurisdiction"),
])
def test_forum_bad_input(tree, admin, kwargs, code, field):
    from yizhan.needs.models import Forum

    args = {"held_on": "2026-01-05", "group": "快递员", "jurisdiction": tree.community.code, "attendees": 8, **kwargs}
    with pytest.raises(AppError) as exc:
        services.forum_create(actor=admin, **args)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert not Forum.objects.exists()


ROLES = ("manager", "owner", "other_manager", "stranger")


def _actor_for(role, tree, need, manager):
    if role == "manager":
        return manager
    if role == "owner":
        return need.owner
    if role == "other_manager":
        return make_staff("community_admin", tree.other_community)
    return make_worker()


def _put_in_state(need, state, manager):
    path = {
        NeedState.OPEN: [],
        NeedState.IN_PROGRESS: [("start", {})],
        NeedState.SOLVED: [("solve", {"note": "已解决"})],
        NeedState.DECLINED: [("decline", {"note": "不在职责范围"})],
    }[state]
    for action, kw in path:
        need = services.need_act(actor=manager, need=need, action=action, **kw)
    return need


@pytest.mark.parametrize(("state", "action", "role"),
                         list(itertools.product(NeedState.values, [a for a in NeedAction.values if a != "create"],
                                                ROLES)))
def test_need_transition_table_exhaustively(tree, state, action, role):
    manager = make_staff("community_admin", tree.community)
    owner = make_staff("grid_worker", tree.grid)
    need = make_need(tree.community, actor=manager, owner=owner)
    need = _put_in_state(need, state, manager)
    actor = _actor_for(role, tree, need, manager)
    new_owner = make_staff("grid_worker", tree.grids[1])
    before = (Need.objects.filter(pk=need.pk).values().get(), NeedEvent.objects.count())
    rule = W.need_transition(state, action)
    kinds = {"manager": {W.MANAGER}, "owner": {W.OWNER}}.get(role, set())
    kw = {"note": "说明"}
    if action == "reassign":
        kw.update(owner=new_owner)
    if rule is not None and kinds & rule[1]:
        got = services.need_act(actor=actor, need=need, action=action, **kw)
        assert got.state == rule[0]
        ev = NeedEvent.objects.filter(need=need).last()
        assert (ev.action, ev.from_state, ev.to_state, ev.actor_id) == (action, state, rule[0], actor.pk)
        if action == "reassign":
            assert got.owner == new_owner
        if rule[0] == NeedState.SOLVED:
            assert got.resolution == "说明" and got.solved_at
        return
    with pytest.raises(AppError) as exc:
        services.need_act(actor=actor, need=need, action=action, **kw)
    if role == "stranger":
        assert exc.value.code == "permission_denied"
    elif role == "other_manager":
        assert exc.value.code == "out_of_jurisdiction"
    elif rule is None:
        assert exc.value.code == "invalid_transition"
    else:
        assert exc.value.code == "permission_denied"
    assert (Need.objects.filter(pk=need.pk).values().get(), NeedEvent.objects.count()) == before


@pytest.mark.parametrize("action", sorted(W.NEED_NOTE_REQUIRED))
def test_need_actions_that_need_a_note(tree, admin, action):
    need = make_need(tree.community, actor=admin)
    state = {"progress": NeedState.IN_PROGRESS, "reopen": NeedState.SOLVED}.get(action, NeedState.OPEN)
    need = _put_in_state(need, state, admin)
    with pytest.raises(AppError) as exc:
        services.need_act(actor=admin, need=need, action=action, note=" ")
    assert (exc.value.code, exc.value.field) == ("reason_required", "note")


def test_need_unknown_action_and_reassign_without_change(tree, admin):
    need = make_need(tree.community, actor=admin)
    with pytest.raises(AppError) as exc:
        services.need_act(actor=admin, need=need, action="teleport")
    assert exc.value.code == "unknown_action"
    with pytest.raises(AppError) as exc:
        services.need_act(actor=admin, need=need, action="reassign")
    assert exc.value.code == "invalid_owner"


def test_timeline_and_actions_for(tree, admin):
    owner = make_staff("grid_worker", tree.grid)
    need = make_need(tree.community, actor=admin, owner=owner)
    assert selectors.need_actions_for(actor=owner, need=need) == ["start", "solve"]
    assert selectors.need_actions_for(actor=admin, need=need) == ["start", "solve", "decline", "reassign"]
    services.need_start(actor=owner, need=need, note="已联系物业")
    services.need_solve(actor=owner, need=need, note="新增 20 个充电口")
    assert [e.action for e in selectors.need_timeline(need=need)] == ["create", "start", "solve"]
    assert selectors.need_actions_for(actor=owner, need=Need.objects.get(pk=need.pk)) == []


def test_owner_reads_own_need_outside_needs_view(tree, admin):
    owner = make_staff("grid_worker", tree.grid)
    need = make_need(tree.community, actor=admin, owner=owner)
    assert selectors.need_get(actor=owner, pk=need.pk) == need
    assert [n.pk for n in selectors.need_list(actor=owner)] == [need.pk]
    with pytest.raises(OutOfJurisdiction):
        selectors.need_get(actor=make_staff("community_admin", tree.other_community), pk=need.pk)
    with pytest.raises(PermissionDenied):
        selectors.need_get(actor=make_worker(), pk=need.pk)


# ---- figures ---------------------------------------------------------------------


def test_figures_are_exact(tree, admin):
    today = timezone.localdate()
    day = today - dt.timedelta(days=20)
    forum = make_forum(tree.community, actor=admin, held_on=day, attendees=25)
    needs = [make_need(tree.community, actor=admin, forum=forum, due_in_days=10, title=f"需求{i}") for i in range(30)]
    for n in needs[:18]:
        services.need_solve(actor=admin, need=n, note="已解决")
    for n in needs[18:22]:
        services.need_start(actor=admin, need=n)
    services.need_decline(actor=admin, need=needs[22], note="超出社区职责")
    # due 10 days after the forum = 10 days ago: the 4 in progress and the 7 open are overdue
    services.need_reassign(actor=admin, need=needs[29], due_on=today + dt.timedelta(days=3))
    # another community and the other district do not count in community A
    make_need(tree.other_community, actor=make_staff("community_admin", tree.other_community))
    s = make_suggestion(tree.community)
    make_suggestion(tree.community)
    services.suggestion_answer(actor=admin, suggestion=s, outcome="adopt", reply="好")
    wish = make_wish(tree.community, approved_by=admin)
    services.wish_support(actor=make_worker(), wish=wish)
    make_wish(tree.community)

    fig = selectors.needs_figures(jurisdiction=tree.community)
    assert fig["needs"] == {"collected": 30, "open": 7, "in_progress": 4, "solved": 18, "declined": 1,
                            "overdue": 10, "solve_rate": 0.6}
    assert fig["suggestions"] == {"received": 2, "answered": 1, "adopted": 1, "answer_rate": 0.5}
    assert fig["wishes"] == {"posted": 2, "pending": 1, "public": 1, "fulfilled": 0, "supports": 1}
    assert fig["forums"] == {"held": 1, "attendees": 25}
    street = selectors.needs_figures(jurisdiction=tree.street)
    assert street["needs"]["collected"] == 31
    assert selectors.needs_figures(jurisdiction=tree.far_community)["needs"]["solve_rate"] is None
    # a period that ends before the forum: nothing collected
    early = selectors.needs_figures(jurisdiction=tree.community, until=day - dt.timedelta(days=1))
    assert early["needs"]["collected"] == 0 and early["forums"]["held"] == 0
    assert selectors.needs_figures(jurisdiction=tree.community, since=day, until=day)["needs"]["collected"] == 30
    rows = selectors.needs_figures_rows(jurisdiction=tree.street)
    assert [(r["jurisdiction"]["code"], r["needs"]["collected"]) for r in rows] == [
        (tree.community.code, 30), (tree.other_community.code, 1)]

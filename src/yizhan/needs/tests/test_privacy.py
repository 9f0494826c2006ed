"""PIPL export and erasure of the needs app (hooks in needs/privacy.py, run by
accounts.services.account_export / account_delete)."""

from __future__ import annotations

import json

import pytest

from yizhan.accounts import services as accounts
from yizhan.core.models import AuditLog
from yizhan.core.testing.factories import (
    make_staff,
    make_superuser,
    make_worker,
)
from yizhan.core.testing.privacy import assert_no_path_back, identifiers_of
from yizhan.needs import services
from yizhan.needs.models import Need, NeedEvent, Suggestion, Wish, WishSupport
from yizhan.needs.privacy import DELETED_LABEL
from yizhan.needs.tests.factories import make_forum, make_need, make_suggestion, make_wish

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(tree):
    return make_staff("community_admin", tree.community, display_name="李书记")


@pytest.fixture
def world(tree, admin):
    """The person (``me``) and someone else, each with suggestions, wishes and +1s."""
    me = make_worker(display_name="张三")
    other = make_worker(display_name="李四")
    lat, lng = tree.point(tree.grid)
    named = make_suggestion(tree.community, actor=me, text="我的建议：驿站晚上开到十点")
    anon = services.suggestion_submit(actor=me, text="我的匿名建议：多装充电桩", category="transport",
                                      lat=lat, lng=lng, is_anonymous=True)
    services.suggestion_answer(actor=admin, suggestion=named, outcome="reply", reply="已安排延长开放时间")
    theirs = make_suggestion(tree.community, actor=other, text="别人的建议")
    my_wish = make_wish(tree.community, author=me, text="我的心愿：一台微波炉", approved_by=admin)
    their_wish = make_wish(tree.community, author=other, text="别人的心愿：雨伞", approved_by=admin)
    services.wish_support(actor=me, wish=their_wish)
    services.wish_support(actor=other, wish=my_wish)
    third = make_worker()
    services.wish_support(actor=third, wish=their_wish)
    return {"me": me, "other": other, "named": named, "anon": anon, "theirs": theirs,
            "my_wish": my_wish, "their_wish": their_wish}


def test_export_has_my_rows_and_nothing_of_anyone_else(world, admin):
    me = world["me"]
    data = accounts.account_export(actor=me, user=me)
    json.dumps(data, ensure_ascii=False)  # plain JSON

    sugg = {s["text"]: s for s in data["needs_suggestions"]}
    assert set(sugg) == {"我的建议：驿站晚上开到十点", "我的匿名建议：多装充电桩"}
    named = sugg["我的建议：驿站晚上开到十点"]
    assert named["reply"] == "已安排延长开放时间" and named["state"] == "replied"
    assert named["tracking_code"] == world["named"].tracking_code
    assert named["created_at"].endswith("+00:00") and named["replied_at"].endswith("+00:00")
    assert sugg["我的匿名建议：多装充电桩"]["is_anonymous"] is True

    assert [w["text"] for w in data["needs_wishes"]] == ["我的心愿：一台微波炉"]
    assert data["needs_wishes"][0]["support_count"] == 1
    assert [s["wish"] for s in data["needs_wish_supports"]] == [world["their_wish"].pk]
    assert data["needs_staff_records"] == []

    blob = json.dumps({k: v for k, v in data.items() if k.startswith("needs_")}, ensure_ascii=False)
    for foreign in ("别人的建议", "别人的心愿", "李四", world["other"].username, "李书记", admin.username):
        assert foreign not in blob
    # account_export writes the audit row of the export.
    assert AuditLog.objects.filter(action="export", object_type="accounts.user", object_id=str(me.pk)).count() == 1


def test_staff_export_lists_owned_needs_without_titles(tree, admin):
    forum = make_forum(tree.community, actor=admin)
    need = make_need(tree.community, actor=admin, forum=forum, title="张三家门口的路灯")
    data = accounts.account_export(actor=admin, user=admin)
    rows = data["needs_staff_records"]
    assert {"type": "need_owned", "need": need.pk, "state": "open", "raised_on": need.raised_on.isoformat(),
            "due_on": need.due_on.isoformat(), "solved_at": None} in rows
    assert any(r["type"] == "forum_recorded" and r["forum"] == forum.pk for r in rows)
    assert "张三" not in json.dumps(rows, ensure_ascii=False)


def test_delete_keeps_what_was_said_and_cuts_every_path_back(world):
    me = world["me"]
    names = identifiers_of(me)
    accounts.account_delete(actor=me, user=me)

    # Suggestions stay, anonymous, without author or position; the reply is still readable by code.
    for key in ("named", "anon"):
        s = Suggestion.objects.get(pk=world[key].pk)
        assert s.author_id is None and s.is_anonymous and s.lat is None and s.lng is None
        assert s.text == world[key].text
    named = Suggestion.objects.get(pk=world["named"].pk)
    assert named.reply == "已安排延长开放时间" and named.tracking_code == world["named"].tracking_code
    assert not Suggestion.objects.filter(author=me).exists()

    # Wishes stay on the wall, unlinked; their +1s from others stay.
    wish = Wish.objects.get(pk=world["my_wish"].pk)
    assert wish.author_id is None and wish.is_anonymous and wish.text == "我的心愿：一台微波炉"
    assert wish.state == "public" and wish.support_count == 1 == wish.supports.count()

    # My +1 is gone and the counter moved down with it.
    assert not WishSupport.objects.filter(user=me).exists()
    theirs = Wish.objects.get(pk=world["their_wish"].pk)
    assert theirs.support_count == theirs.supports.count() == 1

    assert_no_path_back(None, me, identifiers=names)

    # The other person's rows are untouched.
    assert Suggestion.objects.get(pk=world["theirs"].pk).author_id == world["other"].pk
    assert Wish.objects.get(pk=world["their_wish"].pk).author_id == world["other"].pk

    # Nothing in the export of the shell any more.
    me.refresh_from_db()
    data = accounts.account_export(actor=make_superuser(), user=me)
    assert all(data[k] == [] for k in ("needs_suggestions", "needs_wishes", "needs_wish_supports"))


def test_delete_staff_unlinks_replies_reviews_forums_and_timeline(tree, admin, world):
    forum = make_forum(tree.community, actor=admin)
    owner = make_staff("community_admin", tree.community)
    need = make_need(tree.community, actor=admin, owner=owner, forum=forum)
    services.need_start(actor=owner, need=need, note="已联系")
    username = admin.username
    names = identifiers_of(admin)
    accounts.account_delete(actor=admin, user=admin)

    assert Suggestion.objects.get(pk=world["named"].pk).replied_by_id is None
    assert Wish.objects.get(pk=world["my_wish"].pk).reviewed_by_id is None
    assert Need.objects.get(pk=need.pk).created_by_id is None
    forum.refresh_from_db()
    assert forum.recorded_by_id is None
    create = NeedEvent.objects.get(need=need, action="create")
    assert create.actor_id is None and create.actor_label == DELETED_LABEL
    assert not NeedEvent.objects.filter(actor=admin).exists()
    assert not NeedEvent.objects.filter(actor_label=username).exists()
    assert_no_path_back(None, admin, identifiers=names)
    # The owner's own line is untouched.
    assert NeedEvent.objects.get(need=need, action="start").actor_id == owner.pk


def test_delete_owner_leaves_the_need_without_owner(client, tree, admin):
    """Issue 8: Need.owner kept pointing at the deleted person."""
    from yizhan.core.testing.factories import bearer
    from yizhan.needs.selectors import need_view

    owner = make_staff("community_admin", tree.community)
    need = make_need(tree.community, actor=admin, owner=owner)
    services.need_start(actor=owner, need=need, note="已联系")
    names = identifiers_of(owner)

    accounts.account_delete(actor=owner, user=owner)

    need.refresh_from_db()
    assert need.owner_id is None and need.state == "in_progress"
    assert need_view(need=need)["owner"] is None
    assert_no_path_back(None, owner, identifiers=names)
    # Managers still see it (owner null on the wire) and can hand it to someone.
    resp = client.get(f"/api/v1/needs/needs/{need.pk}", headers=bearer(admin))
    assert resp.status_code == 200 and resp.json()["owner"] is None


def test_delete_without_any_needs_rows_is_a_no_op(tree):
    lonely = make_worker()
    accounts.account_delete(actor=lonely, user=lonely)
    lonely.refresh_from_db()
    assert not lonely.is_active

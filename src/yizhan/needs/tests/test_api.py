"""Every endpoint of /api/v1/needs: happy path, bad input, wrong role, wrong
jurisdiction (check_matrix with a snapshot proving a denial changes nothing)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from yizhan.core.testing.factories import bearer, make_jurisdiction_tree, make_staff, make_worker
from yizhan.core.testing.matrix import api_json, assert_error, assert_not_listed, check_matrix
from yizhan.needs import services
from yizhan.needs.models import Forum, Need, NeedEvent, Suggestion, Wish, WishSupport
from yizhan.needs.tests.factories import make_forum, make_need, make_suggestion, make_wish

pytestmark = pytest.mark.django_db
API = "/api/v1/needs"


@pytest.fixture
def w():
    class World:
        pass

    world = World()
    world.tree = make_jurisdiction_tree()
    world.admin = make_staff("community_admin", world.tree.community)
    world.other = make_staff("community_admin", world.tree.other_community)
    world.worker = make_worker()
    world.grid_worker = make_staff("grid_worker", world.tree.grid)  # a staff role without needs.*
    return world


def snap():
    return (
        list(Suggestion.objects.values()), list(Wish.objects.values()), list(WishSupport.objects.values()),
        list(Forum.objects.values()), list(Need.objects.values()), NeedEvent.objects.count(),
    )


def due(days=14) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


# ---- public ----------------------------------------------------------------------------


def test_categories_public(client):
    resp = client.get(f"{API}/categories")
    assert resp.status_code == 200
    assert {"code": "rights", "label": "权益保障"} in resp.json()


def test_figures_public_and_exact(client, w):
    forum = make_forum(w.tree.community, actor=w.admin, held_on=timezone.localdate() - dt.timedelta(days=2))
    needs = [make_need(w.tree.community, actor=w.admin, forum=forum, title=f"事项{i}") for i in range(5)]
    for n in needs[:3]:
        services.need_solve(actor=w.admin, need=n, note="已办")
    resp = client.get(f"{API}/figures", {"jurisdiction": w.tree.street.code})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["needs"]["collected"] == 5 and body["needs"]["solved"] == 3 and body["needs"]["solve_rate"] == 0.6
    assert [r["jurisdiction"]["code"] for r in body["rows"]] == [w.tree.community.code]
    assert client.get(f"{API}/figures").json()["needs"]["collected"] == 5
    assert_error(client.get(f"{API}/figures", {"jurisdiction": "NOPE"}), 400, "unknown_jurisdiction", "jurisdiction")  # merged: was 404 jurisdiction_not_found
    assert_error(client.get(f"{API}/figures", {"since": "yesterday"}), 400, "invalid")


def test_suggestion_by_anyone_then_tracked(client, w):
    lat, lng = w.tree.point(w.tree.grid)
    resp = api_json(client, "post", f"{API}/suggestions", {"text": "夜里驿站能开门吗", "category": "station",
                                                           "lat": lat, "lng": lng})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["jurisdiction"]["code"] == w.tree.community.code and body["is_anonymous"] and body["author"] is None
    track = client.get(f"{API}/suggestions/track/{body['tracking_code']}")
    assert track.status_code == 200 and track.json()["state"] == "submitted"
    assert_error(client.get(f"{API}/suggestions/track/NOPE"), 404, "suggestion_not_found")


@pytest.mark.parametrize(("payload", "code", "field"), [
    ({"text": "", "category": "station"}, "required", "text"),
    ({"text": "x" * 2001, "category": "station"}, "text_too_long", "text"),
    ({"text": "x", "category": "bogus"}, "unknown_category", "category"),
    ({"text": "x", "category": "other", "jurisdiction": None}, "location_required", "jurisdiction"),
    ({"text": "x", "category": "other", "jurisdiction": None, "lat": 1, "lng": 1}, "location_outside", "lat"),
    ({"category": "other"}, "invalid", "text"),
])
def test_suggestion_bad_input(client, w, payload, code, field):
    payload = {"jurisdiction": w.tree.community.code, **payload}
    assert_error(api_json(client, "post", f"{API}/suggestions", payload), 400, code, field)
    assert not Suggestion.objects.exists()


def test_my_suggestions_with_bearer_token(client, w):
    headers = bearer(w.worker)
    resp = client.post(f"{API}/suggestions", data={"text": "希望增加法律咨询", "category": "rights",
                                                   "jurisdiction": w.tree.community.code, "is_anonymous": True},
                       content_type="application/json", headers=headers)
    assert resp.status_code == 201
    s = Suggestion.objects.get()
    assert s.author == w.worker and s.is_anonymous
    services.suggestion_answer(actor=w.admin, suggestion=s, outcome="adopt", reply="每月第一周开设")
    mine = client.get(f"{API}/suggestions/mine", headers=headers).json()
    assert mine["count"] == 1 and mine["items"][0]["reply"] == "每月第一周开设"
    assert_error(client.get(f"{API}/suggestions/mine"), 401, "not_authenticated")
    assert client.get(f"{API}/suggestions/mine", headers=bearer(make_worker())).json()["count"] == 0


def test_suggestion_staff_list_scoped(client, w):
    s = make_suggestion(w.tree.community, actor=w.worker, is_anonymous=True)
    far = make_suggestion(w.tree.other_community)
    resp = check_matrix(client, "get", f"{API}/suggestions", wrong_role=[w.worker, w.grid_worker], allowed=w.admin)
    body = resp.json()
    assert [i["id"] for i in body["items"]] == [s.pk] and body["items"][0]["author"] == "匿名"
    assert body["items"][0]["tracking_code"] is None
    client.force_login(w.other)
    assert_not_listed(client.get(f"{API}/suggestions"), field="id", value=s.pk)
    assert [i["id"] for i in client.get(f"{API}/suggestions").json()["items"]] == [far.pk]


def test_suggestion_detail_scoped(client, w):
    s = make_suggestion(w.tree.community)
    resp = check_matrix(client, "get", f"{API}/suggestions/{s.pk}", wrong_role=w.worker, wrong_jurisdiction=w.other,
                        allowed=w.admin)
    assert resp.json()["text"] == s.text
    client.force_login(w.admin)
    assert_error(client.get(f"{API}/suggestions/999999"), 404, "suggestion_not_found")


def test_suggestion_answer_matrix_and_to_need(client, w):
    s = make_suggestion(w.tree.community)
    data = {"outcome": "to_need", "reply": "已列入清单", "owner": w.grid_worker.username, "due_on": due(30)}
    resp = check_matrix(client, "post", f"{API}/suggestions/{s.pk}/answer", data,
                        wrong_role=[w.worker, w.grid_worker], wrong_jurisdiction=w.other, allowed=w.admin,
                        snapshot=snap)
    body = resp.json()
    assert body["state"] == "to_need" and body["need"]["state"] == "open"
    assert Need.objects.get().owner == w.grid_worker


@pytest.mark.parametrize(("data", "status", "code", "field"), [
    ({"outcome": "adopt", "reply": ""}, 400, "reply_required", "reply"),
    ({"outcome": "maybe", "reply": "x"}, 400, "unknown_action", "outcome"),
    ({"outcome": "to_need", "reply": "x", "due_on": "2030-01-01"}, 400, "invalid_owner", "owner"),
    ({"outcome": "to_need", "reply": "x", "owner": "nobody", "due_on": "2030-01-01"}, 400, "invalid_owner", "owner"),
    ({"outcome": "to_need", "reply": "x", "owner": "OWNER", "due_on": "soon"}, 400, "invalid_date", "due_on"),
])
def test_suggestion_answer_bad_input(client, w, data, status, code, field):
    s = make_suggestion(w.tree.community)
    if data.get("owner") == "OWNER":
        data["owner"] = w.admin.pk
    client.force_login(w.admin)
    before = snap()
    assert_error(api_json(client, "post", f"{API}/suggestions/{s.pk}/answer", data), status, code, field)
    assert snap() == before


def test_answer_twice_after_close_is_invalid_transition(client, w):
    s = make_suggestion(w.tree.community)
    client.force_login(w.admin)
    assert api_json(client, "post", f"{API}/suggestions/{s.pk}/answer", {"outcome": "close", "reply": "好"}).status_code == 200
    assert_error(api_json(client, "post", f"{API}/suggestions/{s.pk}/answer", {"outcome": "adopt", "reply": "x"}),
                 409, "invalid_transition")


# ---- wishes ------------------------------------------------------------------------------


def test_wish_wall_flow(client, w):
    headers = bearer(w.worker)
    resp = client.post(f"{API}/wishes", data={"text": "希望驿站有微波炉", "jurisdiction": w.tree.community.code},
                       content_type="application/json", headers=headers)
    assert resp.status_code == 201, resp.content
    wish_id = resp.json()["id"]
    assert resp.json()["state"] == "pending"
    assert client.get(f"{API}/wishes").json()["count"] == 0
    assert_error(client.get(f"{API}/wishes/{wish_id}"), 404, "wish_not_found")
    mine = client.get(f"{API}/wishes/mine", headers=headers).json()
    assert [i["state"] for i in mine["items"]] == ["pending"]
    services.wish_approve(actor=w.admin, wish=Wish.objects.get(pk=wish_id))
    wall = client.get(f"{API}/wishes").json()
    assert wall["count"] == 1 and wall["items"][0]["author"] != w.worker.display_name
    assert client.get(f"{API}/wishes/{wish_id}").json()["support_count"] == 0


def test_wish_post_needs_login_and_valid_text(client, w):
    assert_error(api_json(client, "post", f"{API}/wishes", {"text": "x", "jurisdiction": w.tree.community.code}),
                 401, "not_authenticated")
    client.force_login(w.worker)
    assert_error(api_json(client, "post", f"{API}/wishes", {"text": "x" * 501, "jurisdiction": w.tree.community.code}),
                 400, "text_too_long", "text")
    assert_error(api_json(client, "post", f"{API}/wishes", {"text": "x"}), 400, "location_required", "jurisdiction")
    assert not Wish.objects.exists()


def test_support_is_idempotent_over_http(client, w):
    wish = make_wish(w.tree.community, approved_by=w.admin)
    url = f"{API}/wishes/{wish.pk}/support"
    assert_error(client.post(url), 401, "not_authenticated")
    headers = bearer(w.worker)
    first = client.post(url, headers=headers).json()
    second = client.post(url, headers=headers).json()
    assert (first["support_count"], first["created"]) == (1, True)
    assert (second["support_count"], second["created"]) == (1, False)
    assert client.get(f"{API}/wishes", headers=headers).json()["items"][0]["supported"] is True
    pending = make_wish(w.tree.community)
    assert_error(client.post(f"{API}/wishes/{pending.pk}/support", headers=headers), 404, "wish_not_found")
    services.wish_fulfilled(actor=w.admin, wish=wish, fulfiller="志愿者")
    assert_error(client.post(url, headers=bearer(make_worker())), 409, "wish_not_open")


def test_wish_staff_list_scoped(client, w):
    wish = make_wish(w.tree.community)
    resp = check_matrix(client, "get", f"{API}/wishes/staff?state=pending", wrong_role=[w.worker, w.grid_worker],
                        allowed=w.admin)
    assert [i["id"] for i in resp.json()["items"]] == [wish.pk]
    client.force_login(w.other)
    assert_not_listed(client.get(f"{API}/wishes/staff"), field="id", value=wish.pk)


@pytest.mark.parametrize(("action", "data", "state"), [
    ("approve", {}, "public"),
    ("reject", {"reason": "含个人信息"}, "rejected"),
])
def test_wish_moderation_matrix(client, w, action, data, state):
    wish = make_wish(w.tree.community)
    resp = check_matrix(client, "post", f"{API}/wishes/{wish.pk}/actions/{action}", data,
                        wrong_role=[w.worker, w.grid_worker], wrong_jurisdiction=w.other, allowed=w.admin,
                        snapshot=snap)
    assert resp.json()["state"] == state


def test_wish_fulfilment_and_bad_actions(client, w):
    wish = make_wish(w.tree.community, approved_by=w.admin)
    client.force_login(w.admin)
    url = f"{API}/wishes/{wish.pk}/actions"
    assert_error(api_json(client, "post", f"{url}/fulfilling", {"fulfiller": ""}), 400, "required", "fulfiller")
    assert_error(api_json(client, "post", f"{url}/fly", {}), 400, "unknown_action")
    assert_error(api_json(client, "post", f"{url}/approve", {}), 409, "invalid_transition")
    resp = api_json(client, "post", f"{url}/fulfilling", {"fulfiller": "爱心商家 老王面馆", "note": "捐微波炉"})
    assert resp.json()["state"] == "fulfilling"
    resp = api_json(client, "post", f"{url}/fulfilled", {})
    assert resp.json()["state"] == "fulfilled" and resp.json()["fulfiller"] == "爱心商家 老王面馆"
    assert_error(api_json(client, "post", f"{API}/wishes/99999/actions/approve", {}), 404, "wish_not_found")


# ---- forums and needs --------------------------------------------------------------------


def test_forum_create_matrix_and_bad_input(client, w):
    data = {"held_on": timezone.localdate().isoformat(), "group": "快递员", "jurisdiction": w.tree.community.code,
            "attendees": 15, "hosts": "王书记"}
    resp = check_matrix(client, "post", f"{API}/forums", data, wrong_role=[w.worker, w.grid_worker],
                        wrong_jurisdiction=w.other, allowed=w.admin, snapshot=snap)
    assert resp.status_code == 201 and resp.json()["attendees"] == 15
    client.force_login(w.admin)
    assert_error(api_json(client, "post", f"{API}/forums", {**data, "attendees": -3}), 400, "invalid_number",
                 "attendees")
    assert_error(api_json(client, "post", f"{API}/forums", {**data, "held_on": "2099-01-01"}), 400, "invalid_date",
                 "held_on")
    assert Forum.objects.count() == 1


def test_forum_list_and_detail_scoped(client, w):
    forum = make_forum(w.tree.community, actor=w.admin)
    make_need(w.tree.community, actor=w.admin, forum=forum)
    resp = check_matrix(client, "get", f"{API}/forums", wrong_role=[w.worker, w.grid_worker], allowed=w.admin)
    assert resp.json()["items"][0]["needs_total"] == 1
    client.force_login(w.other)
    assert_not_listed(client.get(f"{API}/forums"), field="id", value=forum.pk)
    check_matrix(client, "get", f"{API}/forums/{forum.pk}", wrong_role=w.worker, wrong_jurisdiction=w.other,
                 allowed=w.admin)


def test_forum_item_becomes_need(client, w):
    forum = make_forum(w.tree.community, actor=w.admin, held_on=timezone.localdate() - dt.timedelta(days=1))
    data = {"title": "电动车充电难", "owner": w.grid_worker.pk, "due_on": due(20)}
    resp = check_matrix(client, "post", f"{API}/forums/{forum.pk}/needs", data, wrong_role=[w.worker, w.grid_worker],
                        wrong_jurisdiction=w.other, allowed=w.admin, snapshot=snap)
    body = resp.json()
    assert body["source"] == "forum" and body["forum_id"] == forum.pk and body["raised_on"] == forum.held_on.isoformat()
    client.force_login(w.admin)
    assert_error(api_json(client, "post", f"{API}/forums/{forum.pk}/needs", {**data, "title": ""}), 400, "required",
                 "title")
    assert_error(api_json(client, "post", f"{API}/forums/{forum.pk}/needs", {**data, "owner": w.other.pk}), 400,
                 "invalid_owner", "owner")


def test_need_create_direct_and_from_wish(client, w):
    data = {"title": "子女暑托班名额", "owner": w.admin.pk, "due_on": due(), "jurisdiction": w.tree.community.code}
    resp = check_matrix(client, "post", f"{API}/needs", data, wrong_role=[w.worker, w.grid_worker],
                        wrong_jurisdiction=w.other, allowed=w.admin, snapshot=snap)
    assert resp.json()["source"] == "direct"
    wish = make_wish(w.tree.community, approved_by=w.admin)
    client.force_login(w.admin)
    resp = api_json(client, "post", f"{API}/needs", {"title": "微波炉", "owner": w.admin.pk, "due_on": due(),
                                                     "wish": wish.pk})
    assert resp.status_code == 201 and resp.json()["wish_id"] == wish.pk
    assert_error(api_json(client, "post", f"{API}/needs", {**data, "due_on": "2000-01-01"}), 400, "invalid_date",
                 "due_on")
    client.force_login(w.other)
    assert_error(api_json(client, "post", f"{API}/needs", {"title": "x", "owner": w.other.pk, "due_on": due(),
                                                           "wish": wish.pk}), 403, "out_of_jurisdiction")


def test_need_list_filters_and_scope(client, w):
    mine = make_need(w.tree.community, actor=w.admin, owner=w.grid_worker, title="我的")
    late = make_need(w.tree.community, actor=w.admin, raised_on=timezone.localdate() - dt.timedelta(days=30),
                     due_in_days=5, title="逾期")
    far = make_need(w.tree.other_community, actor=w.other)
    resp = check_matrix(client, "get", f"{API}/needs", wrong_role=w.worker, allowed=w.admin)
    assert {i["id"] for i in resp.json()["items"]} == {mine.pk, late.pk}
    client.force_login(w.admin)
    body = client.get(f"{API}/needs", {"overdue": "true"}).json()
    assert [i["id"] for i in body["items"]] == [late.pk] and body["items"][0]["overdue"] is True
    assert [i["id"] for i in client.get(f"{API}/needs", {"owner": w.grid_worker.pk}).json()["items"]] == [mine.pk]
    client.force_login(w.other)
    assert_not_listed(client.get(f"{API}/needs"), field="id", value=mine.pk)
    # the owner (a grid worker without needs.view) sees what they own
    client.force_login(w.grid_worker)
    assert [i["id"] for i in client.get(f"{API}/needs").json()["items"]] == [mine.pk]
    assert far.pk


def test_need_detail_scoped_with_timeline(client, w):
    need = make_need(w.tree.community, actor=w.admin, owner=w.grid_worker)
    resp = check_matrix(client, "get", f"{API}/needs/{need.pk}", wrong_role=w.worker, wrong_jurisdiction=w.other,
                        allowed=w.admin)
    body = resp.json()
    assert [e["action"] for e in body["timeline"]] == ["create"]
    assert body["actions"] == ["start", "solve", "decline", "reassign"]
    client.force_login(w.grid_worker)
    assert client.get(f"{API}/needs/{need.pk}").json()["actions"] == ["start", "solve"]
    client.force_login(w.admin)
    assert_error(client.get(f"{API}/needs/999999"), 404, "need_not_found")


def test_need_actions_over_http(client, w):
    need = make_need(w.tree.community, actor=w.admin, owner=w.grid_worker)
    resp = check_matrix(client, "post", f"{API}/needs/{need.pk}/actions/start", {"note": "已对接"},
                        wrong_role=[w.worker, make_staff("grid_worker", w.tree.grid)], wrong_jurisdiction=w.other,
                        allowed=w.grid_worker, snapshot=snap)
    assert resp.json()["state"] == "in_progress"
    client.force_login(w.grid_worker)
    url = f"{API}/needs/{need.pk}/actions"
    assert_error(api_json(client, "post", f"{url}/solve", {"note": ""}), 400, "reason_required", "note")
    assert_error(api_json(client, "post", f"{url}/decline", {"note": "x"}), 403, "permission_denied")
    assert_error(api_json(client, "post", f"{url}/warp", {}), 400, "unknown_action")
    resp = api_json(client, "post", f"{url}/solve", {"note": "增设充电桩 20 个"})
    assert resp.json()["state"] == "solved" and resp.json()["resolution"] == "增设充电桩 20 个"
    assert_error(api_json(client, "post", f"{url}/solve", {"note": "again"}), 409, "invalid_transition")
    client.force_login(w.admin)
    resp = api_json(client, "post", f"{url}/reopen", {"note": "骑手反映仍不够"})
    assert resp.json()["state"] == "in_progress"
    resp = api_json(client, "post", f"{url}/reassign", {"owner": w.admin.pk, "due_on": due(3), "note": "改由社区办"})
    assert resp.json()["owner"]["id"] == w.admin.pk
    assert [e["action"] for e in resp.json()["timeline"]] == ["create", "start", "solve", "reopen", "reassign"]


def test_anonymous_suggestions_are_rate_limited_per_ip(client, w, settings):
    from yizhan.needs.services import ANONYMOUS_SUGGESTIONS_PER_HOUR

    payload = {"text": "建议", "category": "other", "jurisdiction": w.tree.community.code}
    for _ in range(ANONYMOUS_SUGGESTIONS_PER_HOUR):
        assert api_json(client, "post", f"{API}/suggestions", payload).status_code == 201
    assert_error(api_json(client, "post", f"{API}/suggestions", payload), 429, "too_many_suggestions")
    assert Suggestion.objects.count() == ANONYMOUS_SUGGESTIONS_PER_HOUR
    # a logged-in author is not limited this way; another address is not either
    resp = client.post(f"{API}/suggestions", data=payload, content_type="application/json", headers=bearer(w.worker))
    assert resp.status_code == 201
    resp = api_json(client, "post", f"{API}/suggestions", payload, REMOTE_ADDR="10.0.0.9")
    assert resp.status_code == 201

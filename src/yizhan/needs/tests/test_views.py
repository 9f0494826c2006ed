"""Needs pages through the Django test client: what is shown, what is kept when
input is bad, who may see what."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from yizhan.core.testing.factories import make_staff, make_worker
from yizhan.needs import services
from yizhan.needs.models import Forum, Need, Suggestion, Wish, WishSupport
from yizhan.needs.tests.factories import make_forum, make_need, make_suggestion, make_wish

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(tree):
    return make_staff("community_admin", tree.community)


def text(resp) -> str:
    return resp.content.decode()


def test_wall_shows_only_approved_wishes_with_figures(client, tree, admin):
    shown = make_wish(tree.community, text="希望有免费理发", approved_by=admin)
    make_wish(tree.community, text="还没审核的心愿")
    forum = make_forum(tree.community, actor=admin, held_on=timezone.localdate() - dt.timedelta(days=1))
    for i in range(3):
        n = make_need(tree.community, actor=admin, forum=forum, title=f"事项{i}")
        if i < 2:
            services.need_solve(actor=admin, need=n, note="好了")
    resp = client.get("/needs/")
    assert resp.status_code == 200
    body = text(resp)
    assert "希望有免费理发" in body and "还没审核的心愿" not in body
    assert "收集需求 3 条，已解决 2 条" in body
    assert "登录后支持" in body and f'id="wish-{shown.pk}"' in body
    filtered = text(client.get("/needs/", {"j": tree.other_community.code}))
    assert "希望有免费理发" not in filtered and "收集需求 0 条" in filtered


def test_support_button_htmx_and_plain_post(client, tree, admin):
    wish = make_wish(tree.community, approved_by=admin)
    url = f"/needs/wishes/{wish.pk}/support/"
    resp = client.post(url)
    assert resp.status_code == 302 and "/accounts/otp/" in resp["Location"]
    worker = make_worker()
    client.force_login(worker)
    resp = client.post(url, HTTP_HX_REQUEST="true")
    assert resp.status_code == 200 and "已支持" in text(resp) and '<span class="count">1</span>' in text(resp)
    resp = client.post(url)  # second time, no htmx: back to the wall, still one
    assert resp.status_code == 302 and resp["Location"].endswith(f"#wish-{wish.pk}")
    assert WishSupport.objects.filter(wish=wish).count() == 1 == Wish.objects.get(pk=wish.pk).support_count
    assert "已支持" in text(client.get("/needs/"))
    assert client.post("/needs/wishes/99999/support/").status_code == 404


def test_wish_form_needs_login_keeps_text_on_error(client, tree):
    assert "/accounts/otp/" in client.get("/needs/wishes/new/")["Location"]
    client.force_login(make_worker())
    resp = client.post("/needs/wishes/new/", {"text": "想要一个充电宝", "jurisdiction": ""})
    assert resp.status_code == 400
    body = text(resp)
    assert "请选择所在社区" in body and "想要一个充电宝" in body
    resp = client.post("/needs/wishes/new/", {"text": "想要一个充电宝", "jurisdiction": tree.community.code})
    assert resp.status_code == 302 and resp["Location"] == "/needs/mine/"
    assert Wish.objects.get().state == "pending"
    assert "想要一个充电宝" in text(client.get("/needs/mine/")) and "待审核" in text(client.get("/needs/mine/"))


def test_suggestion_form_anonymous_visitor_gets_tracking_code(client, tree, admin):
    resp = client.get("/needs/suggest/")
    assert resp.status_code == 200 and "驿站服务" in text(resp) and "子女教育" in text(resp)
    resp = client.post("/needs/suggest/", {"category": "housing", "text": "希望多一些短租床位",
                                           "jurisdiction": tree.community.code})
    assert resp.status_code == 200
    s = Suggestion.objects.get()
    assert s.tracking_code in text(resp) and s.author is None
    services.suggestion_answer(actor=admin, suggestion=s, outcome="adopt", reply="暖新居所下月开放")
    resp = client.get("/needs/track/", {"code": s.tracking_code})
    assert "暖新居所下月开放" in text(resp)
    assert client.get("/needs/track/", {"code": "WRONG"}).status_code == 404


def test_suggestion_form_message_beside_field_keeps_input(client, tree):
    resp = client.post("/needs/suggest/", {"category": "transport", "text": "路口红绿灯太短", "jurisdiction": ""})
    assert resp.status_code == 400
    body = text(resp)
    assert "请选择所在社区或允许定位" in body and "路口红绿灯太短" in body
    assert 'value="transport" checked' in body or 'checked value="transport"' in body or "transport\" id" in body
    resp = client.post("/needs/suggest/", {"category": "transport", "text": "x", "lat": "10", "lng": "10"})
    assert resp.status_code == 400 and "该位置不在服务范围内" in text(resp)
    resp = client.post("/needs/suggest/", {"category": "", "text": ""})
    assert "请选择建议类别" in text(resp) and "请填写内容" in text(resp)
    lat, lng = tree.point(tree.grid)
    resp = client.post("/needs/suggest/", {"category": "transport", "text": "x", "lat": lat, "lng": lng})
    assert resp.status_code == 200 and Suggestion.objects.get().jurisdiction == tree.community


def test_my_suggestions_show_reply(client, tree, admin):
    worker = make_worker()
    client.force_login(worker)
    client.post("/needs/suggest/", {"category": "rights", "text": "希望有意外险", "jurisdiction": tree.community.code,
                                    "is_anonymous": "on"})
    s = Suggestion.objects.get()
    assert s.author == worker and s.is_anonymous
    services.suggestion_answer(actor=admin, suggestion=s, outcome="reply", reply="已为骑手党员送上意外险")
    body = text(client.get("/needs/mine/"))
    assert "希望有意外险" in body and "已为骑手党员送上意外险" in body


def test_staff_page_scoped_and_guarded(client, tree, admin):
    make_suggestion(tree.community, text="A社区的建议")
    make_suggestion(tree.other_community, text="B社区的建议")
    make_wish(tree.community, text="A社区待审心愿")
    make_need(tree.community, actor=admin, title="A社区的需求")
    assert "/accounts/login/" in client.get("/needs/staff/")["Location"]
    client.force_login(make_worker())
    assert client.get("/needs/staff/").status_code == 403
    client.force_login(make_staff("grid_worker", tree.grid))  # staff without needs.view, owning nothing
    assert client.get("/needs/staff/").status_code == 403
    client.force_login(admin)
    body = text(client.get("/needs/staff/"))
    assert "A社区的建议" in body and "B社区的建议" not in body
    assert "A社区待审心愿" in body and "A社区的需求" in body and "收集需求 1 条，已解决 0 条" in body
    later = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert "收集需求 0 条" in text(client.get("/needs/staff/", {"since": later}))
    bad = text(client.get("/needs/staff/", {"since": later, "until": "2000-01-01"}))
    assert "结束日期不能早于开始日期" in bad and "收集需求 1 条" in bad
    client.force_login(make_staff("community_admin", tree.other_community))
    body = text(client.get("/needs/staff/"))
    assert "B社区的建议" in body and "A社区的建议" not in body and "A社区待审心愿" not in body


def test_staff_approves_and_rejects_wishes(client, tree, admin):
    wish = make_wish(tree.community)
    other = make_staff("community_admin", tree.other_community)
    client.force_login(other)
    assert client.post(f"/needs/staff/wishes/{wish.pk}/act/", {"action": "approve"}).status_code == 403
    assert Wish.objects.get(pk=wish.pk).state == "pending"
    client.force_login(admin)
    resp = client.post(f"/needs/staff/wishes/{wish.pk}/act/", {"action": "reject", "reason": ""}, follow=True)
    assert "请填写说明" in text(resp) and Wish.objects.get(pk=wish.pk).state == "pending"
    client.post(f"/needs/staff/wishes/{wish.pk}/act/", {"action": "approve"})
    assert Wish.objects.get(pk=wish.pk).state == "public"
    client.post(f"/needs/staff/wishes/{wish.pk}/act/", {"action": "fulfilled", "fulfiller": "爱心商家", "note": "送来"})
    assert Wish.objects.get(pk=wish.pk).state == "fulfilled"


def test_staff_answers_suggestion_into_a_need(client, tree, admin):
    s = make_suggestion(tree.community, text="希望有子女暑托班")
    client.force_login(admin)
    url = f"/needs/staff/suggestions/{s.pk}/"
    assert "希望有子女暑托班" in text(client.get(url))
    resp = client.post(url, {"outcome": "to_need", "reply": "列入需求", "owner": "", "due_on": ""})
    assert resp.status_code == 400 and "列入需求" in text(resp)
    due = (timezone.localdate() + dt.timedelta(days=20)).isoformat()
    resp = client.post(url, {"outcome": "to_need", "reply": "列入需求", "owner": str(admin.pk), "due_on": due})
    assert resp.status_code == 302
    assert Need.objects.get().suggestion_id == s.pk
    client.force_login(make_staff("community_admin", tree.other_community))
    assert client.get(url).status_code == 403


def test_staff_records_forum_and_needs_and_works_a_need(client, tree, admin):
    owner = make_staff("grid_worker", tree.grid, display_name="网格员小李")
    client.force_login(admin)
    assert client.get("/needs/staff/forums/new/").status_code == 200
    resp = client.post("/needs/staff/forums/new/", {"held_on": "", "group": "", "jurisdiction": tree.community.code,
                                                    "attendees": "12"})
    assert resp.status_code == 400 and "请填写日期" in text(resp) and "请填写参会群体" in text(resp)
    resp = client.post("/needs/staff/forums/new/", {
        "held_on": timezone.localdate().isoformat(), "group": "外卖骑手", "jurisdiction": tree.community.code,
        "attendees": "12", "hosts": "王书记", "title": "暖新问需会"})
    forum = Forum.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/needs/staff/forums/{forum.pk}/"
    page = text(client.get(resp["Location"]))
    assert "网格员小李" in page  # the owner picker offers the grid worker
    due = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    resp = client.post(f"/needs/staff/forums/{forum.pk}/", {"title": "充电桩不够", "owner": str(owner.pk), "due_on": due})
    assert resp.status_code == 302
    need = Need.objects.get()
    client.force_login(owner)
    mine = text(client.get("/needs/staff/"))  # a grid worker sees the needs they own, nothing else
    assert "充电桩不够" in mine and "待审核的心愿" not in mine
    url = f"/needs/staff/needs/{need.pk}/"
    body = text(client.get(url))
    assert "开始办理" in body and "暂不解决" not in body
    client.post(url, {"action": "start", "note": "联系物业"})
    resp = client.post(url, {"action": "solve", "note": ""})
    assert resp.status_code == 400 and "请填写说明" in text(resp)
    client.post(url, {"action": "solve", "note": "新增 20 个充电口"})
    need.refresh_from_db()
    assert need.state == "solved" and need.resolution == "新增 20 个充电口"
    assert "新增 20 个充电口" in text(client.get(url))
    client.force_login(make_staff("community_admin", tree.other_community))
    assert client.get(url).status_code == 403


def test_admin_is_scoped_and_hides_anonymous_authors(client, tree, admin):
    mine = make_suggestion(tree.community, actor=make_worker(), text="本社区的建议", is_anonymous=True)
    make_suggestion(tree.other_community, text="别的社区的建议")
    wish = make_wish(tree.community, text="待审心愿")
    client.force_login(admin)
    body = text(client.get("/admin/needs/suggestion/"))
    assert f"/admin/needs/suggestion/{mine.pk}/" in body and "别的社区" not in body
    detail = text(client.get(f"/admin/needs/suggestion/{mine.pk}/change/"))
    assert "本社区的建议" in detail and "field-author" not in detail and "field-reply" in detail
    resp = client.post("/admin/needs/wish/", {"action": "approve", "_selected_action": [wish.pk]})
    assert resp.status_code == 302 and Wish.objects.get(pk=wish.pk).state == "public"
    assert client.get("/admin/needs/need/").status_code == 200 and client.get("/admin/needs/forum/").status_code == 200

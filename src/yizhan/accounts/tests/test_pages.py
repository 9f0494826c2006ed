from django.test import override_settings

from yizhan.accounts.models import ApiToken, LoginThrottle
from yizhan.accounts.selectors import api_token_user
from yizhan.accounts.sms import ConsoleSmsBackend
from yizhan.core.errors import Message
from yizhan.core.models import AuditLog, Notification
from yizhan.core.notifications import notify
from yizhan.core.testing.factories import (
    DEFAULT_PASSWORD,
    make_staff,
    make_worker,
)

PHONE = "13812345678"


def test_staff_login_page(client, tree):
    make_staff("community_admin", tree.community, username="alice")
    resp = client.get("/accounts/login/")
    assert resp.status_code == 200 and "工作人员登录" in resp.content.decode()
    resp = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    html = resp.content.decode()
    assert resp.status_code == 400 and "用户名或密码错误" in html and 'value="alice"' in html
    resp = client.post("/accounts/login/?next=/inbox/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert resp.status_code == 302 and resp["Location"] == "/inbox/"
    resp = client.post("/accounts/login/?next=https://evil.example/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert resp["Location"] == "/dispatch/"  # not the evil host: the community admin's home page


@override_settings(YIZHAN_LOGIN_MAX_FAILURES=2)
def test_lockout_message_english(client, tree):
    make_staff("community_admin", tree.community, username="alice")
    client.post("/accounts/login/", {"username": "alice", "password": "x"})
    resp = client.post("/accounts/login/", {"username": "alice", "password": "x"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "locked" in resp.content.decode()


def test_admin_login_is_locked_out_too(client, tree):
    make_staff("community_admin", tree.community, username="alice")
    for _ in range(5):
        client.post("/admin/login/", {"username": "alice", "password": "x"})
    assert LoginThrottle.objects.get().blocked_until is not None
    client.post("/admin/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert "_auth_user_id" not in client.session


def test_otp_page_flow(client, db, django_capture_on_commit_callbacks):
    assert client.get("/accounts/otp/?next=/accounts/me/").status_code == 200
    resp = client.post("/accounts/otp/", {"step": "phone", "phone": "12"})
    assert resp.status_code == 400 and "有效的 11 位手机号码" in resp.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post("/accounts/otp/?next=/accounts/me/", {"step": "phone", "phone": PHONE})
    assert resp.status_code == 200 and 'name="code"' in resp.content.decode()
    resp = client.post("/accounts/otp/", {"step": "code", "phone": PHONE, "code": "000000" if ConsoleSmsBackend.last_code() != "000000" else "111111"})
    assert resp.status_code == 400 and "验证码错误" in resp.content.decode()
    resp = client.post("/accounts/otp/", {"step": "code", "phone": PHONE, "code": ConsoleSmsBackend.last_code(),
                                           "next": "/accounts/me/"})
    assert resp.status_code == 302 and resp["Location"] == "/accounts/me/"
    assert client.get("/accounts/me/").status_code == 200


def test_me_page_requires_login(client, db):
    resp = client.get("/accounts/me/")
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/otp/?next=")


def test_me_edit_export_delete(client, tree):
    worker = make_worker(PHONE)
    client.force_login(worker)
    resp = client.post("/accounts/me/", {"trade": "courier", "platform": "顺丰", "skills": "驾驶，搬运",
                                         "home_community": tree.community.code, "display_name": "小王"})
    assert resp.status_code == 200 and "已保存" in resp.content.decode()
    worker.refresh_from_db()
    assert worker.worker_profile.trade == "courier" and worker.worker_profile.skills == ["驾驶", "搬运"]
    resp = client.post("/accounts/me/", {"trade": "pilot", "platform": "keep me"})
    assert resp.status_code == 400 and "keep me" in resp.content.decode()
    resp = client.get("/accounts/me/export/")
    assert resp.status_code == 200 and PHONE in resp.content.decode()
    resp = client.post("/accounts/me/delete/", {"confirm": "不"})
    assert resp.status_code == 400
    resp = client.post("/accounts/me/delete/", {"confirm": "删除"})
    assert resp.status_code == 200
    worker.refresh_from_db()
    assert not worker.is_active and worker.phone is None


def test_tokens_page(client, tree):
    admin = make_staff("community_admin", tree.community)
    client.force_login(admin)
    resp = client.post("/accounts/tokens/", {"action": "create", "name": "etl"})
    html = resp.content.decode()
    raw = html.split('id="raw-token">')[1].split("<")[0]
    assert api_token_user(raw=raw) == admin
    assert raw not in client.get("/accounts/tokens/").content.decode()  # shown once
    token = ApiToken.objects.get()
    other = make_staff("community_admin", tree.other_community)
    client.force_login(other)
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    client.force_login(admin)
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 302
    assert api_token_user(raw=raw) is None
    client.force_login(make_worker())
    assert client.get("/accounts/tokens/").status_code == 403


def test_inbox_page(client, tree):
    worker = make_worker()
    n = notify(user=worker, kind="x", title=Message("库存不足", "Stock low"))
    client.force_login(worker)
    html = client.get("/inbox/").content.decode()
    assert "库存不足" in html and "1 条未读" in html
    assert client.post("/inbox/", {"id": n.pk}).status_code == 302
    assert Notification.objects.get().read_at is not None


def test_audit_page(client, tree):
    make_staff("community_admin", tree.community, username="alice")
    client.post("/accounts/login/", {"username": "alice", "password": "bad"})
    client.force_login(make_staff("community_admin", tree.community))
    assert client.get("/audit/").status_code == 403
    client.force_login(make_staff("auditor", tree.city))
    resp = client.get("/audit/?action=login_failed")
    assert resp.status_code == 200 and "password login invalid_credentials" in resp.content.decode()
    resp = client.get("/audit/?action=login")
    assert "没有记录" in resp.content.decode()
    assert client.get("/audit/?since=notadate").status_code == 400
    assert AuditLog.objects.count() > 0


def test_unread_badge_partial(rf, db):
    from django.template.loader import render_to_string

    worker = make_worker()
    notify(user=worker, kind="x", title=Message("一", "One"))
    request = rf.get("/")
    request.user = worker
    html = render_to_string("core/_unread_badge.html", request=request)
    assert 'class="badge">1<' in html and "/inbox/" in html

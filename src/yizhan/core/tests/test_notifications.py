"""notify() keeps its contract (inbox row in the caller's transaction) and the
services behind the settings page and the webhook admin: preferences, WeChat binding,
webhook subscriptions scoped to the admin's jurisdiction."""

from __future__ import annotations

import pytest
from django.utils import timezone

from yizhan.core import services
from yizhan.core.errors import (
    Conflict,
    Message,
    OutOfJurisdiction,
    PermissionDenied,
    ValidationError,
)
from yizhan.core.models import (
    AuditLog,
    ChannelBinding,
    Notification,
    NotificationPreference,
    OutboundMessage,
    WebhookSubscription,
)
from yizhan.core.notifications import kind_label, notify
from yizhan.core.testing.factories import (
    make_staff,
    make_superuser,
    make_worker,
)

pytestmark = pytest.mark.django_db

TITLE = Message("库存不足", "Stock low")


@pytest.fixture(autouse=True)
def _channels(settings):
    settings.YIZHAN_NOTIFY_CHANNELS = ["sms", "wechat", "webhook"]
    settings.YIZHAN_NOTIFY_ENQUEUE = False
    settings.YIZHAN_WEBHOOK_ALLOW_HTTP = False


def test_notify_keeps_its_signature_and_inbox_row():
    worker = make_worker()
    n = notify(user=worker, kind="stock_low", title=TITLE, body=Message("水 2 瓶", "Water 2"), url="/keeper/")
    assert isinstance(n, Notification)
    assert (n.user, n.kind, n.title_zh, n.title_en, n.body_zh, n.body_en, n.url, n.read_at) == (
        worker, "stock_low", "库存不足", "Stock low", "水 2 瓶", "Water 2", "/keeper/", None)
    n2 = notify(user=worker, kind="stock_low", title=TITLE)
    assert (n2.body_zh, n2.body_en, n2.url) == ("", "", "")
    # not an SMS kind, no WeChat, no webhook: nothing outbound
    assert OutboundMessage.objects.count() == 0


def test_notify_accepts_a_jurisdiction_or_its_path(tree):
    sub = WebhookSubscription.objects.create(jurisdiction=tree.community, name="x", url="https://h.example/",
                                             secret="s" * 20)
    worker = make_worker()
    notify(user=worker, kind="case_new", title=TITLE, jurisdiction=tree.grid)
    notify(user=worker, kind="case_new", title=TITLE, jurisdiction=tree.grid.path)
    rows = OutboundMessage.objects.filter(channel="webhook")
    assert [r.subscription_id for r in rows] == [sub.pk, sub.pk]
    assert rows[0].payload["jurisdiction"] == {"code": tree.grid.code, "path": tree.grid.path}
    assert rows[1].payload["jurisdiction"] == {"code": "", "path": tree.grid.path}


def test_kind_labels_are_chinese_with_a_fallback():
    assert kind_label("case_overdue") == "工单已超时"
    assert kind_label("something_new") == "something_new"


# ---- preferences and bindings -----------------------------------------------------------------


def test_preference_set_by_the_user_is_audited_once():
    worker = make_worker()
    pref = services.notification_preference_set(actor=worker, sms_non_urgent=False)
    assert pref.sms_non_urgent is False
    services.notification_preference_set(actor=worker, sms_non_urgent=False)  # no change, no audit
    assert AuditLog.objects.filter(object_type="core.notificationpreference").count() == 1
    assert NotificationPreference.objects.get(user=worker).sms_non_urgent is False


def test_preference_needs_a_login():
    from django.contrib.auth.models import AnonymousUser

    from yizhan.core.errors import NotAuthenticated

    with pytest.raises(NotAuthenticated):
        services.notification_preference_set(actor=AnonymousUser(), sms_non_urgent=True)


def test_wechat_binding_by_the_user_only_and_one_account_per_openid():
    worker, other = make_worker(), make_worker()
    services.channel_binding_set(actor=worker, user=worker, channel="wechat", address="oOPEN-1")
    with pytest.raises(PermissionDenied):
        services.channel_binding_set(actor=other, user=worker, channel="wechat", address="oOPEN-2")
    with pytest.raises(Conflict) as exc:
        services.channel_binding_set(actor=other, user=other, channel="wechat", address="oOPEN-1")
    assert exc.value.code == "binding_taken"
    with pytest.raises(ValidationError):
        services.channel_binding_set(actor=worker, user=worker, channel="sms", address="x")
    # rebinding replaces the openid
    services.channel_binding_set(actor=worker, user=worker, channel="wechat", address="oOPEN-3")
    assert list(ChannelBinding.objects.values_list("address", flat=True)) == ["oOPEN-3"]
    assert services.channel_binding_remove(actor=worker, channel="wechat") is True
    assert services.channel_binding_remove(actor=worker, channel="wechat") is False
    assert ChannelBinding.objects.count() == 0


# ---- webhook subscriptions -----------------------------------------------------------------------


def test_community_admin_manages_webhooks_of_their_community_only(tree):
    admin_a = make_staff("community_admin", tree.community)
    data = {"name": "社区值班群", "url": "https://hooks.example.cn/a", "kinds": "case_new, case_overdue"}
    sub = services.webhook_subscription_save(actor=admin_a, jurisdiction=tree.community, data=data)
    assert sub.kinds == ["case_new", "case_overdue"] and len(sub.secret) >= 32 and sub.created_by == admin_a
    log = AuditLog.objects.get(object_type="core.webhooksubscription", action="create")
    assert log.jurisdiction_path == tree.community.path and sub.secret not in str(log.changes)
    with pytest.raises(OutOfJurisdiction):
        services.webhook_subscription_save(actor=admin_a, jurisdiction=tree.other_community, data=data)
    admin_b = make_staff("community_admin", tree.other_community)
    with pytest.raises(OutOfJurisdiction):
        services.webhook_subscription_save(actor=admin_b, subscription=sub, jurisdiction=tree.other_community,
                                           data=data)
    with pytest.raises(OutOfJurisdiction):
        services.webhook_subscription_delete(actor=admin_b, subscription=sub)
    with pytest.raises(PermissionDenied):
        services.webhook_subscription_save(actor=make_staff("handler", tree.community),
                                           jurisdiction=tree.community, data=data)
    services.webhook_subscription_delete(actor=admin_a, subscription=sub)
    assert WebhookSubscription.objects.count() == 0


@pytest.mark.parametrize(("data", "field"), [
    ({"name": "x", "url": "http://hooks.example.cn/"}, "url"),  # https only unless allowed
    ({"name": "x", "url": "ftp://hooks.example.cn/"}, "url"),
    ({"name": "x", "url": "https:///nohost"}, "url"),
    ({"name": "", "url": "https://hooks.example.cn/"}, "name"),
    ({"name": "x", "url": "https://hooks.example.cn/", "secret": "short"}, "secret"),
    ({"name": "x", "url": "https://hooks.example.cn/", "kinds": [1, 2]}, "kinds"),
])
def test_webhook_bad_input_changes_nothing(tree, data, field):
    admin = make_staff("street_admin", tree.street)
    audits = AuditLog.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.webhook_subscription_save(actor=admin, jurisdiction=tree.community, data=data)
    assert exc.value.field == field
    assert WebhookSubscription.objects.count() == 0 and AuditLog.objects.count() == audits


def test_http_webhooks_allowed_in_development(tree, settings):
    settings.YIZHAN_WEBHOOK_ALLOW_HTTP = True
    sub = services.webhook_subscription_save(actor=make_superuser(), jurisdiction=tree.community,
                                             data={"name": "dev", "url": "http://127.0.0.1:9/"})
    assert sub.url == "http://127.0.0.1:9/"


def test_webhook_admin_is_scoped(tree, client):
    a = WebhookSubscription.objects.create(jurisdiction=tree.community, name="A 的钩子", secret="s" * 20,
                                           url="https://a.example/")
    b = WebhookSubscription.objects.create(jurisdiction=tree.other_community, name="B 的钩子", secret="s" * 20,
                                           url="https://b.example/")
    admin_a = make_staff("community_admin", tree.community)
    client.force_login(admin_a)
    page = client.get("/admin/core/webhooksubscription/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "A 的钩子" in html and "B 的钩子" not in html
    assert client.get(f"/admin/core/webhooksubscription/{b.pk}/change/").status_code in (302, 403, 404)
    resp = client.post(f"/admin/core/webhooksubscription/{a.pk}/change/", {
        "jurisdiction": tree.community.pk, "name": "A 改名", "url": "https://a.example/new",
        "kinds": '["case_overdue"]', "secret": "t" * 24, "is_active": "on"})
    assert resp.status_code == 302, resp.content.decode()[:2000]
    a.refresh_from_db()
    assert (a.name, a.url, a.kinds, a.secret) == ("A 改名", "https://a.example/new", ["case_overdue"], "t" * 24)
    # moving it to community B is refused beside the field, nothing changes
    resp = client.post(f"/admin/core/webhooksubscription/{a.pk}/change/", {
        "jurisdiction": tree.other_community.pk, "name": "A", "url": "https://a.example/",
        "kinds": "[]", "secret": "t" * 24, "is_active": "on"})
    assert resp.status_code == 200
    a.refresh_from_db()
    assert a.jurisdiction == tree.community
    # a handler sees no webhook admin; the outbox admin is for superusers
    client.force_login(make_staff("handler", tree.community))
    assert client.get("/admin/core/webhooksubscription/").status_code in (302, 403)
    client.force_login(admin_a)
    assert client.get("/admin/core/outboundmessage/").status_code in (302, 403)


def test_outbox_admin_for_superusers(client):
    notify(user=make_worker(), kind="case_overdue", title=TITLE)
    client.force_login(make_superuser())
    page = client.get("/admin/core/outboundmessage/")
    assert page.status_code == 200 and "case_overdue" in page.content.decode()


def test_timestamps_are_aware():
    n = notify(user=make_worker(), kind="case_overdue", title=TITLE)
    msg = OutboundMessage.objects.get(notification=n)
    assert timezone.is_aware(msg.next_attempt_at) and msg.state == "pending" and msg.attempts == 0

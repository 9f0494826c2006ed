
from yizhan.core.audit import audit_record
from yizhan.core.errors import Message
from yizhan.core.models import AuditLog, Notification
from yizhan.core.notifications import notify
from yizhan.core.testing.factories import (
    make_staff,
    make_superuser,
    make_worker,
)
from yizhan.core.testing.matrix import api_json, assert_error, check_matrix


def test_audit_matrix_and_scope(client, tree):
    audit_record(actor=None, action="update", object_type="stations.station", object_id="A1",
                 summary="in A", jurisdiction_path=tree.grid.path)
    audit_record(actor=None, action="update", object_type="stations.station", object_id="B1",
                 summary="in B", jurisdiction_path=tree.other_community.path)
    community_auditor = make_staff("auditor", tree.community)
    resp = check_matrix(
        client, "get", "/api/v1/core/audit",
        wrong_role=[make_worker(), make_staff("district_admin", tree.district)],
        allowed=community_auditor,
    )
    ids = {i["object_id"] for i in resp.json()["items"]}
    assert "A1" in ids and "B1" not in ids
    client.force_login(make_staff("auditor", tree.city))
    body = client.get("/api/v1/core/audit?object_type=stations.station&limit=1").json()
    assert body["count"] == 2 and len(body["items"]) == 1
    assert client.get("/api/v1/core/audit?q=in%20B").json()["items"][0]["object_id"] == "B1"
    assert_error(client.get("/api/v1/core/audit?limit=1000"), 400, "invalid", "limit")
    assert_error(client.get("/api/v1/core/audit?since=yesterday"), 400, "invalid", "since")


def test_root_auditor_sees_logins(client, tree):
    admin = make_staff("community_admin", tree.community, username="ann")
    from yizhan.accounts.services import staff_login
    from yizhan.core.testing.factories import DEFAULT_PASSWORD

    staff_login(username="ann", password=DEFAULT_PASSWORD)
    client.force_login(make_staff("auditor", tree.city))
    items = client.get("/api/v1/core/audit?action=login").json()["items"]
    assert items and items[0]["actor"] == admin.username
    client.force_login(make_staff("auditor", tree.community))
    assert client.get("/api/v1/core/audit?action=login").json()["count"] == 0


def test_notifications(client, tree):
    worker = make_worker()
    other = make_worker()
    n1 = notify(user=worker, kind="stock_low", title=Message("水不足", "Water low"))
    notify(user=worker, kind="x", title=Message("二", "Two"))
    notify(user=other, kind="x", title=Message("别人的", "Someone else's"))
    assert_error(client.get("/api/v1/core/notifications"), 401, "not_authenticated")
    client.force_login(worker)
    body = client.get("/api/v1/core/notifications").json()
    assert body["count"] == 2 and body["unread"] == 2
    resp = api_json(client, "post", "/api/v1/core/notifications/read", {"ids": [n1.pk]})
    assert resp.json() == {"marked": 1}
    assert client.get("/api/v1/core/notifications?unread=true").json()["count"] == 1
    # Someone else's ids are ignored.
    theirs = Notification.objects.get(user=other).pk
    assert api_json(client, "post", "/api/v1/core/notifications/read", {"ids": [theirs]}).json() == {"marked": 0}
    assert api_json(client, "post", "/api/v1/core/notifications/read", {}).json() == {"marked": 1}
    assert Notification.objects.get(user=other).read_at is None
    assert client.get("/api/v1/core/notifications", HTTP_ACCEPT_LANGUAGE="en").json()["items"]


def test_superuser_reads_audit(client, tree):
    client.force_login(make_superuser())
    assert client.get("/api/v1/core/audit").status_code == 200
    assert AuditLog.objects.count() > 0

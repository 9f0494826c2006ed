import json

from django.test import override_settings

from yizhan.accounts.models import ApiToken, OneTimeCode, RoleGrant, User, WorkerProfile
from yizhan.accounts.sms import ConsoleSmsBackend
from yizhan.core.models import AuditLog
from yizhan.core.testing.factories import (
    bearer,
    login_worker,
    make_staff,
    make_worker,
)
from yizhan.core.testing.matrix import api_json, assert_error, check_matrix

API = "/api/v1/accounts"
PHONE = "13812345678"


def test_otp_request_and_verify(client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        resp = api_json(client, "post", f"{API}/otp/request", {"phone": PHONE})
    assert resp.status_code == 200 and resp.json() == {"sent": True, "expires_in": 300}
    code = ConsoleSmsBackend.last_code(PHONE)
    resp = api_json(client, "post", f"{API}/otp/verify", {"phone": PHONE, "code": code})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["phone"] == PHONE and body["profile"]["consent_version"] and body["roles"] == []
    # The session is started: /me works without a token.
    assert client.get(f"{API}/me").json()["id"] == body["id"]


def test_otp_bad_input(client, db):
    assert_error(api_json(client, "post", f"{API}/otp/request", {"phone": "123"}), 400, "invalid_phone", "phone")
    assert_error(api_json(client, "post", f"{API}/otp/request", {}), 400, "invalid", "phone")
    resp = api_json(client, "post", f"{API}/otp/verify", {"phone": PHONE, "code": "123456"})
    assert_error(resp, 400, "otp_expired", "code")
    assert User.objects.count() == 0


@override_settings(YIZHAN_OTP_PER_IP_PER_HOUR=2)
def test_otp_rate_limited_per_ip(client, db):
    for phone in ("13800000001", "13800000002"):
        assert api_json(client, "post", f"{API}/otp/request", {"phone": phone}).status_code == 200
    assert_error(api_json(client, "post", f"{API}/otp/request", {"phone": "13800000003"}), 429, "otp_rate_limited")
    assert OneTimeCode.objects.count() == 2


def test_me_get_patch(client, tree):
    worker = login_worker(client, PHONE)
    resp = api_json(client, "patch", f"{API}/me", {"trade": "courier", "skills": ["驾驶"],
                                                    "home_community": tree.community.code})
    assert resp.status_code == 200, resp.content
    p = resp.json()["profile"]
    assert (p["trade"], p["skills"], p["home_community"]) == ("courier", ["驾驶"], tree.community.code)
    assert_error(api_json(client, "patch", f"{API}/me", {"trade": "pilot"}), 400, "invalid_trade", "trade")
    assert_error(api_json(client, "patch", f"{API}/me", {"home_community": "NOPE"}), 400, "unknown_community")
    assert WorkerProfile.objects.get(user=worker).trade == "courier"
    client.logout()
    assert_error(client.get(f"{API}/me"), 401, "not_authenticated")


def test_me_export_and_delete(client, tree):
    worker = login_worker(client, PHONE)
    resp = client.get(f"{API}/me/export")
    assert resp.status_code == 200 and "attachment" in resp["Content-Disposition"]
    assert json.loads(resp.content)["user"]["phone"] == PHONE
    assert AuditLog.objects.filter(action="export", actor=worker).exists()
    resp = client.delete(f"{API}/me")
    assert resp.status_code == 204
    worker.refresh_from_db()
    assert not worker.is_active and worker.phone is None
    assert_error(client.get(f"{API}/me"), 401)


def test_tokens_api(client, tree):
    admin = make_staff("community_admin", tree.community)
    client.force_login(admin)
    resp = api_json(client, "post", f"{API}/tokens", {"name": "etl"})
    assert resp.status_code == 201
    raw, token_id = resp.json()["token"], resp.json()["id"]
    listed = client.get(f"{API}/tokens").json()
    assert listed["count"] == 1 and "token" not in listed["items"][0]
    assert_error(api_json(client, "post", f"{API}/tokens", {"name": ""}), 400, "invalid_name", "name")
    client.logout()
    # The token carries the user's roles and scope.
    me = client.get(f"{API}/me", headers=bearer(raw)).json()
    assert me["roles"][0]["role"] == "community_admin"
    assert client.get(f"{API}/staff", headers=bearer(raw)).status_code == 200
    # Someone else cannot revoke it.
    other = make_staff("community_admin", tree.other_community)
    assert_error(client.delete(f"{API}/tokens/{token_id}", headers=bearer(other)), 404, "token_not_found")
    assert client.delete(f"{API}/tokens/{token_id}", headers=bearer(raw)).status_code == 204
    assert_error(client.get(f"{API}/me", headers=bearer(raw)), 401, "not_authenticated")
    assert ApiToken.objects.get(pk=token_id).revoked_at is not None


def test_tokens_matrix(client, tree):
    check_matrix(
        client, "post", f"{API}/tokens", {"name": "x"},
        wrong_role=make_worker(), allowed=make_staff("keeper", tree.community), allowed_status=201,
        snapshot=lambda: ApiToken.objects.count(),
    )


def test_staff_list_scoped_and_masked(client, tree):
    admin = make_staff("community_admin", tree.community)
    mine = make_staff("keeper", tree.grid, phone="13700001111", username="keeper-a")
    theirs = make_staff("keeper", tree.other_community, username="keeper-b")
    resp = check_matrix(
        client, "get", f"{API}/staff",
        wrong_role=[make_worker(), make_staff("keeper", tree.community)],
        allowed=admin,
    )
    items = resp.json()["items"]
    names = {i["username"] for i in items}
    assert "keeper-a" in names and "keeper-b" not in names
    row = next(i for i in items if i["username"] == "keeper-a")
    assert row["phone_masked"] == "137****1111" and "13700001111" not in resp.content.decode()
    assert AuditLog.objects.filter(action="read", actor=admin).exists()
    # Detail: allowed in scope (audited), out_of_jurisdiction outside.
    before = AuditLog.objects.filter(action="read").count()
    assert client.get(f"{API}/staff/{mine.pk}").status_code == 200
    assert AuditLog.objects.filter(action="read").count() == before + 1
    check_matrix(client, "get", f"{API}/staff/{theirs.pk}", wrong_role=make_worker(),
                 wrong_jurisdiction=admin, allowed=make_staff("street_admin", tree.street))


def test_staff_create_and_roles_api(client, tree):
    street = make_staff("street_admin", tree.street)
    payload = {"username": "newkeeper", "display_name": "新站长", "phone": "13600002222",
               "password": "long-enough-pw-42", "role": "keeper", "jurisdiction": tree.community.code}
    check_matrix(
        client, "post", f"{API}/staff", payload,
        wrong_role=make_staff("keeper", tree.community),
        wrong_jurisdiction=make_staff("community_admin", tree.far_community),
        allowed=street, allowed_status=201,
        snapshot=lambda: User.objects.count(),
    )
    user = User.objects.get(username="newkeeper")
    client.force_login(street)
    assert_error(api_json(client, "post", f"{API}/staff", {**payload, "username": "user2", "password": "1"}),
                 400, "weak_password", "password")
    assert_error(api_json(client, "post", f"{API}/staff", {**payload, "username": "user3", "jurisdiction": "NOPE"}),
                 400, "unknown_jurisdiction", "jurisdiction")
    resp = api_json(client, "post", f"{API}/staff/{user.pk}/roles", {"role": "district_admin",
                                                                     "jurisdiction": tree.street.code})
    assert_error(resp, 403, "role_above_own_level", "role")
    resp = api_json(client, "post", f"{API}/staff/{user.pk}/roles", {"role": "grid_worker",
                                                                     "jurisdiction": tree.grid.code})
    assert resp.status_code == 201
    resp = client.delete(f"{API}/staff/{user.pk}/roles?role=grid_worker&jurisdiction={tree.grid.code}")
    assert resp.status_code == 204
    assert list(RoleGrant.objects.filter(user=user).values_list("role", flat=True)) == ["keeper"]


def test_openapi_lists_account_endpoints(client, db):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for p in ("/api/v1/accounts/otp/request", "/api/v1/accounts/me", "/api/v1/accounts/tokens",
              "/api/v1/jurisdictions/locate", "/api/v1/core/audit"):
        assert p in paths

"""Issue 8, item 8: password login answers unknown and known usernames alike, locks out
per (username, IP) with doubling delays, and the OTP per-IP limit shows its message."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.hashers import get_hasher
from django.test import override_settings
from django.utils import timezone

from yizhan.accounts import services
from yizhan.accounts.errors import AccountLocked, InvalidCredentials
from yizhan.accounts.models import LoginThrottle, OneTimeCode
from yizhan.core.models import AuditLog
from yizhan.core.testing.factories import (
    DEFAULT_PASSWORD,
    make_staff,
    make_worker,
)
from yizhan.core.testing.matrix import api_json, assert_error


def _fail(username, ip, password="wrong-password"):
    with pytest.raises((InvalidCredentials, AccountLocked)) as exc:
        services.staff_login(username=username, password=password, ip=ip)
    return exc.value


def _hash_work(fn):
    """How many times the password hasher ran (encode or verify) while ``fn`` ran."""
    hasher = type(get_hasher())
    calls = []
    real_encode, real_verify = hasher.encode, hasher.verify

    def encode(self, *a, **k):
        calls.append("encode")
        return real_encode(self, *a, **k)

    def verify(self, *a, **k):
        calls.append("verify")
        return real_verify(self, *a, **k)

    with mock.patch.object(hasher, "encode", encode), mock.patch.object(hasher, "verify", verify):
        fn()
    return len(calls)


def test_unknown_and_known_usernames_answer_alike(tree):
    make_staff("community_admin", tree.community, username="alice")
    worker = make_worker()
    answers = [_fail(name, "10.0.0.1") for name in ("alice", "nobody", worker.username)]
    assert {(e.code, e.status, e.message, e.field) for e in answers} == {
        ("invalid_credentials", 400, InvalidCredentials.message, "password")
    }
    # The hasher runs for an unknown username and for a worker (no usable password) too.
    for name in ("alice", "nobody", worker.username):
        assert _hash_work(lambda name=name: _fail(name, "10.0.0.2")) >= 1, name


def test_unknown_and_known_usernames_same_page_and_api(client, tree):
    make_staff("community_admin", tree.community, username="alice")
    pages = [client.post("/accounts/login/", {"username": u, "password": "nope-nope"}) for u in ("alice", "ghost")]
    assert [r.status_code for r in pages] == [400, 400]
    def body(resp):
        html = resp.content.decode().replace('value="alice"', "").replace('value="ghost"', "")
        return re.sub(r'(csrfmiddlewaretoken" value="|CSRFToken": "|nonce=")[^"]+', "", html)

    bodies = [body(r) for r in pages]
    assert bodies[0] == bodies[1] and "用户名或密码错误" in bodies[0]


@override_settings(YIZHAN_LOGIN_MAX_FAILURES=5, YIZHAN_LOGIN_DELAY_SECONDS=30, YIZHAN_LOGIN_LOCKOUT_SECONDS=900)
def test_lockout_is_per_username_and_ip_with_doubling_delay(tree):
    admin = make_staff("community_admin", tree.community, username="alice")
    for _ in range(4):
        assert isinstance(_fail("alice", "203.0.113.9"), InvalidCredentials)
    locked = _fail("alice", "203.0.113.9")
    assert locked.code == "account_locked" and locked.status == 429
    throttle = LoginThrottle.objects.get()
    assert throttle.ip == "203.0.113.9" and "alice" not in throttle.key and throttle.failures == 5
    assert 29 <= (throttle.blocked_until - timezone.now()).total_seconds() <= 30
    # While blocked, even the right password is refused from that IP; it does not count.
    assert _fail("alice", "203.0.113.9", DEFAULT_PASSWORD).code == "account_locked"
    assert LoginThrottle.objects.get().failures == 5
    # The same person from another IP gets in at once.
    assert services.staff_login(username="alice", password=DEFAULT_PASSWORD, ip="198.51.100.7") == admin
    # Each further failure after the delay doubles it, up to the cap.
    delays = []
    for _ in range(8):
        LoginThrottle.objects.update(blocked_until=timezone.now() - timedelta(seconds=1))
        assert _fail("alice", "203.0.113.9").code == "account_locked"
        t = LoginThrottle.objects.get(ip="203.0.113.9")
        delays.append(round((t.blocked_until - timezone.now()).total_seconds()))
    assert delays == [60, 120, 240, 480, 900, 900, 900, 900]
    # After the delay the right password works and clears the pair.
    LoginThrottle.objects.update(blocked_until=timezone.now() - timedelta(seconds=1))
    assert services.staff_login(username="alice", password=DEFAULT_PASSWORD, ip="203.0.113.9") == admin
    assert not LoginThrottle.objects.exists()


@override_settings(YIZHAN_LOGIN_MAX_FAILURES=5)
def test_unknown_username_is_throttled_like_a_known_one(tree):
    make_staff("community_admin", tree.community, username="alice")
    known = [_fail("alice", "10.9.9.9").code for _ in range(6)]
    unknown = [_fail("nobody", "10.9.9.9").code for _ in range(6)]
    assert known == unknown == ["invalid_credentials"] * 4 + ["account_locked"] * 2


@override_settings(YIZHAN_LOGIN_MAX_FAILURES=5)
def test_thirty_wrong_passwords_do_not_lock_the_owner_out_elsewhere(client, tree):
    """The attack of issue 8: 30 wrong passwords from anywhere locked any staff account
    for 15 minutes. Now the attacker's own IP waits; the owner logs in from theirs."""
    make_staff("community_admin", tree.community, username="alice")
    for _ in range(30):
        client.post("/accounts/login/", {"username": "alice", "password": "guess"}, REMOTE_ADDR="203.0.113.66")
    resp = client.post("/accounts/login/", {"username": "alice", "password": DEFAULT_PASSWORD},
                       REMOTE_ADDR="203.0.113.66")
    assert resp.status_code == 429 and "锁定" in resp.content.decode()
    assert "_auth_user_id" not in client.session
    resp = client.post("/accounts/login/", {"username": "alice", "password": DEFAULT_PASSWORD},
                       REMOTE_ADDR="192.0.2.10")
    assert resp.status_code == 302 and "_auth_user_id" in client.session
    # Only 5 of the 30 tries were checked against the password (the 5th starts the
    # delay); the other 25 and the owner's try from that IP were refused unchecked.
    assert AuditLog.objects.filter(action="login_failed", summary__contains="account_locked").count() == 27


@override_settings(YIZHAN_OTP_PER_IP_PER_HOUR=2)
def test_otp_per_ip_limit_shows_its_message_on_the_page(client, db):
    for phone in ("13800000001", "13800000002"):
        assert client.post("/accounts/otp/", {"step": "phone", "phone": phone}).status_code == 200
    resp = client.post("/accounts/otp/", {"step": "phone", "phone": "13800000003"})
    html = resp.content.decode()
    assert resp.status_code == 429 and "验证码发送过于频繁" in html and 'role="alert"' in html
    assert 'value="13800000003"' in html  # what was typed is kept
    resp = client.post("/accounts/otp/", {"step": "phone", "phone": "13800000004"}, HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 429 and "Too many codes requested" in resp.content.decode()
    assert OneTimeCode.objects.count() == 2


@override_settings(YIZHAN_OTP_PER_IP_PER_HOUR=2)
def test_otp_per_ip_limit_api_shape(client, db):
    for phone in ("13800000001", "13800000002"):
        assert api_json(client, "post", "/api/v1/accounts/otp/request", {"phone": phone}).status_code == 200
    resp = api_json(client, "post", "/api/v1/accounts/otp/request", {"phone": "13800000003"})
    assert_error(resp, 429, "otp_rate_limited")
    body = resp.json()
    assert body["message"]["zh"].startswith("验证码发送过于频繁") and body["message"]["en"]
    assert OneTimeCode.objects.count() == 2


@override_settings(YIZHAN_OTP_PER_PHONE_PER_HOUR=1)
def test_otp_per_phone_limit_on_the_page(client, db):
    assert client.post("/accounts/otp/", {"step": "phone", "phone": "13800000001"}).status_code == 200
    resp = client.post("/accounts/otp/", {"step": "phone", "phone": "13800000001"})
    assert resp.status_code == 429 and "验证码发送过于频繁" in resp.content.decode()
    assert OneTimeCode.objects.count() == 1

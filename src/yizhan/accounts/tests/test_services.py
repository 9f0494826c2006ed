from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from yizhan.accounts import services
from yizhan.accounts.errors import AccountLocked, InvalidCredentials
from yizhan.accounts.models import (
    ApiToken,
    LoginThrottle,
    OneTimeCode,
    RoleGrant,
    User,
    WorkerProfile,
)
from yizhan.accounts.selectors import api_token_user
from yizhan.accounts.sms import ConsoleSmsBackend, FileSmsBackend
from yizhan.core import permissions
from yizhan.core.errors import AppError, PermissionDenied, ValidationError
from yizhan.core.models import AuditLog
from yizhan.core.testing.factories import (
    DEFAULT_PASSWORD,
    make_staff,
    make_superuser,
    make_worker,
    otp_code,
)

PHONE = "13812345678"


# ---- OTP ---------------------------------------------------------------------------


def test_otp_first_login_creates_worker(db):
    code = otp_code(PHONE)
    assert len(code) == 6 and code.isdigit()
    row = OneTimeCode.objects.get(phone=PHONE)
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert abs((row.expires_at - row.created_at).total_seconds() - 300) < 2
    user = services.otp_verify(phone=PHONE, code=code, ip="10.0.0.1")
    assert user.phone == PHONE and not user.has_usable_password()
    assert PHONE not in user.username  # usernames reach the audit log
    assert user.worker_profile.consent_version == services.CONSENT_VERSION
    assert not user.role_grants.exists() and not user.is_staff
    login = AuditLog.objects.get(action="login")
    assert login.actor == user and PHONE not in login.summary
    # A code works once.
    with pytest.raises(AppError) as exc:
        services.otp_verify(phone=PHONE, code=code)
    assert exc.value.code == "otp_expired"


def test_otp_second_login_same_user(db):
    u1 = services.otp_verify(phone=PHONE, code=otp_code(PHONE))
    u2 = services.otp_verify(phone="+86 138 1234 5678", code=otp_code(PHONE))
    assert u1.pk == u2.pk and User.objects.count() == 1 and WorkerProfile.objects.count() == 1


def test_otp_expires(db):
    code = otp_code(PHONE)
    OneTimeCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(AppError) as exc:
        services.otp_verify(phone=PHONE, code=code)
    assert exc.value.code == "otp_expired" and exc.value.field == "code"
    assert not User.objects.filter(phone=PHONE).exists()


def test_otp_five_tries(db):
    code = otp_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for i in range(4):
        with pytest.raises(AppError) as exc:
            services.otp_verify(phone=PHONE, code=wrong)
        assert exc.value.code == "otp_invalid", i
    with pytest.raises(AppError) as exc:
        services.otp_verify(phone=PHONE, code=wrong)
    assert exc.value.code == "otp_too_many_tries"
    # Even the right code is dead now, and the tries were committed.
    with pytest.raises(AppError) as exc:
        services.otp_verify(phone=PHONE, code=code)
    assert exc.value.code == "otp_too_many_tries"
    assert OneTimeCode.objects.get().tries == 5
    assert AuditLog.objects.filter(action="login_failed").count() == 6
    assert not AuditLog.objects.filter(summary__contains=PHONE).exists()


@override_settings(YIZHAN_OTP_PER_PHONE_PER_HOUR=3, YIZHAN_OTP_PER_IP_PER_HOUR=5)
def test_otp_rate_limits(db):
    for _ in range(3):
        otp_code(PHONE, ip="10.0.0.9")
    with pytest.raises(AppError) as exc:
        services.otp_request(phone=PHONE, ip="10.0.0.9")
    assert exc.value.code == "otp_rate_limited" and exc.value.status == 429
    otp_code("13912345678", ip="10.0.0.9")
    otp_code("13912345679", ip="10.0.0.9")
    with pytest.raises(AppError) as exc:  # sixth from the same IP
        services.otp_request(phone="13912345670", ip="10.0.0.9")
    assert exc.value.code == "otp_rate_limited"
    # An hour later the phone may ask again.
    OneTimeCode.objects.update(created_at=timezone.now() - timedelta(hours=1, seconds=1))
    otp_code(PHONE, ip="10.0.0.9")


def test_otp_bad_phone(db):
    with pytest.raises(ValidationError) as exc:
        services.otp_request(phone="12345", ip=None)
    assert exc.value.field == "phone"
    assert OneTimeCode.objects.count() == 0


def test_otp_refuses_staff_account(tree):
    make_staff("keeper", tree.community, phone=PHONE)
    with pytest.raises(PermissionDenied) as exc:
        services.otp_verify(phone=PHONE, code=otp_code(PHONE))
    assert exc.value.code == "use_password_login"


def test_file_sms_backend(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    FileSmsBackend().send(phone=PHONE, text="hello 123456", code="123456")
    log = (tmp_path / "sms.log").read_text()
    assert "hello 123456" in log and PHONE not in log


def test_console_backend_outbox(db, capsys):
    ConsoleSmsBackend().send(phone=PHONE, text="x 654321", code="654321")
    assert ConsoleSmsBackend.last_code(PHONE) == "654321"


# ---- staff login and lock-out --------------------------------------------------------------


def test_staff_login_ok(tree):
    admin = make_staff("community_admin", tree.community, username="alice")
    assert services.staff_login(username="alice", password=DEFAULT_PASSWORD, ip="10.1.1.1") == admin
    row = AuditLog.objects.get(action="login")
    assert row.actor == admin and row.ip == "10.1.1.1"


@override_settings(YIZHAN_LOGIN_MAX_FAILURES=3, YIZHAN_LOGIN_LOCKOUT_SECONDS=600, YIZHAN_LOGIN_DELAY_SECONDS=600)
def test_lockout(tree):
    make_staff("community_admin", tree.community, username="alice")
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            services.staff_login(username="alice", password="wrong")
    with pytest.raises(AccountLocked) as exc:
        services.staff_login(username="alice", password="wrong")
    assert "10" in exc.value.message.zh and "10 minutes" in exc.value.message.en
    # Locked: even the right password is refused.
    with pytest.raises(AccountLocked):
        services.staff_login(username="alice", password=DEFAULT_PASSWORD)
    assert AuditLog.objects.filter(action="login_failed").count() == 4
    # After the lock-out period it works again (the lock is per username and IP).
    LoginThrottle.objects.update(blocked_until=timezone.now() - timedelta(seconds=1))
    assert services.staff_login(username="alice", password=DEFAULT_PASSWORD).username == "alice"
    assert not LoginThrottle.objects.exists()


def test_unknown_user_and_worker_cannot_password_login(tree):
    worker = make_worker()
    with pytest.raises(InvalidCredentials):
        services.staff_login(username="nobody", password="x")
    with pytest.raises(InvalidCredentials):
        services.staff_login(username=worker.username, password="")


@override_settings(YIZHAN_LOGIN_MAX_FAILURES=2)
def test_django_authenticate_uses_lockout(tree, rf):
    from django.contrib.auth import authenticate

    make_staff("community_admin", tree.community, username="bob")
    request = rf.post("/admin/login/")
    assert authenticate(request, username="bob", password="no") is None
    assert authenticate(request, username="bob", password="no") is None
    assert authenticate(request, username="bob", password=DEFAULT_PASSWORD) is None
    assert request.yizhan_login_error.code == "account_locked"


# ---- tokens ----------------------------------------------------------------------------------


def test_token_create_and_revoke(tree):
    admin = make_staff("community_admin", tree.community)
    token, raw = services.api_token_create(actor=admin, user=admin, name="script")
    assert raw.startswith("yz_") and len(raw) > 40
    assert token.prefix == raw[:10] and raw not in token.key_hash
    assert api_token_user(raw=raw) == admin
    services.api_token_revoke(actor=admin, token=token)
    assert api_token_user(raw=raw) is None
    assert api_token_user(raw="yz_bogus") is None


def test_token_rules(tree):
    admin = make_staff("community_admin", tree.community)
    other = make_staff("community_admin", tree.other_community)
    with pytest.raises(PermissionDenied):
        services.api_token_create(actor=other, user=admin, name="x")
    with pytest.raises(PermissionDenied):
        services.api_token_create(actor=make_worker(), user=None or make_worker(), name="x")
    worker = make_worker()
    with pytest.raises(PermissionDenied):
        services.api_token_create(actor=worker, user=worker, name="x")
    with pytest.raises(ValidationError):
        services.api_token_create(actor=admin, user=admin, name=" ")
    token, _ = services.api_token_create(actor=admin, user=admin, name="x")
    with pytest.raises(PermissionDenied):
        services.api_token_revoke(actor=other, token=token)
    assert ApiToken.objects.get().revoked_at is None


def test_token_command(tree):
    admin = make_staff("district_admin", tree.district, username="dora")
    out = StringIO()
    call_command("token", "dora", "--name", "etl", stdout=out)
    raw = out.getvalue().split()[-1]
    assert raw.startswith("yz_") and api_token_user(raw=raw) == admin
    assert ApiToken.objects.get().name == "etl"
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("token", "nobody", stdout=StringIO())


# ---- roles and staff -------------------------------------------------------------------------


def test_role_grant_rules(tree):
    street = make_staff("street_admin", tree.street)
    target = make_worker()
    services.role_grant(actor=street, user=target, role="keeper", jurisdiction=tree.community)
    assert permissions.can(target, "stations.stock", tree.grid)
    with pytest.raises(PermissionDenied) as exc:
        services.role_grant(actor=street, user=target, role="district_admin", jurisdiction=tree.street)
    assert exc.value.code == "role_above_own_level"
    with pytest.raises(PermissionDenied) as exc:
        services.role_grant(actor=street, user=target, role="keeper", jurisdiction=tree.far_community)
    assert exc.value.code == "out_of_jurisdiction"
    keeper = make_staff("keeper", tree.community)
    with pytest.raises(PermissionDenied):
        services.role_grant(actor=keeper, user=target, role="keeper", jurisdiction=tree.community)
    with pytest.raises(ValidationError):
        services.role_grant(actor=street, user=target, role="pope", jurisdiction=tree.community)
    assert RoleGrant.objects.filter(user=target).count() == 1
    services.role_revoke(actor=street, user=target, role="keeper", jurisdiction=tree.community)
    assert not RoleGrant.objects.filter(user=target).exists()
    assert AuditLog.objects.filter(object_type="accounts.rolegrant").count() == 2


def test_staff_create(tree):
    district = make_staff("district_admin", tree.district)
    user = services.staff_create(
        actor=district, username="carol", display_name="Carol", phone="13700001111",
        password="long-enough-pw-42", role="community_admin", jurisdiction=tree.community,
    )
    assert user.is_staff and user.check_password("long-enough-pw-42")
    assert permissions.can(user, "stations.manage", tree.grid)
    with pytest.raises(AppError) as exc:
        services.staff_create(actor=district, username="carol", display_name="", phone=None,
                              password="long-enough-pw-42", role="keeper", jurisdiction=tree.community)
    assert exc.value.code == "username_taken"
    with pytest.raises(ValidationError) as exc:
        services.staff_create(actor=district, username="dan", display_name="", phone=None,
                              password="123", role="keeper", jurisdiction=tree.community)
    assert exc.value.field == "password"
    comm = make_staff("community_admin", tree.community)
    with pytest.raises(PermissionDenied):
        services.staff_create(actor=comm, username="erin", display_name="", phone=None,
                              password="long-enough-pw-42", role="street_admin", jurisdiction=tree.community)
    assert not User.objects.filter(username__in=["dan", "erin"]).exists()


# ---- profile, export, delete --------------------------------------------------------------


def test_profile_update(tree):
    worker = make_worker(PHONE)
    services.worker_profile_update(actor=worker, user=worker, data={
        "trade": "courier", "platform": "顺丰", "skills": "搬运，驾驶", "home_community": tree.grid.code,
        "id_number": "11010519491231002X",
    })
    p = WorkerProfile.objects.get(user=worker)
    assert (p.trade, p.platform, p.skills, p.home_community) == ("courier", "顺丰", ["搬运", "驾驶"], tree.community)
    assert p.home_cell
    row = AuditLog.objects.get(action="update")
    assert "11010519491231002X" not in str(row.changes)
    with pytest.raises(ValidationError) as exc:
        services.worker_profile_update(actor=worker, user=worker, data={"trade": "astronaut"})
    assert exc.value.field == "trade"
    with pytest.raises(ValidationError) as exc:
        services.worker_profile_update(actor=worker, user=worker, data={"id_number": "110105194912310021"})
    assert exc.value.field == "id_number"
    with pytest.raises(PermissionDenied):
        services.worker_profile_update(actor=make_worker(), user=worker, data={"trade": "courier"})


def test_export_and_delete(tree):
    worker = make_worker(PHONE)
    make_superuser()
    data = services.account_export(actor=worker, user=worker)
    assert data["user"]["phone"] == PHONE and data["profile"]["trade"] == "food_delivery"
    services.api_token_create(actor=None, user=worker, name="x")
    result = services.account_delete(actor=worker, user=worker)
    assert result.tokens_revoked == 1
    worker.refresh_from_db()
    assert worker.phone is None and not worker.is_active and worker.username.startswith("deleted_")
    assert not WorkerProfile.objects.filter(user=worker).exists()
    # The same phone can sign up again as a new person.
    again = services.otp_verify(phone=PHONE, code=otp_code(PHONE))
    assert again.pk != worker.pk


def test_failed_login_with_phone_as_username_is_not_logged(tree):
    with pytest.raises(InvalidCredentials):
        services.staff_login(username=PHONE, password="x")
    row = AuditLog.objects.get(action="login_failed")
    assert PHONE not in row.summary and "138****5678" in row.summary


def test_console_sms_masks_phone(db, capsys):
    ConsoleSmsBackend().send(phone=PHONE, text="code 123456", code="123456")
    out = capsys.readouterr().out
    assert PHONE not in out and "123456" in out

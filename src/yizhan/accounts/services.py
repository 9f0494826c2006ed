"""Writes of people, logins, roles and tokens.

Every function: keyword-only, ``actor`` first (``None`` = the system: management
commands, demo loader), one transaction, an audit row in it. Raw phone numbers,
ID numbers, codes and tokens never reach the audit log or the logs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from yizhan.accounts import errors as E
from yizhan.accounts.choices import Role, Trade
from yizhan.accounts.models import (
    ApiToken,
    LoginThrottle,
    OneTimeCode,
    RoleGrant,
    User,
    WorkerProfile,
)
from yizhan.accounts.selectors import token_hash
from yizhan.accounts.sms import send_sms
from yizhan.core import permissions
from yizhan.core import privacy as core_privacy
from yizhan.core.audit import AuditAction, audit_record
from yizhan.core.errors import (
    Message,
    NotAuthenticated,
    PermissionDenied,
)
from yizhan.core.geo import COVERAGE_RES, cell_of
from yizhan.core.models import Notification
from yizhan.core.pii import mask_phone, normalize_id_number, normalize_phone, redact
from yizhan.jurisdictions.models import Jurisdiction

# Bump when the privacy notice shown on the login page changes.
CONSENT_VERSION = "2024-01"
OTP_DIGITS = 6
TOKEN_PREFIX = "yz_"
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@+-]{3,150}$")


def _now():
    return timezone.now()


# ---- one-time codes (workers) ----------------------------------------------


def _code_hash(phone: str, code: str) -> str:
    """HMAC with the secret key: a leaked table alone cannot be brute-forced."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"otp:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def otp_request(*, phone: str, ip: str | None = None) -> OneTimeCode:
    """Send a 6-digit login code by SMS. Rate-limited per phone and per IP per hour
    (counted from the stored rows, so it holds across processes)."""
    phone = normalize_phone(phone)
    now = _now()
    hour_ago = now - timedelta(hours=1)
    with transaction.atomic():
        if (
            OneTimeCode.objects.filter(phone=phone, created_at__gte=hour_ago).count()
            >= settings.YIZHAN_OTP_PER_PHONE_PER_HOUR
        ):
            raise E.OtpRateLimited(field="phone")
        if ip and (
            OneTimeCode.objects.filter(ip=ip, created_at__gte=hour_ago).count()
            >= settings.YIZHAN_OTP_PER_IP_PER_HOUR
        ):
            raise E.OtpRateLimited(field=None)
        code = f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"
        row = OneTimeCode.objects.create(
            phone=phone,
            code_hash=_code_hash(phone, code),
            expires_at=now + timedelta(seconds=settings.YIZHAN_OTP_TTL_SECONDS),
            ip=ip,
        )
        minutes = max(1, settings.YIZHAN_OTP_TTL_SECONDS // 60)
        text = f"【驿站】您的登录验证码是 {code}，{minutes} 分钟内有效。请勿告诉他人。"

        def _send():
            send_sms(phone=phone, text=text, code=code)

        transaction.on_commit(_send)
    return row


def _worker_username() -> str:
    # Never derived from the phone: usernames appear in the audit log.
    return f"w_{secrets.token_hex(6)}"


def otp_verify(*, phone: str, code: str, ip: str | None = None) -> User:
    """Check the latest code for ``phone``; return the (possibly new) worker user.

    5 tries per code, then it is dead. A first login creates the user and an empty
    WorkerProfile with the consent version of the notice shown on the login page;
    nothing else is granted. Staff accounts (usable password) must use the password
    login. The caller starts the session (``django.contrib.auth.login``)."""
    phone = normalize_phone(phone)
    code = str(code or "").strip()
    now = _now()
    failure: Exception | None = None
    with transaction.atomic():
        row = (
            OneTimeCode.objects.select_for_update()
            .filter(phone=phone, used_at__isnull=True)
            .order_by("-created_at", "-id")
            .first()
        )
        if row is None or row.expires_at <= now:
            failure = E.OtpExpired(field="code")
        elif row.tries >= settings.YIZHAN_OTP_MAX_TRIES:
            failure = E.OtpTooManyTries(field="code")
        else:
            OneTimeCode.objects.filter(pk=row.pk).update(tries=F("tries") + 1)
            if not (re.fullmatch(rf"\d{{{OTP_DIGITS}}}", code) and hmac.compare_digest(
                row.code_hash, _code_hash(phone, code)
            )):
                failure = (
                    E.OtpTooManyTries(field="code")
                    if row.tries + 1 >= settings.YIZHAN_OTP_MAX_TRIES
                    else E.OtpInvalid(field="code")
                )
            else:
                # Consumed under the row lock: a code logs in once, however many
                # requests race with it.
                OneTimeCode.objects.filter(pk=row.pk).update(used_at=now)
        if failure is not None:
            audit_record(
                actor=None, action=AuditAction.LOGIN_FAILED, object_type="accounts.user",
                summary=f"otp {failure.code} for {mask_phone(phone)}", ip=ip,
            )
    if failure is not None:  # the tries counter and the audit row are committed
        raise failure

    with transaction.atomic():
        user = User.objects.select_for_update().filter(phone=phone).first()
        created = False
        if user is None:
            user = User(username=_worker_username(), phone=phone)
            user.set_unusable_password()
            user.save()
            created = True
        elif not user.is_active:
            raise E.AccountDisabled()
        elif user.has_usable_password():
            raise E.UsePasswordLogin()
        profile, _ = WorkerProfile.objects.get_or_create(user=user)
        if profile.consent_version != CONSENT_VERSION:
            profile.consent_version = CONSENT_VERSION
            profile.consent_at = now
            profile.save(update_fields=["consent_version", "consent_at", "updated_at"])
        User.objects.filter(pk=user.pk).update(last_login=now)
        audit_record(
            actor=user, action=AuditAction.LOGIN, obj=user,
            summary="otp login (new worker)" if created else "otp login", ip=ip,
        )
    return user


# ---- staff password login ------------------------------------------------------


def _login_key(username: str) -> str:
    """Keyed hash of the case-folded username: the throttle table never holds the
    typed name (which is sometimes a password typed into the wrong box)."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"login:{username.casefold()}".encode(), hashlib.sha256).hexdigest()


def login_delay_seconds(failures: int) -> int:
    """How long a (username, IP) pair waits after its ``failures``-th failure: nothing
    before ``YIZHAN_LOGIN_MAX_FAILURES``, then ``YIZHAN_LOGIN_DELAY_SECONDS`` doubling
    with each further failure, capped at ``YIZHAN_LOGIN_LOCKOUT_SECONDS``."""
    free = settings.YIZHAN_LOGIN_MAX_FAILURES
    if failures < free:
        return 0
    base = int(getattr(settings, "YIZHAN_LOGIN_DELAY_SECONDS", 30))
    cap = int(settings.YIZHAN_LOGIN_LOCKOUT_SECONDS)
    return min(cap, base * 2 ** min(failures - free, 20))


def _burn_password_hash(password: str) -> None:
    """Run the password hasher once, so an unknown username, a worker account (no
    usable password) and a wrong password take about the same time."""
    User().set_password(password or "")


def _locked(until, now) -> E.AccountLocked:
    minutes = max(1, int((until - now).total_seconds() + 59) // 60)
    return E.AccountLocked(field="password", minutes=minutes)


def staff_login(*, username: str, password: str, ip: str | None = None) -> User:
    """Username + password. Used by the login page and, via ``StaffPasswordBackend``,
    by Django admin.

    Unknown and known usernames answer alike (``invalid_credentials``, the hasher runs
    either way). Failures are counted per (username, client IP) in ``LoginThrottle``:
    after ``YIZHAN_LOGIN_MAX_FAILURES`` the pair waits a doubling delay
    (``login_delay_seconds``, ``account_locked`` 429); the same account from another
    IP still logs in. A success clears the pair; a pair quiet for a day starts over."""
    username = (username or "").strip()
    now = _now()
    key, ip_key = _login_key(username), (ip or "")[:45]
    failure: Exception | None = None
    user = None
    with transaction.atomic():
        throttle = LoginThrottle.objects.select_for_update().filter(key=key, ip=ip_key).first()
        if throttle is not None and throttle.last_failure_at < now - timedelta(days=1):
            throttle.delete()
            throttle = None
        if throttle is not None and throttle.blocked_until and throttle.blocked_until > now:
            failure = _locked(throttle.blocked_until, now)
        else:
            user = User.objects.filter(username=username).first() if username else None
            if user is None or not user.has_usable_password():
                _burn_password_hash(password)
                ok = False
            else:
                ok = bool(password) and user.check_password(password) and user.is_active
            if not ok:
                failure = E.InvalidCredentials(field="password")
                if throttle is None:
                    throttle, _ = LoginThrottle.objects.get_or_create(
                        key=key, ip=ip_key, defaults={"last_failure_at": now}
                    )
                LoginThrottle.objects.filter(pk=throttle.pk).update(failures=F("failures") + 1, last_failure_at=now)
                throttle.refresh_from_db(fields=["failures"])
                delay = login_delay_seconds(throttle.failures)
                if delay:
                    throttle.blocked_until = now + timedelta(seconds=delay)
                    throttle.save(update_fields=["blocked_until"])
                    failure = _locked(throttle.blocked_until, now)
        if failure is not None:
            audit_record(
                actor=None, action=AuditAction.LOGIN_FAILED, object_type="accounts.user",
                object_id=user.pk if user else "", summary=f"password login {failure.code}: {redact(username[:60])}",
                ip=ip,
            )
        else:
            if throttle is not None:
                throttle.delete()
            user.last_login = now
            user.save(update_fields=["last_login"])
            audit_record(actor=user, action=AuditAction.LOGIN, obj=user, summary="password login", ip=ip)
    if failure is not None:
        raise failure
    return user


# ---- API tokens ---------------------------------------------------------------


def _require_self_or_superuser(actor, user) -> None:
    if actor is None:
        return
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if actor.pk != user.pk and not actor.is_superuser:
        raise PermissionDenied()


def api_token_create(*, actor, user: User, name: str) -> tuple[ApiToken, str]:
    """A personal Bearer token for ``user``. The raw token is returned once and
    never stored (SHA-256 only). Staff only, unless ``actor`` is the system."""
    _require_self_or_superuser(actor, user)
    if actor is not None and not (user.is_superuser or user.is_staff or user.role_grants.exists()):
        raise PermissionDenied(("只有工作人员可以创建令牌", "Only staff can create API tokens"))
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise E.InvalidTokenName(field="name")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name, prefix=raw[:10], key_hash=token_hash(raw))
        audit_record(actor=actor or user, action=AuditAction.CREATE, obj=token, summary=f"api token {token.prefix}…")
    return token, raw


def api_token_revoke(*, actor, token: ApiToken) -> ApiToken:
    _require_self_or_superuser(actor, token.user)
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is None:
            token.revoked_at = _now()
            token.save(update_fields=["revoked_at", "updated_at"])
            audit_record(actor=actor, action=AuditAction.DELETE, obj=token, summary=f"revoke token {token.prefix}…")
    return token


# ---- roles and staff --------------------------------------------------------------


def _check_grant(actor, role: str, jurisdiction) -> None:
    if role not in Role.values:
        raise E.InvalidRole(field="role")
    if jurisdiction is None:
        raise E.JurisdictionRequired(field="jurisdiction")
    if actor is None:
        return
    permissions.require(actor, "people.manage", jurisdiction)
    if not permissions.can_grant(actor, role, jurisdiction):
        raise E.RoleAboveOwnLevel(field="role")


def role_grant(*, actor, user: User, role: str, jurisdiction) -> RoleGrant:
    _check_grant(actor, role, jurisdiction)
    with transaction.atomic():
        grant, created = RoleGrant.objects.get_or_create(
            user=user, role=role, jurisdiction=jurisdiction, defaults={"granted_by": actor}
        )
        if created:
            audit_record(
                actor=actor, action=AuditAction.CREATE, obj=grant,
                summary=f"grant {role} @ {jurisdiction.code} to {user.username}",
                jurisdiction_path=jurisdiction.path,
            )
    permissions.forget_grants(user)
    return grant


def role_revoke(*, actor, user: User, role: str, jurisdiction) -> None:
    _check_grant(actor, role, jurisdiction)
    with transaction.atomic():
        grant = RoleGrant.objects.filter(user=user, role=role, jurisdiction=jurisdiction).first()
        if grant is None:
            raise E.GrantNotFound()
        audit_record(
            actor=actor, action=AuditAction.DELETE, obj=grant,
            summary=f"revoke {role} @ {jurisdiction.code} from {user.username}",
            jurisdiction_path=jurisdiction.path,
        )
        grant.delete()
    permissions.forget_grants(user)


def staff_create(
    *, actor, username: str, display_name: str, phone: str | None, password: str, role: str, jurisdiction
) -> User:
    """A staff account (password login, Django admin access) with one role."""
    _check_grant(actor, role, jurisdiction)
    username = (username or "").strip()
    if not _USERNAME_RE.match(username):
        raise E.InvalidUsername(field="username")
    phone = normalize_phone(phone) if phone else None
    try:
        validate_password(password or "")
    except DjangoValidationError as exc:
        raise E.WeakPassword(field="password") from exc
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise E.UsernameTaken(field="username")
        if phone and User.objects.filter(phone=phone).exists():
            raise E.PhoneTaken(field="phone")
        user = User(username=username, display_name=(display_name or "").strip()[:60], phone=phone, is_staff=True)
        user.set_password(password)
        user.save()
        audit_record(
            actor=actor, action=AuditAction.CREATE, obj=user, summary=f"staff {username} ({role})",
            jurisdiction_path=jurisdiction.path,
        )
        role_grant(actor=actor, user=user, role=role, jurisdiction=jurisdiction)
    return user


# ---- worker profile, export, deletion (PIPL) ------------------------------------------

PROFILE_FIELDS = ("display_name", "trade", "platform", "employer", "skills", "home_community", "id_number")


def worker_profile_update(*, actor, user: User, data: dict) -> WorkerProfile:
    """The owner edits their own profile. Unknown keys are ignored."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if actor.pk != user.pk:
        raise PermissionDenied()

    with transaction.atomic():
        profile, _ = WorkerProfile.objects.select_for_update().get_or_create(user=user)
        changes: dict = {}
        user_fields: list[str] = []
        if "display_name" in data and data["display_name"] is not None:
            value = str(data["display_name"]).strip()
            if len(value) > 60:
                raise E.TooLong(E.TooLong.display_name, field="display_name")
            user.display_name = value
            user_fields.append("display_name")
            changes["display_name"] = "changed"
        if "id_number" in data and data["id_number"] is not None:
            value = str(data["id_number"]).strip()
            user.id_number = normalize_id_number(value) if value else ""
            user_fields.append("id_number")
            changes["id_number"] = "changed"  # never the value itself
        if "trade" in data and data["trade"] is not None:
            if data["trade"] not in Trade.values:
                raise E.InvalidTrade(field="trade")
            changes["trade"] = [profile.trade, data["trade"]]
            profile.trade = data["trade"]
        for key, limit in (("platform", 60), ("employer", 100)):
            if key in data and data[key] is not None:
                value = str(data[key]).strip()
                if len(value) > limit:
                    raise E.TooLong(field=key, limit=limit)
                changes[key] = [getattr(profile, key), value]
                setattr(profile, key, value)
        if "skills" in data and data["skills"] is not None:
            skills = data["skills"]
            if isinstance(skills, str):
                skills = [s for s in re.split(r"[,，、\s]+", skills) if s]
            if not isinstance(skills, list) or len(skills) > 30 or any(
                not isinstance(s, str) or not s.strip() or len(s) > 30 for s in skills
            ):
                raise E.InvalidSkills(field="skills")
            profile.skills = [s.strip() for s in skills]
            changes["skills"] = profile.skills
        if "home_community" in data:
            code = data["home_community"]
            if code in (None, ""):
                profile.home_community = None
                profile.home_cell = ""
            else:
                node = Jurisdiction.objects.filter(code=code, level__in=("community", "grid")).first()
                if node is None:
                    raise E.UnknownCommunity(field="home_community")
                if node.level == "grid":
                    node = node.parent
                if profile.home_community_id != node.pk:
                    # Coverage counts workers by home cell: the community's centre
                    # until the worker gives a finer home location.

                    profile.home_cell = (
                        cell_of(node.center_lat, node.center_lng, COVERAGE_RES) if node.center_lat is not None else ""
                    )
                profile.home_community = node
            changes["home_community"] = code or None
        if user_fields:
            user.save(update_fields=user_fields)
        profile.save()
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=profile, summary="profile edit", changes=changes)
    return profile


def account_export(*, actor, user: User) -> dict:
    """Everything Yizhan stores about ``user`` (PIPL art. 45), for a JSON download.
    Other apps add their rows through ``EXPORT_HOOKS``."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if actor.pk != user.pk and not actor.is_superuser:
        raise PermissionDenied()

    profile = WorkerProfile.objects.filter(user=user).select_related("home_community").first()
    data = {
        "exported_at": _now().isoformat(),
        "user": {
            "username": user.username,
            "display_name": user.display_name,
            "phone": user.phone,
            "id_number": user.id_number,
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
        },
        "profile": None,
        "roles": [
            {"role": g.role, "jurisdiction": g.jurisdiction.code}
            for g in user.role_grants.select_related("jurisdiction")
        ],
        "api_tokens": [
            {"name": t.name, "prefix": t.prefix, "created_at": t.created_at.isoformat(),
             "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None}
            for t in user.api_tokens.all()
        ],
        "notifications": [
            {"kind": n.kind, "title": n.title_zh, "created_at": n.created_at.isoformat()}
            for n in Notification.objects.filter(user=user)[:1000]
        ],
    }
    if profile:
        data["profile"] = {
            "trade": profile.trade,
            "platform": profile.platform,
            "employer": profile.employer,
            "skills": profile.skills,
            "home_community": profile.home_community.code if profile.home_community else None,
            "consent_version": profile.consent_version,
            "consent_at": profile.consent_at.isoformat() if profile.consent_at else None,
        }
    for hook in EXPORT_HOOKS:
        key, rows = hook(user)
        data[key] = rows
    with transaction.atomic():
        audit_record(actor=actor, action=AuditAction.EXPORT, obj=user, summary="personal data export")
    return data


# Other apps append ``callable(user) -> (key, list_of_dicts)`` here (in AppConfig.ready).
EXPORT_HOOKS: list = []


# Other apps append ``callable(user) -> None`` here (in AppConfig.ready) to drop or
# unlink their personal rows when a person deletes their account (same transaction).
DELETION_HOOKS: list = []


def _end_sessions(user) -> int:
    """Delete every stored session logged in as ``user`` (their other devices): a
    session row names the account it belongs to."""
    from importlib import import_module

    if settings.SESSION_ENGINE not in ("django.contrib.sessions.backends.db",
                                       "django.contrib.sessions.backends.cached_db"):
        return 0  # signed-cookie or cache sessions: nothing stored here to look through
    from django.contrib.sessions.models import Session

    store = import_module(settings.SESSION_ENGINE).SessionStore
    ended = 0
    for session in Session.objects.filter(expire_date__gt=_now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            store(session_key=session.session_key).delete()
            ended += 1
    return ended


@dataclass
class DeletionResult:
    user_id: int
    tokens_revoked: int


def account_delete(*, actor, user: User) -> DeletionResult:
    """Erase a person (PIPL art. 47): identity fields, profile, codes, tokens, inbox
    and roles go; the row stays, anonymous and inactive, so shared records
    (check-ins counts, reviews' ratings, cases) keep their figures, and nothing kept
    points back at the person: every app's hook unlinks its rows (``DELETION_HOOKS``),
    ``core.privacy.erase`` cuts the audit log and the messages loose and replaces their
    name wherever a text repeats it."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if actor.pk != user.pk and not actor.is_superuser:
        raise PermissionDenied()

    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        needles = core_privacy.identifiers(user)
        username = user.get_username()
        own_objects = [(WorkerProfile._meta.label_lower, pk)
                       for pk in WorkerProfile.objects.filter(user=user).values_list("pk", flat=True)]
        own_objects += [(ApiToken._meta.label_lower, pk)
                        for pk in ApiToken.objects.filter(user=user).values_list("pk", flat=True)]
        phone = user.phone
        if phone:
            OneTimeCode.objects.filter(phone=phone).delete()
        tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True).count()
        ApiToken.objects.filter(user=user).delete()
        LoginThrottle.objects.filter(key=_login_key(username)).delete()
        WorkerProfile.objects.filter(user=user).delete()
        RoleGrant.objects.filter(user=user).delete()
        RoleGrant.objects.filter(granted_by=user).update(granted_by=None)
        for hook in DELETION_HOOKS:
            hook(user)
        core_privacy.erase(user, needles=needles, own_objects=own_objects)
        user.groups.clear()
        user.user_permissions.clear()
        _end_sessions(user)
        now = _now()
        user.username = f"deleted_{user.pk}"
        user.phone = None
        user.display_name = ""
        user.first_name = user.last_name = user.email = ""
        user.id_number = ""
        user.preferred_language = ""
        user.is_active = False
        user.is_staff = False
        user.is_superuser = False
        user.last_login = None
        user.date_joined = now
        user.failed_login_count = 0
        user.locked_until = None
        user.set_unusable_password()
        user.save()
        audit_record(actor=actor if actor.pk != user.pk else None, action=AuditAction.DELETE, obj=user,
                     summary="account deleted at the owner's request")
    permissions.forget_grants(user)
    return DeletionResult(user_id=user.pk, tokens_revoked=tokens)


__all__ = [
    "CONSENT_VERSION",
    "Message",
    "account_delete",
    "account_export",
    "api_token_create",
    "api_token_revoke",
    "otp_request",
    "otp_verify",
    "role_grant",
    "role_revoke",
    "staff_create",
    "staff_login",
    "worker_profile_update",
]

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q

from yizhan.accounts.choices import Role, Trade
from yizhan.core.models import TimeStampedModel


class User(AbstractUser):
    """Everyone who logs in. Workers log in by phone + one-time code (no usable
    password); staff by username + password, with lock-out after failures."""

    phone = models.CharField(max_length=11, unique=True, null=True, blank=True)
    display_name = models.CharField(max_length=60, blank=True)
    id_number = models.CharField(max_length=18, blank=True, help_text="GB 11643, masked when shown")
    preferred_language = models.CharField(max_length=10, blank=True)
    failed_login_count = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(phone__isnull=True) | Q(phone__regex=r"^1[3-9][0-9]{9}$"),
                name="user_phone_mainland_mobile",
            ),
        ]

    def __str__(self):
        # Workers have generated usernames; their masked phone reads better.
        if self.display_name:
            return self.display_name
        if self.phone and not self.has_usable_password():
            from yizhan.core.pii import mask_phone

            return mask_phone(self.phone)
        return self.username


class RoleGrant(TimeStampedModel):
    """A role granted on a jurisdiction node; it covers the node's whole subtree."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(max_length=32, choices=Role.choices)
    jurisdiction = models.ForeignKey(
        "jurisdictions.Jurisdiction", on_delete=models.PROTECT, related_name="role_grants"
    )
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "jurisdiction"], name="rolegrant_unique"),
        ]

    def __str__(self):
        return f"{self.user} {self.role} @ {self.jurisdiction}"


class WorkerProfile(TimeStampedModel):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="worker_profile")
    trade = models.CharField(max_length=32, choices=Trade.choices, default=Trade.OTHER)
    platform = models.CharField(max_length=60, blank=True, help_text="美团/饿了么/顺丰/滴滴… or employer")
    employer = models.CharField(max_length=100, blank=True)
    skills = models.JSONField(default=list, blank=True)
    home_community = models.ForeignKey(
        "jurisdictions.Jurisdiction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    home_cell = models.CharField(max_length=16, blank=True, db_index=True, help_text="H3 res-9 cell of home")
    consent_version = models.CharField(max_length=20, blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.user} ({self.get_trade_display()})"


class OneTimeCode(models.Model):
    """A login code sent by SMS. Only its hash is stored."""

    phone = models.CharField(max_length=11, db_index=True)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField()
    tries = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        from yizhan.core.pii import mask_phone

        return f"{mask_phone(self.phone)} @ {self.created_at:%Y-%m-%d %H:%M}"


class ApiToken(TimeStampedModel):
    """A personal Bearer token. Only the SHA-256 of the secret is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class LoginThrottle(models.Model):
    """Failed password logins of one (username, client IP) pair. After
    ``YIZHAN_LOGIN_MAX_FAILURES`` failures the pair waits a delay that doubles with
    each further failure (capped at ``YIZHAN_LOGIN_LOCKOUT_SECONDS``); another IP is
    not affected, so nobody can lock a colleague out from elsewhere. The username is
    stored as a keyed hash (unknown usernames are throttled the same way as known ones)."""

    key = models.CharField(max_length=64, help_text="HMAC of the case-folded username")
    ip = models.CharField(max_length=45, blank=True)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(db_index=True)
    blocked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "ip"], name="login_throttle_key_ip"),
        ]

    def __str__(self):
        return f"{self.key[:8]}… @ {self.ip or '-'}: {self.failures}"

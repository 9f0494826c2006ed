"""Reads of people, roles and tokens."""

from __future__ import annotations

import hashlib

from django.utils import timezone

from yizhan.accounts.errors import PersonNotFound, TokenNotFound
from yizhan.accounts.models import ApiToken, RoleGrant, User, WorkerProfile
from yizhan.core.audit import AuditAction, audit_record
from yizhan.core.errors import OutOfJurisdiction
from yizhan.core.permissions import require, restrict
from yizhan.jurisdictions.models import Jurisdiction


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_user(*, raw: str) -> User | None:
    """The active user behind a Bearer token, or None."""
    if not raw or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_hash(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def api_tokens_of(*, user: User):
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def api_token_get(*, actor, token_id: int) -> ApiToken:
    """One of the actor's own tokens (superusers: anyone's)."""
    qs = ApiToken.objects.select_related("user")
    if not actor.is_superuser:
        qs = qs.filter(user=actor)
    token = qs.filter(pk=token_id).first()
    if token is None:
        raise TokenNotFound()
    return token


def staff_list(*, actor, filters: dict | None = None):
    """People holding a role inside the actor's ``people.view`` scope (not workers
    without roles). Filters: role, jurisdiction (code, subtree), q (username/name)."""
    from django.db.models import Q

    require(actor, "people.view")
    filters = filters or {}
    grants = restrict(RoleGrant.objects.all(), actor, "people.view")
    if filters.get("role"):
        grants = grants.filter(role=filters["role"])
    if filters.get("jurisdiction"):
        node = Jurisdiction.objects.filter(code=filters["jurisdiction"]).first()
        grants = grants.filter(jurisdiction__path__startswith=node.path) if node else grants.none()
    qs = User.objects.filter(pk__in=grants.values("user_id")).order_by("username")
    if filters.get("q"):
        q = filters["q"]
        qs = qs.filter(Q(username__icontains=q) | Q(display_name__icontains=q))
    return qs.prefetch_related("role_grants__jurisdiction")


def staff_get(*, actor, user_id: int) -> User:
    """One person's record, if any of their roles lies inside the actor's scope.
    Reading it is recorded in the audit log (PIPL: every staff read of a person)."""
    require(actor, "people.view")
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise PersonNotFound()
    grant = restrict(RoleGrant.objects.filter(user=user), actor, "people.view").select_related("jurisdiction").first()
    if grant is None:
        raise OutOfJurisdiction()
    audit_record(
        actor=actor, action=AuditAction.READ, obj=user, summary=f"read staff record {user.username}",
        jurisdiction_path=grant.jurisdiction.path,
    )
    return user


def staff_list_audited(*, actor, users: list[User]) -> None:
    """One audit row for a page of people shown to staff."""
    if users:
        audit_record(
            actor=actor, action=AuditAction.READ, object_type="accounts.user",
            summary=f"staff list: {len(users)} people",
            changes={"ids": [u.pk for u in users][:200]},
        )


def worker_profile_of(*, user: User):
    return WorkerProfile.objects.filter(user=user).select_related("home_community").first()

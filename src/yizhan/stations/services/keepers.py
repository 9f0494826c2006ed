"""Keepers: who runs a station."""


from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone

from yizhan.accounts.models import RoleGrant, User
from yizhan.accounts.services import role_grant, role_revoke
from yizhan.core import permissions
from yizhan.core.audit import audit_record
from yizhan.core.models import AuditAction
from yizhan.core.pii import mask_phone, normalize_phone
from yizhan.stations import errors as E
from yizhan.stations.models import (
    Station,
    StationKeeper,
)

# ---- keepers ---------------------------------------------------------------------


def station_keeper_assign(*, actor, station: Station, user, is_primary: bool = True) -> StationKeeper:
    """Make ``user`` a keeper of ``station`` and grant them the keeper role on the
    station's jurisdiction (through accounts.services.role_grant)."""

    permissions.require(actor, "stations.manage", station.jurisdiction)
    if user is None or not getattr(user, "pk", None):
        raise E.KeeperNotFound()
    with transaction.atomic():
        link, created = StationKeeper.objects.get_or_create(
            station=station, user=user, defaults={"is_primary": is_primary}
        )
        if not created and link.is_primary != is_primary:
            link.is_primary = is_primary
            link.save(update_fields=["is_primary", "updated_at"])
        if is_primary:
            StationKeeper.objects.filter(station=station, is_primary=True).exclude(pk=link.pk).update(
                is_primary=False, updated_at=timezone.now()
            )
        if not permissions.can(user, "stations.stock", station.jurisdiction):
            role_grant(actor=actor, user=user, role="keeper", jurisdiction=station.jurisdiction)
        audit_record(
            actor=actor, action=AuditAction.CREATE if created else AuditAction.UPDATE, obj=link,
            summary=f"keeper {user.username} of station {station.code}" + (" (primary)" if is_primary else ""),
            jurisdiction_path=station.jurisdiction.path,
        )
    return link


def station_keeper_remove(*, actor, station: Station, user) -> None:
    """Unlink a keeper; drop their keeper role there when they keep no other station in it."""

    permissions.require(actor, "stations.manage", station.jurisdiction)
    with transaction.atomic():
        link = StationKeeper.objects.filter(station=station, user=user).first()
        if link is None:
            raise E.KeeperNotFound()
        audit_record(
            actor=actor, action=AuditAction.DELETE, obj=link,
            summary=f"keeper {user.username} removed from station {station.code}",
            jurisdiction_path=station.jurisdiction.path,
        )
        link.delete()
        still_keeps = StationKeeper.objects.filter(user=user, station__jurisdiction=station.jurisdiction).exists()
        if not still_keeps and RoleGrant.objects.filter(
            user=user, role="keeper", jurisdiction=station.jurisdiction
        ).exists():
            role_revoke(actor=actor, user=user, role="keeper", jurisdiction=station.jurisdiction)


def keeper_user_for_phone(*, actor, phone: str, display_name: str = ""):
    """The user with this phone, created (phone login, no password) when new.

    There is no accounts service for "a worker known only by phone" yet, so the row
    is created here the way ``otp_verify`` would, with an audit row."""

    phone = normalize_phone(phone)
    with transaction.atomic():
        user = User.objects.filter(phone=phone).first()
        if user is not None:
            if display_name and not user.display_name:
                User.objects.filter(pk=user.pk).update(display_name=display_name[:60])
                user.display_name = display_name[:60]
            return user
        user = User(username=f"w_{secrets.token_hex(6)}", phone=phone, display_name=(display_name or "")[:60])
        user.set_unusable_password()
        user.save()
        audit_record(
            actor=actor, action=AuditAction.CREATE, obj=user, summary=f"keeper account {mask_phone(phone)}",
        )
    return user

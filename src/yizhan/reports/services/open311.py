"""services/open311 of the reports app: the keys of Open311 GeoReport v2 clients.

A client (a city's 12345 system, a partner app, FixMyStreet) gets one key; the raw
key is returned once by ``open311_client_create`` and only its SHA-256 is stored
(as ``accounts.ApiToken``). Creating and revoking keys needs ``reports.configure``
(district and city admins); ``actor=None`` is the system (``yizhan open311-key``).
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from yizhan.core import permissions
from yizhan.core.audit import AuditAction, audit_record
from yizhan.reports import errors as E
from yizhan.reports.models import Open311Client

__all__ = [
    "KEY_PREFIX",
    "open311_client_authenticate",
    "open311_client_create",
    "open311_client_list",
    "open311_client_revoke",
    "open311_key_hash",
]

KEY_PREFIX = "o311_"


def open311_key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _require_configure(actor) -> None:
    """Keys reach every jurisdiction's cases: configure on every root of the tree (city
    admins, superusers), not just somewhere."""
    from yizhan.reports.services.setup import require_platform_configure

    if actor is None:  # the system (management command)
        return
    require_platform_configure(actor)


def open311_client_create(*, actor, name: str) -> tuple[Open311Client, str]:
    """A new client key. Returns the client and the raw key (shown once, never stored)."""
    _require_configure(actor)
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise E.InvalidClientName()
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        client = Open311Client.objects.create(
            name=name, prefix=raw[:12], key_hash=open311_key_hash(raw),
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(actor=actor, action=AuditAction.CREATE, obj=client,
                     summary=f"open311 client {client.name} {client.prefix}…")
    return client, raw


def open311_client_revoke(*, actor, client: Open311Client) -> Open311Client:
    """Revoke a key (idempotent): its requests get 403 from now on."""
    _require_configure(actor)
    with transaction.atomic():
        client = Open311Client.objects.select_for_update().get(pk=client.pk)
        if client.revoked_at is None:
            client.revoked_at = timezone.now()
            client.save(update_fields=["revoked_at", "updated_at"])
            audit_record(actor=actor, action=AuditAction.DELETE, obj=client,
                         summary=f"revoke open311 client {client.name} {client.prefix}…")
    return client


def open311_client_authenticate(*, raw_key: str) -> Open311Client:
    """The client behind ``raw_key``. No or unknown key: NotAuthenticated; revoked:
    PermissionDenied (the Open311 views answer both with 403)."""
    raw_key = (raw_key or "").strip()
    if not raw_key or len(raw_key) > 200:
        raise E.InvalidApiKey(E.InvalidApiKey.missing)
    client = Open311Client.objects.filter(key_hash=open311_key_hash(raw_key)).first()
    if client is None:
        raise E.InvalidApiKey()
    if client.revoked_at is not None:
        raise E.ApiKeyRevoked()
    now = timezone.now()
    if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
        Open311Client.objects.filter(pk=client.pk).update(last_used_at=now)
    return client


def _require_configure_read(actor) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        permissions.require(actor, "reports.configure")  # NotAuthenticated
    _require_configure(actor)


def open311_client_list(*, actor):
    """Every client (a read, kept beside the keys it lists): configure on every root."""
    _require_configure_read(actor)
    return Open311Client.objects.select_related("created_by").order_by("-created_at", "-id")

"""Writes of the shared kernel (the inbox)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from yizhan.core.audit import audit_record
from yizhan.core.errors import (
    BindingTaken,
    InvalidAddress,
    InvalidChannel,
    InvalidKinds,
    InvalidWebhookUrl,
    NotAuthenticated,
    PermissionDenied,
    Required,
    WeakSecret,
)
from yizhan.core.models import (
    ChannelBinding,
    Notification,
    NotificationPreference,
    OutboundChannel,
    WebhookSubscription,
)
from yizhan.core.permissions import require


def notifications_mark_read(*, actor, ids: list[int] | None = None) -> int:
    """Mark the actor's notifications read (all of them when ``ids`` is None).
    Returns how many changed. Only the owner's rows are touched; no audit row
    (reading one's own inbox is not a change to anyone's data)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    with transaction.atomic():
        qs = Notification.objects.filter(user=actor, read_at__isnull=True)
        if ids is not None:
            qs = qs.filter(pk__in=ids)
        return qs.update(read_at=timezone.now())


# ---- outbound notification settings (core.outbox) --------------------------------------

WEBHOOK_MANAGE_PERM = "people.manage"  # the admins of a node (no dedicated permission yet)
WEBHOOK_VIEW_PERM = "people.manage"


def _require_login(actor) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()


def notification_preference_set(*, actor, sms_non_urgent: bool):
    """The actor's own choice: SMS also for non-urgent kinds (urgent ones always go)."""
    _require_login(actor)
    with transaction.atomic():
        pref, _ = NotificationPreference.objects.select_for_update().get_or_create(user=actor)
        if pref.sms_non_urgent != bool(sms_non_urgent):
            pref.sms_non_urgent = bool(sms_non_urgent)
            pref.save(update_fields=["sms_non_urgent", "updated_at"])
            audit_record(actor=actor, action="update", obj=pref, summary="通知设置 notification settings",
                         changes={"sms_non_urgent": pref.sms_non_urgent})
    return pref


def channel_binding_set(*, actor, user, channel: str, address: str):
    """Bind ``user``'s address on ``channel`` (the WeChat openid, from the WeChat login
    flow, which acts as the user themself). Only the user or a superuser may bind."""
    _require_login(actor)
    if actor.pk != user.pk and not getattr(actor, "is_superuser", False):
        raise PermissionDenied()
    if channel != OutboundChannel.WECHAT:
        raise InvalidChannel()
    address = (address or "").strip()
    if not address or len(address) > 128:
        raise InvalidAddress()
    with transaction.atomic():
        if ChannelBinding.objects.filter(channel=channel, address=address).exclude(user=user).exists():
            raise BindingTaken()
        binding, _ = ChannelBinding.objects.update_or_create(user=user, channel=channel,
                                                             defaults={"address": address})
        audit_record(actor=actor, action="update", obj=binding, summary=f"绑定 bind {channel}")
    return binding


def channel_binding_remove(*, actor, channel: str) -> bool:
    """The actor unbinds their own address on ``channel``; False if there was none."""
    _require_login(actor)
    with transaction.atomic():
        binding = ChannelBinding.objects.filter(user=actor, channel=channel).first()
        if binding is None:
            return False
        audit_record(actor=actor, action="delete", obj=binding, summary=f"解除绑定 unbind {channel}")
        binding.delete()
    return True


def _webhook_clean(data: dict) -> dict:
    import secrets
    from urllib.parse import urlsplit

    from django.conf import settings

    url = (data.get("url") or "").strip()
    parts = urlsplit(url)
    allowed = {"https", "http"} if getattr(settings, "YIZHAN_WEBHOOK_ALLOW_HTTP", False) else {"https"}
    if parts.scheme not in allowed or not parts.hostname:
        raise InvalidWebhookUrl()
    kinds = data.get("kinds") or []
    if isinstance(kinds, str):
        kinds = [k.strip() for k in kinds.replace("，", ",").split(",") if k.strip()]
    if not isinstance(kinds, list) or not all(isinstance(k, str) and 0 < len(k) <= 40 for k in kinds):
        raise InvalidKinds()
    name = (data.get("name") or "").strip()
    if not name:
        raise Required(Required.name, field="name")
    secret = (data.get("secret") or "").strip() or secrets.token_urlsafe(32)
    if len(secret) < 16:
        raise WeakSecret()
    return {"name": name[:80], "url": url, "kinds": sorted(set(kinds)), "secret": secret,
            "is_active": bool(data.get("is_active", True))}


def webhook_subscription_save(*, actor, subscription=None, jurisdiction, data: dict):
    """Create (``subscription`` None) or change a jurisdiction's webhook. The actor must
    manage people on that node (and on the old one when moving it). A blank secret gets a
    random one."""
    if jurisdiction is None:
        raise Required(Required.jurisdiction, field="jurisdiction")
    require(actor, WEBHOOK_MANAGE_PERM, jurisdiction)
    if subscription is not None:
        require(actor, WEBHOOK_MANAGE_PERM, subscription.jurisdiction)
    clean = _webhook_clean(data)
    with transaction.atomic():
        if subscription is None:
            subscription = WebhookSubscription.objects.create(jurisdiction=jurisdiction, created_by=actor, **clean)
            action = "create"
        else:
            for key, value in clean.items():
                setattr(subscription, key, value)
            subscription.jurisdiction = jurisdiction
            subscription.save()
            action = "update"
        audit_record(actor=actor, action=action, obj=subscription, jurisdiction_path=jurisdiction.path,
                     summary=f"Webhook {subscription.name}",
                     changes={"url_host": clean["url"].split("/")[2], "kinds": clean["kinds"],
                              "is_active": clean["is_active"]})
    return subscription


def webhook_subscription_delete(*, actor, subscription) -> None:
    require(actor, WEBHOOK_MANAGE_PERM, subscription.jurisdiction)
    with transaction.atomic():
        audit_record(actor=actor, action="delete", obj=subscription, jurisdiction_path=subscription.jurisdiction.path,
                     summary=f"Webhook {subscription.name}")
        subscription.delete()

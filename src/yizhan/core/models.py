"""Shared base models and the audit log."""

from django.conf import settings
from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AuditAction(models.TextChoices):
    READ = "read", "查看 read"
    CREATE = "create", "创建 create"
    UPDATE = "update", "修改 update"
    DELETE = "delete", "删除 delete"
    LOGIN = "login", "登录 login"
    LOGIN_FAILED = "login_failed", "登录失败 login failed"
    EXPORT = "export", "导出 export"
    IMPORT = "import", "导入 import"


class AuditLog(models.Model):
    """Who read or changed what, when, from where. Append-only."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    jurisdiction_path = models.CharField(max_length=255, blank=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"


class Notification(models.Model):
    """The in-app inbox. Outbound channels (SMS, WeChat, webhook) come later
    through an outbox; this row is what the person sees on their page."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    title_zh = models.CharField(max_length=120)
    title_en = models.CharField(max_length=160, blank=True)
    body_zh = models.CharField(max_length=500, blank=True)
    body_en = models.CharField(max_length=600, blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self):
        return self.title_zh


class DomainEvent(models.Model):
    """A fact other apps consume later (transactional outbox): written in the same
    transaction as the change, so it exists exactly when the change committed.
    Consumers (e.g. the points ledger) record what they handled as ``DomainEventReceipt``."""

    name = models.CharField(max_length=60, db_index=True, help_text='e.g. "reports.case_verified"')
    aggregate_type = models.CharField(max_length=60, blank=True)
    aggregate_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["aggregate_type", "aggregate_id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "aggregate_type", "aggregate_id"], name="domain_event_once_per_aggregate",
                condition=~models.Q(aggregate_id=""),
            ),
        ]

    def __str__(self):
        return f"{self.name} {self.aggregate_type}:{self.aggregate_id}"


class DomainEventReceipt(models.Model):
    """A consumer handled an event (once: the unique constraint makes it idempotent)."""

    event = models.ForeignKey(DomainEvent, on_delete=models.CASCADE, related_name="receipts")
    consumer = models.CharField(max_length=60)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "consumer"], name="domain_event_receipt_once"),
        ]

    def __str__(self):
        return f"{self.consumer} <- {self.event_id}"


# ---- outbound notifications (core.outbox) -----------------------------------------------


class OutboundChannel(models.TextChoices):
    SMS = "sms", "短信 SMS"
    WECHAT = "wechat", "微信模板消息 WeChat"
    WEBHOOK = "webhook", "Webhook"
    CONSOLE = "console", "控制台 console"
    FILE = "file", "文件 file"


class OutboundState(models.TextChoices):
    PENDING = "pending", "待发送 pending"
    SENDING = "sending", "发送中 sending"
    SENT = "sent", "已发送 sent"
    FAILED = "failed", "失败待重试 failed"
    DEAD = "dead", "放弃 dead"
    SKIPPED = "skipped", "跳过 skipped"


class OutboundMessage(models.Model):
    """One outbound copy of a notification on one channel (transactional outbox).

    Written in the same transaction as the inbox row, sent by ``core.outbox`` after
    commit. The recipient's phone / openid is read at send time (never copied here);
    the texts are stored with phones and ID numbers masked."""

    notification = models.ForeignKey(
        Notification, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbound"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    subscription = models.ForeignKey(
        "core.WebhookSubscription", null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    channel = models.CharField(max_length=16, choices=OutboundChannel.choices)
    kind = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=OutboundState.choices, default=OutboundState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["next_attempt_at", "id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self):
        return f"{self.channel} {self.kind} #{self.pk} {self.state}"


class ChannelBinding(TimeStampedModel):
    """An address of a user on an outbound channel other than their phone, e.g. the
    WeChat official-account openid (bound through the WeChat login flow)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="channel_bindings")
    channel = models.CharField(max_length=16, choices=[(OutboundChannel.WECHAT.value, OutboundChannel.WECHAT.label)])
    address = models.CharField(max_length=128, help_text="openid")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "channel"], name="channel_binding_one_per_channel"),
            models.UniqueConstraint(fields=["channel", "address"], name="channel_binding_address_unique"),
        ]

    def __str__(self):
        return f"{self.user} {self.channel}"


class NotificationPreference(models.Model):
    """A user's choices about outbound copies (no row = the defaults)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    sms_non_urgent = models.BooleanField(
        default=True, help_text="SMS also for kinds that are not urgent (urgent ones always go by SMS)"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.user}"


class WebhookSubscription(TimeStampedModel):
    """A jurisdiction's webhook: events of its subtree are POSTed as JSON, signed with
    HMAC-SHA256 of ``secret`` (see ``core.outbox``)."""

    jurisdiction = models.ForeignKey(
        "jurisdictions.Jurisdiction", on_delete=models.PROTECT, related_name="webhook_subscriptions"
    )
    name = models.CharField(max_length=80)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128, help_text="shared secret for the X-Yizhan-Signature header")
    kinds = models.JSONField(default=list, blank=True, help_text='e.g. ["case_new", "case_overdue"]; empty = all')
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["jurisdiction__path", "name"]

    def __str__(self):
        return f"{self.name} @ {self.jurisdiction}"

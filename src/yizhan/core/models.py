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

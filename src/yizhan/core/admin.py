"""Django admin as the back office, scoped like everything else.

``ScopedAdmin`` is the base of every ModelAdmin in Yizhan:

* ``get_queryset`` goes through ``core.permissions.restrict`` with ``view_perm`` on
  ``path_field`` (superusers: everything);
* ``has_*_permission`` check our roles, not Django's model permissions;
* writes go through services: subclasses implement ``service_save(request, obj,
  data, change)``; it runs in the form's validation step (inside the admin's
  transaction), so an ``AppError`` is shown beside its field and nothing is
  written; ``save_model`` then only adopts the saved row. ``service_delete``
  likewise; without it, deleting is not offered.

The auditor sees the audit log, read-only, and nothing else (no other model
grants ``audit.view``).
"""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from yizhan.core import permissions
from yizhan.core.errors import AppError
from yizhan.core.forms import add_app_error
from yizhan.core.models import AuditLog, Notification, OutboundMessage, WebhookSubscription
from yizhan.core.outbox import outbound_retry
from yizhan.core.selectors import audit_list
from yizhan.core.services import webhook_subscription_delete, webhook_subscription_save


def _is_super(user) -> bool:
    return bool(getattr(user, "is_superuser", False) and user.is_active)


class ScopedAdmin(admin.ModelAdmin):
    view_perm: str = ""
    manage_perm: str = ""
    path_field: str = "jurisdiction__path"
    service_field_map: dict[str, str] = {}

    # ---- scope ----------------------------------------------------------------
    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if _is_super(request.user):
            return qs
        return permissions.restrict(qs, request.user, self.view_perm, path_field=self.path_field)

    def obj_path(self, obj) -> str | None:
        value = obj
        for part in self.path_field.split("__"):
            value = getattr(value, part, None)
            if value is None:
                return None
        return value

    # ---- permissions ------------------------------------------------------------
    def has_module_permission(self, request):
        return _is_super(request.user) or permissions.has_perm_anywhere(request.user, self.view_perm)

    def has_view_permission(self, request, obj=None):
        if _is_super(request.user):
            return True
        if obj is None:
            return permissions.has_perm_anywhere(request.user, self.view_perm)
        path = self.obj_path(obj)
        return path is not None and permissions.can(request.user, self.view_perm, path)

    def _may_manage(self, request, obj=None) -> bool:
        if not self.manage_perm or not self.has_service_save():
            return False
        if _is_super(request.user):
            return True
        if obj is None:
            return permissions.has_perm_anywhere(request.user, self.manage_perm)
        path = self.obj_path(obj)
        return path is not None and permissions.can(request.user, self.manage_perm, path)

    def has_add_permission(self, request):
        return self._may_manage(request)

    def has_change_permission(self, request, obj=None):
        return self._may_manage(request, obj)

    def has_delete_permission(self, request, obj=None):
        return type(self).service_delete is not ScopedAdmin.service_delete and self._may_manage(request, obj)

    # ---- writes through services ----------------------------------------------------
    def has_service_save(self) -> bool:
        return type(self).service_save is not ScopedAdmin.service_save

    def service_save(self, request, obj, data: dict, change: bool):  # pragma: no cover - abstract
        raise NotImplementedError

    def service_delete(self, request, obj) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if not self.has_service_save():
            return form_class
        model_admin = self

        class ServiceForm(form_class):
            def _post_clean(self):
                super()._post_clean()  # model validation first (unique code, ...)
                if self.errors:
                    return
                try:
                    self._service_saved = model_admin.service_save(request, obj, dict(self.cleaned_data), change)
                except AppError as exc:
                    add_app_error(self, exc, field_map=model_admin.service_field_map)

        return ServiceForm

    def save_model(self, request, obj, form, change):
        saved = getattr(form, "_service_saved", None)
        if saved is None:  # pragma: no cover - guarded by has_service_save
            raise RuntimeError("admin writes must go through a service")
        obj.pk = saved.pk
        for field in obj._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        """No inline writes behind the services' back (inlines here are read-only)."""
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_model(self, request, obj):
        self.service_delete(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.service_delete(request, obj)


def scoped_jurisdictions(user, perm: str, **filters):
    """Jurisdictions (``filters`` applied) where ``user`` holds ``perm``; all of them for a superuser.

    For a ``jurisdiction`` foreign key's choices in a scoped admin form."""
    qs = permissions.jurisdiction_model().objects.filter(**filters)
    if not _is_super(user):
        qs = permissions.restrict(qs, user, perm, path_field="path")
    return qs


class ReadOnlyInline(admin.TabularInline):
    """An inline that only shows rows (writes go through services); subclasses set
    ``model``, ``fields`` and ``readonly_fields = fields``."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True


class ReadOnlyAdmin(ScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    """Append-only: nobody edits or deletes audit rows, superusers included."""

    view_perm = "audit.view"
    path_field = "jurisdiction_path"
    list_display = ("at", "actor_label", "action", "object_type", "object_id", "summary", "ip")
    list_filter = ("action", "object_type")
    search_fields = ("actor_label", "summary", "object_id")
    date_hierarchy = "at"

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        if _is_super(request.user):
            return qs

        return audit_list(actor=request.user) if permissions.has_perm_anywhere(request.user, "audit.view") else qs.none()

    def obj_path(self, obj):
        return obj.jurisdiction_path or "/"


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """Superusers only (support); staff read their own inbox at /inbox/."""

    list_display = ("created_at", "user", "kind", "title_zh", "read_at")
    list_filter = ("kind",)

    def has_module_permission(self, request):
        return _is_super(request.user)

    def has_view_permission(self, request, obj=None):
        return _is_super(request.user)

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        return qs if _is_super(request.user) else qs.none()


# ---- outbound notifications ------------------------------------------------------------


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ScopedAdmin):
    """A jurisdiction's webhooks, managed by its admins (``people.manage``) through
    ``core.services.webhook_subscription_save`` / ``_delete``."""

    view_perm = "people.manage"
    manage_perm = "people.manage"
    list_display = ("name", "jurisdiction", "url", "kinds", "is_active", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    fields = ("jurisdiction", "name", "url", "kinds", "secret", "is_active")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "jurisdiction" and not _is_super(request.user):
            kwargs["queryset"] = scoped_jurisdictions(request.user, self.manage_perm)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "secret" in form.base_fields:
            form.base_fields["secret"].required = False
            form.base_fields["secret"].help_text = "留空则自动生成 (blank: a random secret is generated)"
        return form

    def service_save(self, request, obj, data, change):
        return webhook_subscription_save(actor=request.user, subscription=obj if change else None,
                                         jurisdiction=data.get("jurisdiction"), data=data)

    def service_delete(self, request, obj):
        webhook_subscription_delete(actor=request.user, subscription=obj)


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    """Superusers only (support): what went out, what failed and why."""

    list_display = ("created_at", "channel", "kind", "user", "subscription", "state", "attempts",
                    "next_attempt_at", "last_error")
    list_filter = ("state", "channel", "kind")
    exclude = ("payload",)
    actions = ["retry"]

    @admin.action(description="重新发送所选消息 (requeue)")
    def retry(self, request, queryset):
        count = outbound_retry(actor=request.user, ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} ✓")

    def has_module_permission(self, request):
        return _is_super(request.user)

    def has_view_permission(self, request, obj=None):
        return _is_super(request.user)

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        return qs if _is_super(request.user) else qs.none()

from django import forms
from django.contrib import admin
from django.db.models import Q

from yizhan.accounts.models import ApiToken, RoleGrant, User, WorkerProfile
from yizhan.accounts.services import api_token_revoke, role_grant, role_revoke
from yizhan.core import permissions
from yizhan.core.admin import ReadOnlyAdmin, ScopedAdmin, _is_super
from yizhan.core.audit import AuditAction, audit_record
from yizhan.core.pii import mask_id, mask_phone
from yizhan.jurisdictions.models import Jurisdiction


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    """People in scope: anyone holding a role, or a worker living, in the admin's
    subtree. Phones and ID numbers masked; opening a record is audited. Accounts
    are created and changed through services (API /accounts/staff, role grants)."""

    view_perm = "people.view"
    list_display = ("username", "display_name", "phone_masked", "is_staff", "is_active", "last_login")
    search_fields = ("username", "display_name")
    list_filter = ("is_staff", "is_active")
    fields = ("username", "display_name", "phone_masked", "id_masked", "is_staff", "is_active",
              "date_joined", "last_login", "locked_until", "roles")
    readonly_fields = fields

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        if _is_super(request.user):
            return qs
        paths = permissions.scope_paths(request.user, self.view_perm)
        if not paths:
            return qs.none()
        cond = Q()
        for p in paths:
            cond |= Q(role_grants__jurisdiction__path__startswith=p)
            cond |= Q(worker_profile__home_community__path__startswith=p)
        return qs.filter(pk__in=qs.filter(cond).values("pk"))

    def has_view_permission(self, request, obj=None):
        if obj is None or _is_super(request.user):
            return super().has_view_permission(request, obj)
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    @admin.display(description="手机号")
    def phone_masked(self, obj):
        return mask_phone(obj.phone)

    @admin.display(description="身份证号")
    def id_masked(self, obj):
        return mask_id(obj.id_number)

    @admin.display(description="角色")
    def roles(self, obj):
        return ", ".join(f"{g.role}@{g.jurisdiction.code}" for g in obj.role_grants.select_related("jurisdiction"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200 and str(object_id).isdigit():
            audit_record(actor=request.user, action=AuditAction.READ, object_type="accounts.user",
                         object_id=object_id, summary="admin: read person record")
        return response


class RoleGrantForm(forms.ModelForm):
    class Meta:
        model = RoleGrant
        fields = ("user", "role", "jurisdiction")


@admin.register(RoleGrant)
class RoleGrantAdmin(ScopedAdmin):
    """Grants are created and revoked, never edited (revoke and grant again)."""

    view_perm = "people.view"
    manage_perm = "people.manage"
    form = RoleGrantForm
    list_display = ("user", "role", "jurisdiction", "granted_by", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__display_name", "jurisdiction__code")
    raw_id_fields = ("user",)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "jurisdiction" and not _is_super(request.user):
            kwargs["queryset"] = permissions.restrict(
                Jurisdiction.objects.all(), request.user, "people.manage", path_field="path")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def service_save(self, request, obj, data, change):
        return role_grant(actor=request.user, user=data["user"], role=data["role"], jurisdiction=data["jurisdiction"])

    def service_delete(self, request, obj):
        role_revoke(actor=request.user, user=obj.user, role=obj.role, jurisdiction=obj.jurisdiction)


@admin.register(WorkerProfile)
class WorkerProfileAdmin(ReadOnlyAdmin):
    view_perm = "people.view"
    path_field = "home_community__path"
    list_display = ("user", "trade", "platform", "home_community", "consent_version")
    list_filter = ("trade",)
    exclude = ("home_cell",)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Superusers only: see and revoke anyone's tokens (hashes never shown)."""

    list_display = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    def has_module_permission(self, request):
        return _is_super(request.user)

    def has_view_permission(self, request, obj=None):
        return _is_super(request.user)

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        return qs if _is_super(request.user) else qs.none()

    @admin.action(description="撤销所选令牌")
    def revoke(self, request, queryset):
        for token in queryset:
            api_token_revoke(actor=request.user, token=token)

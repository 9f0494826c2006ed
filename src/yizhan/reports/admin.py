"""Reports in the back office, scoped to the admin's subtree like everything else.

* Set-up (categories, departments and members, working calendars, duty roster,
  reply templates) is written through ``reports.services`` (``reports.configure``).
* Cases, their timeline, photos and extension requests are read-only here: a case
  moves only through the workflow services (the dispatch console and the API).
* Open311 clients are listed (never their key hash) and revoked through the service;
  new keys come from ``yizhan open311-key NAME`` or the settings API.
"""

from django.contrib import admin, messages

from yizhan.core import permissions
from yizhan.core.admin import (
    ReadOnlyAdmin,
    ReadOnlyInline,
    ScopedAdmin,
    _is_super,
    scoped_jurisdictions,
)
from yizhan.core.errors import AppError
from yizhan.reports import services
from yizhan.reports.models import (
    CalendarDay,
    Case,
    CaseEvent,
    CasePhoto,
    Category,
    Department,
    DepartmentMember,
    ExtensionRequest,
    GridDuty,
    Open311Client,
    ReplyTemplate,
    WorkCalendar,
)
from yizhan.reports.selectors import reply_template_list

CONFIGURE = "reports.configure"
CATEGORY_DATA_FIELDS = ("name", "name_en", "icon", "group_name", "group_name_en", "description", "description_en",
                        "filing_conditions", "closing_conditions", "department_code", "urgency", "clock",
                        *services.LIMIT_FIELDS, "extra_fields", "keywords", "is_hazard", "active", "sort")


def _restrict_jurisdictions(request, kwargs, perm=CONFIGURE, **filters):
    kwargs["queryset"] = scoped_jurisdictions(request.user, perm, **filters)


class _GlobalAdmin(ScopedAdmin):
    """A table without a jurisdiction (one taxonomy for the platform): anyone holding
    the permission anywhere sees it; ``manage_perm`` anywhere edits it."""

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        if _is_super(request.user) or permissions.has_perm_anywhere(request.user, self.view_perm):
            return qs
        return qs.none()

    def has_view_permission(self, request, obj=None):
        return _is_super(request.user) or permissions.has_perm_anywhere(request.user, self.view_perm)

    def _may_manage(self, request, obj=None):
        if not self.manage_perm or not self.has_service_save():
            return False
        return _is_super(request.user) or permissions.has_perm_anywhere(request.user, self.manage_perm)


# ---- set-up --------------------------------------------------------------------------------


@admin.register(Category)
class CategoryAdmin(_GlobalAdmin):
    view_perm = "reports.view"
    manage_perm = CONFIGURE
    list_display = ("icon", "name", "code", "kind", "group_name", "department_code", "urgency", "clock",
                    "handle_minutes", "is_hazard", "active")
    list_display_links = ("name",)
    list_filter = ("kind", "group", "clock", "urgency", "is_hazard", "active")
    search_fields = ("code", "name", "name_en", "keywords")
    fields = ("code", "kind", "group", *CATEGORY_DATA_FIELDS)
    readonly_fields = ("code", "kind", "group")
    actions = ["load_taxonomy"]

    def has_add_permission(self, request):
        return False  # the taxonomy comes from data/categories.json; edit, deactivate

    def _may_manage(self, request, obj=None):
        """Platform-wide: configure on every root (district admins set their own
        district's limits on the settings page)."""
        if not super()._may_manage(request, obj):
            return False
        try:
            services.require_platform_configure(request.user)
        except AppError:
            return False
        return True

    def service_save(self, request, obj, data, change):
        payload = {k: data[k] for k in CATEGORY_DATA_FIELDS if k in data}
        return services.category_update(actor=request.user, category=obj, data=payload)

    @admin.action(description="补充载入标准类别（不覆盖已修改的）")
    def load_taxonomy(self, request, queryset):
        try:
            n = services.category_taxonomy_load(actor=request.user)
        except AppError as exc:
            self.message_user(request, exc.text(request.LANGUAGE_CODE), messages.ERROR)
        else:
            self.message_user(request, f"{n} ✓")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self._may_manage(request):
            actions.pop("load_taxonomy", None)
        return actions


class DepartmentMemberInline(ReadOnlyInline):
    model = DepartmentMember
    fields = ("user", "is_lead", "created_at")
    readonly_fields = fields


@admin.register(Department)
class DepartmentAdmin(ScopedAdmin):
    view_perm = "reports.view"
    manage_perm = CONFIGURE
    list_display = ("name", "code", "jurisdiction", "phone", "active")
    list_filter = ("active", "code")
    search_fields = ("code", "name", "name_en")
    fields = ("jurisdiction", "code", "name", "name_en", "phone", "active")
    inlines = [DepartmentMemberInline]
    actions = ["create_defaults"]

    def get_readonly_fields(self, request, obj=None):
        return ("jurisdiction", "code") if obj is not None else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "jurisdiction":
            _restrict_jurisdictions(request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def service_save(self, request, obj, data, change):
        if change:
            return services.department_update(actor=request.user, department=obj, name=data.get("name"),
                                              name_en=data.get("name_en", ""), phone=data.get("phone", ""),
                                              active=data.get("active", True))
        dept = services.department_create(actor=request.user, jurisdiction=data["jurisdiction"], code=data["code"],
                                          name=data.get("name"), name_en=data.get("name_en", ""),
                                          phone=data.get("phone", ""))
        if not data.get("active", True):
            dept = services.department_update(actor=request.user, department=dept, name=dept.name,
                                              name_en=dept.name_en, phone=dept.phone, active=False)
        return dept

    @admin.action(description="为所选部门所在辖区补齐标准部门")
    def create_defaults(self, request, queryset):
        for node in {d.jurisdiction for d in queryset}:
            try:
                services.department_defaults_create(actor=request.user, jurisdiction=node)
            except AppError as exc:
                self.message_user(request, f"{node.code}: {exc.text(request.LANGUAGE_CODE)}", messages.ERROR)


@admin.register(DepartmentMember)
class DepartmentMemberAdmin(ScopedAdmin):
    view_perm = "reports.view"
    manage_perm = CONFIGURE
    path_field = "department__jurisdiction__path"
    list_display = ("department", "user", "is_lead", "created_at")
    list_filter = ("is_lead",)
    raw_id_fields = ("user",)
    fields = ("department", "user", "is_lead")

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_manage(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "department" and not _is_super(request.user):
            kwargs["queryset"] = permissions.restrict(Department.objects.all(), request.user, CONFIGURE)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def service_save(self, request, obj, data, change):
        return services.department_member_add(actor=request.user, department=data["department"], user=data["user"],
                                              is_lead=data.get("is_lead", False))

    def service_delete(self, request, obj):
        services.department_member_remove(actor=request.user, department=obj.department, user=obj.user)


class CalendarDayInline(ReadOnlyInline):
    """Holidays and make-up days are edited on /dispatch/settings/calendar/."""

    model = CalendarDay
    fields = ("date", "is_workday", "intervals", "note")
    readonly_fields = fields


@admin.register(WorkCalendar)
class WorkCalendarAdmin(ScopedAdmin):
    view_perm = "reports.view"
    manage_perm = CONFIGURE
    list_display = ("jurisdiction", "updated_at")
    fields = ("jurisdiction", "hours")
    inlines = [CalendarDayInline]

    def get_readonly_fields(self, request, obj=None):
        return ("jurisdiction",) if obj is not None else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "jurisdiction":
            _restrict_jurisdictions(request, kwargs, level__in=("city", "district", "street"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def service_save(self, request, obj, data, change):
        jurisdiction = obj.jurisdiction if change else data["jurisdiction"]
        return services.calendar_set(actor=request.user, jurisdiction=jurisdiction, hours=data.get("hours"))


@admin.register(GridDuty)
class GridDutyAdmin(ScopedAdmin):
    view_perm = "reports.view"
    manage_perm = CONFIGURE
    path_field = "grid__path"
    list_display = ("grid", "user", "weekdays", "start_time", "end_time")
    raw_id_fields = ("user",)
    fields = ("grid", "user", "weekdays", "start_time", "end_time")
    service_field_map = {}

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "grid":
            _restrict_jurisdictions(request, kwargs, level="grid")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def service_save(self, request, obj, data, change):
        if change and (obj.grid_id != data["grid"].pk or obj.user_id != data["user"].pk):
            services.grid_duty_remove(actor=request.user, duty=GridDuty.objects.get(pk=obj.pk))
        return services.grid_duty_set(actor=request.user, grid=data["grid"], user=data["user"],
                                      weekdays=data.get("weekdays"), start_time=data.get("start_time"),
                                      end_time=data.get("end_time"))

    def service_delete(self, request, obj):
        services.grid_duty_remove(actor=request.user, duty=obj)


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(ScopedAdmin):
    view_perm = CONFIGURE
    manage_perm = CONFIGURE
    list_display = ("title", "action", "jurisdiction")
    list_filter = ("action",)
    search_fields = ("title", "text")
    fields = ("jurisdiction", "action", "title", "text", "text_en")

    def get_queryset(self, request):
        if _is_super(request.user):
            return admin.ModelAdmin.get_queryset(self, request)

        return reply_template_list(actor=request.user)

    def obj_path(self, obj):
        return obj.jurisdiction.path if obj.jurisdiction_id else "/"  # everywhere: superusers (and the API)

    def has_view_permission(self, request, obj=None):
        if obj is not None and obj.jurisdiction_id is None:
            return _is_super(request.user) or permissions.has_perm_anywhere(request.user, self.view_perm)
        return super().has_view_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "jurisdiction":
            _restrict_jurisdictions(request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def service_save(self, request, obj, data, change):
        return services.reply_template_save(actor=request.user, template=obj if change else None,
                                            jurisdiction=data.get("jurisdiction"), action=data.get("action"),
                                            title=data.get("title"), text=data.get("text"),
                                            text_en=data.get("text_en", ""))

    def service_delete(self, request, obj):
        services.reply_template_delete(actor=request.user, template=obj)


@admin.register(Open311Client)
class Open311ClientAdmin(_GlobalAdmin):
    view_perm = CONFIGURE
    manage_perm = CONFIGURE
    list_display = ("name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    fields = ("name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="吊销所选 Open311 密钥")
    def revoke(self, request, queryset):
        for client in queryset:
            try:
                services.open311_client_revoke(actor=request.user, client=client)
            except AppError as exc:
                self.message_user(request, f"{client.name}: {exc.text(request.LANGUAGE_CODE)}", messages.ERROR)

    def get_actions(self, request):
        actions = admin.ModelAdmin.get_actions(self, request)
        if not (_is_super(request.user) or permissions.has_perm_anywhere(request.user, CONFIGURE)):
            actions.pop("revoke", None)
        return actions


# ---- cases (read-only: transitions only through the workflow services) ---------------------


class CaseEventInline(ReadOnlyInline):
    model = CaseEvent
    fields = ("at", "action", "from_state", "to_state", "actor_label", "note", "is_public")
    readonly_fields = fields


class CasePhotoInline(ReadOnlyInline):
    model = CasePhoto
    fields = ("stage", "image", "created_at", "approved_at")
    readonly_fields = fields


CASE_HIDDEN = ("contact_name", "contact_phone", "contact_email", "content_hash", "idempotency_key")


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    view_perm = "reports.view"
    list_display = ("number", "category", "state", "urgency", "jurisdiction", "department", "assignee",
                    "submitted_at", "stage_due_at", "was_overdue")
    list_filter = ("state", "urgency", "source", "was_overdue", "category__kind")
    search_fields = ("number", "address", "description")
    date_hierarchy = "submitted_at"
    list_select_related = ("category", "jurisdiction", "department", "assignee")
    # contact details are personal (masked on the pages); the reporter's account is enough here
    exclude = CASE_HIDDEN
    inlines = [CaseEventInline, CasePhotoInline]


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(ReadOnlyAdmin):
    view_perm = "reports.view"
    path_field = "case__jurisdiction__path"
    list_display = ("case", "minutes", "state", "requested_by", "created_at", "decided_at")
    list_filter = ("state",)

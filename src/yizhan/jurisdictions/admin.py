from django.contrib import admin

from yizhan.core.admin import ScopedAdmin
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.jurisdictions.services import jurisdiction_create, jurisdiction_update


@admin.register(Jurisdiction)
class JurisdictionAdmin(ScopedAdmin):
    view_perm = "jurisdictions.view"
    manage_perm = "jurisdictions.manage"
    path_field = "path"
    list_display = ("name", "code", "level", "path", "area_km2")
    list_filter = ("level",)
    search_fields = ("code", "name", "name_en")
    fields = ("code", "name", "name_en", "level", "parent", "boundary", "path", "center_lat", "center_lng", "area_km2")
    readonly_fields = ("path", "center_lat", "center_lng", "area_km2")

    def get_readonly_fields(self, request, obj=None):
        fixed = ("code", "level", "parent") if obj is not None else ()
        return (*self.readonly_fields, *fixed)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parent":
            kwargs["queryset"] = self.get_queryset(request).exclude(level="grid")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def service_save(self, request, obj, data, change):
        if change:
            return jurisdiction_update(
                actor=request.user, jurisdiction=obj, name=data.get("name"), name_en=data.get("name_en") or "",
                boundary=data.get("boundary"),
            )
        return jurisdiction_create(
            actor=request.user, code=data["code"], name=data["name"], name_en=data.get("name_en") or "",
            level=data["level"], parent=data.get("parent"), boundary=data.get("boundary"),
        )

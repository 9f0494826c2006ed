"""Stations in the back office, scoped to the admin's subtree; every write goes
through stations.services (create/update, status, keepers). Stock, donations,
check-ins, condition reports and reviews are read here and written on the
keeper pages and the API."""

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
from yizhan.stations import services as station_services
from yizhan.stations.models import (
    CheckIn,
    ConditionReport,
    Donation,
    Station,
    StationKeeper,
    StationReview,
    StationSupply,
)

STATION_DATA_FIELDS = ("code", "name", "name_en", "type", "host_type", "host_name", "address", "lat", "lng",
                       "jurisdiction", "hub", "amenities", "hours", "description", "opened_on")


class StationSupplyInline(ReadOnlyInline):
    model = StationSupply
    fields = ("item", "quantity", "threshold", "unit")
    readonly_fields = fields


class StationKeeperInline(ReadOnlyInline):
    model = StationKeeper
    fields = ("user", "is_primary", "created_at")
    readonly_fields = fields


@admin.register(Station)
class StationAdmin(ScopedAdmin):
    view_perm = "stations.view"
    manage_perm = "stations.manage"
    list_display = ("name", "code", "type", "status", "jurisdiction", "visit_count", "last_confirmed_at")
    list_filter = ("type", "status", "host_type")
    search_fields = ("code", "name", "address")
    fields = (*STATION_DATA_FIELDS, "status", "status_reason", "visit_count", "last_confirmed_at")
    readonly_fields = ("status", "status_reason", "visit_count", "last_confirmed_at")
    inlines = [StationSupplyInline, StationKeeperInline]
    actions = ["close_temporarily", "reopen"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return (*self.readonly_fields, "code")
        return self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "jurisdiction" and not _is_super(request.user):
            kwargs["queryset"] = scoped_jurisdictions(request.user, "stations.manage")
        if db_field.name == "hub":
            kwargs["queryset"] = Station.objects.filter(type="hub").exclude(status="removed")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def service_save(self, request, obj, data, change):
        payload = {k: data[k] for k in STATION_DATA_FIELDS if k in data}
        if change:
            payload.pop("code", None)
            return station_services.station_update(actor=request.user, station=obj, data=payload)
        return station_services.station_create(actor=request.user, data=payload)

    def _set_status(self, request, queryset, status):
        done = 0
        for station in queryset:
            try:
                station_services.station_set_status(actor=request.user, station=station, status=status,
                                                    reason="admin")
                done += 1
            except AppError as exc:
                self.message_user(request, f"{station.code}: {exc.text(request.LANGUAGE_CODE)}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} ✓")

    @admin.action(description="暂停开放所选驿站")
    def close_temporarily(self, request, queryset):
        self._set_status(request, queryset, "closed")

    @admin.action(description="重新开放所选驿站")
    def reopen(self, request, queryset):
        self._set_status(request, queryset, "open")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not (_is_super(request.user) or permissions.has_perm_anywhere(request.user, "stations.manage")):
            actions.pop("close_temporarily", None)
            actions.pop("reopen", None)
        return actions


class _StationChildAdmin(ReadOnlyAdmin):
    view_perm = "stations.view"
    path_field = "station__jurisdiction__path"


@admin.register(StationKeeper)
class StationKeeperAdmin(ScopedAdmin):
    view_perm = "stations.view"
    manage_perm = "stations.manage"
    path_field = "station__jurisdiction__path"
    list_display = ("station", "user", "is_primary", "created_at")
    raw_id_fields = ("user",)
    fields = ("station", "user", "is_primary")

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_manage(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "station" and not _is_super(request.user):
            kwargs["queryset"] = permissions.restrict(Station.objects.all(), request.user, "stations.manage")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def service_save(self, request, obj, data, change):
        return station_services.station_keeper_assign(
            actor=request.user, station=data["station"], user=data["user"], is_primary=data.get("is_primary", True))

    def service_delete(self, request, obj):
        station_services.station_keeper_remove(actor=request.user, station=obj.station, user=obj.user)


@admin.register(StationSupply)
class StationSupplyAdmin(_StationChildAdmin):
    list_display = ("station", "item", "quantity", "threshold")
    list_filter = ("item",)


@admin.register(Donation)
class DonationAdmin(_StationChildAdmin):
    list_display = ("station", "giver_kind", "giver_name", "description", "quantity", "received_on")
    list_filter = ("giver_kind",)


@admin.register(CheckIn)
class CheckInAdmin(_StationChildAdmin):
    list_display = ("station", "at", "counted")
    exclude = ("user",)  # who visited is personal; counts are what the back office needs


@admin.register(ConditionReport)
class ConditionReportAdmin(_StationChildAdmin):
    list_display = ("station", "kind", "note", "created_at", "resolved_at")
    list_filter = ("kind",)
    exclude = ("user",)


@admin.register(StationReview)
class StationReviewAdmin(_StationChildAdmin):
    list_display = ("station", "rating", "comment", "hidden", "created_at")
    exclude = ("user",)

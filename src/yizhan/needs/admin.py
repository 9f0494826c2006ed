"""The needs app in the back office: read-only and scoped (needs.view); writes go
through the pages and the API (services). Wishes can be approved in bulk here,
through the service. Authors of anonymous suggestions are never shown."""

from django.contrib import admin, messages

from yizhan.core import permissions
from yizhan.core.admin import ReadOnlyAdmin, ReadOnlyInline, _is_super
from yizhan.core.errors import AppError
from yizhan.needs import services
from yizhan.needs.models import Forum, Need, NeedEvent, Suggestion, Wish


@admin.register(Suggestion)
class SuggestionAdmin(ReadOnlyAdmin):
    view_perm = "needs.view"
    list_display = ("id", "category", "state", "jurisdiction", "is_anonymous", "created_at")
    list_filter = ("state", "category")
    search_fields = ("text",)
    fields = ("text", "category", "state", "jurisdiction", "is_anonymous", "reply", "replied_at", "created_at")
    readonly_fields = fields


@admin.register(Wish)
class WishAdmin(ReadOnlyAdmin):
    view_perm = "needs.view"
    list_display = ("text", "state", "support_count", "jurisdiction", "created_at")
    list_filter = ("state",)
    search_fields = ("text",)
    fields = ("text", "state", "jurisdiction", "is_anonymous", "support_count", "reject_reason", "fulfiller",
              "fulfil_note", "fulfilled_at", "created_at")
    readonly_fields = fields
    actions = ["approve"]

    @admin.action(description="审核通过所选心愿")
    def approve(self, request, queryset):
        done = 0
        for wish in queryset:
            try:
                services.wish_approve(actor=request.user, wish=wish)
                done += 1
            except AppError as exc:
                self.message_user(request, f"#{wish.pk}: {exc.text(request.LANGUAGE_CODE)}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} ✓")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not (_is_super(request.user) or permissions.has_perm_anywhere(request.user, "needs.manage")):
            actions.pop("approve", None)
        return actions


@admin.register(Forum)
class ForumAdmin(ReadOnlyAdmin):
    view_perm = "needs.view"
    list_display = ("held_on", "group", "title", "jurisdiction", "attendees")
    search_fields = ("group", "title", "hosts")
    date_hierarchy = "held_on"


class NeedEventInline(ReadOnlyInline):
    model = NeedEvent
    fields = ("at", "action", "from_state", "to_state", "actor_label", "note")
    readonly_fields = fields


@admin.register(Need)
class NeedAdmin(ReadOnlyAdmin):
    view_perm = "needs.view"
    list_display = ("title", "state", "source", "jurisdiction", "owner", "due_on", "raised_on")
    list_filter = ("state", "source")
    search_fields = ("title",)
    exclude = ()
    inlines = [NeedEventInline]

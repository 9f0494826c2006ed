"""Needs and suggestions (问需): the suggestion box, the wish wall, needs forums
and the needs they raise. States change only in ``services.py`` (the tables are
in ``workflow.py``); figures are computed in ``selectors.py``, never stored."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from yizhan.core.models import TimeStampedModel
from yizhan.needs.choices import (
    NeedAction,
    NeedSource,
    NeedState,
    SuggestionCategory,
    SuggestionState,
    WishState,
)


class Suggestion(TimeStampedModel):
    """A note in the suggestion box (意见箱). ``author`` is kept even when anonymous so
    the author can read the reply; staff never see who wrote an anonymous one."""

    text = models.TextField()
    category = models.CharField(max_length=16, choices=SuggestionCategory.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="suggestions"
    )
    is_anonymous = models.BooleanField(default=False)
    jurisdiction = models.ForeignKey("jurisdictions.Jurisdiction", on_delete=models.PROTECT, related_name="+")
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    tracking_code = models.CharField(max_length=16, unique=True, help_text="Lets a visitor without an account read the reply")
    state = models.CharField(max_length=16, choices=SuggestionState.choices, default=SuggestionState.SUBMITTED)
    reply = models.TextField(blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(state="submitted") | ~Q(reply=""), name="suggestion_answer_has_reply"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.text[:30]}"


class Wish(TimeStampedModel):
    """A wish on the public wall (心愿墙), shown after staff approve it."""

    text = models.CharField(max_length=500)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="wishes")
    is_anonymous = models.BooleanField(default=False)
    jurisdiction = models.ForeignKey("jurisdictions.Jurisdiction", on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=WishState.choices, default=WishState.PENDING)
    support_count = models.PositiveIntegerField(default=0)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.CharField(max_length=200, blank=True)
    fulfiller = models.CharField(max_length=100, blank=True, help_text="Who makes it come true (merchant, volunteer…)")
    fulfil_note = models.CharField(max_length=500, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-support_count", "-created_at", "-id"]
        indexes = [models.Index(fields=["state", "-support_count"])]
        constraints = [
            models.CheckConstraint(condition=~Q(state="rejected") | ~Q(reject_reason=""), name="wish_rejected_has_reason"),
        ]

    def __str__(self):
        return self.text[:40]


class WishSupport(models.Model):
    """One +1 per person per wish (the unique constraint makes support idempotent)."""

    wish = models.ForeignKey(Wish, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wish_supports")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["wish", "user"], name="wishsupport_once_per_user")]

    def __str__(self):
        return f"+1 {self.wish_id} by {self.user_id}"


class Forum(TimeStampedModel):
    """A needs forum (问需会 / 座谈会) held with one trade or group."""

    held_on = models.DateField()
    group = models.CharField(max_length=60, help_text="Trade or group, e.g. 外卖骑手、快递员")
    title = models.CharField(max_length=120, blank=True)
    jurisdiction = models.ForeignKey("jurisdictions.Jurisdiction", on_delete=models.PROTECT, related_name="+")
    venue = models.CharField(max_length=120, blank=True)
    attendees = models.PositiveIntegerField(default=0)
    hosts = models.CharField(max_length=200, blank=True, help_text="Names of the hosts")
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-held_on", "-id"]

    def __str__(self):
        return f"{self.held_on} {self.group}"


class Need(TimeStampedModel):
    """A tracked need with an owner, a due date and a resolution. Overdue is derived
    (open or in progress, due date before today), never stored."""

    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    jurisdiction = models.ForeignKey("jurisdictions.Jurisdiction", on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=16, choices=NeedSource.choices, default=NeedSource.DIRECT)
    forum = models.ForeignKey(Forum, null=True, blank=True, on_delete=models.PROTECT, related_name="needs")
    suggestion = models.OneToOneField(
        Suggestion, null=True, blank=True, on_delete=models.PROTECT, related_name="need"
    )
    wish = models.ForeignKey(Wish, null=True, blank=True, on_delete=models.PROTECT, related_name="needs")
    raised_on = models.DateField(db_index=True, help_text="When it was collected (the forum's date, or the day recorded)")
    # Required when a need is raised or reassigned; null only once the owner deleted
    # their account (PIPL), until a manager reassigns it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="owned_needs"
    )
    due_on = models.DateField()
    state = models.CharField(max_length=16, choices=NeedState.choices, default=NeedState.OPEN)
    resolution = models.TextField(blank=True)
    decline_reason = models.CharField(max_length=500, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    overdue_notified_for = models.DateField(
        null=True, blank=True,
        help_text="The due date whose overdue notice the owner got (needs.jobs); a new due date can warn again",
    )

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["state", "due_on"])]
        constraints = [
            models.CheckConstraint(condition=~Q(state="solved") | ~Q(resolution=""), name="need_solved_has_resolution"),
            models.CheckConstraint(condition=~Q(state="declined") | ~Q(decline_reason=""),
                                   name="need_declined_has_reason"),
            models.CheckConstraint(condition=~Q(source="forum") | Q(forum__isnull=False), name="need_forum_source"),
        ]

    def __str__(self):
        return self.title


class NeedEvent(models.Model):
    """One line of a need's timeline: who did what, when, with a note."""

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16, choices=NeedAction.choices)
    from_state = models.CharField(max_length=16, choices=NeedState.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=NeedState.choices, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField(db_index=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.need_id} {self.action}"

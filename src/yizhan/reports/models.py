"""Snap-and-report cases (随手拍) and the work orders (工单) they become.

A ``Case`` moves through the states of ``choices.CaseState`` only by the services in
``services.py`` (table in ``workflow.py``); every move writes a ``CaseEvent`` (the
timeline). Times are UTC; stage deadlines are computed on the district's working
calendar (``WorkCalendar``) unless the category runs on natural time (emergencies).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from yizhan.core.models import TimeStampedModel
from yizhan.reports.choices import (
    CaseAction,
    CaseSource,
    CaseState,
    CategoryKind,
    Clock,
    ExtensionState,
    PhotoStage,
    Urgency,
)

OPEN_STATES = (
    CaseState.SUBMITTED, CaseState.ACCEPTED, CaseState.DISPATCHED, CaseState.IN_PROGRESS,
    CaseState.RETURNED, CaseState.HANDLED, CaseState.VERIFIED,
)
FINISHED_STATES = (CaseState.CLOSED, CaseState.EVALUATED)
TERMINAL_STATES = (CaseState.REJECTED, CaseState.MERGED)


class Department(TimeStampedModel):
    """A responsible department (城管, 市政, 环卫, 消防, 市场监管, 公安 …) of a district
    (or street). Categories name a ``department_code``; routing takes the deepest
    department with that code whose jurisdiction contains the case."""

    code = models.CharField(max_length=40)
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=150, blank=True)
    jurisdiction = models.ForeignKey(
        "jurisdictions.Jurisdiction", on_delete=models.PROTECT, related_name="departments"
    )
    phone = models.CharField(max_length=20, blank=True, help_text="Office phone (public)")
    active = models.BooleanField(default=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="DepartmentMember", related_name="departments", blank=True
    )

    class Meta:
        ordering = ["jurisdiction__path", "code"]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "code"], name="department_code_unique"),
            models.CheckConstraint(condition=Q(code__regex=r"^[a-z0-9_]+$"), name="department_code_charset"),
        ]

    def __str__(self):
        return self.name


class DepartmentMember(TimeStampedModel):
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    is_lead = models.BooleanField(default=False, help_text="Receives the department's escalations")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["department", "user"], name="department_member_unique"),
        ]

    def __str__(self):
        return f"{self.user} @ {self.department}"


class Category(TimeStampedModel):
    """One entry of the component (部件) / event (事件) taxonomy, with its filing and
    closing conditions, responsible department and the time limit of each stage in
    minutes (working minutes unless ``clock`` is natural). Editable by district admins."""

    code = models.CharField(max_length=40, unique=True, help_text="Also the Open311 service_code")
    kind = models.CharField(max_length=16, choices=CategoryKind.choices)
    group = models.CharField(max_length=40, help_text="Major class code, e.g. public_facility")
    group_name = models.CharField(max_length=60)
    group_name_en = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=60)
    name_en = models.CharField(max_length=100, blank=True)
    icon = models.CharField(max_length=8, blank=True, help_text="An emoji shown on the picker")
    description = models.CharField(max_length=300, blank=True)
    description_en = models.CharField(max_length=400, blank=True)
    filing_conditions = models.TextField(blank=True, help_text="立案条件")
    closing_conditions = models.TextField(blank=True, help_text="结案条件")
    department_code = models.CharField(max_length=40)
    urgency = models.CharField(max_length=16, choices=Urgency.choices, default=Urgency.NORMAL)
    clock = models.CharField(max_length=16, choices=Clock.choices, default=Clock.WORKING)
    accept_minutes = models.PositiveIntegerField(default=60)
    dispatch_minutes = models.PositiveIntegerField(default=60)
    handle_minutes = models.PositiveIntegerField(default=4 * 60)
    verify_minutes = models.PositiveIntegerField(default=8 * 60)
    close_minutes = models.PositiveIntegerField(default=8 * 60)
    extra_fields = models.JSONField(
        default=list, blank=True,
        help_text='[{"name": "floor", "label": "楼层", "label_en": "Floor", "required": true}]',
    )
    keywords = models.CharField(max_length=200, blank=True)
    is_hazard = models.BooleanField(default=False, help_text="A safety hazard (counts in the hazard figures)")
    active = models.BooleanField(default=True)
    sort = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["kind", "group", "sort", "code"]
        verbose_name_plural = "categories"
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[a-z0-9_]+$"), name="category_code_charset"),
            models.CheckConstraint(
                condition=Q(accept_minutes__gt=0, dispatch_minutes__gt=0, handle_minutes__gt=0,
                            verify_minutes__gt=0, close_minutes__gt=0),
                name="category_limits_positive",
            ),
        ]

    def __str__(self):
        return self.name


class WorkCalendar(TimeStampedModel):
    """Working hours of a jurisdiction (usually the district); clocks of cases inside
    it run only within these hours. ``hours`` has the stations' shape:
    ``{"mon": [["08:30", "12:00"], ["13:30", "18:00"]], ..., "sun": []}``."""

    jurisdiction = models.OneToOneField(
        "jurisdictions.Jurisdiction", on_delete=models.CASCADE, related_name="work_calendar"
    )
    hours = models.JSONField(default=dict)

    def __str__(self):
        return f"{self.jurisdiction} calendar"


class CalendarDay(models.Model):
    """A date that differs from the weekly hours: a public holiday (no hours) or a
    make-up working day (调休, with hours)."""

    calendar = models.ForeignKey(WorkCalendar, on_delete=models.CASCADE, related_name="days")
    date = models.DateField()
    is_workday = models.BooleanField(default=False)
    intervals = models.JSONField(default=list, blank=True, help_text="Hours on a make-up working day")
    note = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="calendar_day_unique"),
        ]

    def __str__(self):
        return f"{self.date} {'workday' if self.is_workday else 'holiday'}"


class GridDuty(TimeStampedModel):
    """Who is on duty for a grid and when (weekday 0 = Monday; times Asia/Shanghai).
    Routing gives a new case to the grid worker on duty, else to the grid's worker
    with the fewest open cases."""

    grid = models.ForeignKey("jurisdictions.Jurisdiction", on_delete=models.CASCADE, related_name="duties")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grid_duties")
    weekdays = models.JSONField(default=list, help_text="[0, 1, 2, 3, 4] = Monday to Friday")
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["grid", "start_time"]

    def __str__(self):
        return f"{self.user} @ {self.grid}"


class Open311Client(TimeStampedModel):
    """A client of the Open311 GeoReport v2 endpoint. Only the key's SHA-256 is kept."""

    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class Case(TimeStampedModel):
    number = models.CharField(max_length=24, unique=True, help_text="Shown to people: YYYYMMDD-NNNNNN")
    token = models.CharField(max_length=32, unique=True, help_text="Open311 token of the request")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="cases")
    state = models.CharField(max_length=16, choices=CaseState.choices, default=CaseState.SUBMITTED)
    urgency = models.CharField(max_length=16, choices=Urgency.choices, default=Urgency.NORMAL)
    source = models.CharField(max_length=16, choices=CaseSource.choices, default=CaseSource.APP)
    description = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True, help_text="Values of the category's extra fields")
    address = models.CharField(max_length=200, blank=True)
    lat = models.FloatField()
    lng = models.FloatField()
    cell = models.CharField(max_length=16, db_index=True, help_text="H3 res-9 cell (duplicate search)")
    jurisdiction = models.ForeignKey(
        "jurisdictions.Jurisdiction", on_delete=models.PROTECT, related_name="cases",
        help_text="The deepest node containing the location (a grid where there are grids)",
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_cases"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reported_cases"
    )
    is_anonymous = models.BooleanField(default=False, help_text="Hide the reporter from the public")
    # Reporter contact given through Open311 or by a hotline operator: private, masked.
    contact_name = models.CharField(max_length=60, blank=True)
    contact_phone = models.CharField(max_length=20, blank=True)
    contact_email = models.EmailField(blank=True)
    open311_client = models.ForeignKey(
        Open311Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    idempotency_key = models.CharField(max_length=64, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    supporter_count = models.PositiveIntegerField(default=0)
    # Clock of the current stage.
    stage_started_at = models.DateTimeField(null=True, blank=True)
    stage_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    warned_at = models.DateTimeField(null=True, blank=True, help_text="'About to be overdue' sent")
    overdue_at = models.DateTimeField(null=True, blank=True, help_text="When the current stage went overdue")
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_to = models.ForeignKey(
        "jurisdictions.Jurisdiction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    was_overdue = models.BooleanField(default=False, help_text="Any stage ever overdue (figures)")
    reopen_count = models.PositiveSmallIntegerField(default=0)
    # Milestones (figures): first time each was reached.
    submitted_at = models.DateTimeField(db_index=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_comment = models.CharField(max_length=500, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    parked_reason = models.CharField(max_length=500, blank=True)
    reject_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["state", "stage_due_at"]),
            models.Index(fields=["category", "cell", "state"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(lat__gte=-90, lat__lte=90), name="case_lat_range"),
            models.CheckConstraint(condition=Q(lng__gte=-180, lng__lte=180), name="case_lng_range"),
            models.CheckConstraint(condition=Q(state__in=CaseState.values), name="case_state_valid"),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="case_rating_range"
            ),
            models.CheckConstraint(
                condition=~Q(state="merged") | Q(merged_into__isnull=False), name="case_merged_has_target"
            ),
            models.CheckConstraint(
                condition=~Q(state="parked") | ~Q(parked_reason=""), name="case_parked_has_reason"
            ),
            models.CheckConstraint(
                condition=~Q(state="rejected") | ~Q(reject_reason=""), name="case_rejected_has_reason"
            ),
            models.UniqueConstraint(
                fields=["reporter", "idempotency_key"], condition=~Q(idempotency_key=""),
                name="case_idempotency_key_unique",
            ),
            # Open311 cases have no reporter: a client's key is unique per client
            models.UniqueConstraint(
                fields=["open311_client", "idempotency_key"],
                condition=Q(reporter__isnull=True) & ~Q(idempotency_key=""),
                name="case_open311_idempotency_key_unique",
            ),
        ]

    def __str__(self):
        return f"{self.number} {self.category}"


class CaseEvent(models.Model):
    """One line of a case's timeline: who did what, when, with a note and photos."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=24, choices=CaseAction.choices)
    from_state = models.CharField(max_length=16, choices=CaseState.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=CaseState.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField(db_index=True)
    note = models.TextField(blank=True, help_text="Internal note (staff only; a reporter's own words for theirs)")
    public_note = models.TextField(blank=True, help_text="Public reply: shown to the public and the reporter")
    data = models.JSONField(default=dict, blank=True)
    is_public = models.BooleanField(default=True, help_text="The line (action and time) shows on the public page")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.case.number} {self.action} {self.at:%Y-%m-%d %H:%M}"


class CasePhoto(models.Model):
    """A photo of a case. ``image`` is the EXIF-free copy staff see; ``public_image``
    is the redacted copy the public sees once staff approve it (``approved_at``)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos")
    event = models.ForeignKey(CaseEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="photos")
    stage = models.CharField(max_length=16, choices=PhotoStage.choices, default=PhotoStage.REPORT)
    image = models.ImageField(upload_to="cases/%Y/%m/")
    public_image = models.ImageField(upload_to="cases/public/%Y/%m/", blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    redactions = models.JSONField(default=list, blank=True, help_text="[[x, y, w, h], ...] blurred, in 0..1")

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.case.number} {self.stage} photo"


class CaseSupporter(models.Model):
    """'Me too': someone else who saw the same problem."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="supporters")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "user"], name="case_supporter_unique")]

    def __str__(self):
        return f"{self.user} +1 {self.case_id}"


class ExtensionRequest(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extension_requests")
    # Null once the requester deleted their account (PIPL).
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    minutes = models.PositiveIntegerField(help_text="Extra minutes on the case's clock")
    reason = models.CharField(max_length=500)
    state = models.CharField(max_length=16, choices=ExtensionState.choices, default=ExtensionState.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(state="pending"), name="extension_one_pending_per_case"
            ),
            models.CheckConstraint(condition=Q(minutes__gt=0), name="extension_minutes_positive"),
        ]

    def __str__(self):
        return f"{self.case_id} +{self.minutes} min ({self.state})"


class ReplyTemplate(TimeStampedModel):
    """A canned reply for an action (as FixMyStreet's response templates), offered on
    the console; ``jurisdiction`` null = everywhere."""

    jurisdiction = models.ForeignKey(
        "jurisdictions.Jurisdiction", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    action = models.CharField(max_length=24, choices=CaseAction.choices)
    title = models.CharField(max_length=60)
    text = models.TextField()
    text_en = models.TextField(blank=True)

    class Meta:
        ordering = ["action", "title"]

    def __str__(self):
        return self.title


class CategorySetting(TimeStampedModel):
    """A district's (or any node's) own settings for a category: department, urgency,
    clock, the five stage limits and whether it is offered there. The deepest override
    among a case's node and its ancestors wins, else the category itself
    (``selectors.category_effective``)."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="settings")
    jurisdiction = models.ForeignKey("jurisdictions.Jurisdiction", on_delete=models.CASCADE, related_name="+")
    department_code = models.CharField(max_length=40)
    urgency = models.CharField(max_length=16, choices=Urgency.choices, default=Urgency.NORMAL)
    clock = models.CharField(max_length=16, choices=Clock.choices, default=Clock.WORKING)
    accept_minutes = models.PositiveIntegerField()
    dispatch_minutes = models.PositiveIntegerField()
    handle_minutes = models.PositiveIntegerField()
    verify_minutes = models.PositiveIntegerField()
    close_minutes = models.PositiveIntegerField()
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["category", "jurisdiction"], name="category_setting_unique"),
            models.CheckConstraint(
                condition=Q(accept_minutes__gt=0, dispatch_minutes__gt=0, handle_minutes__gt=0,
                            verify_minutes__gt=0, close_minutes__gt=0),
                name="category_setting_limits_positive",
            ),
        ]

    def __str__(self):
        return f"{self.category_id} @ {self.jurisdiction_id}"

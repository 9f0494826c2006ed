"""Fire safety (智慧消防): places, devices, alarms, dispatch, inspections.

Scoping: every row a person sees carries ``jurisdiction`` (the community), like stations
and cases, so ``core.permissions.restrict`` applies unchanged.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from yizhan.core.models import TimeStampedModel
from yizhan.safety.choices import (
    AlarmKind,
    AlarmState,
    AssignmentState,
    DeviceKind,
    DeviceStatus,
    DispatchOutcome,
    DispatchState,
    IngestChannel,
    InspectionResult,
    InspectionState,
    PlaceKind,
    ResponderKind,
    Severity,
)


class Place(TimeStampedModel):
    """A building, rental house (出租房), charging shed, micro fire station or the centre."""

    code = models.CharField(max_length=32, unique=True, help_text="Stable id used by imports")
    kind = models.CharField(max_length=16, choices=PlaceKind.choices)
    name = models.CharField(max_length=120)
    address = models.CharField(max_length=200)
    lat = models.FloatField()
    lng = models.FloatField()
    cell = models.CharField(max_length=16, db_index=True, editable=False, blank=True, help_text="H3 res-8 cell")
    jurisdiction = models.ForeignKey("jurisdictions.Jurisdiction", on_delete=models.PROTECT,
                                     related_name="safety_places")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="children", help_text="e.g. the building a rental house is in")
    floors = models.PositiveSmallIntegerField(null=True, blank=True)
    rooms = models.PositiveSmallIntegerField(null=True, blank=True)
    tenant_count = models.PositiveSmallIntegerField(null=True, blank=True)
    landlord_name = models.CharField(max_length=60, blank=True)
    landlord_phone = models.CharField(max_length=32, blank=True)
    charging_points = models.PositiveSmallIntegerField(null=True, blank=True, help_text="charging sheds")
    equipment = models.JSONField(default=list, blank=True,
                                 help_text='micro stations: [{"item": "灭火器", "count": 10}, ...]')
    phone = models.CharField(max_length=32, blank=True, help_text="public duty phone (stations, centre)")
    notes = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["kind", "jurisdiction"])]
        constraints = [
            models.CheckConstraint(condition=Q(lat__gte=-90, lat__lte=90), name="safety_place_lat_range"),
            models.CheckConstraint(condition=Q(lng__gte=-180, lng__lte=180), name="safety_place_lng_range"),
            models.CheckConstraint(condition=Q(kind__in=PlaceKind.values), name="safety_place_kind_valid"),
        ]

    def __str__(self):
        return self.name


class Device(TimeStampedModel):
    """A sensor or a user information transmission device (用户信息传输装置).

    Liveness: ``offline_due_at`` = last heartbeat + interval + 10 s, indexed, so the
    offline sweep reads only the rows that are due (never a table scan)."""

    code = models.CharField(max_length=40, unique=True, help_text="e.g. HZ-00001; the MQTT topic's device_code")
    kind = models.CharField(max_length=20, choices=DeviceKind.choices)
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="devices")
    jurisdiction = models.ForeignKey("jurisdictions.Jurisdiction", on_delete=models.PROTECT,
                                     related_name="safety_devices", help_text="the place's, copied for scoping")
    floor = models.CharField(max_length=16, blank=True)
    room = models.CharField(max_length=32, blank=True)
    location_text = models.CharField(max_length=120, blank=True, help_text="e.g. 3楼楼道")
    model_name = models.CharField(max_length=60, blank=True)
    firmware = models.CharField(max_length=40, blank=True)
    heartbeat_interval = models.PositiveIntegerField(default=300, help_text="seconds")
    battery = models.PositiveSmallIntegerField(null=True, blank=True, help_text="percent")
    status = models.CharField(max_length=12, choices=DeviceStatus.choices, default=DeviceStatus.NEW)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    offline_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_seq = models.BigIntegerField(null=True, blank=True)
    last_values = models.JSONField(default=dict, blank=True)
    # GB/T 26875.3: a transmitter's 6-byte address (LE integer; raw hex kept too); a
    # component's system type/address and component type/address behind its transmitter
    gb_address = models.BigIntegerField(null=True, blank=True, unique=True)
    transmitter = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="components")
    gb_sys_type = models.PositiveSmallIntegerField(null=True, blank=True)
    gb_sys_addr = models.PositiveSmallIntegerField(null=True, blank=True)
    gb_comp_type = models.PositiveSmallIntegerField(null=True, blank=True)
    gb_comp_addr = models.BigIntegerField(null=True, blank=True)
    installed_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["jurisdiction", "kind"]), models.Index(fields=["status"])]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=DeviceKind.values), name="safety_device_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=DeviceStatus.values), name="safety_device_status_valid"),
            models.CheckConstraint(condition=Q(battery__isnull=True) | Q(battery__lte=100),
                                   name="safety_device_battery_range"),
            models.CheckConstraint(condition=Q(heartbeat_interval__gte=10), name="safety_device_interval_min"),
            models.CheckConstraint(condition=Q(gb_address__isnull=True) | Q(gb_address__gte=0, gb_address__lt=2**48),
                                   name="safety_device_gb_address_range"),
            models.UniqueConstraint(fields=["transmitter", "gb_sys_type", "gb_sys_addr", "gb_comp_addr"],
                                    condition=Q(transmitter__isnull=False), name="safety_component_point_unique"),
        ]

    def __str__(self):
        return self.code


class AlarmRule(models.Model):
    """A threshold on one raw value of one device kind: ``value op threshold`` held for
    ``duration_s`` seconds and seen ``repeat`` times in a row raises ``alarm_kind``."""

    device_kind = models.CharField(max_length=20, choices=DeviceKind.choices)
    metric = models.CharField(max_length=40, help_text="key in the message's values, e.g. smoke_obscuration")
    op = models.CharField(max_length=2, choices=[(">", ">"), (">=", ">="), ("<", "<"), ("<=", "<=")], default=">=")
    threshold = models.FloatField()
    duration_s = models.PositiveIntegerField(default=0)
    repeat = models.PositiveSmallIntegerField(default=1)
    alarm_kind = models.CharField(max_length=16, choices=AlarmKind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    min_valid = models.FloatField(null=True, blank=True, help_text="values below are refused as impossible")
    max_valid = models.FloatField(null=True, blank=True, help_text="values above are refused as impossible")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["device_kind", "metric"]
        constraints = [
            models.UniqueConstraint(fields=["device_kind", "metric", "alarm_kind"], name="safety_rule_unique"),
            models.CheckConstraint(condition=Q(repeat__gte=1), name="safety_rule_repeat_min"),
        ]

    def __str__(self):
        return f"{self.device_kind}.{self.metric} {self.op} {self.threshold}"


class DeviceEvent(models.Model):
    """One accepted non-heartbeat message (alarm, fault, tamper, low battery, a value over a
    rule): the idempotency key and the device's history (kept 6 months, GB 26875)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="events")
    dedupe_key = models.CharField(max_length=64, help_text='"s17" (MQTT/HTTP seq) or "g<serial>:<time>" (GB frame)')
    channel = models.CharField(max_length=8, choices=IngestChannel.choices)
    event = models.CharField(max_length=16, blank=True)
    values = models.JSONField(default=dict, blank=True)
    device_ts = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["device", "dedupe_key"], name="safety_event_once")]

    def __str__(self):
        return f"{self.device_id}:{self.dedupe_key}"


class IngestReject(models.Model):
    """A refused message: counted per (channel, reason) and kept (excerpt) for admins."""

    channel = models.CharField(max_length=8, choices=IngestChannel.choices)
    reason = models.CharField(max_length=40, help_text="an error code, e.g. unknown_device, bad_checksum")
    device_code = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=200, blank=True)
    excerpt = models.TextField(blank=True, help_text="first bytes of the payload (hex for frames)")
    peer = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["channel", "reason"])]

    def __str__(self):
        return f"{self.channel}:{self.reason}"


class Alarm(TimeStampedModel):
    """One alarm per device and kind while open (ThingsBoard's rule): a re-trigger updates
    it; clearing closes it and the next trigger opens a new one."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="alarms")
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="alarms")
    jurisdiction = models.ForeignKey("jurisdictions.Jurisdiction", on_delete=models.PROTECT,
                                     related_name="safety_alarms")
    kind = models.CharField(max_length=16, choices=AlarmKind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    rank = models.PositiveSmallIntegerField(default=9, help_text="queue order: fire 0 first, then by severity")
    state = models.CharField(max_length=14, choices=AlarmState.choices, default=AlarmState.ACTIVE)
    open = models.BooleanField(default=True, help_text="not cleared (kept by the workflow; unique per device+kind)")
    started_at = models.DateTimeField()
    last_triggered_at = models.DateTimeField()
    trigger_count = models.PositiveIntegerField(default=1)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    clear_note = models.CharField(max_length=300, blank=True)
    channel = models.CharField(max_length=8, choices=IngestChannel.choices, blank=True)
    details = models.JSONField(default=dict, blank=True,
                               help_text="values, rule, GB address and description text, ...")
    received_at = models.DateTimeField(null=True, blank=True, help_text="when the triggering message arrived")

    class Meta:
        ordering = ["rank", "-started_at"]
        indexes = [models.Index(fields=["state", "rank", "started_at"]),
                   models.Index(fields=["jurisdiction", "state"]),
                   models.Index(fields=["updated_at"], name="safety_alarm_changed")]  # the wall's change feed
        constraints = [
            models.UniqueConstraint(fields=["device", "kind"], condition=Q(open=True), name="safety_alarm_one_open"),
            models.CheckConstraint(condition=Q(kind__in=AlarmKind.values), name="safety_alarm_kind_valid"),
            models.CheckConstraint(condition=Q(state__in=AlarmState.values), name="safety_alarm_state_valid"),
            models.CheckConstraint(condition=Q(open=True) | Q(state="cleared"), name="safety_alarm_open_matches_state"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.device_id}"


class AlarmEvent(models.Model):
    """The alarm's timeline (written by the workflow engine)."""

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16)
    from_state = models.CharField(max_length=14, blank=True)
    to_state = models.CharField(max_length=14, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    note = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return self.action


class Responder(TimeStampedModel):
    """A person who can be sent to an alarm: a fire-safety grid worker, a micro fire
    station member or centre staff; on duty or not, with the last known position."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="responder",
                                help_text="null once the person deleted their account (safety.privacy)")
    kind = models.CharField(max_length=16, choices=ResponderKind.choices)
    station = models.ForeignKey(Place, null=True, blank=True, on_delete=models.SET_NULL, related_name="members",
                                help_text="micro fire station the member belongs to")
    jurisdiction = models.ForeignKey("jurisdictions.Jurisdiction", on_delete=models.PROTECT,
                                     related_name="safety_responders")
    on_duty = models.BooleanField(default=False)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    position_at = models.DateTimeField(null=True, blank=True)
    skills = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["on_duty", "jurisdiction"]),
                   models.Index(fields=["updated_at"], name="safety_responder_changed")]  # the wall's change feed
        constraints = [
            models.CheckConstraint(condition=Q(lat__isnull=True) | Q(lat__gte=-90, lat__lte=90),
                                   name="safety_responder_lat_range"),
            models.CheckConstraint(condition=Q(lng__isnull=True) | Q(lng__gte=-180, lng__lte=180),
                                   name="safety_responder_lng_range"),
        ]

    def __str__(self):
        return str(self.user)


class Dispatch(TimeStampedModel):
    """The response to one fire or gas alarm (Resgrid's call): every timestamp kept so the
    monthly report can say who was on site within 3 minutes."""

    alarm = models.OneToOneField(Alarm, on_delete=models.PROTECT, related_name="dispatch")
    jurisdiction = models.ForeignKey("jurisdictions.Jurisdiction", on_delete=models.PROTECT,
                                     related_name="safety_dispatches")
    state = models.CharField(max_length=10, choices=DispatchState.choices, default=DispatchState.OPEN)
    outcome = models.CharField(max_length=12, choices=DispatchOutcome.choices, blank=True)
    outcome_note = models.CharField(max_length=500, blank=True)
    wave = models.PositiveSmallIntegerField(default=1, help_text="escalation wave: 1 nearest, 2 next + centre, ...")
    created_at_alarm = models.DateTimeField(help_text="alarm start (t0 for every interval)")
    notified_at = models.DateTimeField(null=True, blank=True)
    first_ack_at = models.DateTimeField(null=True, blank=True)
    first_en_route_at = models.DateTimeField(null=True, blank=True)
    first_arrived_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    forwarded_119_at = models.DateTimeField(null=True, blank=True)
    forward_119_status = models.CharField(max_length=40, blank=True)
    case = models.ForeignKey("reports.Case", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="safety_dispatches", help_text="hazard found → a reports case")

    class Meta:
        ordering = ["-created_at_alarm"]
        verbose_name_plural = "dispatches"
        constraints = [
            models.CheckConstraint(condition=Q(state__in=DispatchState.values), name="safety_dispatch_state_valid"),
            models.CheckConstraint(condition=~Q(state="resolved") | ~Q(outcome=""),
                                   name="safety_dispatch_resolved_has_outcome"),
        ]


class Assignment(TimeStampedModel):
    """One responder sent to one dispatch, with the four steps' times."""

    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="assignments")
    responder = models.ForeignKey(Responder, on_delete=models.PROTECT, related_name="assignments")
    state = models.CharField(max_length=12, choices=AssignmentState.choices, default=AssignmentState.NOTIFIED)
    wave = models.PositiveSmallIntegerField(default=1)
    travel_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="estimate when notified")
    distance_m = models.PositiveIntegerField(null=True, blank=True)
    notified_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    en_route_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    arrived_lat = models.FloatField(null=True, blank=True)
    arrived_lng = models.FloatField(null=True, blank=True)
    arrived_distance_m = models.PositiveIntegerField(null=True, blank=True, help_text="from the place when arriving")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["wave", "travel_seconds", "id"]
        indexes = [models.Index(fields=["updated_at"], name="safety_assignment_changed")]  # the wall's change feed
        constraints = [
            models.UniqueConstraint(fields=["dispatch", "responder"], name="safety_assignment_once"),
            models.CheckConstraint(condition=Q(state__in=AssignmentState.values), name="safety_assignment_state_valid"),
        ]


class AssignmentEvent(models.Model):
    """The assignment's timeline (written by the workflow engine)."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    note = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return self.action


class Inspection(TimeStampedModel):
    """A 331 check of a rental house (or other place): the four safety items per room
    (四件套: extinguisher, escape rope, smoke mask, emergency light), flying-wire charging,
    escape routes; failed → a follow-up deadline and a hazard case."""

    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="inspections")
    jurisdiction = models.ForeignKey("jurisdictions.Jurisdiction", on_delete=models.PROTECT,
                                     related_name="safety_inspections")
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", help_text="null once the inspector deleted their account")
    inspected_at = models.DateTimeField()
    rooms = models.JSONField(default=list, blank=True, help_text='[{"room": "101", "extinguisher": true, '
                             '"escape_rope": true, "smoke_mask": false, "emergency_light": true}, ...]')
    flying_wire_charging = models.BooleanField(default=False, help_text="飞线充电 found")
    garage_sleeping = models.BooleanField(default=False, help_text="people sleeping in a garage/shed")
    escape_routes_clear = models.BooleanField(default=True)
    result = models.CharField(max_length=8, choices=InspectionResult.choices)
    state = models.CharField(max_length=12, choices=InspectionState.choices)
    findings = models.TextField(blank=True)
    follow_up_due = models.DateField(null=True, blank=True)
    rectified_at = models.DateTimeField(null=True, blank=True)
    case = models.ForeignKey("reports.Case", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="safety_inspections")

    class Meta:
        ordering = ["-inspected_at"]
        constraints = [
            models.CheckConstraint(condition=Q(result__in=InspectionResult.values), name="safety_inspection_result_valid"),
            models.CheckConstraint(condition=~Q(result="failed") | Q(follow_up_due__isnull=False),
                                   name="safety_inspection_failed_has_deadline"),
        ]


class InspectionPhoto(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to="safety/inspections/%Y/%m/")
    stage = models.CharField(max_length=12, default="inspection",
                             choices=[("inspection", "检查"), ("rectified", "整改后")])
    caption = models.CharField(max_length=100, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.caption or self.image.name

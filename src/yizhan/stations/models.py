from django.conf import settings
from django.db import models
from django.db.models import Q

from yizhan.core.models import TimeStampedModel
from yizhan.stations.choices import (
    ConditionKind,
    GiverKind,
    HostType,
    StationStatus,
    StationType,
    StockMovementKind,
    SupplyItem,
)


class Station(TimeStampedModel):
    code = models.CharField(max_length=32, unique=True, help_text="Stable id used by imports and QR codes")
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=150, blank=True)
    type = models.CharField(max_length=16, choices=StationType.choices, default=StationType.STATION)
    host_type = models.CharField(max_length=16, choices=HostType.choices, default=HostType.COMMUNITY)
    host_name = models.CharField(max_length=120, blank=True)
    address = models.CharField(max_length=200)
    public_phone = models.CharField(
        max_length=32, blank=True,
        help_text="The station's public contact number (a landline or service line), shown and callable "
                  "on the station page; keepers' own phones stay masked",
    )
    lat = models.FloatField()
    lng = models.FloatField()
    cell = models.CharField(max_length=16, db_index=True, editable=False, help_text="H3 res-8 cell")
    jurisdiction = models.ForeignKey(
        "jurisdictions.Jurisdiction", on_delete=models.PROTECT, related_name="stations",
        help_text="The community (or grid) the station belongs to",
    )
    hub = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="member_stations",
        help_text="The service hub this station reports to",
    )
    status = models.CharField(max_length=16, choices=StationStatus.choices, default=StationStatus.OPEN)
    status_reason = models.CharField(max_length=200, blank=True)
    amenities = models.JSONField(default=list, blank=True)
    hours = models.JSONField(
        default=dict, blank=True,
        help_text='{"mon": [["08:00","20:00"]], ..., "sun": []}; end < start means overnight',
    )
    description = models.TextField(blank=True)
    opened_on = models.DateField(null=True, blank=True)
    last_confirmed_at = models.DateTimeField(null=True, blank=True)
    rating_sum = models.PositiveIntegerField(default=0)
    rating_count = models.PositiveIntegerField(default=0)
    visit_count = models.PositiveIntegerField(default=0)
    keepers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="StationKeeper", related_name="kept_stations", blank=True
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(lat__gte=-90, lat__lte=90), name="station_lat_range"),
            models.CheckConstraint(condition=Q(lng__gte=-180, lng__lte=180), name="station_lng_range"),
            models.CheckConstraint(
                condition=~Q(status="removed") | ~Q(status_reason=""), name="station_removed_has_reason"
            ),
            models.CheckConstraint(condition=Q(type__in=StationType.values), name="station_type_valid"),
        ]

    def __str__(self):
        return self.name

    @property
    def rating(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 1) if self.rating_count else None


class StationHoliday(models.Model):
    """Opening hours on one date that differ from the weekly schedule."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    intervals = models.JSONField(default=list, blank=True, help_text='[] = closed all day')
    note = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["station", "date"], name="stationholiday_unique")]

    def __str__(self):
        return f"{self.station_id} {self.date}"


class StationKeeper(TimeStampedModel):
    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="keeper_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="keeper_links")
    is_primary = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["station", "user"], name="stationkeeper_unique")]


class StationPhoto(TimeStampedModel):
    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to="stations/%Y/%m/")
    caption = models.CharField(max_length=100, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )


class StationSupply(TimeStampedModel):
    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="supplies")
    item = models.CharField(max_length=32, choices=SupplyItem.choices)
    quantity = models.IntegerField(default=0)
    threshold = models.IntegerField(default=0, help_text="Alert the keeper when quantity falls below this")
    unit = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["station", "item"]
        constraints = [
            models.UniqueConstraint(fields=["station", "item"], name="stationsupply_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="stationsupply_quantity_nonneg"),
            models.CheckConstraint(condition=Q(threshold__gte=0), name="stationsupply_threshold_nonneg"),
        ]

    @property
    def is_low(self) -> bool:
        return self.quantity < self.threshold


class StockMovement(models.Model):
    supply = models.ForeignKey(StationSupply, on_delete=models.CASCADE, related_name="movements")
    kind = models.CharField(max_length=16, choices=StockMovementKind.choices)
    delta = models.IntegerField()
    quantity_after = models.IntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(delta=0), name="stockmovement_nonzero"),
            models.CheckConstraint(condition=Q(quantity_after__gte=0), name="stockmovement_after_nonneg"),
        ]

    def __str__(self):
        return f"{self.kind} {self.delta:+d} → {self.quantity_after}"


class Donation(TimeStampedModel):
    """A gift to a station (三个一点): who gave, what kind, how much."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="donations")
    giver_kind = models.CharField(max_length=16, choices=GiverKind.choices)
    giver_name = models.CharField(max_length=100)
    description = models.CharField(max_length=200)
    item = models.CharField(max_length=32, choices=SupplyItem.choices, blank=True)
    quantity = models.PositiveIntegerField(default=0)
    received_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_on", "-id"]


class CheckIn(models.Model):
    """A worker scanned the station's QR code. ``counted`` is False for a repeat
    scan within the dedup window (30 minutes); it is kept so the worker's own
    history is honest, but the visit count does not move."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="checkins")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="checkins")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    counted = models.BooleanField(default=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["user", "station", "-at"])]

    def __str__(self):
        return f"check-in {self.station_id} {self.at:%Y-%m-%d %H:%M}"


class ConditionReport(models.Model):
    """What a worker found ("no hot water", "closed though it should be open")."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="condition_reports")
    checkin = models.ForeignKey(CheckIn, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="station_condition_reports"
    )
    kind = models.CharField(max_length=32, choices=ConditionKind.choices)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind} @ {self.station_id}"


class StationReview(TimeStampedModel):
    """One rating (1–5) and comment per worker per station; updating replaces it."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="reviews")
    # Null once the author deleted their account (PIPL): the rating stays, the person goes.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="station_reviews"
    )
    rating = models.PositiveSmallIntegerField()
    comment = models.CharField(max_length=500, blank=True)
    hidden = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["station", "user"], name="stationreview_one_per_user"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="stationreview_rating_1_5"),
        ]

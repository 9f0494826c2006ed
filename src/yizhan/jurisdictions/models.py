from django.db import models
from django.db.models import Q

from yizhan.jurisdictions.choices import Level


class Jurisdiction(models.Model):
    """A node of city > district > street > community > grid.

    ``path`` is the materialised list of ancestor codes ("/SZ/SZ-GX/SZ-GX-DZ/"), so
    a subtree is ``path__startswith=node.path`` on SQLite and PostgreSQL alike.
    Codes never change once created.
    """

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=150, blank=True)
    level = models.CharField(max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=512, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    boundary = models.JSONField(null=True, blank=True, help_text="GeoJSON Polygon/MultiPolygon, WGS-84")
    center_lat = models.FloatField(null=True, blank=True)
    center_lng = models.FloatField(null=True, blank=True)
    area_km2 = models.FloatField(null=True, blank=True)
    # Lets every process notice a change and rebuild its in-memory locate index.
    updated_at = models.DateTimeField(auto_now=True, null=True, db_index=True)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Za-z0-9_-]+$"), name="jurisdiction_code_charset"
            ),
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | ~Q(level="city"), name="jurisdiction_city_is_root"
            ),
            models.CheckConstraint(
                condition=Q(center_lat__isnull=True) | Q(center_lat__gte=-90, center_lat__lte=90),
                name="jurisdiction_center_lat_range",
            ),
        ]

    def __str__(self):
        return self.name

    def is_within(self, other: "Jurisdiction") -> bool:
        return self.path.startswith(other.path)

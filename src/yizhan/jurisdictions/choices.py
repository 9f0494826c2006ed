from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    CITY = "city", _("市")
    DISTRICT = "district", _("区/县")
    STREET = "street", _("街道/镇")
    COMMUNITY = "community", _("社区/村")
    GRID = "grid", _("网格")


LEVEL_ORDER = [Level.CITY, Level.DISTRICT, Level.STREET, Level.COMMUNITY, Level.GRID]


def level_rank(level: str) -> int:
    return LEVEL_ORDER.index(level)

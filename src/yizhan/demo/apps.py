from django.apps import AppConfig

from yizhan.core.manifest import AppManifest


class DemoConfig(AppConfig):
    """The demo district: jurisdictions, staff, stations and workers from the seeds
    (its own loader, first); ``yizhan demo`` then runs every app's ``demo_loader``."""

    name = "yizhan.demo"
    label = "demo"
    verbose_name = "演示数据 Demo district"
    manifest = AppManifest(demo_loader="yizhan.demo.services.demo_district_load", demo_order=10)

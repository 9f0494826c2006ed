from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from yizhan.core.manifest import AppManifest, NavEntry
from yizhan.core.permissions import ADMINS


class StationsConfig(AppConfig):
    name = "yizhan.stations"
    label = "stations"
    verbose_name = "驿站 Stations"
    manifest = AppManifest(
        api_router="yizhan.stations.api.router", api_prefix="/stations", api_order=30,
        # last among the pages: its patterns at the root are the most general
        urls=[("", "yizhan.stations.urls", 60)],
        roles={
            "keeper": {"stations.view", "stations.stock"},
            "grid_worker": {"stations.view"},
            "duty_officer": {"stations.view"},
            **{admin: {"stations.view", "stations.manage", "stations.stock"} for admin in ADMINS},
        },
        nav=[
            NavEntry("finder", _("找驿站"), "stations:finder", order=10),
            NavEntry("keeper", _("站长"), "stations:keeper_home", role="keeper", order=150, home=30),
            NavEntry("manage", _("驿站管理"), "stations:manage_list", perm="stations.manage", order=160, home=40),
        ],
        caches=["yizhan.stations.nearby.nearby_index_forget"],
        privacy="yizhan.stations.privacy",
    )

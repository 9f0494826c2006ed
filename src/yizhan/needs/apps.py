from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from yizhan.core.manifest import AppManifest, NavEntry
from yizhan.core.permissions import ADMINS


class NeedsConfig(AppConfig):
    name = "yizhan.needs"
    label = "needs"
    verbose_name = "问需 Needs and suggestions"
    manifest = AppManifest(
        api_router="yizhan.needs.api.router", api_prefix="/needs", api_order=60,
        urls=[("", "yizhan.needs.urls", 40)],
        roles={admin: {"needs.view", "needs.manage"} for admin in ADMINS},
        nav=[
            NavEntry("home", _("心愿墙"), "needs:home", order=30),
            NavEntry("staff", _("问需"), "needs:staff", perm="needs.manage", order=140),
        ],
        demo_loader="yizhan.needs.demo.needs_demo_load", demo_order=30,
        privacy="yizhan.needs.privacy",
        jobs=["yizhan.needs.jobs"],
    )

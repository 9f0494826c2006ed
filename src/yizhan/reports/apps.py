from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from yizhan.core.manifest import AppManifest, NavEntry
from yizhan.core.permissions import ADMINS

_ADMIN_PERMS = {"reports.view", "reports.dispatch", "reports.figures"}


class ReportsConfig(AppConfig):
    name = "yizhan.reports"
    label = "reports"
    verbose_name = "随手拍与工单 Reports and work orders"
    manifest = AppManifest(
        api_router="yizhan.reports.api.router", api_prefix="/reports", api_order=40,
        urls=[("", "yizhan.reports.urls", 30), ("open311/v2/", "yizhan.reports.open311_urls", 50)],
        roles={
            "grid_worker": {"reports.view", "reports.handle"},
            "handler": {"reports.view", "reports.handle"},
            "duty_officer": {"reports.view", "reports.dispatch"},
            **{admin: set(_ADMIN_PERMS) for admin in ADMINS},
            # District and city admins also set the case taxonomy, time limits, working
            # calendar, departments and Open311 clients.
            "district_admin": _ADMIN_PERMS | {"reports.configure"},
            "city_admin": _ADMIN_PERMS | {"reports.configure"},
        },
        nav=[
            NavEntry("new", _("随手拍"), "reports:new", order=20),
            NavEntry("work", _("我的工单"), "reports:work_inbox", perm="reports.handle", order=110, home=20),
            NavEntry("dispatch", _("派单"), "reports:console", perm="reports.dispatch", order=120, home=10),
            NavEntry("figures", _("统计"), "reports:figures", perm="reports.figures", order=130),
            NavEntry("configure", _("设置"), "reports:settings", perm="reports.configure", order=170),
        ],
        demo_loader="yizhan.reports.demo.reports_demo_load", demo_order=20,
        caches=[
            "yizhan.reports.calendar.calendar_cache_forget",
            "yizhan.reports.routing.routing_index_invalidate",
            "yizhan.reports.selectors.setup.category_settings_forget",
        ],
        privacy="yizhan.reports.privacy",
        jobs=["yizhan.reports.jobs"],
    )

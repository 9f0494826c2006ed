from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from yizhan.core.manifest import AppManifest, NavEntry, NotificationKind
from yizhan.core.permissions import ADMINS

# safety.view: see places, devices, alarms, dispatches, inspections in scope
# safety.respond: act on one's own assignments (responder phone page)
# safety.duty: the alarm wall; acknowledge/clear alarms; dispatch by hand
# safety.inspect: record 331 inspections
# safety.manage: places, devices, responders, rules, imports; ingest rejects
_ADMIN = {"safety.view", "safety.duty", "safety.inspect", "safety.manage", "safety.respond"}


class SafetyConfig(AppConfig):
    name = "yizhan.safety"
    label = "safety"
    verbose_name = "智慧消防 Fire safety"
    manifest = AppManifest(
        api_router="yizhan.safety.api.router", api_prefix="/safety", api_order=60,
        urls=[("", "yizhan.safety.urls", 40)],
        roles={
            "grid_worker": {"safety.view", "safety.respond", "safety.inspect"},
            "duty_officer": {"safety.view", "safety.duty", "safety.respond"},
            "fire_responder": {"safety.view", "safety.respond"},
            **{admin: set(_ADMIN) for admin in ADMINS},
        },
        notifications=[
            # a responder sent to an alarm: inbox + an SMS nobody can switch off
            NotificationKind("safety_alarm", _("消防警情"), sms=True, urgent=True),
        ],
        nav=[
            NavEntry("safety_wall", _("消防值守"), "safety:wall", perm="safety.duty", order=170),
            NavEntry("safety_respond", _("出警"), "safety:respond", perm="safety.respond", order=175),
            NavEntry("safety_monthly", _("出警报告"), "safety:monthly_report", perm="safety.duty", order=177),
            NavEntry("safety_inspect", _("消防检查"), "safety:inspections", perm="safety.inspect", order=180),
            NavEntry("safety_manage", _("消防设施"), "safety:places", perm="safety.manage", order=185),
        ],
        demo_loader="yizhan.safety.demo.load_demo", demo_order=60,
        caches=["yizhan.safety.ingest.device_cache.device_cache_forget"],
        privacy="yizhan.safety.privacy",
        jobs=["yizhan.safety.jobs"],
        processes=[("mqtt-broker", "yizhan.safety.processes.broker_argv"),
                   ("ingest", "yizhan.safety.processes.ingest_argv"),
                   ("gb26875", "yizhan.safety.processes.gb26875_argv")],
    )

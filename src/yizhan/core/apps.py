from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from yizhan.core.manifest import AppManifest, NavEntry


def _create_cache_table(sender, using="default", **kwargs):
    """The cache lives in the database (no Redis needed on a laptop); its table is not
    a migration, so create it whenever migrations run (idempotent)."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "yizhan.core"
    label = "core"
    verbose_name = "核心 Core"
    manifest = AppManifest(
        api_router="yizhan.core.api.router", api_prefix="/core", api_order=50,
        urls=[("audit/", "yizhan.core.urls", 20), ("inbox/", "yizhan.core.inbox_urls", 21)],
        roles={"auditor": {"audit.view"}},
        nav=[NavEntry("audit", _("审计"), "core:audit", perm="audit.view", order=180, home=50)],
        jobs=["yizhan.core.jobs"],
    )

    def ready(self):
        post_migrate.connect(_create_cache_table, sender=self, dispatch_uid="yizhan_create_cache_table")

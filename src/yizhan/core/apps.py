from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_cache_table(sender, using="default", **kwargs):
    """The cache lives in the database (no Redis needed on a laptop); its table is not
    a migration, so create it whenever migrations run (idempotent)."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "yizhan.core"
    label = "core"
    verbose_name = "核心 Core"

    def ready(self):
        post_migrate.connect(_create_cache_table, sender=self, dispatch_uid="yizhan_create_cache_table")

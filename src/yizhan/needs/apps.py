from django.apps import AppConfig


class NeedsConfig(AppConfig):
    name = "yizhan.needs"
    label = "needs"
    verbose_name = "问需 Needs and suggestions"

    def ready(self):
        # PIPL: this app's rows in the personal-data export and the account erasure.
        from yizhan.accounts.services import DELETION_HOOKS, EXPORT_HOOKS
        from yizhan.needs import privacy

        privacy.register(EXPORT_HOOKS, DELETION_HOOKS)

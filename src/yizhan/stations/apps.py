from django.apps import AppConfig


class StationsConfig(AppConfig):
    name = "yizhan.stations"
    label = "stations"
    verbose_name = "驿站 Stations"

    def ready(self):
        # PIPL: this app's rows in the personal-data export and the account erasure.
        from yizhan.accounts.services import DELETION_HOOKS, EXPORT_HOOKS
        from yizhan.stations import privacy

        privacy.register(EXPORT_HOOKS, DELETION_HOOKS)

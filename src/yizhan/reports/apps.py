from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "yizhan.reports"
    label = "reports"
    verbose_name = "随手拍与工单 Reports and work orders"

    def ready(self):
        # PIPL: this app's rows in the personal-data export and the account erasure.
        from yizhan.accounts.services import DELETION_HOOKS, EXPORT_HOOKS
        from yizhan.reports import privacy

        privacy.register(EXPORT_HOOKS, DELETION_HOOKS)

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "yizhan.reports"
    label = "reports"
    verbose_name = "随手拍与工单 Reports and work orders"

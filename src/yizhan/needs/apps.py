from django.apps import AppConfig


class NeedsConfig(AppConfig):
    name = "yizhan.needs"
    label = "needs"
    verbose_name = "问需 Needs and suggestions"

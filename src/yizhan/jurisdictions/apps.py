from django.apps import AppConfig


class JurisdictionsConfig(AppConfig):
    name = "yizhan.jurisdictions"
    label = "jurisdictions"
    verbose_name = "辖区 Jurisdictions"

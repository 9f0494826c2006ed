from django.apps import AppConfig


class StationsConfig(AppConfig):
    name = "yizhan.stations"
    label = "stations"
    verbose_name = "驿站 Stations"

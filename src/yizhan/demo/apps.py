from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "yizhan.demo"
    label = "demo"
    verbose_name = "演示数据 Demo district"

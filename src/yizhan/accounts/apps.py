from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "yizhan.accounts"
    label = "accounts"
    verbose_name = "人员与角色 People and roles"

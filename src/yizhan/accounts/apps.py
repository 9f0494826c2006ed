from django.apps import AppConfig

from yizhan.core.manifest import AppManifest
from yizhan.core.permissions import ADMINS


class AccountsConfig(AppConfig):
    """The platform's user app: people, roles, logins, API tokens and the personal-data
    export/erasure, which runs every installed app's ``privacy`` hooks."""

    name = "yizhan.accounts"
    label = "accounts"
    verbose_name = "人员与角色 People and roles"
    manifest = AppManifest(
        api_router="yizhan.accounts.api.router", api_prefix="/accounts", api_order=10,
        urls=[("accounts/", "yizhan.accounts.urls", 10)],
        roles={admin: {"people.view", "people.manage"} for admin in ADMINS},
        # the console SMS backend's outbox (what tests read the login codes from)
        caches=["yizhan.accounts.sms:ConsoleSmsBackend.outbox.clear"],
        jobs=["yizhan.accounts.jobs"],
    )

    def ready(self):
        # PIPL: every installed app's rows in the personal-data export and the account
        # erasure, from the ``privacy`` module its manifest names.
        from yizhan.accounts.services import DELETION_HOOKS, EXPORT_HOOKS
        from yizhan.core.manifest import privacy_modules

        for module in privacy_modules():
            for hook in module.EXPORTS:
                if hook not in EXPORT_HOOKS:
                    EXPORT_HOOKS.append(hook)
            if module.erase not in DELETION_HOOKS:
                DELETION_HOOKS.append(module.erase)

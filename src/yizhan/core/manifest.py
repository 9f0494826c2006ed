"""App manifests: what each installed app adds to the platform, declared in one place.

Each app's ``AppConfig`` carries ``manifest = AppManifest(...)`` (the Decidim component
manifest, in Django's terms). ``config`` and ``core`` iterate over the installed apps'
manifests and name none of them, so adding an app is: write it, declare its manifest,
add it to ``INSTALLED_APPS``.

Everything in a manifest is a dotted name, resolved only when used, so ``apps.py`` stays
cheap to import (the app registry imports it before any model exists)::

    class StationsConfig(AppConfig):
        name = "yizhan.stations"
        manifest = AppManifest(
            api_router="yizhan.stations.api.router", api_prefix="/stations",
            urls=[("", "yizhan.stations.urls", 60)],
            roles={"keeper": {"stations.view", "stations.stock"}},
            nav=[NavEntry("finder", _("找驿站"), "stations:finder", order=10)],
            caches=["yizhan.stations.nearby.nearby_index_forget"],
            privacy="yizhan.stations.privacy",
        )

Orders (``api_order``, a url mount's third element, ``NavEntry.order``, ``demo_order``)
are global numbers, so apps interleave; ties keep the ``INSTALLED_APPS`` order.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType

from django.apps import AppConfig, apps
from django.core.signals import setting_changed

DEFAULT_ORDER = 100


@dataclass(frozen=True)
class NavEntry:
    """One link in the top bar.

    Shown to everyone (signed in or not) when it names neither ``perm`` nor ``role``;
    else to users holding ``perm`` somewhere (superusers hold every permission) or
    holding ``role``.

    ``home``: when set, the entry is a candidate for where a signed-in user lands after
    login; among the entries the user sees, the lowest ``home`` wins (none: the site's
    home page)."""

    key: str
    label: object  # gettext_lazy text
    url_name: str
    perm: str | None = None
    role: str | None = None
    order: int = DEFAULT_ORDER
    home: int | None = None

    @property
    def public(self) -> bool:
        return self.perm is None and self.role is None


@dataclass(frozen=True)
class NotificationKind:
    """A kind of inbox message an app sends (``core.notifications.notify(kind=...)``).

    ``label`` names it on the inbox settings page; ``sms``: also sent by SMS to users with
    a phone (added to ``YIZHAN_NOTIFY_SMS_KINDS``); ``urgent``: an SMS the user cannot
    switch off (added to ``YIZHAN_NOTIFY_URGENT_KINDS``)."""

    kind: str
    label: object  # gettext_lazy text
    sms: bool = False
    urgent: bool = False


@dataclass
class AppManifest:
    """What an app adds to the platform (every field optional).

    * ``api_router``: dotted ninja ``Router``, mounted at ``/api/v1<api_prefix>`` in
      ``api_order``.
    * ``urls``: ``(prefix, dotted urls module)`` or ``(prefix, module, order)`` pages,
      included by ``config/urls.py`` in order (Django tries them in that order).
    * ``roles``: ``{role: {perm, ...}}`` the permissions this app gives each role; a role
      core does not know becomes a new role (level 0: any admin may grant it).
    * ``nav``: :class:`NavEntry` links for the top bar.
    * ``demo_loader``: dotted ``callable(*, admin, stdout=None)`` run by ``yizhan demo``
      in ``demo_order`` (lowest first); returns a summary kept under the app label.
    * ``caches``: dotted callables that drop this app's in-process indexes (run between
      tests and by :func:`forget_process_caches`).
    * ``privacy``: dotted module with ``EXPORTS`` (``callable(user) -> (key, rows)``) and
      ``erase(user)``, for the personal-data export and the account erasure.
    * ``jobs``: dotted modules holding ``@every`` scheduler jobs (imported by the loop).
    * ``processes``: ``(name, dotted callable)`` long-running parts ``yizhan up``
      supervises beside web, worker and scheduler (e.g. a sensor ingest); the callable
      takes no argument and returns the ``yizhan`` sub-command and its arguments as a
      list (``["ingest", "--mqtt"]``), or ``None`` to run nothing (read settings there).
    * ``notifications``: :class:`NotificationKind` rows for the kinds the app sends
      (label, SMS, urgent), merged with the platform's settings by ``core.outbox``.
    """

    api_router: str | None = None
    api_prefix: str = ""
    api_order: int = DEFAULT_ORDER
    urls: list[tuple] = field(default_factory=list)
    roles: Mapping[str, Iterable[str]] = field(default_factory=dict)
    nav: list[NavEntry] = field(default_factory=list)
    demo_loader: str | None = None
    demo_order: int = DEFAULT_ORDER
    caches: list[str] = field(default_factory=list)
    privacy: str | None = None
    jobs: list[str] = field(default_factory=list)
    processes: list[tuple[str, str]] = field(default_factory=list)
    notifications: list[NotificationKind] = field(default_factory=list)


def resolve(dotted: str):
    """The object a dotted name points at (module, or attributes inside a module)."""
    return pkgutil.resolve_name(dotted)


def installed_manifests() -> list[tuple[AppConfig, AppManifest]]:
    """``(app config, manifest)`` of every installed app that declares one, in
    ``INSTALLED_APPS`` order."""
    return [
        (config, config.manifest)
        for config in apps.get_app_configs()
        if isinstance(getattr(config, "manifest", None), AppManifest)
    ]


def _sorted(rows):
    """Stable sort by order: ties keep the ``INSTALLED_APPS`` order."""
    return [row for _, row in sorted(rows, key=lambda pair: pair[0])]


def api_mounts() -> list[tuple[str, str]]:
    """``(prefix, dotted router)`` in mounting order."""
    return _sorted((m.api_order, (m.api_prefix, m.api_router)) for _, m in installed_manifests() if m.api_router)


def url_mounts() -> list[tuple[str, str]]:
    """``(prefix, dotted urls module)`` in inclusion order."""
    rows = []
    for _, m in installed_manifests():
        for mount in m.urls:
            prefix, module, *rest = mount
            rows.append((rest[0] if rest else DEFAULT_ORDER, (prefix, module)))
    return _sorted(rows)


@cache
def role_permissions(base: tuple[str, ...] = ()) -> dict[str, frozenset[str]]:
    """Each role's permissions: the ``base`` role names (with none) merged with what
    every manifest adds. Cached; :func:`forget_manifest_caches` drops it."""
    merged: dict[str, set[str]] = {role: set() for role in base}
    for _, m in installed_manifests():
        for role, perms in m.roles.items():
            merged.setdefault(role, set()).update(perms)
    return {role: frozenset(perms) for role, perms in merged.items()}


def nav_entries() -> list[NavEntry]:
    """Every app's top-bar entries in display order."""
    return _sorted((entry.order, entry) for _, m in installed_manifests() for entry in m.nav)


def demo_loaders() -> list[tuple[AppConfig, Callable]]:
    """``(app config, loader)`` in ``demo_order``."""
    return _sorted((m.demo_order, (config, resolve(m.demo_loader)))
                   for config, m in installed_manifests() if m.demo_loader)


def cache_resetters() -> list[Callable[[], object]]:
    return [resolve(dotted) for _, m in installed_manifests() for dotted in m.caches]


def forget_process_caches() -> None:
    """Drop every app's in-process indexes (they rebuild on next use)."""
    for reset in cache_resetters():
        reset()


def privacy_modules() -> list[ModuleType]:
    return [importlib.import_module(m.privacy) for _, m in installed_manifests() if m.privacy]


def job_modules() -> list[str]:
    return [dotted for _, m in installed_manifests() for dotted in m.jobs]


def process_commands() -> dict[str, list[str]]:
    """``{name: yizhan sub-command argv}`` of every app's supervised processes that run
    here (a callable answering ``None`` is left out)."""
    commands: dict[str, list[str]] = {}
    for _, m in installed_manifests():
        for name, dotted in m.processes:
            argv = resolve(dotted)()
            if argv:
                commands[name] = [str(arg) for arg in argv]
    return commands


def notification_kinds() -> dict[str, NotificationKind]:
    """``{kind: NotificationKind}`` every installed app declares."""
    return {n.kind: n for _, m in installed_manifests() for n in m.notifications}


def forget_manifest_caches() -> None:
    role_permissions.cache_clear()


def _installed_apps_changed(*, setting, **kwargs):
    if setting == "INSTALLED_APPS":  # override_settings re-populates the registry
        forget_manifest_caches()


setting_changed.connect(_installed_apps_changed, dispatch_uid="yizhan_manifest_installed_apps")

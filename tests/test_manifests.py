"""App manifests: every installed app declares one, and what config/core build from them
(API routers, pages, roles, the top bar, demo, caches, privacy hooks, jobs) is what was
served before they existed. A test-only app's manifest is mounted without touching
core or config."""

from __future__ import annotations

import sys
import tomllib
import types
from pathlib import Path

import pytest
from django.apps import AppConfig, apps
from django.http import HttpResponse
from django.test import override_settings
from django.urls import clear_url_caches, include, path, resolve, reverse
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI, Router

from yizhan.core import manifest as m
from yizhan.core import permissions, scheduler
from yizhan.core.context_processors import nav_for
from yizhan.core.testing.factories import (
    make_jurisdiction_tree,
    make_staff,
    make_superuser,
    make_worker,
)

ROOT = Path(__file__).resolve().parent.parent

# ---- what config/ and core/ named before the manifests (the reference) -------------------

OLD_API = [
    ("/accounts", "yizhan.accounts.api.router"),
    ("/jurisdictions", "yizhan.jurisdictions.api.router"),
    ("/stations", "yizhan.stations.api.router"),
    ("/reports", "yizhan.reports.api.router"),
    ("/core", "yizhan.core.api.router"),
    ("/needs", "yizhan.needs.api.router"),
]
OLD_URLS = [
    ("accounts/", "yizhan.accounts.urls"),
    ("audit/", "yizhan.core.urls"),
    ("inbox/", "yizhan.core.inbox_urls"),
    ("", "yizhan.reports.urls"),
    ("", "yizhan.needs.urls"),
    ("open311/v2/", "yizhan.reports.open311_urls"),
    ("", "yizhan.stations.urls"),
]
_ADMIN = {"stations.view", "stations.manage", "stations.stock", "people.view", "people.manage",
          "jurisdictions.view", "reports.view", "reports.dispatch", "reports.figures", "needs.view",
          "needs.manage"}
OLD_ROLE_PERMISSIONS = {
    "worker": set(),
    "keeper": {"stations.view", "stations.stock"},
    "grid_worker": {"stations.view", "reports.view", "reports.handle"},
    "handler": {"reports.view", "reports.handle"},
    "duty_officer": {"stations.view", "reports.view", "reports.dispatch"},
    "employer": set(),
    "merchant": set(),
    "teacher": set(),
    "auditor": {"audit.view"},
    "community_admin": _ADMIN,
    "street_admin": _ADMIN,
    "district_admin": _ADMIN | {"jurisdictions.manage", "reports.configure"},
    "city_admin": _ADMIN | {"jurisdictions.manage", "reports.configure"},
}
OLD_ROLE_LEVEL = {**{role: 0 for role in OLD_ROLE_PERMISSIONS}, "community_admin": 1, "street_admin": 2,
                  "district_admin": 3, "city_admin": 4, "auditor": 3}


# Capability apps added after the manifests (fire safety, ...) add their own entries; the
# references above are what the platform apps served, so those apps' entries are left out.
LATER_APPS = ("safety",)


def _ours(dotted: str) -> bool:
    return not any(dotted.startswith(f"yizhan.{label}.") for label in LATER_APPS)


def _old_perm(perm: str) -> bool:
    return perm.split(".")[0] not in LATER_APPS


LATER_ROLES = {"fire_responder"}


def old_nav(user) -> list[tuple[str, str]]:
    """The top bar as partials/topbar.html and core.context_processors wrote it by hand."""
    items = [("stations:finder", "找驿站"), ("reports:new", "随手拍"), ("needs:home", "心愿墙")]
    if user is None or not user.is_authenticated:
        return items
    has = permissions.has_perm_anywhere
    for shown, name, label in [
        (has(user, "reports.handle"), "reports:work_inbox", "我的工单"),
        (has(user, "reports.dispatch"), "reports:console", "派单"),
        (has(user, "reports.figures"), "reports:figures", "统计"),
        (has(user, "needs.manage"), "needs:staff", "问需"),
        (permissions.has_role(user, "keeper"), "stations:keeper_home", "站长"),
        (has(user, "stations.manage"), "stations:manage_list", "驿站管理"),
        (has(user, "reports.configure"), "reports:settings", "设置"),
        (has(user, "audit.view"), "core:audit", "审计"),
    ]:
        if shown:
            items.append((name, label))
    return items


# ---- every app declares one -------------------------------------------------------------


def test_every_installed_yizhan_app_declares_a_manifest():
    ours = [c for c in apps.get_app_configs() if c.name.startswith("yizhan.")]
    assert ours
    declared = {c.name for c, _ in m.installed_manifests()}
    assert {c.name for c in ours} == declared
    for config in ours:
        assert isinstance(config.manifest, m.AppManifest), config.name


def test_every_installed_yizhan_app_has_a_layer_in_the_import_contracts():
    """A new app names its layer in pyproject.toml (lint-imports fails too: exhaustive)."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in conf["contracts"] if c["type"] == "layers")
    named = {name.strip() for layer in layers["layers"] for name in layer.replace("|", ":").split(":")}
    for config in apps.get_app_configs():
        if config.name.startswith("yizhan."):
            assert config.name.split(".", 1)[1] in named, config.name


def test_every_dotted_name_in_the_manifests_resolves():
    for config, manifest in m.installed_manifests():
        if manifest.api_router:
            assert isinstance(m.resolve(manifest.api_router), Router), config.name
        for _prefix, module, *_order in manifest.urls:
            assert hasattr(m.resolve(module), "urlpatterns"), module
        for dotted in manifest.caches:
            assert callable(m.resolve(dotted)), dotted
        if manifest.privacy:
            module = m.resolve(manifest.privacy)
            assert all(callable(hook) for hook in module.EXPORTS) and callable(module.erase)
        if manifest.demo_loader:
            assert callable(m.resolve(manifest.demo_loader))
        for entry in manifest.nav:
            assert reverse(entry.url_name)


# ---- the same as before ----------------------------------------------------------------


def test_api_routers_are_mounted_as_before():
    assert [row for row in m.api_mounts() if _ours(row[1])] == OLD_API


def test_openapi_paths_are_the_same_and_in_the_same_order(client):
    """The snapshot test (tests/test_platform.py) checks each operation; here: the
    document lists the apps' paths in the order config/api.py mounted them."""
    paths = list(client.get("/api/v1/openapi.json").json()["paths"])
    prefixes = [p.split("/")[3] for p in paths]
    assert list(dict.fromkeys(p for p in prefixes if p not in LATER_APPS)) == [prefix[1:] for prefix, _ in OLD_API]


def test_page_urls_are_included_in_the_same_order():
    assert [row for row in m.url_mounts() if _ours(row[1])] == OLD_URLS
    from yizhan.config import urls

    included = [(str(p.pattern), p.urlconf_module.__name__) for p in urls.urlpatterns
                if isinstance(getattr(p, "urlconf_module", None), types.ModuleType)]
    ours = [row for row in included if row[1].startswith("yizhan.") and _ours(row[1])]
    assert ours == OLD_URLS


@pytest.mark.parametrize("url, view_name", [
    ("/", "stations:finder"),
    ("/accounts/otp/", "accounts:otp"),
    ("/audit/", "core:audit"),
    ("/inbox/", "inbox:list"),
    ("/open311/v2/services.json", "open311:services"),
])
def test_urls_resolve_to_the_same_views(url, view_name):
    assert resolve(url).view_name == view_name


def test_role_permissions_are_the_same():
    assert {role: {p for p in perms if _old_perm(p)} for role, perms in permissions.ROLE_PERMISSIONS.items()
            if role not in LATER_ROLES} == OLD_ROLE_PERMISSIONS
    assert {role: level for role, level in permissions.ROLE_LEVEL.items() if role not in LATER_ROLES} == OLD_ROLE_LEVEL


def test_jobs_caches_privacy_and_demo_come_from_the_manifests():
    assert [mod for mod in m.job_modules() if _ours(mod + ".")] == ["yizhan.core.jobs", "yizhan.accounts.jobs", "yizhan.reports.jobs",
                               "yizhan.needs.jobs"]
    jobs = scheduler.discover_jobs()
    assert {"yizhan.accounts.jobs.prune_one_time_codes", "yizhan.reports.jobs.case_clocks",
            "yizhan.needs.jobs.need_overdue", "yizhan.core.jobs.outbox_prune"} <= set(jobs)
    names = {f"{c.__module__}.{getattr(c, '__qualname__', c)}" for c in m.cache_resetters()}
    assert {"yizhan.jurisdictions.locate.locate_index_invalidate", "yizhan.stations.nearby.nearby_index_forget",
            "yizhan.reports.calendar.calendar_cache_forget", "yizhan.reports.routing.routing_index_invalidate",
            "yizhan.reports.selectors.setup.category_settings_forget"} <= names
    assert [mod.__name__ for mod in m.privacy_modules() if _ours(mod.__name__)] == [
        "yizhan.stations.privacy", "yizhan.reports.privacy", "yizhan.needs.privacy"]
    from yizhan.accounts.services import DELETION_HOOKS, EXPORT_HOOKS

    for module in m.privacy_modules():
        assert module.erase in DELETION_HOOKS
        assert all(hook in EXPORT_HOOKS for hook in module.EXPORTS)
    assert [(c.label, f"{f.__module__}.{f.__name__}") for c, f in m.demo_loaders() if c.label not in LATER_APPS] == [
        ("demo", "yizhan.demo.services.demo_district_load"),
        ("reports", "yizhan.reports.demo.reports_demo_load"),
        ("needs", "yizhan.needs.demo.needs_demo_load"),
    ]


@pytest.mark.django_db
def test_nav_links_per_role_are_the_same():
    tree = make_jurisdiction_tree()
    users = [None, make_worker(), make_superuser()]
    users += [make_staff(role, tree.community) for role in OLD_ROLE_PERMISSIONS if role != "worker"]
    for user in users:
        got = [(entry["url"], str(entry["label"])) for entry in nav_for(user)
               if entry["url"].split("/")[1] not in LATER_APPS]
        assert got == [(reverse(name), label) for name, label in old_nav(user)], user


@pytest.mark.django_db
@pytest.mark.parametrize("lang, labels", [
    ("zh-hans", ["找驿站", "随手拍", "心愿墙", "我的工单", "派单", "统计", "问需", "站长", "驿站管理", "设置", "审计"]),
    ("en", None),
])
def test_the_top_bar_renders_the_entries_in_order(client, lang, labels):
    """A superuser who is also a keeper sees every entry; the page shows them in order,
    translated like the other page strings."""
    from django.utils import translation

    tree = make_jurisdiction_tree()
    user = make_staff("keeper", tree.community)
    user.is_superuser = user.is_staff = True
    user.save()
    client.force_login(user)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    nav = html[html.index('<nav class="topnav"'):html.index("</nav>")]
    hrefs = [reverse(name) for name, _ in old_nav(user)]
    positions = [nav.index(f'href="{href}"') for href in hrefs]
    assert positions == sorted(positions)
    assert html.count('class="brand" href="/"') == 1
    with translation.override(lang):
        expected = labels or [str(_(label)) for _name, label in old_nav(user)]
    for label in expected:
        assert f">{label}</a>" in nav


# ---- a new app: declared, added to INSTALLED_APPS, nothing else -------------------------

fake_router = Router()


@fake_router.get("/ping", auth=None)
def _ping(request):
    return {"pong": True}


def _fake_page(request):
    return HttpResponse("fake")


fake_urls = types.ModuleType("yizhan_fake_app.urls")
fake_urls.app_name = "fakeapp"
fake_urls.urlpatterns = [path("fake/", _fake_page, name="home")]
fake_privacy = types.ModuleType("yizhan_fake_app.privacy")
fake_privacy.EXPORTS = (lambda user: ("fake_rows", []),)
fake_privacy.erase = lambda user: None
fake_jobs = types.ModuleType("yizhan_fake_app.jobs")
CALLS: list[str] = []


class FakeConfig(AppConfig):
    name = "yizhan_fake_app"
    label = "yizhan_fake_app"
    path = str(Path(__file__).parent)
    manifest = m.AppManifest(
        api_router=f"{__name__}.fake_router", api_prefix="/fake", api_order=999,
        urls=[("", "yizhan_fake_app.urls", 5)],
        roles={"fire_marshal": {"fake.inspect"}, "city_admin": {"fake.inspect"}},
        nav=[m.NavEntry("fake", _("消防"), "fakeapp:home", perm="fake.inspect", order=175)],
        demo_loader=f"{__name__}._fake_demo", demo_order=99,
        caches=[f"{__name__}._fake_forget"],
        privacy="yizhan_fake_app.privacy",
        jobs=["yizhan_fake_app.jobs"],
    )


def _fake_demo(*, admin, stdout=None):
    CALLS.append("demo")
    return {"created": 1}


def _fake_forget():
    CALLS.append("forget")


@pytest.fixture
def fake_app(monkeypatch):
    from yizhan.accounts import services

    # AccountsConfig.ready runs again for the new registry and adds the fake app's hooks
    monkeypatch.setattr(services, "EXPORT_HOOKS", list(services.EXPORT_HOOKS))
    monkeypatch.setattr(services, "DELETION_HOOKS", list(services.DELETION_HOOKS))
    package = types.ModuleType("yizhan_fake_app")
    package.__path__ = []
    fake_apps = types.ModuleType("yizhan_fake_app.apps")
    fake_apps.FakeConfig = FakeConfig
    for name, module in [("yizhan_fake_app", package), ("yizhan_fake_app.apps", fake_apps),
                         ("yizhan_fake_app.urls", fake_urls), ("yizhan_fake_app.privacy", fake_privacy),
                         ("yizhan_fake_app.jobs", fake_jobs)]:
        monkeypatch.setitem(sys.modules, name, module)
    CALLS.clear()
    from django.conf import settings

    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, "yizhan_fake_app.apps.FakeConfig"]):
        yield
    clear_url_caches()


def test_a_new_apps_manifest_is_read_from_installed_apps_alone(fake_app):
    assert m.installed_manifests()[-1][0].name == "yizhan_fake_app"
    assert m.api_mounts()[-1] == ("/fake", f"{__name__}.fake_router")
    assert m.url_mounts()[0] == ("", "yizhan_fake_app.urls")  # order 5: before every other page
    assert permissions.ROLE_PERMISSIONS["fire_marshal"] == {"fake.inspect"}
    assert "fake.inspect" in permissions.ROLE_PERMISSIONS["city_admin"]
    assert "reports.configure" in permissions.ROLE_PERMISSIONS["city_admin"]  # merged, not replaced
    assert permissions.ROLE_LEVEL["fire_marshal"] == 0
    assert "yizhan_fake_app.jobs" in m.job_modules()
    assert [c.label for c, _ in m.demo_loaders()][-1] == "yizhan_fake_app"
    m.forget_process_caches()
    assert CALLS == ["forget"]
    assert [mod.__name__ for mod in m.privacy_modules()][-1] == "yizhan_fake_app.privacy"


def test_a_new_apps_router_and_pages_mount_the_way_config_mounts_them(fake_app, client):
    """config/api.py and config/urls.py do exactly this with the installed manifests."""
    api = NinjaAPI(urls_namespace="fake_api")
    for prefix, router in m.api_mounts():
        api.add_router(prefix, router)
    urlconf = types.ModuleType("fake_root_urls")
    urlconf.urlpatterns = [path("api/v1/", api.urls)] + [
        path(prefix, include(module)) for prefix, module in m.url_mounts()]
    with override_settings(ROOT_URLCONF=urlconf):
        clear_url_caches()
        assert client.get("/api/v1/fake/ping").json() == {"pong": True}
        assert client.get("/fake/").content == b"fake"
        assert reverse("stations:finder") == "/"


@pytest.mark.django_db
def test_a_new_apps_nav_entry_shows_for_its_permission(fake_app):
    with override_settings(ROOT_URLCONF=_urlconf_with_fake()):
        clear_url_caches()
        tree = make_jurisdiction_tree()
        marshal = make_staff("fire_marshal", tree.community)
        keys = [entry["key"] for entry in nav_for(marshal) if not entry["key"].startswith(LATER_APPS)]
        assert keys == ["finder", "new", "home", "fake"]
        city = make_staff("city_admin", tree.city)
        keys = [entry["key"] for entry in nav_for(city) if not entry["key"].startswith(LATER_APPS)]
        assert keys[-2:] == ["configure", "fake"]  # order 175: after the settings (170)
        assert "fake" not in [entry["key"] for entry in nav_for(make_worker())]
    clear_url_caches()


def _urlconf_with_fake():
    from yizhan.config import urls

    urlconf = types.ModuleType("fake_root_urls_nav")
    urlconf.urlpatterns = [*urls.urlpatterns, path("", include("yizhan_fake_app.urls"))]
    return urlconf


def test_notification_kinds_come_from_the_manifests():
    """An app declares the kinds it sends (label, SMS, urgent); core/config name none."""
    from yizhan.core import outbox
    from yizhan.core.notifications import kind_label

    declared = m.notification_kinds()
    assert declared["safety_alarm"].sms and declared["safety_alarm"].urgent
    assert "safety_alarm" in outbox.sms_kinds() and "safety_alarm" in outbox.urgent_kinds()
    assert "case_dispatched" in outbox.sms_kinds()  # the settings' kinds stay
    assert kind_label("safety_alarm") == "消防警情"
    assert kind_label("no_such_kind") == "no_such_kind"

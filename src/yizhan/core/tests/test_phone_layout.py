"""Issue 8 (what a new user hit, 6): on a 360×740 phone the sticky header is one row
(≤ 56 px) for every role, its entries behind a keyboard-usable menu; the audit log is a
list of cards with words instead of codes; no staff page scrolls sideways (audit,
figures, dispatch, work, finder)."""

from __future__ import annotations

import re

import pytest

from yizhan.core.audit import audit_record
from yizhan.core.testing.factories import (
    DEFAULT_PASSWORD,
    make_jurisdiction_tree,
    make_staff,
    make_superuser,
)
from yizhan.reports import services
from yizhan.reports.tests.factories import make_category, make_department

pytestmark = [pytest.mark.django_db(transaction=True)]
PHONE = {"width": 360, "height": 740}
ROLES = [("keeper", "community"), ("grid_worker", "grid"), ("handler", "street"), ("duty_officer", "district"),
         ("community_admin", "community"), ("district_admin", "district"), ("auditor", "city")]


@pytest.fixture
def world(settings, tmp_path):
    from types import SimpleNamespace

    from yizhan.core.testing.factories import make_worker
    from yizhan.reports.routing import routing_index_invalidate

    settings.MEDIA_ROOT = str(tmp_path)
    tree = make_jurisdiction_tree()
    users = {role: make_staff(role, getattr(tree, level), username=role) for role, level in ROLES}
    make_superuser(username="root")
    dept = make_department(jurisdiction=tree.district, code="urban", name="城市管理局", members=[users["handler"]])
    cat = make_category("rubbish_exposed", name="暴露垃圾及其他非常长的类别名称用来测试换行", name_en="Rubbish exposed")
    routing_index_invalidate()
    lat, lng = tree.point(tree.grid)
    reporter = make_worker()
    for i in range(3):
        case = services.case_submit(actor=reporter, category=cat.code, lat=lat, lng=lng,
                                    description="路边垃圾堆了三天" * 8 + str(i)).case
        services.case_accept(actor=users["district_admin"], case=case)
    audit_record(actor=users["district_admin"], action="update", object_type="reports.category",
                 object_id="rubbish_exposed_with_a_very_long_identifier_0123456789",
                 summary="x" * 200, jurisdiction_path=tree.city.path, ip="2001:db8::1234:5678:9abc:def0")
    audit_record(actor=users["district_admin"], action="login", object_type="accounts.user", object_id="1",
                 summary="password login")
    return SimpleNamespace(tree=tree, users=users, dept=dept, cat=cat)


def _login(page, base, username):
    page.goto(base + "/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"^(?!.*/accounts/login/).*$"))


def _header_height(page) -> float:
    return page.locator("header.topbar").bounding_box()["height"]


def _scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.browser
def test_header_is_one_row_for_every_role_and_pages_do_not_scroll_sideways(world, browser_page_factory,
                                                                            live_server):
    anon = browser_page_factory(viewport=PHONE)
    anon.goto(live_server.url + "/")
    assert _header_height(anon) <= 56
    for role in [r for r, _ in ROLES] + ["root"]:
        page = browser_page_factory(viewport=PHONE)
        _login(page, live_server.url, role)
        assert _header_height(page) <= 56, role
        assert _scroll_width(page) <= 360, (role, page.url)
        # the menu opens from the keyboard and holds the role's entries
        menu = page.locator("header .menu > summary")
        menu.focus()
        page.keyboard.press("Enter")
        panel = page.locator("header .menu-panel")
        panel.wait_for(state="visible")
        assert panel.get_by_role("link", name="我的", exact=True).is_visible()
        assert _scroll_width(page) <= 360, role
        page.keyboard.press("Enter")
        panel.wait_for(state="hidden")
        page.context.close()

    # English: the longer words still fit one row
    page = browser_page_factory(viewport=PHONE)
    _login(page, live_server.url, "root")
    page.get_by_role("button", name="English").click()
    page.get_by_role("link", name="Yizhan").wait_for()
    for url in ["/dispatch/", "/audit/"]:
        page.goto(live_server.url + url)
        assert _header_height(page) <= 56 and _scroll_width(page) <= 360, url
    page.context.close()

    pages = {"district_admin": ["/audit/", "/dispatch/figures/", "/dispatch/", "/"],
             "auditor": ["/audit/"], "grid_worker": ["/work/", "/"], "handler": ["/work/"],
             "root": ["/audit/", "/dispatch/figures/", "/dispatch/", "/work/", "/"]}
    for role, urls in pages.items():
        page = browser_page_factory(viewport=PHONE)
        _login(page, live_server.url, role)
        for url in urls:
            page.goto(live_server.url + url)
            page.locator("main").wait_for()
            assert _header_height(page) <= 56, (role, url)
            assert _scroll_width(page) <= 360, (role, url, _scroll_width(page))
        page.context.close()


def test_audit_rows_read_as_words_one_language_at_a_time(world, client):
    client.force_login(world.users["auditor"])
    html = client.get("/audit/").content.decode()
    assert "<table" not in html and 'class="audit-list"' in html
    assert "修改 · 类别" in html and "登录 · 用户 #1" in html
    assert "登录 login" not in html and "reports.category" not in html
    html = client.get("/audit/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "登录" not in html.split('class="audit-list"')[1]
    assert "reports.category" not in html

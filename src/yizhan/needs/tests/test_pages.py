"""Browser test of the needs pages at 360 px (Playwright + Debian chromium): a
worker posts a wish, staff approve it, another worker supports it."""

from __future__ import annotations

import re

import pytest

from yizhan.core.testing.factories import (
    DEFAULT_PASSWORD,
    make_jurisdiction_tree,
    make_staff,
    make_worker,
)
from yizhan.needs.models import Wish, WishSupport

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login_as(page, live_server, user):
    """Put a session for ``user`` into the page's browser context (workers log in by SMS code;
    that flow has its own browser test in the stations app)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


def test_wish_posted_approved_and_supported_at_360px(browser_page_factory, live_server):
    tree = make_jurisdiction_tree()
    make_staff("community_admin", tree.community, username="needs_admin", display_name="社区书记")
    author = make_worker(display_name="赵小哥")
    supporter = make_worker(display_name="钱师傅")

    # 1. the worker writes a wish; a missing community is said beside the field, the text kept
    page = browser_page_factory()
    _login_as(page, live_server, author)
    page.goto(live_server.url + "/needs/")
    page.get_by_role("link", name=re.compile("许个心愿")).click()
    page.get_by_label("我的心愿").fill("希望驿站有一台微波炉热饭")
    page.get_by_role("button", name="提交心愿").click()
    page.get_by_text("请选择所在社区").wait_for()
    assert page.get_by_label("我的心愿").input_value() == "希望驿站有一台微波炉热饭"
    page.get_by_label("所在社区").select_option(tree.community.code)
    page.get_by_role("button", name="提交心愿").click()
    page.wait_for_url(re.compile(r"/needs/mine/$"))
    assert "待审核" in page.locator("main").inner_text()
    page.goto(live_server.url + "/needs/")
    assert "希望驿站有一台微波炉热饭" not in page.locator("main").inner_text()  # not before approval

    # 2. staff log in and approve it from the staff page
    staff = browser_page_factory()
    staff.goto(live_server.url + "/needs/staff/")
    assert "/accounts/login/" in staff.url
    staff.get_by_label("用户名").fill("needs_admin")
    staff.get_by_label("密码").fill(DEFAULT_PASSWORD)
    staff.get_by_role("button", name="登录", exact=True).click()
    staff.wait_for_url(re.compile(r"/needs/staff/$"))
    wish = Wish.objects.get()
    card = staff.locator(f"#pending-{wish.pk}")
    assert "希望驿站有一台微波炉热饭" in card.inner_text()
    card.get_by_role("button", name="通过并上墙").click()
    staff.get_by_text("心愿：审核通过").wait_for()
    wish.refresh_from_db()
    assert wish.state == "public"

    # 3. another worker supports it on the wall (htmx swaps the button), once only
    other = browser_page_factory()
    _login_as(other, live_server, supporter)
    other.goto(live_server.url + "/needs/")
    item = other.locator(f"#wish-{wish.pk}")
    assert "希望驿站有一台微波炉热饭" in item.inner_text() and "赵**" in item.inner_text()
    button = item.get_by_role("button", name=re.compile("我也支持"))
    button.focus()
    other.keyboard.press("Enter")  # keyboard works
    item.get_by_role("button", name=re.compile("已支持")).wait_for()
    assert item.locator(".count").inner_text() == "1"
    assert other.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    other.reload()
    assert other.locator(f"#wish-{wish.pk} .count").inner_text() == "1"
    assert WishSupport.objects.filter(wish=wish).count() == 1
    wish.refresh_from_db()
    assert wish.support_count == 1
    other.screenshot(path=_shot("wish-wall"), full_page=True)


def _shot(name: str) -> str:
    import os
    import tempfile

    folder = os.environ.get("YIZHAN_SCREENSHOTS") or os.path.join(tempfile.gettempdir(), "yizhan-shots")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f"needs-{name}.png")

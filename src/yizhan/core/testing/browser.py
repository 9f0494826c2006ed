"""Browser-test fixtures: Playwright driving Debian's chromium (no browser download).

    def test_x(browser_page_factory, live_server):
        page = browser_page_factory(geolocation={"latitude": 31.3, "longitude": 120.4})
        page.goto(live_server.url + "/")

Pages are 360 × 740 (a cheap Android phone), Chinese locale, Asia/Shanghai. When
Playwright or chromium is missing the tests skip with the reason, except under CI
(env ``CI`` set), where they fail: CI must really run them.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
PHONE = {"width": 360, "height": 740}


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


def chromium_path() -> str | None:
    for candidate in (os.environ.get("YIZHAN_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    # pytest-django's live server runs in a thread; Playwright's sync API runs an event
    # loop in this one, which Django's async-safety check would otherwise refuse.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (make test installs it)")
    exe = chromium_path()
    if exe is None:
        _unavailable("chromium is not installed (apt-get install chromium; make test does it as root)")
    pw = sync_playwright().start()
    try:
        instance = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
    except Exception as exc:  # noqa: BLE001 - any launch failure means "no browser"
        pw.stop()
        _unavailable(f"chromium did not start: {exc}")
    yield instance
    instance.close()
    pw.stop()


@pytest.fixture
def browser_page_factory(browser):
    """Make phone-sized pages; every context is closed after the test."""
    contexts = []

    def make(*, geolocation=None, locale="zh-CN", viewport=None, enforce_csp=False):
        # Playwright's wait_for_function evaluates a string in the page, which the site's
        # Content-Security-Policy (no 'unsafe-eval') refuses: these pages bypass the CSP.
        # The policy itself is checked in a real browser, enforced, by
        # core/tests/test_security_headers.py (enforce_csp=True).
        kwargs = {"viewport": viewport or PHONE, "locale": locale, "timezone_id": "Asia/Shanghai",
                  "bypass_csp": not enforce_csp}
        if geolocation:
            kwargs.update(geolocation=geolocation, permissions=["geolocation"])
        context = browser.new_context(**kwargs)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def phone_page(browser_page_factory):
    return browser_page_factory()

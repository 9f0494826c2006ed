"""Chinese first, English second: every message translated, pages switch language."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from yizhan.core.testing.factories import make_jurisdiction_tree

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_english_catalogue_is_complete():
    result = subprocess.run([sys.executable, str(ROOT / "scripts/translate_check.py")], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout[-2000:]


def test_the_checker_notices_a_missing_translation(tmp_path):
    po = tmp_path / "django.po"
    po.write_text('msgid ""\nmsgstr ""\n\nmsgid "驿站"\nmsgstr ""\n\n#, fuzzy\nmsgid "站长"\nmsgstr "Keeper"\n',
                  encoding="utf-8")
    result = subprocess.run([sys.executable, str(ROOT / "scripts/translate_check.py"), str(po)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "untranslated: '驿站'" in result.stdout and "fuzzy: '站长'" in result.stdout


def visible_text(html: str) -> str:
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    html = re.sub(r"(?s)<option\b.*?</option>", " ", html)  # place names are data, not chrome
    html = re.sub(r'<span aria-hidden="true">[^<]*</span>', " ", html)  # the 驿 logo glyph
    html = re.sub(r'lang="zh-CN">[^<]*<', ">", html)  # the "中文" switch is meant to be Chinese
    return re.sub(r"(?s)<[^>]+>", " ", html)


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "words"), [
    ("/accounts/login/", ["Staff login", "Username", "Password"]),
    ("/accounts/otp/", ["Log in with your phone", "Mobile number"]),
    ("/", ["Find", "Open now"]),
])
def test_pages_render_fully_in_english(client, url, words):
    make_jurisdiction_tree()
    client.cookies["django_language"] = "en"
    resp = client.get(url)
    assert resp.status_code == 200
    text = visible_text(resp.content.decode())
    leftover = sorted(set(CJK.findall(text)))
    assert not leftover, f"untranslated Chinese on {url}: {''.join(leftover)}"
    for word in words:
        assert word in text, word


@pytest.mark.django_db
def test_chinese_is_the_default(client):
    resp = client.get("/accounts/login/")
    assert "工作人员登录" in resp.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_language_switch_in_the_browser(browser_page_factory, live_server):
    page = browser_page_factory()
    page.goto(live_server.url + "/accounts/login/")
    assert page.get_by_role("heading", name="工作人员登录").is_visible()
    page.get_by_role("button", name="English").click()
    page.get_by_role("heading", name="Staff login").wait_for()
    assert page.url.endswith("/accounts/login/")  # still on the same page
    assert "Username" in page.inner_text("main")
    page.get_by_role("button", name="中文").click()
    page.get_by_role("heading", name="工作人员登录").wait_for()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "login", "words"), [
    ("/reports/new/", True, ["Snap and report", "Choose a category", "Submit report"]),
    ("/reports/", False, ["Report a problem", "Reports by category", "Reports per month"]),
    ("/needs/", False, ["Wish wall", "Make a wish", "Suggestion box", "Log in to support"]),
])
def test_snap_and_report_and_wish_wall_render_in_english(client, media_root, url, login, words):
    from yizhan.core.testing.factories import make_staff, make_worker
    from yizhan.jurisdictions.models import Jurisdiction
    from yizhan.needs import services as needs
    from yizhan.reports import services as reports
    from yizhan.reports.tests.factories import make_category, make_department

    tree = make_jurisdiction_tree()
    make_category(code="manhole_cover", name="井盖缺失", name_en="Missing manhole cover", kind="component",
                  is_hazard=True)
    make_department(jurisdiction=tree.district, code="urban")
    rider = make_worker(display_name="Zhang")
    lat, lng = tree.point(tree.grid)
    reports.case_submit(actor=rider, category="manhole_cover", lat=lat, lng=lng, photos=[],
                        address="Qingshan Road", description="The cover is gone")
    admin = make_staff("community_admin", tree.community)
    wish = needs.wish_submit(actor=rider, text="A microwave at the station", jurisdiction=tree.community)
    needs.wish_approve(actor=admin, wish=wish)
    if login:
        client.force_login(rider)
    client.cookies["django_language"] = "en"
    resp = client.get(url)
    assert resp.status_code == 200
    text = visible_text(resp.content.decode())
    for name in Jurisdiction.objects.values_list("name", flat=True):  # place names are data
        text = text.replace(name, " ")
    leftover = sorted(set(CJK.findall(text)))
    assert not leftover, f"untranslated Chinese on {url}: {''.join(leftover)}"
    for word in words:
        assert word in text, word

"""The inbox and the notification-settings page: Django client, and one browser test
at 360 px (Playwright + Debian chromium, fixtures from core.testing.browser)."""

from __future__ import annotations

import re

import pytest

from yizhan.core.errors import Message
from yizhan.core.models import ChannelBinding, NotificationPreference
from yizhan.core.notifications import notify
from yizhan.core.testing.factories import DEFAULT_PASSWORD, make_user, make_worker, unique_phone


@pytest.fixture(autouse=True)
def _channels(settings):
    settings.YIZHAN_NOTIFY_CHANNELS = ["sms", "wechat", "webhook"]
    settings.YIZHAN_NOTIFY_ENQUEUE = False


@pytest.mark.django_db
def test_settings_page_needs_a_login(client):
    resp = client.get("/inbox/settings/")
    assert resp.status_code == 302 and "/accounts/" in resp["Location"]


@pytest.mark.django_db
def test_settings_page_shows_masked_phone_and_wechat_state(client):
    worker = make_worker()
    client.force_login(worker)
    html = client.get("/inbox/settings/").content.decode()
    masked = worker.phone[:3] + "****" + worker.phone[-4:]
    assert masked in html and worker.phone not in html
    assert "未绑定" in html and "解除微信绑定" not in html
    assert "工单已超时" in html  # urgent kinds listed
    assert 'name="sms_non_urgent" value="1" checked' in html
    ChannelBinding.objects.create(user=worker, channel="wechat", address="oSECRETOPENID123")
    html = client.get("/inbox/settings/").content.decode()
    assert "已绑定" in html and "解除微信绑定" in html and "oSECRETOPENID123" not in html


@pytest.mark.django_db
def test_turning_non_urgent_sms_off_and_on(client):
    worker = make_worker()
    client.force_login(worker)
    resp = client.post("/inbox/settings/", {"action": "save"})
    assert resp.status_code == 302 and resp["Location"] == "/inbox/settings/?done=saved"
    assert NotificationPreference.objects.get(user=worker).sms_non_urgent is False
    html = client.get(resp["Location"]).content.decode()
    assert "已保存" in html and 'value="1" checked' not in html
    client.post("/inbox/settings/", {"action": "save", "sms_non_urgent": "1"})
    assert NotificationPreference.objects.get(user=worker).sms_non_urgent is True


@pytest.mark.django_db
def test_unbinding_wechat_on_the_page(client):
    worker = make_worker()
    ChannelBinding.objects.create(user=worker, channel="wechat", address="oOPEN123456")
    client.force_login(worker)
    resp = client.post("/inbox/settings/", {"action": "unbind_wechat"})
    assert resp["Location"].endswith("done=unbound")
    assert not ChannelBinding.objects.filter(user=worker).exists()
    assert "已解除微信绑定" in client.get(resp["Location"]).content.decode()


@pytest.mark.django_db
def test_without_a_phone_no_sms_form(client):
    staff = make_user(username="nophone")
    client.force_login(staff)
    html = client.get("/inbox/settings/").content.decode()
    assert "未绑定手机号" in html and 'name="sms_non_urgent"' not in html


@pytest.mark.django_db
def test_channels_not_enabled_on_this_server_are_said(client, settings):
    settings.YIZHAN_NOTIFY_CHANNELS = ["console"]
    client.force_login(make_worker())
    html = client.get("/inbox/settings/").content.decode()
    assert "本服务器目前未开通的渠道不会发送" in html


@pytest.mark.django_db
def test_inbox_still_works_and_links_to_settings(client):
    worker = make_worker()
    notify(user=worker, kind="case_handled", title=Message("已处置，请确认", "Handled, please confirm"),
           url="/reports/c/1/")
    client.force_login(worker)
    html = client.get("/inbox/").content.decode()
    assert "已处置，请确认" in html and 'href="/inbox/settings/"' in html
    client.post("/inbox/", {"all": "1"})
    assert worker.notifications.filter(read_at__isnull=True).count() == 0


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_settings_page_at_360px_by_keyboard(browser_page_factory, live_server):
    phone = unique_phone()
    user = make_user(username="notify_browser", phone=phone, display_name="李师傅", is_staff=True)
    ChannelBinding.objects.create(user=user, channel="wechat", address="oBROWSER1234567")
    page = browser_page_factory()
    page.goto(live_server.url + "/accounts/login/?next=/inbox/settings/")
    page.get_by_label(re.compile("用户名")).fill("notify_browser")
    page.get_by_label(re.compile("密码")).fill(DEFAULT_PASSWORD)
    page.get_by_label(re.compile("密码")).press("Enter")
    page.wait_for_url(re.compile(r"/inbox/settings/$"))
    text = page.locator("main").inner_text()
    assert f"{phone[:3]}****{phone[-4:]}" in text and phone not in text
    assert "已绑定" in text
    # nothing wider than the phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    box = page.get_by_label(re.compile("非紧急消息也发短信")).bounding_box()
    assert box and box["height"] >= 20
    # keyboard only: focus the checkbox, untick it with Space, Tab to Save, Enter
    checkbox = page.get_by_label(re.compile("非紧急消息也发短信"))
    assert checkbox.is_checked()
    checkbox.focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "保存"
    page.keyboard.press("Enter")
    page.get_by_text("已保存").wait_for()
    assert not page.get_by_label(re.compile("非紧急消息也发短信")).is_checked()
    assert NotificationPreference.objects.get(user=user).sms_non_urgent is False
    page.get_by_role("button", name="解除微信绑定").click()
    page.get_by_text("已解除微信绑定").wait_for()
    assert not ChannelBinding.objects.filter(user=user).exists()
    page.screenshot(path=_shot("notification-settings"), full_page=True)


def _shot(name: str) -> str:
    import os
    import tempfile

    folder = os.environ.get("YIZHAN_SCREENSHOTS") or os.path.join(tempfile.gettempdir(), "yizhan-shots")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f"{name}.png")

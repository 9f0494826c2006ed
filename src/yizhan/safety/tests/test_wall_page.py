"""The alarm wall page: what a duty officer sees and does.

The browser test runs the site the way ``yizhan web`` serves it: uvicorn (ASGI) in a
thread of this process, so the stream is the async one. Chromium with the site's
Content-Security-Policy enforced."""

from __future__ import annotations

import gzip
import json
import re
import socket
import threading
import time

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from yizhan.core.testing.factories import make_jurisdiction_tree
from yizhan.safety.choices import AlarmKind, AlarmState, Severity
from yizhan.safety.models import Alarm
from yizhan.safety.tests.conftest import build_safety_tree
from yizhan.safety.tests.wall_data import make_alarm, make_dispatch

WALL = "/safety/wall/"


# ---- without a browser ------------------------------------------------------------------


@pytest.mark.django_db
def test_wall_needs_the_duty_permission(safety_tree, client):
    resp = client.get(WALL)
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")
    client.force_login(safety_tree.grid_worker)
    assert client.get(WALL).status_code == 403
    client.force_login(safety_tree.other_manager)  # duty elsewhere: their own (empty) wall
    resp = client.get(WALL)
    assert resp.status_code == 200 and "东渚出租房1" not in resp.content.decode()


@pytest.mark.django_db
def test_wall_renders_alarms_fire_first_in_text(safety_tree, client):
    st = safety_tree
    battery = make_alarm(st.gas, AlarmKind.LOW_BATTERY, Severity.WARNING, ago=5)
    fire = make_alarm(st.smoke, AlarmKind.FIRE, Severity.CRITICAL, ago=60)
    make_dispatch(fire, st.responders, notified_ago=50)
    client.force_login(st.duty_officer)
    html = client.get(WALL).content.decode()
    ids = re.findall(r'<li class="alarm [^"]*" data-id="(\d+)"', html)
    assert ids == [str(fire.pk), str(battery.pk)]  # fire first though older
    assert "东渚出租房1" in html and "3楼楼道" in html  # where, in words (no map needed)
    state = json.loads(re.search(r'<script id="wall-state" type="application/json">(.*?)</script>', html, re.S)[1])
    assert [a["id"] for a in state["alarms"]] == [fire.pk, battery.pk]
    assert state["dispatches"][0]["alarm"] == fire.pk and len(state["dispatches"][0]["assignments"]) == 2
    assert {r["name"] for r in state["responders"]} == {"网格员", "微站队员"}
    assert state["counts"]["fire"] == 1 and state["cursor"].isdigit()
    assert "<script>" not in html and " onclick=" not in html  # CSP: no inline script or handler


@pytest.mark.django_db
def test_wall_weighs_under_200_kb_gzipped_before_tiles(safety_tree, client):
    """HTML, CSS, scripts, the beep and the first cells (map tiles aside), gzipped."""
    client.force_login(safety_tree.duty_officer)
    make_alarm(safety_tree.smoke, AlarmKind.FIRE)
    html = client.get(WALL).content
    text = html.decode()
    assert not re.search(r'(?:src|href)="(?:https?:)?//', text)  # nothing from a CDN
    refs = set(re.findall(r'(?:src|href)="(/static/[^"#?]+)', text)) | {"/static/safety/alarm.wav"}
    assert any(r.endswith("leaflet.js") for r in refs) and any(r.endswith("safety/wall.js") for r in refs)
    total = len(gzip.compress(html)) + len(gzip.compress(client.get("/safety/wall/cells.json").content))
    for ref in sorted(refs):
        path = finders.find(ref.removeprefix("/static/"))
        assert path, f"{ref} is linked but not found"
        with open(path, "rb") as fh:
            total += len(gzip.compress(fh.read()))
    assert total < 200 * 1024, total


# ---- in a browser, over uvicorn ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def asgi_server(transactional_db, settings):
    """The site under uvicorn in a thread (static files from the finders)."""
    import uvicorn
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    settings.YIZHAN_WALL_STREAM_SECONDS = 30
    port = _free_port()
    config = uvicorn.Config(ASGIStaticFilesHandler(get_asgi_application()), host="127.0.0.1", port=port,
                            lifespan="off", log_level="warning", ws="none", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="wall-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _login(page, url, user):
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}])


def _csp_watch(page) -> list[str]:
    problems = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def test_wall_live_alarm_ack_and_phone(browser_page_factory, asgi_server):
    st = build_safety_tree(make_jurisdiction_tree())

    # 1920 × 1080: an alarm written after the page loaded shows up without reload; acknowledged from the wall
    page = browser_page_factory(viewport={"width": 1920, "height": 1080}, enforce_csp=True)
    problems = _csp_watch(page)
    _login(page, asgi_server, st.duty_officer)
    page.goto(asgi_server + WALL)
    page.wait_for_selector("#wall[data-live='1']")
    page.wait_for_selector("#wall-map[data-cells]")
    assert page.locator("#alarm-list .empty").count() == 1
    fire = make_alarm(st.smoke, AlarmKind.FIRE, Severity.CRITICAL)
    item = page.locator(f".alarm[data-id='{fire.pk}']")
    item.wait_for(timeout=8000)
    assert "火警" in item.inner_text() and "东渚出租房1" in item.inner_text()
    page.wait_for_selector("#count-alarm:text('1')")
    page.locator("#sound-toggle").click()  # the officer's first gesture: sound enabled
    assert page.locator("#sound-toggle").get_attribute("aria-pressed") == "true"
    item.locator("button[data-act='acknowledge']").click()
    page.wait_for_selector(f".alarm.s-acknowledged[data-id='{fire.pk}']")
    fire.refresh_from_db()
    assert fire.state == AlarmState.ACKNOWLEDGED and fire.acknowledged_by_id == st.duty_officer.pk
    assert problems == []
    page.close()

    # 360 px: nothing wider than the screen; the alarm cleared with a tap
    phone = browser_page_factory(enforce_csp=True)
    problems = _csp_watch(phone)
    _login(phone, asgi_server, st.duty_officer)
    phone.goto(asgi_server + WALL)
    phone.wait_for_selector("#wall[data-live='1']")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    clear = phone.locator(f".alarm[data-id='{fire.pk}'] button[data-act='clear']")
    box = clear.bounding_box()
    assert box and box["height"] >= 40 and box["x"] + box["width"] <= 360
    clear.click()
    phone.locator(f".alarm[data-id='{fire.pk}']").wait_for(state="detached")
    assert Alarm.objects.get(pk=fire.pk).state == AlarmState.CLEARED
    assert phone.locator("#alarm-list .empty").count() == 1
    assert problems == []
    phone.close()

"""Headers and trust (issue 8, availability 7): a Content-Security-Policy on every
response (self, plus the configured tile host), HSTS in production, and `yizhan web`
believes X-Forwarded-For only from configured proxies, so the audit IP and the per-IP
login-code limit see the real client address."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from yizhan.accounts.models import OneTimeCode
from yizhan.core.management.commands.web import uvicorn_options
from yizhan.core.models import AuditLog
from yizhan.core.security import tile_source
from yizhan.core.testing.factories import unique_phone
from yizhan.core.testing.matrix import api_json, assert_error

SRC = Path(__file__).resolve().parents[2]  # src/yizhan


def csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in header.split(";")) if d}


# ---- Content-Security-Policy ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/accounts/login/", "/api/v1/docs", "/static/favicon.svg",
                                 "/api/v1/openapi.json"])
def test_every_response_has_a_strict_policy(client, url):
    resp = client.get(url)
    assert resp.status_code == 200, url
    policy = csp(resp)
    assert policy["default-src"] == ["'self'"] and policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["style-src"] and "'unsafe-eval'" not in " ".join(sum(policy.values(), []))


@pytest.mark.django_db
def test_inline_style_blocks_carry_the_request_nonce(client):
    resp = client.get("/accounts/login/")
    nonce = next(s for s in csp(resp)["style-src"] if s.startswith("'nonce-"))[7:-1]
    html = resp.content.decode()
    styles = re.findall(r"<style[^>]*>", html)
    assert styles and all(f'nonce="{nonce}"' in tag for tag in styles), styles
    again = csp(client.get("/accounts/login/"))["style-src"]
    assert f"'nonce-{nonce}'" not in again  # a fresh nonce per response


def test_templates_hold_no_inline_script_or_handler_and_every_style_block_has_the_nonce():
    offenders = []
    for path in SRC.rglob("templates/**/*.html"):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and "application/json" not in tag:
                offenders.append(f"{path}: inline script {tag}")
        for tag in re.findall(r"<style\b[^>]*>", text):
            if 'nonce="{{ request.csp_nonce }}"' not in tag:
                offenders.append(f"{path}: style without nonce {tag}")
        for attr in re.findall(r"\son[a-z]+\s*=\s*[\"']", text):
            offenders.append(f"{path}: inline handler {attr}")
        if "hx-on" in text or "js:" in text:
            offenders.append(f"{path}: htmx eval (hx-on / js:)")
    assert offenders == []


@pytest.mark.django_db
def test_the_configured_tile_host_may_serve_images(client, settings):
    settings.YIZHAN_TILE_URL = "https://{s}.tile.example.org/{z}/{x}/{y}.png"
    policy = csp(client.get("/"))
    assert "https://*.tile.example.org" in policy["img-src"]
    assert "https://*.tile.example.org" not in policy["script-src"] + policy["connect-src"]
    settings.YIZHAN_TILE_URL = ""
    assert csp(client.get("/"))["img-src"] == ["'self'", "data:", "blob:"]


@pytest.mark.parametrize("url, source", [
    ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
    ("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", "https://*.tile.openstreetmap.org"),
    ("https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}", "https://*.is.autonavi.com"),
    ("http://t{s}.tianditu.gov.cn/vec_w/wmts?tk=KEY", "http://*.tianditu.gov.cn"),
    ("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:8080"),
    ("https://{s}.example.org/{z}/{x}/{y}.png", "https://*.example.org"),
    ("https://{s}.org/{z}/{x}/{y}.png", ""),  # never a wildcard over a top-level domain
    ("", ""), ("javascript:alert(1)", ""), ("/tiles/{z}/{x}/{y}.png", ""),
])
def test_tile_source(url, source):
    assert tile_source(url) == source


@pytest.mark.django_db
def test_extra_directives_and_report_only(client, settings):
    settings.YIZHAN_CSP_EXTRA = "img-src https://cdn.example.org; report-uri /csp-report"
    settings.YIZHAN_CSP_REPORT_ONLY = True
    resp = client.get("/")
    assert "Content-Security-Policy" not in resp
    header = resp["Content-Security-Policy-Report-Only"]
    assert "https://cdn.example.org" in header and "report-uri /csp-report" in header


# ---- HSTS ----------------------------------------------------------------------------------------


def _settings_in(env: dict, *names: str) -> list[str]:
    code = ("import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'yizhan.config.settings');"
            "from django.conf import settings; print(" + ",".join(f"repr(settings.{n})" for n in names) + ")")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("YIZHAN_HSTS", "YIZHAN_ENV", "YIZHAN_TRUSTED"))}
    out = subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True,
                         timeout=60, check=True)
    return out.stdout.split()


def test_hsts_is_on_in_production_only():
    assert _settings_in({"YIZHAN_ENV": "production", "SECRET_KEY": "x" * 50}, "SECURE_HSTS_SECONDS") == ["31536000"]
    assert _settings_in({"YIZHAN_ENV": "development"}, "SECURE_HSTS_SECONDS") == ["0"]


@pytest.mark.django_db
def test_hsts_header_on_https_responses(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    assert client.get("/", secure=True)["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/")  # never over plain HTTP


# ---- whose address: the client's, not a header's -------------------------------------------------


def test_uvicorn_trusts_no_proxy_headers_unless_configured(settings):
    settings.YIZHAN_TRUSTED_PROXIES = []
    assert uvicorn_options() == {"proxy_headers": False}
    settings.YIZHAN_TRUSTED_PROXIES = ["10.0.0.2", "192.168.0.0/24"]
    assert uvicorn_options() == {"proxy_headers": True, "forwarded_allow_ips": "10.0.0.2,192.168.0.0/24"}


def test_trusted_proxies_setting_is_read_from_the_environment():
    assert _settings_in({}, "YIZHAN_TRUSTED_PROXIES") == ["[]"]
    assert _settings_in({"YIZHAN_TRUSTED_PROXIES": "10.0.0.2, 10.1.0.0/16"}, "YIZHAN_TRUSTED_PROXIES") == \
        ["['10.0.0.2',", "'10.1.0.0/16']"]


@pytest.mark.django_db
def test_otp_per_ip_limit_and_audit_use_the_peer_address_not_x_forwarded_for(client, settings):
    settings.YIZHAN_OTP_PER_IP_PER_HOUR = 2
    peer = "198.51.100.7"
    for n in range(2):
        resp = api_json(client, "post", "/api/v1/accounts/otp/request", {"phone": unique_phone()},
                        REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
        assert resp.status_code == 200, resp.content
    codes = OneTimeCode.objects.count()
    resp = api_json(client, "post", "/api/v1/accounts/otp/request", {"phone": unique_phone()},
                    REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert_error(resp, 429, "otp_rate_limited")
    assert OneTimeCode.objects.count() == codes  # nothing written
    assert set(OneTimeCode.objects.values_list("ip", flat=True)) == {peer}
    api_json(client, "post", "/api/v1/accounts/otp/verify", {"phone": unique_phone(), "code": "000000"},
             REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR="203.0.113.50")
    assert AuditLog.objects.filter(action="login_failed").values_list("ip", flat=True).get() == peer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_and_ask(tmp_path: Path, trusted: str) -> tuple[str, dict]:
    """Start `yizhan web` on a free port (127.0.0.1, bounded), send one request with a
    spoofed X-Forwarded-For, return its access-log line and the response headers."""
    port, log = _free_port(), tmp_path / f"web-{trusted or 'none'}.log"
    env = {**os.environ, "YIZHAN_VAR_DIR": str(tmp_path / "var"), "YIZHAN_TRUSTED_PROXIES": trusted,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'web.sqlite3'}", "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as out:
        web = subprocess.Popen([sys.executable, "-m", "yizhan", "web", "--port", str(port)],
                               stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while "Uvicorn running" not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline and web.poll() is None, log.read_text(errors="replace")
            time.sleep(0.2)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/static/favicon.svg",
                                     headers={"X-Forwarded-For": "203.0.113.66", "X-Forwarded-Proto": "https"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            headers = dict(resp.headers)
        deadline = time.monotonic() + 10
        while "favicon.svg" not in log.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.1)
        line = next(ln for ln in log.read_text(errors="replace").splitlines() if "favicon.svg" in ln)
        return line, headers
    finally:
        web.terminate()
        try:
            web.wait(timeout=15)
        except subprocess.TimeoutExpired:
            web.kill()
            web.wait(timeout=5)


@pytest.mark.skipif(not Path(django_settings.BASE_DIR, "static", "favicon.svg").exists(), reason="no favicon")
def test_yizhan_web_ignores_x_forwarded_for_unless_the_proxy_is_trusted(tmp_path):
    line, headers = _serve_and_ask(tmp_path, "")
    assert "127.0.0.1:" in line and "203.0.113.66" not in line, line
    assert "Content-Security-Policy" in headers and "Strict-Transport-Security" not in headers
    line, _ = _serve_and_ask(tmp_path, "127.0.0.1")
    assert "203.0.113.66" in line, line  # a configured proxy is believed


# ---- in a real browser, the policy enforced: the pages still work --------------------------------

TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a5b1d8f60000000049454e44ae426082")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_break_no_rule_of_the_policy_in_a_browser(browser_page_factory, live_server, settings):
    """Public and staff pages, the CSP enforced (no bypass): no violation and no script
    error in the console; map tiles from the configured host are allowed."""
    from yizhan.core.testing.factories import DEFAULT_PASSWORD, make_jurisdiction_tree, make_staff
    from yizhan.reports.tests.factories import make_case, make_category, make_department
    from yizhan.stations.tests.factories import make_station

    settings.YIZHAN_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    tree = make_jurisdiction_tree()
    station = make_station(tree.community)
    make_department(jurisdiction=tree.district, code="urban")
    cat = make_category("csp_manhole", name="井盖缺失", department_code="urban")
    make_case(category=cat, jurisdiction=tree.grid)
    make_staff("district_admin", tree.district, username="csp_admin")

    page = browser_page_factory(enforce_csp=True)
    problems, tiles = [], []
    page.on("console", lambda m: problems.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))

    def tile(route):
        tiles.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=TINY_PNG)

    page.route("https://tile.openstreetmap.org/**", tile)
    public = ["/", f"/stations/{station.code}/", "/reports/", "/accounts/login/", "/api/v1/docs"]
    for path in public:
        page.goto(live_server.url + path, wait_until="load")
        page.wait_for_timeout(300)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill("csp_admin")
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.get_by_label("密码").press("Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    staff = ["/dispatch/", "/dispatch/figures/", "/dispatch/settings/", "/dispatch/settings/categories/",
             "/inbox/settings/", "/manage/stations/", "/manage/coverage/"]
    for path in staff:
        resp = page.goto(live_server.url + path, wait_until="load")
        assert resp.status == 200, path
        page.wait_for_timeout(300)
    csp_problems = [p for p in problems if "Content Security Policy" in p or "Refused" in p]
    assert csp_problems == [], "\n".join(csp_problems)
    assert [p for p in problems if "tile.openstreetmap.org" not in p] == []
    assert tiles, "no map tile was requested: the tile host is not allowed or no map drew"

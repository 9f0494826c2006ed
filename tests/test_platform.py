"""Cross-cutting checks: the OpenAPI contract, page weight, migrations."""

import gzip
import json
import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db
SNAPSHOT = Path(__file__).with_name("openapi_snapshot.json")


def test_openapi_document_and_docs_page_are_served(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    paths = resp.json()["paths"]
    for path in ["/api/v1/stations/nearby", "/api/v1/stations/coverage", "/api/v1/stations/export.geojson",
                 "/api/v1/stations/checkins", "/api/v1/accounts/otp/request", "/api/v1/jurisdictions/locate",
                 "/api/v1/core/audit"]:
        assert path in paths, path
    assert client.get("/api/v1/docs").status_code == 200


def _contract(doc: dict) -> dict:
    """What clients depend on: each operation's parameters, body and response codes."""
    out = {}
    for path, ops in sorted(doc["paths"].items()):
        for method, op in sorted(ops.items()):
            out[f"{method.upper()} {path}"] = {
                "params": sorted(f"{p['in']}:{p['name']}{'*' if p.get('required') else ''}"
                                 for p in op.get("parameters", [])),
                "body": sorted((op.get("requestBody") or {}).get("content", {})),
                "responses": sorted(op.get("responses", {})),
            }
    return out


def test_openapi_snapshot(client):
    """API changes must be deliberate: regenerate with UPDATE_SNAPSHOTS=1 and review the diff."""
    current = _contract(client.get("/api/v1/openapi.json").json())
    if os.environ.get("UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(current, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


def test_schema_names_are_unique_so_the_document_does_not_lie():
    """Two schemas with one name: only one reaches components/schemas, and the other
    app's operations are documented with the wrong shape (issue 8: CategoryOut, PhotoOut,
    StaffListOut and SupportOut). A shared name is allowed only for the same shape."""
    import importlib
    import pkgutil

    from ninja import Schema

    import yizhan

    seen: dict[str, tuple[str, dict]] = {}
    for info in pkgutil.walk_packages(yizhan.__path__, "yizhan."):
        parts = info.name.split(".")
        if not {"schemas", "api"} & set(parts[2:]) or ".tests" in info.name:  # modules and packages
            continue
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Schema) and obj.__module__ == info.name:
                shape = obj.model_json_schema()
                if obj.__name__ in seen:
                    where, other = seen[obj.__name__]
                    assert other == shape, f"{obj.__name__} in {where} and {info.name} differ"
                seen[obj.__name__] = (info.name, shape)


@pytest.mark.parametrize("method, path, component, field", [
    ("get", "/api/v1/needs/categories", "SuggestionCategoryOut", "label"),
    ("get", "/api/v1/reports/categories/{code}", "CaseCategoryOut", "clock"),
    ("post", "/api/v1/reports/photos/{photo_id}/approve", "CasePhotoOut", "stage"),
    ("post", "/api/v1/stations/{code}/photos", "PhotoOut", None),
    ("get", "/api/v1/reports/cases", "CaseStaffListOut", "items"),
    ("get", "/api/v1/accounts/staff", "StaffListOut", "items"),
    ("post", "/api/v1/reports/cases/{number}/support", "CaseSupportOut", "number"),
    ("post", "/api/v1/needs/wishes/{wish_id}/support", "WishSupportOut", "support_count"),
])
def test_the_six_operations_point_at_their_own_schema(client, method, path, component, field):
    doc = client.get("/api/v1/openapi.json").json()
    op = doc["paths"][path][method]
    ok = next(v for k, v in op["responses"].items() if k.startswith("2"))
    assert component in json.dumps(ok["content"]["application/json"]["schema"]), (path, ok)
    if field:
        assert field in doc["components"]["schemas"][component]["properties"], component


RATE_LIMITED = {("post", "/api/v1/accounts/otp/request"), ("post", "/api/v1/accounts/otp/verify"),
                ("post", "/api/v1/needs/suggestions")}


def test_every_operation_documents_its_errors_with_the_error_schema(client):
    doc = client.get("/api/v1/openapi.json").json()
    err = doc["components"]["schemas"]["ErrorOut"]
    assert set(err["required"]) == {"code", "message"} and "field" in err["properties"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            assert {"400", "500"} <= codes, (method, path)
            if any(p["in"] == "path" for p in op.get("parameters", [])):
                assert "404" in codes, (method, path)
            if method in ("post", "put", "patch"):
                assert "413" in codes, (method, path)
            if (method, path) in RATE_LIMITED:
                assert "429" in codes, (method, path)
            for code in codes - {"200", "201", "204"}:
                schema = op["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, code)


def test_migrations_are_complete():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_finder_page_transfers_under_200_kb_compressed(client):
    """The finder with every CSS/JS file it loads, gzip-compressed, before map tiles."""
    resp = client.get("/")
    assert resp.status_code == 200
    html = resp.content
    total = len(gzip.compress(html))
    assets = set(re.findall(rb'(?:src|href)="(/static/[^"]+\.(?:js|css))"', html))
    assert assets, "the finder should load its scripts and styles"
    for url in assets:
        asset = client.get(url.decode())
        assert asset.status_code == 200, url
        body = b"".join(asset.streaming_content) if asset.streaming else asset.content
        total += len(gzip.compress(body))
    assert total < 200 * 1024, f"finder transfers {total / 1024:.0f} KB compressed"


# ---------------------------------------------------------------- page weight, as served


def _pages() -> list[tuple[str, str | None]]:
    """(url, who) for every HTML page of the product, filled from the demo district.
    ``who`` is a username, the demo worker's phone or None (anonymous)."""
    from yizhan.demo.services import DEMO_WORKER_PHONE
    from yizhan.jurisdictions.models import Jurisdiction
    from yizhan.needs.models import Forum, Need, Suggestion
    from yizhan.reports.models import Department, ReplyTemplate
    from yizhan.stations.models import Station
    from yizhan.stations.qr import qr_token_for

    station = Station.objects.filter(code="ST-SZ-0001").first() or Station.objects.order_by("code").first()
    from yizhan.reports.selectors.cases import case_public_list

    public_case = case_public_list().order_by("id").first()
    district = Jurisdiction.objects.filter(code="SZ-GX").first()
    worker, admin, keeper = DEMO_WORKER_PHONE, "admin", "demo-keeper-st-sz-0001"
    pages = [
        # public
        ("/", None), (f"/?lat={station.lat}&lng={station.lng}", None), (f"/stations/{station.code}/", None),
        ("/accounts/login/", None), ("/accounts/otp/", None), ("/reports/", None),
        (f"/reports/c/{public_case.number}/", None), ("/needs/", None), ("/needs/track/", None),
        # a worker
        ("/accounts/me/", worker), ("/inbox/", worker), ("/inbox/settings/", worker), ("/reports/new/", worker),
        ("/reports/mine/", worker), ("/needs/wishes/new/", worker), ("/needs/suggest/", worker),
        ("/needs/mine/", worker), (f"/c/{qr_token_for(station=station)}/", worker),
        # staff
        ("/keeper/", keeper), (f"/keeper/stations/{station.code}/", keeper), (f"/keeper/stations/{station.code}/qr/", keeper),
        ("/manage/stations/", admin), ("/manage/stations/new/", admin), (f"/manage/stations/{station.code}/edit/", admin),
        ("/manage/import/", admin), (f"/manage/coverage/?jurisdiction={district.code}&mode=walk", admin),
        ("/audit/", admin), ("/accounts/tokens/", admin), ("/work/", "demo-grid-sz-gx-dz-c02-g03"),
        (f"/work/c/{public_case.number}/", admin), ("/dispatch/", admin), (f"/dispatch/c/{public_case.number}/", admin),
        ("/dispatch/figures/", admin), ("/dispatch/settings/", admin), ("/dispatch/settings/categories/", admin),
        ("/dispatch/settings/categories/manhole_cover/", admin), ("/dispatch/settings/calendar/", admin),
        ("/dispatch/settings/departments/", admin), ("/dispatch/settings/duty/", admin),
        ("/dispatch/settings/templates/", admin), ("/needs/staff/", admin), ("/needs/staff/forums/new/", admin),
    ]
    for model, url in ((Department, "/dispatch/settings/departments/{}/"), (ReplyTemplate, "/dispatch/settings/templates/{}/"),
                       (Suggestion, "/needs/staff/suggestions/{}/"), (Forum, "/needs/staff/forums/{}/"),
                       (Need, "/needs/staff/needs/{}/")):
        obj = model.objects.order_by("pk").first()
        if obj is not None:
            pages.append((url.format(obj.pk), admin))
    return pages


class _ServedAsMakeRun:
    """The app in a thread on 127.0.0.1 with ``make run``'s static set-up: DEBUG on,
    collectstatic done, WhiteNoise in front (no test static handler)."""

    def __init__(self):
        from django.db import connections
        from django.test.testcases import LiveServerThread

        self.shared = [c for c in connections.all() if c.vendor == "sqlite" and c.is_in_memory_db()]
        for conn in self.shared:
            conn.inc_thread_sharing()
        self.thread = LiveServerThread("127.0.0.1", lambda handler: handler,
                                       connections_override={c.alias: c for c in self.shared}, port=0)
        self.thread.daemon = True
        self.thread.start()
        self.thread.is_ready.wait()
        if self.thread.error:
            raise self.thread.error
        self.url = f"http://127.0.0.1:{self.thread.port}"

    def stop(self):
        self.thread.terminate()
        for conn in self.shared:
            conn.dec_thread_sharing()


def _session_cookie(who: str) -> str:
    from django.test import Client

    from yizhan.accounts.models import User

    user = User.objects.get(phone=who) if who.isdigit() else User.objects.get(username=who)
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_page_downloads_under_200_kb_from_a_server_set_up_as_make_run(
        settings, tmp_path, browser):
    """What a phone really downloads on a cold cache: the page, its CSS, scripts, sprite,
    favicon, images and what its scripts fetch, gzip-compressed on the wire, map tiles
    aside; static files hashed and cached for a year. /api/v1/docs (Swagger UI, for
    developers) is the one page left out."""
    from yizhan.core.staticfiles import collect
    from yizhan.demo.services import demo_load

    settings.DEBUG = True  # make run
    settings.STATIC_ROOT = str(tmp_path / "staticfiles")
    collect()
    demo_load()
    pages = _pages()
    server = _ServedAsMakeRun()
    weights, problems = {}, []
    try:
        for url, who in pages:
            context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
            if who:
                context.add_cookies([{"name": "sessionid", "value": _session_cookie(who), "url": server.url}])
            page = context.new_page()
            page.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())  # tiles, if any
            done: list = []

            def finished(req, done=done):
                done.append(req)

            page.on("requestfinished", finished)
            resp = page.goto(server.url + url, wait_until="load")
            assert resp is not None and resp.status == 200, (url, who, resp and resp.status)
            page.wait_for_load_state("networkidle")
            total = 0
            for req in done:
                sizes = req.sizes()
                total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
                r = req.response()
                path = req.url.removeprefix(server.url)
                if r is None or not path.startswith("/static/"):
                    continue
                headers = r.headers
                if re.search(r"\.[0-9a-f]{12}\.\w+$", path.split("?")[0]) is None:
                    problems.append(f"{url}: {path} is not a hashed name")
                elif "immutable" not in headers.get("cache-control", ""):
                    problems.append(f"{url}: {path} cache-control {headers.get('cache-control')!r}")
                if path.endswith((".js", ".css", ".svg")) and sizes["responseBodySize"] > 1024 \
                        and headers.get("content-encoding") not in ("gzip", "br"):
                    problems.append(f"{url}: {path} sent uncompressed ({sizes['responseBodySize']} B)")
            weights[url] = total
            context.close()
    finally:
        server.stop()
    report = "\n".join(f"{w / 1024:6.1f} KB  {u}" for u, w in sorted(weights.items(), key=lambda x: -x[1]))
    print("\npage weights as served by make run:\n" + report)
    assert not problems, "\n".join(sorted(set(problems)))
    heavy = {u: w for u, w in weights.items() if w >= 200 * 1024}
    assert not heavy, report

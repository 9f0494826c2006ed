"""/api/v1/docs works offline: Swagger UI is vendored (static/vendor/swagger-ui, npm
swagger-ui-dist via scripts/vendor_frontend.sh), never fetched from a CDN (issue 8,
"what a new user hit" 5)."""

from __future__ import annotations

import re

import pytest


@pytest.mark.django_db
def test_docs_page_links_only_local_files(client):
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html), "the docs page must not use a CDN"
    refs = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any(r.endswith("swagger-ui-bundle.js") for r in refs) and any(r.endswith("swagger-ui.css") for r in refs)
    for ref in refs:
        assert client.get(ref).status_code == 200, ref


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_docs_page_renders_the_operations_with_no_outside_request(browser_page_factory, live_server):
    page = browser_page_factory(viewport={"width": 1024, "height": 800})
    outside: list[str] = []

    def block(route):
        outside.append(route.request.url)
        route.abort()

    page.route(re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/])"), block)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + "/api/v1/docs")
    page.locator(".opblock").first.wait_for(timeout=30_000)
    assert page.locator(".opblock").count() > 20
    assert page.locator(".opblock-summary-path", has_text="/api/v1/stations/nearby").count() >= 1
    assert "Yizhan" in page.locator(".info .title").inner_text()
    assert not outside, outside
    assert not errors, errors

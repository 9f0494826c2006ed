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

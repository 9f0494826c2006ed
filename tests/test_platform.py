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
        if not info.name.endswith((".schemas", ".api")) or ".tests" in info.name:
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

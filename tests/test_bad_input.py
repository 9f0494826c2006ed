"""Issue 8, "500s on bad input": every input below answers a 4xx with the error shape
``{"code", "message": {"zh", "en"}, "field"}`` (pages a plain 400), nothing is written,
and an unexpected error in the API answers the same shape with an ``error_id`` that is
also in the log. pytest-django runs with DEBUG off, i.e. as in production."""

from __future__ import annotations

import json
import logging

import pytest
from django.apps import apps

from yizhan.core.schemas import MAX_OFFSET, MAX_PAGE
from yizhan.core.testing.factories import bearer, make_superuser
from yizhan.core.testing.matrix import assert_error

pytestmark = pytest.mark.django_db
API = "/api/v1"
HUGE = 2**63


def rows() -> dict[str, int]:
    """How many rows every table holds: a refused request changes none of them."""
    return {m._meta.label: m._default_manager.count() for m in apps.get_models() if m._meta.managed}


@pytest.fixture
def root():
    return bearer(make_superuser())


@pytest.fixture(scope="module")
def doc(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        return Client().get(f"{API}/openapi.json").json()


def operations(doc, method: str):
    for path, ops in sorted(doc["paths"].items()):
        if method in ops:
            yield path, ops[method]


def paged_lists(doc) -> list[str]:
    return [path for path, op in operations(doc, "get")
            if any(p["name"] == "offset" for p in op.get("parameters", []))]


def test_every_list_is_paged_with_documented_bounds(doc):
    lists = paged_lists(doc)
    assert len(lists) >= 15, lists
    for path, op in operations(doc, "get"):
        params = {p["name"]: p["schema"] for p in op.get("parameters", [])}
        if "offset" in params:  # (nearby has its own limit: 1–100 nearest, no paging)
            assert params["limit"]["minimum"] == 1 and params["limit"]["maximum"] <= MAX_PAGE, path
            assert params["offset"]["minimum"] == 0 and params["offset"]["maximum"] == MAX_OFFSET, path


@pytest.mark.parametrize("query, field", [
    (f"offset={HUGE}", "offset"), (f"offset={MAX_OFFSET + 1}", "offset"), ("offset=-1", "offset"),
    ("limit=-1", "limit"), ("limit=0", "limit"), (f"limit={MAX_PAGE + 1}", "limit"), (f"limit={HUGE}", "limit"),
])
def test_paging_out_of_range_is_400_on_every_list(client, doc, root, query, field):
    before = rows()
    for path in paged_lists(doc):
        assert_error(client.get(f"{path}?{query}", headers=root), 400, "invalid", field)
    assert rows() == before


def test_the_three_lists_without_a_cap_now_refuse_a_large_limit(client, root):
    for path in ("/reports/cases/public", "/reports/cases", "/stations/"):
        assert_error(client.get(f"{API}{path}?limit=500", headers=root), 400, "invalid", "limit")
        assert client.get(f"{API}{path}?limit={MAX_PAGE}", headers=root).status_code == 200, path


def test_owner_must_be_me_or_an_id(client, root):
    before = rows()
    assert_error(client.get(f"{API}/needs/needs?owner=abc", headers=root), 400, "invalid", "owner")
    assert_error(client.get(f"{API}/needs/needs?owner={HUGE}0", headers=root), 400, "invalid", "owner")
    assert client.get(f"{API}/needs/needs?owner=me", headers=root).status_code == 200
    assert client.get(f"{API}/needs/needs?owner=12", headers=root).status_code == 200
    assert rows() == before


def _json_writes(doc):
    """Every operation taking a JSON body, with a body whose every string is ``text``."""
    for method in ("post", "put", "patch"):
        for path, op in operations(doc, method):
            content = (op.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                url = path.replace("{", "").replace("}", "")  # any path value: the guard answers first
                yield method, url


BAD_TEXT = {
    "lone surrogate": '{"text": "x\\ud800y", "title": "x", "name": "x", "description": "x\\udfffy"}',
    "NUL": '{"text": "x\\u0000y", "title": "x", "name": "x\\u0000", "description": "x"}',
    "key with NUL": '{"x\\u0000": 1}',
    "nested": '{"details": {"a": ["ok", "x\\ud800"]}}',
}


@pytest.mark.parametrize("kind", BAD_TEXT)
def test_bad_text_in_any_json_body_is_400(client, doc, root, kind):
    before = rows()
    writes = list(_json_writes(doc))
    assert len(writes) >= 20
    for method, url in writes:
        resp = getattr(client, method)(url, data=BAD_TEXT[kind], content_type="application/json", headers=root)
        assert_error(resp, 400, "invalid_characters")
    assert rows() == before


def test_lone_surrogate_names_the_field(client):
    before = rows()
    resp = client.post(f"{API}/needs/suggestions", data='{"category": "other", "text": "x\\ud800y"}',
                       content_type="application/json")
    assert_error(resp, 400, "invalid_characters", "text")
    assert rows() == before


def test_nul_in_query_parameters_is_400_on_every_get(client, doc, root):
    before = rows()
    for path, op in operations(doc, "get"):
        url = path.replace("{", "").replace("}", "")
        strings = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
        for name in strings or ["x"]:
            assert_error(client.get(url, {name: "a\x00b"}, headers=root), 400, "invalid_characters",
                         name)
    assert rows() == before


def test_nul_in_path_form_and_header(client, root):
    before = rows()
    assert_error(client.get(f"{API}/stations/a%00b"), 400, "invalid_characters", "path")
    assert_error(client.post(f"{API}/reports/cases", {"category": "x", "description": "a\x00b"}, headers=root),
                 400, "invalid_characters", "description")
    assert_error(client.post(f"{API}/reports/cases", data="{}", content_type="application/json",
                             headers={**root, "Idempotency-Key": "k\x00"}), 400, "invalid_characters")
    assert rows() == before


def test_json_body_over_the_upload_limit_is_413(client, root, settings):
    before = rows()
    body = json.dumps({"category": "other", "text": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    assert_error(client.post(f"{API}/needs/suggestions", data=body, content_type="application/json"),
                 413, "body_too_large")
    assert_error(client.post(f"{API}/reports/cases", data=body, content_type="application/json", headers=root),
                 413, "body_too_large")
    assert rows() == before


def test_multipart_without_a_boundary_is_400(client, root):
    before = rows()
    for url in (f"{API}/reports/cases", f"{API}/stations/import", f"{API}/reports/cases/X/actions/accept"):
        resp = client.post(url, data=b"--x\r\n", content_type="multipart/form-data", headers=root)
        assert_error(resp, 400, "invalid_multipart")
    assert rows() == before


def test_more_than_1000_form_fields_is_400(client, root):
    before = rows()
    form = "&".join(f"f{i}=1" for i in range(1001))
    resp = client.post(f"{API}/reports/cases", data=form, content_type="application/x-www-form-urlencoded",
                       headers=root)
    assert_error(resp, 400, "too_many_fields")
    assert_error(client.get(f"{API}/stations/nearby?{form}"), 400, "too_many_fields")
    assert rows() == before


def test_an_unexpected_error_answers_the_shape_with_an_error_id_in_the_log(client, monkeypatch, caplog):
    from yizhan.needs import api as needs_api

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(needs_api.selectors, "needs_figures", boom)
    with caplog.at_level(logging.ERROR, logger="yizhan.api"):
        resp = client.get(f"{API}/needs/figures")
    assert resp.status_code == 500
    assert resp["Content-Type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"code", "message", "field", "error_id"}
    assert body["code"] == "server_error" and body["field"] is None
    assert body["message"]["zh"] and body["error_id"] in body["message"]["en"]
    assert "secret internals" not in resp.content.decode() and "Traceback" not in resp.content.decode()
    logged = [r for r in caplog.records if body["error_id"] in r.getMessage()]
    assert logged and logged[0].exc_info and "secret internals" in str(logged[0].exc_info[1])


def test_pages_answer_a_clean_400_not_a_500(client):
    before = rows()
    for url in ("/?q=a%00b", "/reports/?q=a%00b", "/stations/a%00b/"):
        resp = client.get(url)
        assert resp.status_code == 400, url
        assert b"Traceback" not in resp.content
    form = "&".join(f"f{i}=1" for i in range(1001))
    resp = client.post("/accounts/login/", data=form, content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 400
    resp = client.post("/accounts/login/", data=b"--x\r\n", content_type="multipart/form-data")
    assert resp.status_code == 400
    resp = client.post("/accounts/login/", {"username": "a\x00", "password": "x"})
    assert resp.status_code == 400
    assert rows() == before


def test_an_api_url_nothing_answers_is_a_json_404_and_a_wrong_method_a_json_405(client):
    assert_error(client.get(f"{API}/needs/wishes/not-a-number"), 404, "not_found")
    assert_error(client.get(f"{API}/no/such/thing"), 404, "not_found")
    resp = client.put(f"{API}/needs/categories")
    assert_error(resp, 405, "method_not_allowed")
    assert "GET" in resp["Allow"]
    assert client.get("/no/such/page/").status_code == 404  # pages keep Django's 404 page


def test_ids_beyond_64_bits_are_refused_not_overflowed(client, root):
    """Found by schemathesis: POST /core/notifications/read {"ids": [-656771477151611486208]} was a 500."""
    before = rows()
    for ids in ([-(2**69)], [2**63], [0]):
        resp = client.post(f"{API}/core/notifications/read", data=json.dumps({"ids": ids}),
                           content_type="application/json", headers=root)
        assert_error(resp, 400, "invalid", "ids.0")
    resp = client.post(f"{API}/needs/needs", data=json.dumps({"title": "x", "owner": "me", "due_on": None,
                                                          "forum": 2**64}),
                       content_type="application/json", headers=root)
    assert_error(resp, 400, "invalid", "forum")
    # an id in the path: no schema bound there, the database (or the SQLite driver) decides
    for url in (f"{API}/needs/wishes/{2**70}", f"{API}/accounts/staff/{2**70}", f"{API}/reports/photos/{2**70}/approve"):
        call = client.post if url.endswith("approve") else client.get
        assert_error(call(url, headers=root), (400, 404))
    assert rows() == before


def test_a_form_sent_to_a_json_operation_is_400(client, root):
    """Found by schemathesis: the guard reads a form first, so the JSON parser could not."""
    before = rows()
    for url in (f"{API}/core/notifications/read", f"{API}/reports/photos/1/approve", f"{API}/needs/wishes"):
        assert_error(client.post(url, {"a": "b"}, headers=root), (400, 404))
        assert_error(client.post(url, "a=b", content_type="application/x-www-form-urlencoded", headers=root),
                     (400, 404))
    assert rows() == before


def test_a_time_with_an_offset_the_database_cannot_store_is_400(client, root):
    """Found by schemathesis on PostgreSQL: /core/audit?until=3524-05-06T06:04:26+19:01 was a DataError."""
    before = rows()
    for url, field in ((f"{API}/core/audit?until=3524-05-06T06:04:26%2B19:01", None),
                       (f"{API}/core/audit?since=9999-12-31T23:59:59-12:00", "since"),
                       (f"{API}/reports/cases?due_before=9999-12-31T23:59:59-12:00", "due_before")):
        resp = client.get(url, headers=root)
        if field is None:  # a valid (if far) time once in UTC
            assert resp.status_code == 200, resp.content
        else:
            assert_error(resp, 400, "invalid", field)
    assert client.get(f"{API}/reports/cases?due_before=2026-01-01T08:00:00", headers=root).status_code == 200
    assert rows() == before


def test_deeply_nested_json_is_400(client):
    before = rows()
    for depth in (5000, 100_000):
        body = "[" * depth + "]" * depth
        assert_error(client.post(f"{API}/needs/suggestions", data=body, content_type="application/json"), 400)
    body = '{"text": ' + "[" * 900 + '"x\\ud800"' + "]" * 900 + "}"
    assert_error(client.post(f"{API}/needs/suggestions", data=body, content_type="application/json"), 400,
                 "invalid_characters", "text" + ".0" * 900)
    assert rows() == before

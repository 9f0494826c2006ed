"""The permission matrix every staff endpoint is tested against.

    from yizhan.core.testing.matrix import assert_error, check_matrix, api_json

    check_matrix(
        client, "patch", f"/api/v1/stations/{station.code}", {"name": "x"},
        wrong_role=make_worker(),
        wrong_jurisdiction=make_staff("community_admin", tree.other_community),
        allowed=make_staff("community_admin", tree.community),
        snapshot=lambda: list(Station.objects.values()),
    )

Each denied caller must get the JSON error shape ``{"code", "message": {"zh", "en"},
"field"}`` with the expected status, and ``snapshot()`` (if given) must return the
same value before and after every denied call: a denial changes nothing. The
allowed caller's response is returned for further assertions. Callers are logged in
with ``force_login`` (session auth; the test client skips CSRF).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

ERROR_KEYS = {"code", "message", "field"}


def api_json(client, method: str, url: str, data: Any = None, **kwargs):
    """Call ``url`` with a JSON body (for write methods) and return the response."""
    method = method.lower()
    call = getattr(client, method)
    if data is not None and method in ("post", "put", "patch", "delete"):
        return call(url, data=json.dumps(data), content_type="application/json", **kwargs)
    if data is not None:
        return call(url, data, **kwargs)
    return call(url, **kwargs)


def assert_error(response, status: int | Iterable[int], code: str | Iterable[str] | None = None, field=...):
    """The response is the platform's error shape with this status (and code/field)."""
    statuses = {status} if isinstance(status, int) else set(status)
    body_text = response.content.decode(errors="replace")[:500]
    assert response.status_code in statuses, f"expected {statuses}, got {response.status_code}: {body_text}"
    body = response.json()
    assert set(body) == ERROR_KEYS, f"error body keys {set(body)} != {ERROR_KEYS}: {body_text}"
    assert isinstance(body["code"], str) and body["code"], body
    assert set(body["message"]) == {"zh", "en"}, body
    assert body["message"]["zh"] and body["message"]["en"], body
    if code is not None:
        codes = {code} if isinstance(code, str) else set(code)
        assert body["code"] in codes, f"expected code in {codes}, got {body['code']!r}"
    if field is not ...:
        assert body["field"] == field, f"expected field {field!r}, got {body['field']!r}"
    return body


DENIED_CODES = ("permission_denied", "out_of_jurisdiction", "not_found")


def check_matrix(
    client,
    method: str,
    url: str,
    data: Any = None,
    *,
    anonymous: bool = True,
    wrong_role=None,
    wrong_jurisdiction=None,
    allowed=None,
    allowed_status: int | Iterable[int] = (200, 201, 204),
    wrong_role_status: int | Iterable[int] = 403,
    wrong_jurisdiction_status: int | Iterable[int] = (403, 404),
    snapshot: Callable[[], Any] | None = None,
    reset: Callable[[], Any] | None = None,
    headers: dict | None = None,
):
    """Anonymous → 401, wrong role → 403, wrong jurisdiction → 403/404, allowed → 2xx.

    ``wrong_role`` / ``wrong_jurisdiction`` may be a user or a list of users.
    ``reset()`` is called before each call (e.g. to rebuild data a previous allowed
    call consumed). Returns the allowed caller's response (or None).
    """
    extra = {"headers": headers} if headers else {}

    def as_list(v):
        if v is None:
            return []
        return list(v) if isinstance(v, (list, tuple)) else [v]

    def denied(user, status, codes, label):
        if reset:
            reset()
        before = snapshot() if snapshot else None
        client.logout()
        if user is not None:
            client.force_login(user)
        resp = api_json(client, method, url, data, **extra)
        try:
            assert_error(resp, status, codes)
        except AssertionError as exc:
            raise AssertionError(f"[{label}] {method.upper()} {url}: {exc}") from None
        if snapshot:
            assert snapshot() == before, f"[{label}] {method.upper()} {url} changed data although denied"
        client.logout()

    if anonymous:
        denied(None, 401, "not_authenticated", "anonymous")
    for user in as_list(wrong_role):
        denied(user, wrong_role_status, DENIED_CODES, f"wrong role {user}")
    for user in as_list(wrong_jurisdiction):
        denied(user, wrong_jurisdiction_status, DENIED_CODES, f"wrong jurisdiction {user}")
    if allowed is None:
        return None
    if reset:
        reset()
    client.logout()
    client.force_login(allowed)
    resp = api_json(client, method, url, data, **extra)
    statuses = {allowed_status} if isinstance(allowed_status, int) else set(allowed_status)
    assert resp.status_code in statuses, (
        f"[allowed {allowed}] {method.upper()} {url}: {resp.status_code} {resp.content[:500]!r}"
    )
    return resp


def assert_not_listed(response, *, key: str = "items", field: str = "code", value) -> None:
    """A list response does not contain an item whose ``field`` equals ``value``."""
    assert response.status_code == 200, response.content[:300]
    items = response.json()[key]
    assert all(item.get(field) != value for item in items), f"{value!r} visible in {key}"

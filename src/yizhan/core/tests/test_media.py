"""/media/ serves only the public prefixes (redacted case photos, station photos), in
every mode; originals are 404 there, whoever asks."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def files():
    names = {}
    for key, name in [("public", "cases/public/2026/11/p.jpg"), ("original", "cases/2026/11/o.jpg"),
                      ("station", "stations/2026/11/s.jpg"), ("other", "exports/x.zip")]:
        names[key] = default_storage.save(name, ContentFile(b"\xff\xd8data"))
    yield names
    for name in names.values():
        default_storage.delete(name)


@pytest.mark.parametrize("debug", [False, True])
def test_only_public_prefixes_are_served(client, files, debug):
    with override_settings(DEBUG=debug):
        for key in ("public", "station"):
            resp = client.get(f"/media/{files[key]}")
            assert resp.status_code == 200, key
            assert b"".join(resp.streaming_content) == b"\xff\xd8data"
            assert "public" in resp["Cache-Control"] and resp["X-Content-Type-Options"] == "nosniff"
        for key in ("original", "other"):
            assert client.get(f"/media/{files[key]}").status_code == 404, key
        assert client.get("/media/cases/public/2026/11/missing.jpg").status_code == 404


@pytest.mark.parametrize("path", [
    "cases/public/../2026/11/o.jpg", "cases/public/..%2F2026/11/o.jpg", "cases/public/%2e%2e/2026/11/o.jpg",
    "stations/../cases/2026/11/o.jpg", "cases/public//../../2026/11/o.jpg", "cases/public/", "cases/publicx/a.jpg",
    "/etc/passwd", "cases/public/..\\2026\\11\\o.jpg",
])
def test_traversal_out_of_a_public_prefix_is_404(client, files, path):
    assert client.get(f"/media/{path}").status_code == 404

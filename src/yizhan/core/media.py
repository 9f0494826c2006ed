"""Public media: the only part of MEDIA_ROOT the app serves by URL, in every mode.

``/media/<path>`` answers only for the public prefixes (approved, redacted case photos
and station photos); everything else under MEDIA_ROOT (report originals, after-photos
waiting for approval) is a 404 here and reachable only through the permission-checked
views (``reports.views.staff._photo_response``, ``reports.views.public.mine_photo``).
A reverse proxy may serve the same prefixes straight from disk (see the README).
"""

from __future__ import annotations

import posixpath

from django.conf import settings
from django.http import Http404
from django.urls import re_path
from django.views.static import serve

# upload prefixes of public files: CasePhoto.public_image, StationPhoto.image
PUBLIC_PREFIXES = ("cases/public/", "stations/")


def public_media(request, path: str):
    clean = posixpath.normpath(path).lstrip("/")
    if clean != path or clean.startswith(".") or "\\" in path or not clean.startswith(PUBLIC_PREFIXES):
        raise Http404()
    resp = serve(request, clean, document_root=settings.MEDIA_ROOT)  # itself refuses paths leaving the root
    resp["Cache-Control"] = "public, max-age=86400"
    resp["X-Content-Type-Options"] = "nosniff"
    return resp


def media_urlpatterns() -> list:
    prefix = settings.MEDIA_URL.lstrip("/")
    if not prefix or "://" in settings.MEDIA_URL:  # media on another host: nothing to serve here
        return []
    return [re_path(rf"^{prefix}(?P<path>.+)$", public_media, name="public_media")]

"""Content-Security-Policy for every response.

Scripts come only from this site (the templates hold no inline script and no inline
event handler; data for scripts travels in ``<script type="application/json">`` blocks
or ``data-`` attributes). ``<style>`` blocks in templates carry the per-request nonce,
``nonce="{{ request.csp_nonce }}"``. ``style`` attributes stay allowed (bar widths,
aspect ratios: data, not code). Images may also come from the configured map tile
server (``YIZHAN_TILE_URL``). ``YIZHAN_CSP_EXTRA`` appends directives verbatim (e.g.
``img-src https://cdn.example``), ``YIZHAN_CSP_REPORT_ONLY=1`` sends the policy as
report-only.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from django.conf import settings

HEADER = "Content-Security-Policy"
REPORT_ONLY_HEADER = "Content-Security-Policy-Report-Only"


def tile_source(url: str) -> str:
    """The CSP source of a tile URL template: ``https://{s}.tile.example.org/{z}/{x}/{y}.png``
    gives ``https://*.tile.example.org``; a label holding a placeholder (``webrd0{s}``) and
    every label left of it become one ``*``."""
    if not url or "://" not in url:
        return ""
    parts = urlsplit(url.replace("{", "%7B").replace("}", "%7D"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    host, _, port = parts.netloc.rpartition("@")[2].partition(":")
    labels = host.split(".")
    templated = [i for i, label in enumerate(labels) if "%7B" in label]
    if templated:
        labels = ["*", *labels[templated[-1] + 1:]]
        if len(labels) < 3:  # never a wildcard over a top-level domain
            return ""
    port = f":{port}" if port and port.isdigit() else ""
    return f"{parts.scheme}://{'.'.join(labels)}{port}"


def policy(nonce: str) -> str:
    tiles = tile_source(getattr(settings, "YIZHAN_TILE_URL", "") or "")
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", f"'nonce-{nonce}'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *([tiles] if tiles else [])],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    for extra in (getattr(settings, "YIZHAN_CSP_EXTRA", "") or "").split(";"):
        name, _, sources = extra.strip().partition(" ")
        if name:
            directives.setdefault(name, []).extend(s for s in sources.split() if s)
    return "; ".join(f"{name} {' '.join(sources)}".strip() for name, sources in directives.items())


class ContentSecurityPolicyMiddleware:
    """Gives each request a nonce (``request.csp_nonce``) and each response the policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(16)
        response = self.get_response(request)
        header = REPORT_ONLY_HEADER if getattr(settings, "YIZHAN_CSP_REPORT_ONLY", False) else HEADER
        if header not in response:
            response[header] = policy(request.csp_nonce)
        return response

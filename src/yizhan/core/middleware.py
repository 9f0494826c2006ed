"""Remembers the client IP for the audit log (no request object in services)."""

from __future__ import annotations

import contextvars

_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("yizhan_client_ip", default=None)


def client_ip(request) -> str | None:
    # Behind a trusted proxy set YIZHAN_TRUST_X_FORWARDED_FOR=1.
    from django.conf import settings

    if getattr(settings, "YIZHAN_TRUST_X_FORWARDED_FOR", False):
        fwd = request.META.get("HTTP_X_FORWARDED_FOR")
        if fwd:
            return fwd.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")


def current_ip() -> str | None:
    return _ip.get()


class ClientIpMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _ip.reset(token)

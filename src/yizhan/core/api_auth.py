"""API authentication: a personal Bearer token, or the browser session (with CSRF
on unsafe methods). Endpoints that anyone may call declare ``auth=None``."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.module_loading import import_string


def _csrf_ok(request) -> bool:
    if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
        return True
    reason = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
    return reason is None


@cache
def _token_user():
    """The user app's ``callable(*, raw) -> user | None`` (``settings.YIZHAN_API_TOKEN_USER``)."""
    dotted = getattr(settings, "YIZHAN_API_TOKEN_USER", "")
    return import_string(dotted) if dotted else (lambda *, raw: None)


def bearer_user(request):
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    return _token_user()(raw=header[7:].strip())


def api_auth(request):
    user = bearer_user(request)
    if user is not None:
        request.user = user
        return user
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and _csrf_ok(request):
        return user
    return None


def optional_user(request):
    """For public endpoints that behave better when they know who asks."""
    user = bearer_user(request)
    if user is not None:
        request.user = user
        return user
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None

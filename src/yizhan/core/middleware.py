"""Remembers the client IP for the audit log (no request object in services)."""

from __future__ import annotations

import contextvars

from yizhan.core.api_errors import InvalidCharacters, error_for_bad_request, render_error
from yizhan.core.errors import MethodNotAllowed, NotFound, ValidationError

_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("yizhan_client_ip", default=None)


def client_ip(request) -> str | None:
    """The peer's address. Behind a reverse proxy, ``YIZHAN_TRUSTED_PROXIES`` lets the
    server (uvicorn, ``yizhan web``) take the client from that proxy's X-Forwarded-For
    before Django sees the request; a header is never read here, so a client cannot pick
    the address the audit log and the per-IP limits see."""
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


# ---- request guards: bad bytes and unreadable bodies are a 400/413, never a 500 -------------------


def _bad_text(value: str) -> bool:
    """NUL (PostgreSQL cannot store it) or a lone surrogate (no database can encode it)."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _bad_json_path(value) -> str | None:
    """The path of the first string (key or value) in parsed JSON that cannot be stored, or None
    (iterative: a deeply nested body must not exhaust the stack)."""
    stack: list[tuple[object, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if _bad_text(item):
                return path or "body"
        elif isinstance(item, dict):
            for key, sub in reversed(list(item.items())):
                if _bad_text(key):
                    return path or "body"
                stack.append((sub, f"{path}.{key}" if path else key))
        elif isinstance(item, list):
            for i in range(len(item) - 1, -1, -1):
                stack.append((item[i], f"{path}.{i}" if path else str(i)))
    return None


def _is_api(request) -> bool:
    return request.path_info.startswith("/api/")


class RequestGuardMiddleware:
    """Refuses, before any view runs, what would otherwise reach the database and fail there:
    a NUL byte or a lone surrogate in the path, a query parameter, a header, a form field or a
    JSON string; and a body Django will not read (over DATA_UPLOAD_MAX_MEMORY_SIZE: 413; more
    than DATA_UPLOAD_MAX_NUMBER_FIELDS fields, a multipart body without a boundary: 400).
    The API answers the JSON error shape; pages a plain 400 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        error = self._check(request)
        if error is not None:
            return self._refuse(request, error)
        response = self.get_response(request)
        if response.status_code in (404, 405) and _is_api(request) and not response.get(
                "Content-Type", "").startswith("application/json"):
            response = self._api_miss(request, response)
        return response

    @staticmethod
    def _api_miss(request, response):
        """An API URL Django's resolver or ninja's method check refused: the error shape, not HTML."""
        if response.status_code == 404:
            return render_error(request, NotFound())
        err = MethodNotAllowed()
        out = render_error(request, err)
        if response.has_header("Allow"):
            out["Allow"] = response["Allow"]
        return out

    @staticmethod
    def _check(request):
        from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
        from django.http.multipartparser import MultiPartParserError

        if _bad_text(request.path_info):
            return InvalidCharacters(field="path")
        try:
            for key, values in request.GET.lists():
                if _bad_text(key) or any(_bad_text(v) for v in values):
                    return InvalidCharacters(field=key if not _bad_text(key) else None)
        except SuspiciousOperation as exc:  # too many query fields
            return error_for_bad_request(exc)
        for key, value in request.META.items():
            if key.startswith("HTTP_") and isinstance(value, str) and _bad_text(value):
                return InvalidCharacters(field=key[5:].replace("_", "-").title())
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        content_type = request.content_type or ""
        try:
            if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
                for key, values in request.POST.lists():
                    if _bad_text(key) or any(_bad_text(v) for v in values):
                        return InvalidCharacters(field=key if not _bad_text(key) else None)
                return None
            body = request.body
        except (RequestDataTooBig, SuspiciousOperation, MultiPartParserError, UnicodeError) as exc:
            return error_for_bad_request(exc)
        if not body or content_type.startswith(("image/", "application/octet-stream")):
            return None
        import json

        try:
            parsed = json.loads(body)
        except ValueError:  # not JSON: the view says what is wrong with it
            return None
        except RecursionError:
            return ValidationError(("JSON 嵌套过深", "The JSON is nested too deeply"))
        field = _bad_json_path(parsed)
        return InvalidCharacters(field=field) if field else None

    @staticmethod
    def _refuse(request, error):
        if _is_api(request) or request.path_info.startswith("/open311/"):
            return render_error(request, error)
        from django.http import HttpResponse

        status = error.status if error.status in (400, 413) else 400
        text = f"{error.message.zh} / {error.message.en}"
        return HttpResponse(f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{text}</p>",
                            status=status, content_type="text/html; charset=utf-8")

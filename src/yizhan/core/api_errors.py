"""The one place API errors are rendered: every AppError, schema error, auth error,
404 and unexpected exception becomes ``{"code", "message": {"zh", "en"}, "field"}``.

``install_error_handlers(api)`` is called once by ``config.api``."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from yizhan.core.errors import (
    AppError,
    Message,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationError,
)

_api: NinjaAPI | None = None


def render_error(request, exc: AppError):
    return _api.create_response(request, exc.as_dict(), status=exc.status)


def install_error_handlers(api: NinjaAPI) -> None:
    global _api
    _api = api

    @api.exception_handler(AppError)
    def _app_error(request, exc: AppError):
        return render_error(request, exc)

    @api.exception_handler(NinjaValidationError)
    def _schema_error(request, exc: NinjaValidationError):
        first = exc.errors[0] if exc.errors else {}
        loc = [
            str(p) for i, p in enumerate(first.get("loc", []))
            if p not in ("body", "query", "path", "form", "payload") and not (i == 0 and p == "file")
        ]
        field = ".".join(loc) or None
        detail = first.get("msg", "")
        err = ValidationError(
            Message(f"输入有误：{field or ''} {detail}".strip(), f"Invalid input: {field or ''} {detail}".strip()),
            field=field,
        )
        return render_error(request, err)

    @api.exception_handler(AuthenticationError)
    def _auth_error(request, exc):
        return render_error(request, NotAuthenticated())

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return render_error(request, NotFound())

    @api.exception_handler(DjangoPermissionDenied)
    def _denied(request, exc):
        return render_error(request, PermissionDenied())

    @api.exception_handler(HttpError)
    def _http_error(request, exc: HttpError):
        err = AppError(Message(str(exc), str(exc)), code=f"http_{exc.status_code}", status=exc.status_code)
        return render_error(request, err)

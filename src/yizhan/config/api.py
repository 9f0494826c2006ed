"""The one NinjaAPI: mounts each app's router and renders every AppError."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from yizhan.core.api_auth import api_auth
from yizhan.core.errors import (
    AppError,
    Message,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationError,
)

api = NinjaAPI(
    title="Yizhan 驿站 API",
    version="1",
    description="Service and community-governance platform for gig workers. Errors are "
    '`{"code", "message": {"zh", "en"}, "field"}`.',
    urls_namespace="api",
    auth=api_auth,
)


def render_error(request, exc: AppError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


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


def _mount():
    from yizhan.accounts.api import router as accounts_router
    from yizhan.core.api import router as core_router
    from yizhan.jurisdictions.api import router as jurisdictions_router
    from yizhan.reports.api import router as reports_router
    from yizhan.stations.api import router as stations_router

    api.add_router("/accounts", accounts_router)
    api.add_router("/jurisdictions", jurisdictions_router)
    api.add_router("/stations", stations_router)
    api.add_router("/reports", reports_router)
    api.add_router("/core", core_router)
    api.add_router("/needs", "yizhan.needs.api.router")


_mount()

"""The one place API errors are rendered: every AppError, schema error, auth error,
404, bad request body and unexpected exception becomes
``{"code", "message": {"zh", "en"}, "field"}`` (a server error adds ``error_id``, which is
also in the log next to the traceback: never an HTML page or a traceback to the client).

``install_error_handlers(api)`` is called once by ``config.api``. It also documents the
error responses of every operation in the OpenAPI document (``document_errors``)."""

from __future__ import annotations

import logging
import uuid

from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DataError
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.http.request import RawPostDataException
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from yizhan.core.errors import (
    AppError,
    Message,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    UnreadableRequest,
    ValidationError,
)

logger = logging.getLogger("yizhan.api")

_api: NinjaAPI | None = None


class BodyTooLarge(AppError):
    status = 413
    code = "body_too_large"
    message = Message("请求内容过大", "The request body is too large")


class TooManyFields(ValidationError):
    code = "too_many_fields"
    message = Message("表单字段过多", "Too many form fields")


class InvalidMultipart(ValidationError):
    code = "invalid_multipart"
    message = Message("表单格式有误（multipart）", "The multipart form cannot be read")


class InvalidCharacters(ValidationError):
    code = "invalid_characters"
    message = Message("输入包含无效字符（如空字符或不成对的代理字符）",
                      "The input holds characters that cannot be stored (a NUL byte or a lone surrogate)")


class ServerError(AppError):
    status = 500
    code = "server_error"
    message = Message("服务器内部错误，请稍后再试（错误编号 {error_id}）",
                      "Something went wrong on our side; please try again later (error id {error_id})")


def error_for_bad_request(exc: Exception) -> AppError:
    """The AppError for a request Django could not read (size, fields, multipart, encoding)."""
    if isinstance(exc, RequestDataTooBig):
        return BodyTooLarge()
    name = type(exc).__name__
    if name in ("TooManyFieldsSent", "TooManyFilesSent"):
        return TooManyFields()
    if isinstance(exc, MultiPartParserError):
        return InvalidMultipart()
    if isinstance(exc, UnicodeError):
        return InvalidCharacters()
    return UnreadableRequest()


def render_error(request, exc: AppError):
    body = exc.as_dict()
    if getattr(exc, "error_id", None):
        body["error_id"] = exc.error_id
    if _api is None:  # before config.api is imported (a middleware answering early)
        from django.http import JsonResponse

        return JsonResponse(body, status=exc.status, json_dumps_params={"ensure_ascii": False})
    return _api.create_response(request, body, status=exc.status)


def server_error(request, exc: Exception):
    """An unexpected exception: log it with an id, answer the JSON shape with the same id."""
    error_id = uuid.uuid4().hex[:12]
    logger.exception("API error %s on %s %s: %s", error_id, request.method, request.path, type(exc).__name__,
                     exc_info=exc)
    err = ServerError(error_id=error_id)
    err.error_id = error_id
    return render_error(request, err)


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

    def _bad_request(request, exc):
        return render_error(request, error_for_bad_request(exc))

    # a body Django refuses to read (size, field count, multipart) or text it cannot encode
    for cls in (SuspiciousOperation, BadRequest, MultiPartParserError, UnicodeError):
        api.add_exception_handler(cls, _bad_request)

    @api.exception_handler(RawPostDataException)
    def _form_to_json_operation(request, exc):
        # a form (already read by the request guard) sent to an operation that reads a JSON body
        return render_error(request, ValidationError(Message("此操作的请求体须为 JSON", "This operation takes a JSON body")))

    def _data_error(request, exc):
        """A value the database or its driver refuses (a number out of range, text it cannot
        store) that no schema caught: the client's input, so a 400 (and a line in the log)."""
        logger.warning("API input refused by the database on %s %s: %r", request.method, request.path, exc)
        return render_error(request, ValidationError())

    api.add_exception_handler(DataError, _data_error)
    api.add_exception_handler(OverflowError, _data_error)  # SQLite: "Python int too large to convert"

    @api.exception_handler(Exception)
    def _unexpected(request, exc):
        return server_error(request, exc)

    _document_errors(api)


# ---- OpenAPI: every operation documents its error responses ----------------------------------------

ERROR_DESCRIPTIONS = {
    400: "Invalid input (`field` names it)",
    401: "Not logged in",
    403: "Not allowed, or outside your jurisdiction",
    404: "Not found (named in the path, the query or the body)",
    409: "Conflicts with the current state",
    413: "Request body over the upload limit",
    429: "Too many attempts",
    500: "Unexpected error: `error_id` is in the server log",
}


def error_codes_for(method: str, op: dict, *, login: bool) -> set[int]:
    """The error statuses an operation can answer: 400 and 500 always; 401/403 when it needs a
    login; 404 when it names something in its path or its body; 409 and 413 when it writes."""
    codes = {400, 500}
    if login or op.get("security"):
        codes |= {401, 403}
    writes_body = bool(op.get("requestBody")) or method in ("post", "put", "patch")
    if writes_body or any(p.get("in") == "path" for p in op.get("parameters", [])):
        codes.add(404)
    if method in ("post", "put", "patch", "delete"):
        codes.add(409)
    if writes_body:
        codes.add(413)
    return codes


def document_errors(schema: dict, *, login: set[str] = frozenset(),
                    extra: dict[str, set[int]] | None = None) -> dict:
    """Adds the error responses (``ErrorOut``) to every operation of an OpenAPI document."""
    from yizhan.core.schemas import ErrorOut

    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in error_schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components.setdefault("ErrorOut", error_schema)
    ref = {"$ref": "#/components/schemas/ErrorOut"}
    for ops in schema.get("paths", {}).values():
        for method, op in ops.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            codes = error_codes_for(method, op, login=op.get("operationId") in login) | (extra or {}).get(op.get("operationId", ""), set())
            for status in sorted(codes):
                key = str(status)
                if key in op["responses"] or status in op["responses"]:
                    continue
                op["responses"][status] = {
                    "description": ERROR_DESCRIPTIONS.get(status, "Error"),
                    "content": {"application/json": {"schema": ref}},
                }
    return schema


def _operations(api: NinjaAPI):
    for router in api._get_bound_routers():
        for path_view in router.path_operations.values():
            yield from path_view.operations


def _document_errors(api: NinjaAPI) -> None:
    original = api.get_openapi_schema

    def get_openapi_schema(*, path_prefix=None, path_params=None):
        ops = list(_operations(api))
        login = {api.get_openapi_operation_id(op) for op in ops if op.auth_callbacks}
        extra: dict[str, set[int]] = {}
        for op in ops:  # an operation may name more: @router.get(..., openapi_extra={"x-errors": [429]})
            codes = (op.openapi_extra or {}).get("x-errors")
            if codes:
                extra[api.get_openapi_operation_id(op)] = set(codes)
        return document_errors(original(path_prefix=path_prefix, path_params=path_params),
                               login=login, extra=extra)

    api.get_openapi_schema = get_openapi_schema

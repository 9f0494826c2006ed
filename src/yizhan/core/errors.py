"""One error hierarchy for the whole platform.

Domain code raises an ``AppError`` subclass with a stable ``code``; one handler
(``yizhan.config.api`` for JSON, ``core.forms`` helpers for pages) renders it as
``{"code": ..., "message": {"zh": ..., "en": ...}, "field": ...}``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    zh: str
    en: str


class AppError(Exception):
    """Base of every error a user or client may see."""

    status = 400
    code = "bad_request"
    message = Message("请求无效", "Bad request")

    def __init__(
        self,
        message: Message | tuple[str, str] | None = None,
        *,
        code: str | None = None,
        field: str | None = None,
        status: int | None = None,
        **params,
    ):
        if isinstance(message, tuple):
            message = Message(*message)
        self.message = message or type(self).message
        if params:
            self.message = Message(self.message.zh.format(**params), self.message.en.format(**params))
        if code:
            self.code = code
        if status:
            self.status = status
        self.field = field
        super().__init__(f"{self.code}: {self.message.en}")

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "message": {"zh": self.message.zh, "en": self.message.en},
            "field": self.field,
        }

    def text(self, language: str | None) -> str:
        """The message in the page's language."""
        return self.message.en if (language or "").startswith("en") else self.message.zh


class DefaultField:
    """Mixin for an ``AppError`` subclass: the field an error belongs to unless the raiser says otherwise.

    ``class UnknownCategory(DefaultField, ValidationError): default_field = "category"``
    """

    default_field: str | None = None

    def __init__(self, message=None, *, field=None, **kwargs):
        super().__init__(message, field=field or self.default_field, **kwargs)


class ValidationError(AppError):
    status = 400
    code = "invalid"
    message = Message("输入有误", "Invalid input")


class NotAuthenticated(AppError):
    status = 401
    code = "not_authenticated"
    message = Message("请先登录", "Please log in first")


class PermissionDenied(AppError):
    status = 403
    code = "permission_denied"
    message = Message("您没有权限执行此操作", "You do not have permission to do this")


class OutOfJurisdiction(PermissionDenied):
    code = "out_of_jurisdiction"
    message = Message("该对象不在您的管辖范围内", "This is outside your jurisdiction")


class NotFound(AppError):
    status = 404
    code = "not_found"
    message = Message("未找到", "Not found")


class Conflict(AppError):
    status = 409
    code = "conflict"
    message = Message("与当前状态冲突", "Conflicts with the current state")


class RateLimited(AppError):
    status = 429
    code = "rate_limited"
    message = Message("操作过于频繁，请稍后再试", "Too many attempts, please try again later")


class InvalidTransition(Conflict):
    code = "invalid_transition"
    message = Message("当前状态不允许此操作", "This action is not allowed in the current state")

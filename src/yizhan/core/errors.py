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


class MethodNotAllowed(AppError):
    status = 405
    code = "method_not_allowed"
    message = Message("不支持该请求方法", "Method not allowed")


class UnreadableRequest(ValidationError):
    """A request the server cannot read at all (the generic 400)."""

    code = "bad_request"
    message = Message("请求无效", "Bad request")


class InvalidIdNumber(DefaultField, ValidationError):
    code = "invalid_id_number"
    default_field = "id_number"
    message = Message("身份证号码无效", "Invalid ID card number")


# ---- the workflow engine's defaults (an app's workflow may name its own classes) ---------


class ReasonRequired(DefaultField, ValidationError):
    code = "reason_required"
    default_field = "note"
    message = Message("请填写原因", "Please give a reason")


class PhotoRequired(DefaultField, ValidationError):
    code = "photo_required"
    default_field = "photos"
    message = Message("请上传照片", "Please add a photo")


class ConfirmationRequired(DefaultField, ValidationError):
    code = "confirmation_required"
    default_field = "confirm"
    message = Message("请确认此操作", "Please confirm this action")


# ---- core's own services (channel bindings, webhooks) ------------------------------------


class Required(DefaultField, ValidationError):
    """A required field left empty; ``field`` says which (the message by its class attribute)."""

    code = "required"
    message = Message("请填写此项", "This field is required")
    name = Message("请填写名称", "Name is required")
    jurisdiction = Message("请选择辖区", "Choose a jurisdiction")


class InvalidChannel(DefaultField, ValidationError):
    code = "invalid_channel"
    default_field = "channel"
    message = Message("不支持的渠道", "Unsupported channel")


class InvalidAddress(DefaultField, ValidationError):
    code = "invalid_address"
    default_field = "address"
    message = Message("账号标识无效", "Invalid address")


class BindingTaken(DefaultField, Conflict):
    code = "binding_taken"
    default_field = "address"
    message = Message("该微信已绑定其他账号", "This WeChat account is bound to another user")


class InvalidWebhookUrl(DefaultField, ValidationError):
    code = "invalid_webhook_url"
    default_field = "url"
    message = Message("网址须以 https:// 开头", "The URL must start with https://")


class InvalidKinds(DefaultField, ValidationError):
    code = "invalid_kinds"
    default_field = "kinds"
    message = Message("消息类型列表无效", "Invalid list of kinds")


class WeakSecret(DefaultField, ValidationError):
    code = "weak_secret"
    default_field = "secret"
    message = Message("密钥至少 16 个字符", "The secret needs at least 16 characters")


# ---- shared checks: coordinates, phone numbers, dates ------------------------------------


class InvalidCoordinates(ValidationError):
    code = "invalid_coordinates"
    message = Message("请提供有效的经纬度", "Please give a valid latitude and longitude")
    lat_range = Message("纬度必须在 -90 到 90 之间", "Latitude must be between -90 and 90")
    lng_range = Message("经度必须在 -180 到 180 之间", "Longitude must be between -180 and 180")


class InvalidPhone(DefaultField, ValidationError):
    code = "invalid_phone"
    default_field = "phone"
    message = Message("请输入有效的 11 位手机号码", "Please enter a valid 11-digit mobile number")


class InvalidDate(ValidationError):
    code = "invalid_date"
    message = Message("日期格式无效", "Invalid date")

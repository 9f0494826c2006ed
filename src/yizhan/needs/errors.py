"""Error codes of the needs app (``AppError`` subclasses: stable code, zh+en, field)."""

from __future__ import annotations

from yizhan.core.errors import (
    Conflict,
    DefaultField,
    InvalidTransition,
    Message,
    NotFound,
    RateLimited,
    ValidationError,
)
from yizhan.jurisdictions.errors import JurisdictionNotFound


class Required(ValidationError):
    code = "required"
    message = Message("请填写{what}", "Please fill in the {what_en}")


class TextTooLong(ValidationError):
    code = "text_too_long"
    message = Message("内容过长（最多 {limit} 字）", "Too long (at most {limit} characters)")


class UnknownCategory(DefaultField, ValidationError):
    code = "unknown_category"
    default_field = "category"
    message = Message("请选择建议类别", "Please choose a category")


class LocationRequired(DefaultField, ValidationError):
    code = "location_required"
    default_field = "jurisdiction"
    message = Message("请选择所在社区或允许定位", "Choose your community or share your location")


class LocationOutside(DefaultField, ValidationError):
    code = "location_outside"
    default_field = "lat"
    message = Message("该位置不在服务范围内", "This location is outside the area we serve")


# One jurisdiction lookup (jurisdictions.selectors.jurisdiction_get), one error class.
UnknownJurisdiction = JurisdictionNotFound


class InvalidDate(ValidationError):
    code = "invalid_date"
    message = Message("日期格式应为 2026-11-23", "Dates look like 2026-11-23")


class InvalidNumber(ValidationError):
    code = "invalid_number"
    message = Message("请输入 0 到 {limit} 之间的整数", "Enter a whole number from 0 to {limit}")


class InvalidOwner(DefaultField, ValidationError):
    code = "invalid_owner"
    default_field = "owner"
    message = Message("责任人须为该辖区的工作人员", "The owner must be a staff member of this jurisdiction")


class UnknownAction(DefaultField, ValidationError):
    code = "unknown_action"
    default_field = "action"
    message = Message("未知的操作", "Unknown action")


class ReasonRequired(DefaultField, ValidationError):
    code = "reason_required"
    default_field = "note"
    message = Message("请填写说明", "Please write a note")


class ReplyRequired(DefaultField, ValidationError):
    code = "reply_required"
    default_field = "reply"
    message = Message("请填写答复内容", "Please write a reply")


class SuggestionNotFound(NotFound):
    code = "suggestion_not_found"
    message = Message("未找到该建议", "Suggestion not found")


class WishNotFound(NotFound):
    code = "wish_not_found"
    message = Message("未找到该心愿", "Wish not found")


class ForumNotFound(NotFound):
    code = "forum_not_found"
    message = Message("未找到该问需会", "Forum not found")


class NeedNotFound(NotFound):
    code = "need_not_found"
    message = Message("未找到该需求", "Need not found")


class WishNotOpen(InvalidTransition):
    code = "wish_not_open"
    message = Message("该心愿当前不能点赞支持", "This wish cannot be supported now")


class AlreadyNeed(Conflict):
    code = "already_need"
    message = Message("该建议已转为需求", "This suggestion is already a need")


class TooManySuggestions(RateLimited):
    code = "too_many_suggestions"
    message = Message("提交过于频繁，请稍后再试或登录后提交", "Too many suggestions; try later or log in first")

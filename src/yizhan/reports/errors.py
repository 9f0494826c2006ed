"""Error codes of the reports app.

Each is an ``AppError`` subclass with a stable ``code``, a zh+en message and the
field it belongs to, so the API renders ``{"code", "message": {"zh", "en"}, "field"}``
and pages put the message beside the field.

Owner: the domain helper. Others may ADD classes at the end of the file, in a section
of their own; never edit someone else's.
"""

from __future__ import annotations

from yizhan.core.errors import (
    Conflict,
    DefaultField,
    InvalidTransition,
    Message,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationError,
)

# ---- submitting --------------------------------------------------------------------


class UnknownCategory(DefaultField, ValidationError):
    code = "unknown_category"
    default_field = "category"
    message = Message("请选择有效的问题类别", "Please choose a valid category")


class CategoryNotFound(DefaultField, NotFound):
    code = "unknown_category"
    default_field = "category"
    message = Message("未找到该问题类别", "No such category")


class LocationOutside(DefaultField, ValidationError):
    code = "location_outside"
    default_field = "lat"
    message = Message("该位置不在我们服务的辖区内", "This location is outside every area we serve")


class TextTooLong(DefaultField, ValidationError):
    code = "text_too_long"
    default_field = "description"
    message = Message("内容过长（最多 {limit} 字）", "Too long (at most {limit} characters)")


class MissingField(ValidationError):
    code = "missing_field"
    message = Message("请填写“{label}”", "Please fill in “{label_en}”")


class InvalidField(ValidationError):
    code = "invalid_field"
    message = Message("填写有误", "Invalid value")


class TooManyPhotos(DefaultField, ValidationError):
    code = "too_many_photos"
    default_field = "photos"
    message = Message("最多上传 {limit} 张照片", "At most {limit} photos")


class InvalidIdempotencyKey(DefaultField, ValidationError):
    code = "invalid_idempotency_key"
    default_field = "idempotency_key"
    message = Message("幂等键最长 64 个字符", "The idempotency key is at most 64 characters")


class IdempotencyKeyReused(DefaultField, Conflict):
    code = "idempotency_key_reused"
    default_field = "idempotency_key"
    message = Message(
        "该幂等键已用于内容不同的另一次上报", "This idempotency key was already used for a different report"
    )


class InvalidContact(ValidationError):
    code = "invalid_contact"
    message = Message("联系方式填写有误", "Invalid contact details")


# ---- cases and the workflow --------------------------------------------------------


class CaseNotFound(NotFound):
    code = "case_not_found"
    message = Message("未找到该案件", "Case not found")


class CaseFinished(InvalidTransition):
    """Same code as any other move the table does not allow."""

    message = Message("案件已办结，不能再修改", "This case is finished and cannot be changed")


class UnknownAction(DefaultField, ValidationError):
    code = "unknown_action"
    default_field = "action"
    message = Message("未知的操作", "Unknown action")


class ReasonRequired(DefaultField, ValidationError):
    code = "reason_required"
    default_field = "note"
    message = Message("请填写原因", "Please give a reason")


class PhotoRequired(DefaultField, ValidationError):
    code = "photo_required"
    default_field = "photos"
    message = Message("请上传处置后的照片", "Please add a photo taken after the work")


class InvalidRating(DefaultField, ValidationError):
    code = "invalid_rating"
    default_field = "rating"
    message = Message("评分须为 1 到 5 的整数", "The rating must be a whole number from 1 to 5")


class UnknownDepartment(DefaultField, ValidationError):
    code = "unknown_department"
    default_field = "department"
    message = Message("未找到该处置部门", "No such department")


class NoDepartment(DefaultField, Conflict):
    code = "no_department"
    default_field = "department"
    message = Message(
        "该位置没有负责此类问题的部门，请手动选择部门", "No department handles this category here; choose one"
    )


class InvalidAssignee(DefaultField, ValidationError):
    code = "invalid_assignee"
    default_field = "assignee"
    message = Message(
        "处置人须为该网格的网格员或该部门的成员", "The assignee must be a grid worker of the grid or a department member"
    )


class InvalidMinutes(DefaultField, ValidationError):
    code = "invalid_minutes"
    default_field = "minutes"
    message = Message("延期时长须为 1 到 {limit} 分钟", "The extension must be 1 to {limit} minutes")


class ExtensionPending(DefaultField, Conflict):
    code = "extension_pending"
    default_field = "minutes"
    message = Message("已有一个待审批的延期申请", "An extension request is already waiting for a decision")


class NoPendingExtension(InvalidTransition):
    code = "no_pending_extension"
    message = Message("没有待审批的延期申请", "There is no extension request to decide")


class ReopenWindowPassed(InvalidTransition):
    code = "reopen_window_passed"
    message = Message("结案已超过 {days} 天，不能再重新办理", "It is more than {days} days since closing; cannot reopen")


class InvalidMerge(DefaultField, ValidationError):
    code = "invalid_merge"
    default_field = "into"
    message = Message("只能合并到同一辖区内另一个未办结的案件", "Merge only into another open case in the same area")


class MergeTargetMissing(InvalidMerge):
    """The staff merge form's target case is unknown or outside the actor's area (same code)."""

    message = Message("找不到该案件（或不在您的辖区）", "No such case in your area")


class BulkEmpty(DefaultField, ValidationError):
    code = "bulk_empty"
    default_field = "cases"
    message = Message("请选择要派遣的案件（最多 {limit} 件）", "Choose the cases to dispatch (at most {limit})")


# ---- photos ------------------------------------------------------------------------


class PhotoNotFound(NotFound):
    code = "photo_not_found"
    message = Message("照片不存在", "No such photo")


class InvalidRedaction(DefaultField, ValidationError):
    code = "invalid_redaction"
    default_field = "redactions"
    message = Message(
        "打码区域须为 [x, y, 宽, 高]，取值 0 到 1", "Each redaction is [x, y, width, height] with values from 0 to 1"
    )


# ---- setup: taxonomy, departments, working calendar, duty roster, reply templates ------
# (owner: the errors helper; moved from reports/services/setup, plus the codes the setup
# services spelled inline)


class InvalidSetting(ValidationError):
    code = "invalid_setting"
    message = Message("填写有误", "Invalid value")


class InvalidLimit(InvalidSetting):
    code = "invalid_limit"
    message = Message("时限须为 1 到 {max} 之间的整数（分钟）", "A time limit is a whole number of minutes, 1 to {max}")


class UnknownDepartmentCode(UnknownDepartment):
    """``unknown_department`` (one meaning with :class:`UnknownDepartment`) naming the code."""

    message = Message("没有编码为“{dept}”的部门", "No department has the code '{dept}'")


class InvalidExtraFields(InvalidSetting):
    code = "invalid_extra_fields"
    message = Message("附加字段格式有误：{detail}", "Extra fields are malformed: {detail_en}")


class InvalidCalendar(InvalidSetting):
    code = "invalid_calendar"
    message = Message("工作日历有误", "The working calendar is invalid")


class CalendarInvalidDate(InvalidCalendar):
    """A malformed date (the calendar's; the figures' filters with ``iso``)."""

    code = "invalid_date"
    message = Message("日期格式应为 2026-10-01", "Dates look like 2026-10-01")
    iso = Message("日期格式应为 YYYY-MM-DD", "Dates look like YYYY-MM-DD")


class CalendarEmpty(DefaultField, InvalidCalendar):
    code = "calendar_empty"
    default_field = "hours"
    message = Message("每周至少要有一个工作时段", "The week needs at least one working interval")


class CalendarDayNotFound(DefaultField, NotFound):
    code = "calendar_day_not_found"
    default_field = "date"
    message = Message("该日期没有特别安排", "No special arrangement on this date")


class DepartmentCodeTaken(DefaultField, Conflict):
    code = "department_code_taken"
    default_field = "code"
    message = Message("该辖区已有此编码的部门", "This jurisdiction already has a department with this code")


class DepartmentMemberNotFound(NotFound):
    code = "department_member_not_found"
    message = Message("此人不是该部门成员", "This person is not a member of the department")


class NotAGrid(InvalidSetting):
    code = "not_a_grid"
    message = Message("值班表只能设在网格上", "A duty roster belongs to a grid")


class NotAGridWorker(InvalidSetting):
    code = "not_a_grid_worker"
    message = Message("此人不是该网格的网格员", "This person is not a grid worker of this grid")


class SettingRequired(InvalidSetting):
    code = "required"
    message = Message("请填写{what}", "Please fill in the {what_en}")


class SettingTooLong(TextTooLong):
    """``text_too_long`` (one meaning with :class:`TextTooLong`) for a setting."""

    message = Message("最多 {limit} 个字", "At most {limit} characters")


class InvalidDepartmentCode(InvalidSetting):
    code = "invalid_code"
    message = Message("部门编码须为 1–40 位小写字母、数字或 _", "A department code is 1–40 lower-case letters, digits or _")


class InvalidPhone(DefaultField, InvalidSetting):
    code = "invalid_phone"
    default_field = "phone"
    message = Message("电话号码格式有误", "Invalid phone number")


class InvalidPerson(DefaultField, InvalidSetting):
    code = "invalid_user"
    default_field = "user"
    message = Message("请选择有效的人员", "Please choose a valid person")


class InvalidTime(InvalidSetting):
    code = "invalid_time"
    message = Message("时间格式应为 HH:MM", "Times look like HH:MM")


class DutyTimesEqual(DefaultField, InvalidTime):
    default_field = "end_time"
    message = Message("开始和结束时间不能相同", "Start and end must differ")


class InvalidWeekdays(DefaultField, InvalidSetting):
    code = "invalid_weekdays"
    default_field = "weekdays"
    message = Message("请选择值班的星期（周一到周日）", "Choose the weekdays on duty (Monday to Sunday)")


class NotOverridable(InvalidSetting):
    code = "not_overridable"
    message = Message("辖区不能单独修改 {key}", "{key} cannot be set for one area")


class InvalidChoice(InvalidSetting):
    """A value outside its choices; one subclass (and code) per field."""

    message = Message("{what}无效：{text}", "Invalid {what_en}: {text_en}")


class InvalidUrgency(InvalidChoice):
    code = "invalid_urgency"


class InvalidClock(InvalidChoice):
    code = "invalid_clock"


class InvalidKind(InvalidChoice):
    code = "invalid_kind"


class InvalidActionChoice(InvalidChoice):
    code = "invalid_action"


INVALID_CHOICE = {"urgency": InvalidUrgency, "clock": InvalidClock, "kind": InvalidKind, "action": InvalidActionChoice}


class NoCalendarNode(NotFound):
    code = "no_calendar_node"
    message = Message("您管辖的范围内没有区或市", "No district or city in your scope")


class DepartmentNotFound(NotFound):
    code = "department_not_found"


class DutyNotFound(NotFound):
    code = "duty_not_found"


class TemplateNotFound(NotFound):
    code = "template_not_found"


class UserNotFound(DefaultField, NotFound):
    code = "user_not_found"
    default_field = "who"
    message = Message("没有此用户名或手机号的用户", "No user has this username or phone")


# ---- API bodies, figures and Open311 clients ------------------------------------------------


class InvalidBody(ValidationError):
    """A request body (or a JSON form field, ``field_not_object`` with ``name``) that is not a JSON object."""

    code = "invalid"
    message = Message("请求体不是有效的 JSON", "The body is not valid JSON")
    not_object = Message("请求体须为 JSON 对象", "The body must be a JSON object")
    field_not_object = Message("{name} 须为 JSON 对象", "{name} must be a JSON object")


class InvalidRange(DefaultField, ValidationError):
    code = "invalid_range"
    default_field = "until"
    message = Message("结束日期应晚于开始日期", "The end date must be after the start date")


class InvalidClientName(DefaultField, ValidationError):
    code = "invalid_name"
    default_field = "name"
    message = Message("请填写 1–80 字的客户端名称", "Give the client a name of 1–80 characters")


class InvalidApiKey(DefaultField, NotAuthenticated):
    code = "invalid_api_key"
    default_field = "api_key"
    message = Message("无效的 api_key", "Invalid api_key")
    missing = Message("缺少或无效的 api_key", "Missing or invalid api_key")


class ApiKeyRevoked(DefaultField, PermissionDenied):
    code = "api_key_revoked"
    default_field = "api_key"
    message = Message("该 api_key 已被吊销", "This api_key has been revoked")


class Open311ClientNotFound(NotFound):
    code = "open311_client_not_found"
    message = Message("未找到该客户端", "Open311 client not found")

"""Error codes of the stations app.

Each is an ``AppError`` subclass with a stable ``code``, a zh+en message and the
field it belongs to, so the API renders ``{"code", "message": {"zh", "en"}, "field"}``
and pages put the message beside the field.
"""

from __future__ import annotations

from yizhan.core.errors import (
    Conflict,
    DefaultField,
    InvalidTransition,
    Message,
    NotFound,
    OutOfJurisdiction,
    ValidationError,
)
from yizhan.jurisdictions.errors import JurisdictionNotFound

# ---- QR tokens ---------------------------------------------------------------


class QrMalformed(DefaultField, ValidationError):
    code = "qr_malformed"
    default_field = "token"
    message = Message("二维码无法识别，请重新扫码", "This QR code cannot be read; please scan again")


class QrBadSignature(DefaultField, ValidationError):
    code = "qr_bad_signature"
    default_field = "token"
    message = Message("二维码无效（签名不符）", "This QR code is not valid (bad signature)")


class QrExpired(DefaultField, ValidationError):
    code = "qr_expired"
    default_field = "token"
    message = Message(
        "二维码已过期，请扫描驿站当天展示的二维码", "This QR code has expired; scan the code the station shows today"
    )


class QrUnknownStation(DefaultField, NotFound):
    code = "qr_unknown_station"
    default_field = "token"
    message = Message("二维码对应的驿站不存在或已撤除", "The station of this QR code does not exist or was removed")


# ---- stations ----------------------------------------------------------------


class StationNotFound(NotFound):
    code = "station_not_found"
    message = Message("未找到该驿站", "Station not found")


class StationCodeTaken(DefaultField, Conflict):
    code = "station_code_taken"
    default_field = "code"
    message = Message("驿站编号已存在", "A station with this code already exists")


class InvalidHours(DefaultField, ValidationError):
    """Opening hours that cannot be read; the message says what (built by the raiser)."""

    code = "invalid_hours"
    default_field = "hours"
    message = Message("开放时间无法识别", "Cannot read the opening hours")


class DuplicateImportCode(DefaultField, ValidationError):
    """Two rows of one import file carry the same station code."""

    code = "duplicate_code"
    default_field = "code"
    message = Message("编号与第 {row} 行重复", "Same code as row {row}")


class InvalidStationField(ValidationError):
    """A station field is missing or malformed; ``field`` says which."""

    code = "invalid_station_field"
    message = Message("驿站信息填写有误", "Invalid station data")


class FieldRequired(ValidationError):
    """A required field left empty: ``FieldRequired(field=f, zh=label.zh, en=label.en)``."""

    code = "required"
    message = Message("请填写{zh}", "Please fill in the {en}")
    giver_name = Message("请填写捐赠方名称", "Please name the giver")
    description = Message("请填写捐赠内容", "Please describe the gift")


class InvalidDate(ValidationError):
    code = "invalid_date"
    message = Message("日期格式应为 2024-05-01", "Dates look like 2024-05-01")
    future = Message("接收日期不能晚于今天", "The date cannot be in the future")


class InvalidPhone(DefaultField, ValidationError):
    code = "invalid_phone"
    default_field = "public_phone"
    message = Message("请填写有效的联系电话，如 0512-66612345", "Enter a valid contact number, e.g. 0512-66612345")


class InvalidStationType(ValidationError):
    code = "invalid_type"
    message = Message("驿站类型无效：{value}", "Invalid station type: {value}")


class InvalidHostType(ValidationError):
    code = "invalid_host_type"
    message = Message("主办方类型无效：{value}", "Invalid host type: {value}")


class InvalidCode(DefaultField, ValidationError):
    code = "invalid_code"
    default_field = "code"
    message = Message("编号须为 1–32 位字母、数字、- 或 _", "The code must be 1–32 letters, digits, - or _")


class InvalidHolidays(DefaultField, ValidationError):
    code = "invalid_holidays"
    default_field = "holidays"
    message = Message("节假日安排格式有误", "Holiday hours are malformed")
    no_date = Message("节假日须有日期", "Each holiday needs a date")


# ---- nearby search and coverage queries --------------------------------------


class InvalidLimit(DefaultField, ValidationError):
    code = "invalid_limit"
    default_field = "limit"
    message = Message("limit 须为正整数", "limit must be a positive whole number")
    not_whole = Message("limit 必须是整数", "limit must be a whole number")
    below_one = Message("limit 至少为 1", "limit must be at least 1")


class LimitTooLarge(DefaultField, ValidationError):
    code = "limit_too_large"
    default_field = "limit"
    message = Message("limit 不能超过 {most}", "limit cannot exceed {most}")


class InvalidMode(DefaultField, ValidationError):
    code = "invalid_mode"
    default_field = "mode"
    message = Message("出行方式须为 walk 或 ebike", "mode must be walk or ebike")
    spelled_out = Message("出行方式只能是步行(walk)或电动车(ebike)", "mode must be walk or ebike")


class InvalidMinutes(DefaultField, ValidationError):
    code = "invalid_minutes"
    default_field = "minutes"
    message = Message("分钟数须在 1 到 {most} 之间", "minutes must be between 1 and {most}")


class NoBoundary(DefaultField, ValidationError):
    code = "no_boundary"
    default_field = "jurisdiction"
    message = Message("该辖区没有边界，无法计算覆盖率", "This jurisdiction has no boundary to measure coverage in")


# One jurisdiction lookup (jurisdictions.selectors.jurisdiction_get), one error class.
UnknownJurisdiction = JurisdictionNotFound


class InvalidHub(DefaultField, ValidationError):
    code = "invalid_hub"
    default_field = "hub"
    message = Message("所属服务总站无效（须为已有的服务总站）", "The hub must be an existing service hub")


class UnknownAmenity(DefaultField, ValidationError):
    code = "unknown_amenity"
    default_field = "amenities"
    message = Message("未知的设施：{value}", "Unknown amenity: {value}")


class InvalidStatus(DefaultField, ValidationError):
    code = "invalid_status"
    default_field = "status"
    message = Message("未知的驿站状态", "Unknown station status")


class ReasonRequired(DefaultField, ValidationError):
    code = "reason_required"
    default_field = "reason"
    message = Message("撤除驿站时请填写原因", "Please give a reason for removing the station")


class StatusUnchanged(DefaultField, InvalidTransition):
    code = "status_unchanged"
    default_field = "status"
    message = Message("驿站已是该状态", "The station already has this status")


class NotStationKeeper(OutOfJurisdiction):
    """Same code as any other out-of-scope access: the keeper does not keep this station."""

    message = Message("您不是该驿站的站长", "You are not a keeper of this station")


class KeeperNotFound(NotFound):
    code = "keeper_not_found"
    message = Message("该用户不是此驿站的站长", "This user is not a keeper of this station")


class StationRemoved(InvalidTransition):
    code = "station_removed"
    message = Message("驿站已撤除", "This station has been removed")


# ---- supplies and donations --------------------------------------------------


class InvalidQuantity(DefaultField, ValidationError):
    code = "invalid_quantity"
    default_field = "quantity"
    message = Message("数量必须是{rule}的整数", "The quantity must be a whole number {rule_en}")


class InsufficientStock(DefaultField, Conflict):
    code = "insufficient_stock"
    default_field = "quantity"
    message = Message("库存不足：现有 {available}", "Not enough in stock: {available} left")


class UnknownItem(DefaultField, ValidationError):
    code = "unknown_item"
    default_field = "item"
    message = Message("未知的物资种类", "Unknown supply item")


class InvalidMovementKind(DefaultField, ValidationError):
    code = "invalid_movement_kind"
    default_field = "kind"
    message = Message("出入库类型须为领用、补货或盘点调整", "The kind must be take, restock or adjust")


class InvalidThreshold(DefaultField, ValidationError):
    code = "invalid_threshold"
    default_field = "threshold"
    message = Message("预警数量必须是不小于 0 的整数", "The threshold must be a whole number of 0 or more")


class InvalidDonation(ValidationError):
    code = "invalid_donation"
    message = Message("捐赠信息填写有误", "Invalid donation")


class InvalidGiverKind(DefaultField, InvalidDonation):
    code = "invalid_giver_kind"
    default_field = "giver_kind"
    message = Message("请选择捐赠方类型", "Choose who gave")


# ---- check-ins, condition reports, reviews -----------------------------------


class UnknownConditionKind(DefaultField, ValidationError):
    code = "unknown_condition_kind"
    default_field = "kind"
    message = Message("请选择您看到的情况", "Please choose what you found")


class InvalidCheckIn(DefaultField, ValidationError):
    code = "invalid_checkin"
    default_field = "checkin"
    message = Message("签到记录与驿站不符", "This check-in does not belong to you at this station")


class ReportNotFound(NotFound):
    code = "report_not_found"
    message = Message("未找到该情况反馈", "Condition report not found")


class ReportAlreadyResolved(InvalidTransition):
    code = "report_already_resolved"
    message = Message("该反馈已处理", "This report has already been resolved")


class InvalidRating(DefaultField, ValidationError):
    code = "invalid_rating"
    default_field = "rating"
    message = Message("评分须为 1 到 5 的整数", "The rating must be a whole number from 1 to 5")


class TextTooLong(ValidationError):
    code = "text_too_long"
    message = Message("内容过长（最多 {limit} 字）", "Too long (at most {limit} characters)")


# ---- imports -----------------------------------------------------------------


class ImportBadFile(DefaultField, ValidationError):
    code = "import_bad_file"
    default_field = "file"
    message = Message("无法读取文件，请上传 .xlsx 或 .csv 文件", "Cannot read the file; upload an .xlsx or .csv file")


class ImportMissingColumns(DefaultField, ValidationError):
    code = "import_missing_columns"
    default_field = "file"
    message = Message("缺少必填列：{columns}", "Missing required columns: {columns}")


class ImportEmpty(DefaultField, ValidationError):
    code = "import_empty"
    default_field = "file"
    message = Message("文件中没有数据行", "The file has no data rows")


class ImportTooLarge(DefaultField, ValidationError):
    code = "import_too_large"
    default_field = "file"
    message = Message("文件过大（最多 {limit} 行 / 5 MB）", "The file is too large (at most {limit} rows / 5 MB)")


# ---- photos ------------------------------------------------------------------


class TooManyPhotos(DefaultField, Conflict):
    code = "too_many_photos"
    default_field = "photo"
    message = Message("每个驿站最多 12 张照片，请先删除旧照片", "At most 12 photos per station; remove an old one first")


class PhotoNotFound(NotFound):
    code = "photo_not_found"
    message = Message("照片不存在", "No such photo")

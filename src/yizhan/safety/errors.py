"""Error codes of the fire-safety app (智慧消防).

Each is an ``AppError`` subclass with a stable ``code``, a zh+en message and the field
it belongs to. Sections by concept; a helper adds its codes to its own section.
"""

from __future__ import annotations

from yizhan.core.errors import (
    Conflict,
    DefaultField,
    InvalidTransition,
    Message,
    NotFound,
    PermissionDenied,
    ValidationError,
)

# ---- places and devices ---------------------------------------------------------


class PlaceNotFound(NotFound):
    code = "place_not_found"
    message = Message("未找到该场所", "Place not found")


class DeviceNotFound(NotFound):
    code = "device_not_found"
    message = Message("未找到该设备", "Device not found")


class DeviceCodeTaken(DefaultField, Conflict):
    code = "device_code_taken"
    default_field = "code"
    message = Message("设备编号已存在", "A device with this code already exists")


class PlaceCodeTaken(DefaultField, Conflict):
    code = "place_code_taken"
    default_field = "code"
    message = Message("场所编号已存在", "A place with this code already exists")


# ---- ingest (MQTT, HTTP push, GB/T 26875.3) -------------------------------------


class UnknownDevice(DefaultField, ValidationError):
    code = "unknown_device"
    default_field = "device"
    message = Message("未登记的设备", "Unknown device")


class MalformedMessage(ValidationError):
    code = "malformed_message"
    message = Message("报文格式错误", "Malformed message")


class ImpossibleValue(ValidationError):
    code = "impossible_value"
    message = Message("数值超出物理可能范围", "Value outside what the sensor can measure")


class BadSignature(DefaultField, PermissionDenied):
    code = "bad_signature"
    default_field = "signature"
    message = Message("签名无效", "Bad signature")


class StaleTimestamp(DefaultField, PermissionDenied):
    code = "stale_timestamp"
    default_field = "timestamp"
    message = Message("时间戳过期或超前", "Timestamp too old or in the future")


class ReplayedMessage(DefaultField, Conflict):
    code = "replayed_message"
    default_field = "nonce"
    message = Message("重复的推送（已拒绝重放）", "Replayed message refused")


# ---- alarms ------------------------------------------------------------------------


class AlarmNotFound(NotFound):
    code = "alarm_not_found"
    message = Message("未找到该报警", "Alarm not found")


class InvalidAlarmTransition(InvalidTransition):
    code = "invalid_alarm_transition"
    message = Message("报警当前状态不允许此操作", "This alarm cannot do that in its current state")


# wall and alarms API (owner: wall)


class InvalidAlarmState(DefaultField, ValidationError):
    code = "invalid_alarm_state"
    default_field = "state"
    message = Message("报警状态应为 active、acknowledged、cleared 或 open 之一",
                      "Alarm state must be one of active, acknowledged, cleared, open")


class InvalidAlarmKind(DefaultField, ValidationError):
    code = "invalid_alarm_kind"
    default_field = "kind"
    message = Message("未知的报警类型", "Unknown alarm kind")


class InvalidCellResolution(DefaultField, ValidationError):
    code = "invalid_cell_resolution"
    default_field = "res"
    message = Message("网格级别应为 6 到 10 之间的整数", "Cell resolution must be a whole number from 6 to 10")


# ---- dispatch and responders --------------------------------------------------------


class ResponderNotFound(NotFound):
    code = "responder_not_found"
    message = Message("未找到该处置人员", "Responder not found")


class AssignmentNotFound(NotFound):
    code = "assignment_not_found"
    message = Message("未找到该出警任务", "Assignment not found")


class InvalidAssignmentTransition(InvalidTransition):
    code = "invalid_assignment_transition"
    message = Message("出警任务当前状态不允许此操作", "This assignment cannot do that in its current state")


class TooFarFromPlace(DefaultField, ValidationError):
    code = "too_far_from_place"
    default_field = "lat"
    message = Message("您的位置离报警地点太远，无法确认到场", "You are too far from the alarm's place to arrive")


class DispatchNotFound(NotFound):
    code = "dispatch_not_found"
    message = Message("未找到该出警记录", "Dispatch not found")


class OutcomeRequired(DefaultField, ValidationError):
    code = "outcome_required"
    default_field = "outcome"
    message = Message("请选择处置结果（真实火情、误报、测试或发现隐患）",
                      "Choose an outcome: real fire, false alarm, test or hazard")


class InvalidOutcome(DefaultField, ValidationError):
    code = "invalid_outcome"
    default_field = "outcome"
    message = Message("处置结果无效", "Unknown outcome")


class PositionRequired(DefaultField, ValidationError):
    code = "position_required"
    default_field = "lat"
    message = Message("请提供您当前的位置", "Your current position is needed")


class InvalidAssignmentAction(DefaultField, ValidationError):
    code = "invalid_assignment_action"
    default_field = "action"
    message = Message("未知的出警操作", "Unknown assignment action")


class ResponderExists(DefaultField, Conflict):
    code = "responder_exists"
    default_field = "user"
    message = Message("该用户已登记为处置人员", "This user is already a responder")


class InvalidResponderKind(DefaultField, ValidationError):
    code = "invalid_responder_kind"
    default_field = "kind"
    message = Message("处置人员类型无效", "Unknown responder kind")


class ResponderUserNotFound(DefaultField, ValidationError):
    code = "responder_user_not_found"
    default_field = "user"
    message = Message("未找到该用户", "User not found")


class NotAStation(DefaultField, ValidationError):
    code = "not_a_station"
    default_field = "station"
    message = Message("所选场所不是微型消防站", "That place is not a micro fire station")


class InvalidMonth(DefaultField, ValidationError):
    code = "invalid_month"
    default_field = "month"
    message = Message("月份格式应为 YYYY-MM", "Month must be YYYY-MM")


class UnknownJurisdiction(DefaultField, ValidationError):
    code = "unknown_jurisdiction"
    default_field = "jurisdiction"
    message = Message("未找到该辖区", "Unknown jurisdiction")


class NoFireToForward(Conflict):
    code = "no_fire_to_forward"
    message = Message("只有确认的火情才转报 119", "Only a confirmed fire is forwarded to 119")


# ---- inspections --------------------------------------------------------------------


class InspectionNotFound(NotFound):
    code = "inspection_not_found"
    message = Message("未找到该检查记录", "Inspection not found")


# ---- places, devices, imports, inspections (owner: places helper) -------------------


class InvalidPlaceKind(DefaultField, ValidationError):
    code = "invalid_place_kind"
    default_field = "kind"
    message = Message("场所类型无效", "Invalid place kind")


class InvalidDeviceKind(DefaultField, ValidationError):
    code = "invalid_device_kind"
    default_field = "kind"
    message = Message("设备类型无效", "Invalid device kind")


class InvalidCode(DefaultField, ValidationError):
    code = "invalid_code"
    default_field = "code"
    message = Message("编号只能包含字母、数字、连字符和下划线（最多 {limit} 个字符）",
                      "A code may hold letters, digits, '-' and '_' only (at most {limit} characters)")


class TextTooLong(ValidationError):
    code = "text_too_long"
    message = Message("内容过长（最多 {limit} 个字符）", "Too long (at most {limit} characters)")


class InvalidNumber(ValidationError):
    code = "invalid_number"
    message = Message("请输入 {low} 到 {high} 之间的整数", "Enter a whole number from {low} to {high}")


class InvalidParentPlace(DefaultField, ValidationError):
    code = "invalid_parent_place"
    default_field = "parent"
    message = Message("上级场所无效（不存在、是自身或不在同一辖区）",
                      "Invalid parent place (missing, itself, or in another jurisdiction)")


class InvalidEquipment(DefaultField, ValidationError):
    code = "invalid_equipment"
    default_field = "equipment"
    message = Message("器材清单格式无效，如：灭火器×10、水带×2", "Invalid equipment list, e.g. 灭火器×10, 水带×2")


class InvalidGbAddress(DefaultField, ValidationError):
    code = "invalid_gb_address"
    default_field = "gb_address"
    message = Message("传输装置地址须为 12 位十六进制数（6 字节）", "A transmitter address is 12 hex digits (6 bytes)")


class GbAddressTaken(DefaultField, Conflict):
    code = "gb_address_taken"
    default_field = "gb_address"
    message = Message("该传输装置地址已登记", "A transmitter with this address is already registered")


class InvalidTransmitter(DefaultField, ValidationError):
    code = "invalid_transmitter"
    default_field = "transmitter"
    message = Message("火灾报警部件须挂在已登记的用户信息传输装置下",
                      "A component point belongs under a registered transmitter")


class InvalidComponentPoint(DefaultField, ValidationError):
    code = "invalid_component_point"
    default_field = "gb_comp_addr"
    message = Message("部件点位须填写系统类型、系统地址、部件类型和部件地址（均为非负整数）",
                      "A component point needs system type, system address, component type and address (whole numbers)")


class ComponentPointTaken(DefaultField, Conflict):
    code = "component_point_taken"
    default_field = "gb_comp_addr"
    message = Message("该传输装置下已有相同地址的部件", "This transmitter already has a component at that address")


class PlaceInactive(DefaultField, ValidationError):
    code = "place_inactive"
    default_field = "place"
    message = Message("该场所已停用", "This place is disabled")


class BulkTooLarge(DefaultField, ValidationError):
    code = "bulk_too_large"
    default_field = "count"
    message = Message("一次最多登记 {limit} 台设备", "At most {limit} devices at a time")


class ImportBadFile(DefaultField, ValidationError):
    code = "import_bad_file"
    default_field = "file"
    message = Message("无法读取文件，请上传 .xlsx 文件（可先下载模板）",
                      "Cannot read the file; upload an .xlsx workbook (download the template first)")


class ImportMissingColumns(DefaultField, ValidationError):
    code = "import_missing_columns"
    default_field = "file"
    message = Message("工作表“{sheet}”缺少必填列：{columns}", "Sheet '{sheet}' lacks required columns: {columns}")


class ImportEmpty(DefaultField, ValidationError):
    code = "import_empty"
    default_field = "file"
    message = Message("文件中没有场所或设备数据行", "The file has no place or device rows")


class ImportTooLarge(DefaultField, ValidationError):
    code = "import_too_large"
    default_field = "file"
    message = Message("文件过大（最多 {limit} 行 / 5 MB）", "The file is too large (at most {limit} rows / 5 MB)")


class ImportDuplicateCode(DefaultField, ValidationError):
    code = "import_duplicate_code"
    default_field = "code"
    message = Message("编号与第 {row} 行重复", "Same code as row {row}")


class ImportUnknownPlace(DefaultField, ValidationError):
    code = "import_unknown_place"
    default_field = "place"
    message = Message("场所编号不存在（既不在系统中，也不在场所表中）",
                      "No place with this code (neither registered nor in the places sheet)")


class ImportBadCell(ValidationError):
    code = "import_bad_cell"
    message = Message("无法识别的值：{value}", "Cannot read the value: {value}")


class InvalidInspectionTransition(InvalidTransition):
    code = "invalid_inspection_transition"
    message = Message("该检查记录当前状态不允许此操作", "This inspection cannot do that in its current state")


class InvalidRooms(DefaultField, ValidationError):
    code = "invalid_rooms"
    default_field = "rooms"
    message = Message("房间检查项格式无效（每间房：房号和四件套是否齐全）",
                      "Invalid rooms (each: a room number and whether each of the four items is there)")


class InvalidFollowUp(DefaultField, ValidationError):
    code = "invalid_follow_up"
    default_field = "follow_up_due"
    message = Message("整改期限须在检查日期之后 1 到 90 天内", "The follow-up deadline must be 1 to 90 days after the inspection")


class InspectionTooManyPhotos(DefaultField, ValidationError):
    code = "inspection_too_many_photos"
    default_field = "photos"
    message = Message("最多上传 {limit} 张照片", "At most {limit} photos")


class InvalidInspectionTime(DefaultField, ValidationError):
    code = "invalid_inspection_time"
    default_field = "inspected_at"
    message = Message("检查时间不能晚于现在，也不能早于 30 天前", "The inspection time cannot be in the future or over 30 days ago")


class InvalidFilter(ValidationError):
    code = "invalid_filter"
    message = Message("筛选条件无效", "Invalid filter")

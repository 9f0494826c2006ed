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


# ---- inspections --------------------------------------------------------------------


class InspectionNotFound(NotFound):
    code = "inspection_not_found"
    message = Message("未找到该检查记录", "Inspection not found")

"""Enumerations of the fire-safety app (智慧消防)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PlaceKind(models.TextChoices):
    BUILDING = "building", _("楼栋")
    RENTAL_HOUSE = "rental_house", _("出租房")
    CHARGING_SHED = "charging_shed", _("电动车充电棚")
    MICRO_STATION = "micro_station", _("微型消防站")
    CENTRE = "centre", _("24小时监控中心")
    SMALL_VENUE = "small_venue", _("九小场所")


class DeviceKind(models.TextChoices):
    SMOKE = "smoke", _("烟感")
    GAS = "gas", _("可燃气体探测器")
    ELECTRICAL = "electrical", _("电气火灾监测")
    SHED_TEMPERATURE = "shed_temperature", _("充电棚温度")
    TRANSMITTER = "transmitter", _("用户信息传输装置")
    COMPONENT = "component", _("火灾报警部件")  # a point behind a transmitter (GB/T 26875.3)


class DeviceStatus(models.TextChoices):
    """Liveness, kept by the ingest (alarms are separate rows)."""

    NEW = "new", _("未上线")
    ONLINE = "online", _("在线")
    OFFLINE = "offline", _("离线")
    DISABLED = "disabled", _("停用")


class AlarmKind(models.TextChoices):
    FIRE = "fire", _("火警")
    SMOKE = "smoke", _("烟雾报警")
    GAS = "gas", _("燃气泄漏")
    ELECTRICAL = "electrical", _("电气异常")
    TEMPERATURE = "temperature", _("温度过高")
    FAULT = "fault", _("设备故障")
    OFFLINE = "offline", _("设备离线")
    LOW_BATTERY = "low_battery", _("电量低")
    TAMPER = "tamper", _("防拆报警")


class Severity(models.TextChoices):
    """ThingsBoard's severities; ``rank`` orders queues (fire jumps every queue)."""

    CRITICAL = "critical", _("紧急")
    MAJOR = "major", _("重要")
    MINOR = "minor", _("次要")
    WARNING = "warning", _("警告")


SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.MAJOR: 1, Severity.MINOR: 2, Severity.WARNING: 3}


class AlarmState(models.TextChoices):
    ACTIVE = "active", _("未确认")
    ACKNOWLEDGED = "acknowledged", _("已确认")
    CLEARED = "cleared", _("已消除")


class AlarmAction(models.TextChoices):
    RAISE = "raise", _("报警")
    RETRIGGER = "retrigger", _("再次触发")
    ACKNOWLEDGE = "acknowledge", _("确认")
    CLEAR = "clear", _("消除")


class ResponderKind(models.TextChoices):
    GRID_WORKER = "grid_worker", _("消防网格员")
    MICRO_STATION = "micro_station", _("微型消防站队员")
    CENTRE = "centre", _("中心值班员")


class DispatchState(models.TextChoices):
    OPEN = "open", _("处置中")
    ON_SCENE = "on_scene", _("已到场")
    RESOLVED = "resolved", _("已处置")


class DispatchOutcome(models.TextChoices):
    REAL_FIRE = "real_fire", _("真实火情")
    FALSE_ALARM = "false_alarm", _("误报")
    TEST = "test", _("测试")
    HAZARD = "hazard", _("发现隐患")


class AssignmentState(models.TextChoices):
    NOTIFIED = "notified", _("已通知")
    ACKNOWLEDGED = "acknowledged", _("已接警")
    EN_ROUTE = "en_route", _("出发中")
    ARRIVED = "arrived", _("已到场")
    RESOLVED = "resolved", _("已处置")
    STOOD_DOWN = "stood_down", _("已撤回")


class AssignmentAction(models.TextChoices):
    ACKNOWLEDGE = "acknowledge", _("接警")
    EN_ROUTE = "en_route", _("出发")
    ARRIVE = "arrive", _("到场")
    RESOLVE = "resolve", _("处置完毕")
    STAND_DOWN = "stand_down", _("撤回")


class InspectionResult(models.TextChoices):
    PASSED = "passed", _("合格")
    FAILED = "failed", _("不合格")


class InspectionState(models.TextChoices):
    PASSED = "passed", _("合格")
    RECTIFYING = "rectifying", _("整改中")
    RECTIFIED = "rectified", _("已整改")
    OVERDUE = "overdue", _("逾期未整改")


class IngestChannel(models.TextChoices):
    MQTT = "mqtt", "MQTT"
    HTTP = "http", _("HTTP 推送")
    GB26875 = "gb26875", "GB/T 26875.3"

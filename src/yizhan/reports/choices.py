"""States, actions and categories of snap-and-report cases (随手拍 / 工单).

The case workflow follows Chinese digital city management (数字城管, GB/T 30428,
CJ/T 315): report → accept (立案) → dispatch (派遣) → handle (处置) → verify (核查)
→ close (结案) → evaluate (评价). The allowed moves are in ``workflow.TRANSITIONS``.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseState(models.TextChoices):
    SUBMITTED = "submitted", _("待受理")
    ACCEPTED = "accepted", _("已立案")
    REJECTED = "rejected", _("不予立案")
    DISPATCHED = "dispatched", _("已派遣")
    IN_PROGRESS = "in_progress", _("处置中")
    RETURNED = "returned", _("已退单")
    HANDLED = "handled", _("已处置")
    VERIFIED = "verified", _("已核查")
    CLOSED = "closed", _("已结案")
    EVALUATED = "evaluated", _("已评价")
    PARKED = "parked", _("挂账")
    MERGED = "merged", _("已合并")


class CaseAction(models.TextChoices):
    SUBMIT = "submit", _("上报")
    ACCEPT = "accept", _("立案")
    REJECT = "reject", _("不予立案")
    DISPATCH = "dispatch", _("派遣")
    TRANSFER = "transfer", _("转派")
    START = "start", _("签收")
    PROGRESS = "progress", _("处置进展")
    RETURN = "return", _("退单")
    HANDLE = "handle", _("处置完毕")
    REQUEST_EXTENSION = "request_extension", _("申请延期")
    DECIDE_EXTENSION = "decide_extension", _("审批延期")
    PARK = "park", _("挂账")
    UNPARK = "unpark", _("解除挂账")
    VERIFY = "verify", _("核查通过")
    VERIFY_FAIL = "verify_fail", _("核查不通过")
    CONFIRM = "confirm", _("上报人确认已解决")
    CLOSE = "close", _("结案")
    EVALUATE = "evaluate", _("评价")
    FOLLOW_UP = "follow_up", _("回访")
    REOPEN = "reopen", _("重新办理")
    MERGE = "merge", _("合并重复")
    ESCALATE = "escalate", _("超时升级")
    SUPPORT = "support", _("我也遇到")


class Actor(models.TextChoices):
    """Who may take an action on a case (resolved per case by ``workflow.actor_kinds``)."""

    REPORTER = "reporter", _("上报人")
    DISPATCHER = "dispatcher", _("受理派遣（社区/街道/区）")
    HANDLER = "handler", _("处置人（网格员/部门）")
    SYSTEM = "system", _("系统")


class CategoryKind(models.TextChoices):
    COMPONENT = "component", _("部件")
    EVENT = "event", _("事件")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")
    EMERGENCY = "emergency", _("特急")


class Clock(models.TextChoices):
    WORKING = "working", _("工作时间")
    NATURAL = "natural", _("自然时间")


class CaseSource(models.TextChoices):
    APP = "app", _("随手拍")
    STAFF = "staff", _("工作人员采集")
    OPEN311 = "open311", _("Open311 接口")
    HOTLINE = "hotline", _("12345 热线")


class PhotoStage(models.TextChoices):
    REPORT = "report", _("上报照片")
    PROGRESS = "progress", _("处置中照片")
    AFTER = "after", _("处置后照片")
    VERIFY = "verify", _("核查照片")


class ExtensionState(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    DENIED = "denied", _("未批准")

"""Human labels for the audit log page: the action and the kind of object, in the active
language (the stored rows keep their codes)."""

from __future__ import annotations

from django.apps import apps
from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "read": _("查看"),
    "create": _("创建"),
    "update": _("修改"),
    "delete": _("删除"),
    "login": _("登录"),
    "login_failed": _("登录失败"),
    "export": _("导出"),
    "import": _("导入"),
}

# ``app_label.model`` (what audit_record writes) → what a person calls it.
OBJECT_LABELS = {
    "accounts.user": _("用户"),
    "accounts.rolegrant": _("角色授权"),
    "accounts.workerprofile": _("劳动者资料"),
    "accounts.apitoken": _("API 令牌"),
    "core.auditlog": _("审计日志"),
    "core.notification": _("消息"),
    "core.outboundmessage": _("外发消息"),
    "core.channelbinding": _("消息渠道"),
    "core.notificationpreference": _("通知设置"),
    "core.webhooksubscription": _("Webhook 订阅"),
    "jurisdictions.jurisdiction": _("辖区"),
    "needs.suggestion": _("建议"),
    "needs.wish": _("心愿"),
    "needs.wishsupport": _("心愿支持"),
    "needs.forum": _("问需会"),
    "needs.need": _("需求"),
    "reports.department": _("部门"),
    "reports.departmentmember": _("部门成员"),
    "reports.category": _("类别"),
    "reports.workcalendar": _("工作日历"),
    "reports.gridduty": _("网格值班"),
    "reports.open311client": _("Open311 客户端"),
    "reports.case": _("工单"),
    "reports.casephoto": _("工单照片"),
    "reports.extensionrequest": _("延期申请"),
    "reports.replytemplate": _("回复模板"),
    "reports.categorysetting": _("类别设置"),
    "reports.figures": _("统计数据"),
    "stations.station": _("驿站"),
    "stations.stationkeeper": _("站长"),
    "stations.stationphoto": _("驿站照片"),
    "stations.stationsupply": _("物资"),
    "stations.donation": _("捐赠"),
    "stations.stationreview": _("驿站评价"),
}


def action_label(code: str) -> str:
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def object_label(object_type: str) -> str:
    """The kind of object in words: the table above, else the model's verbose name, else
    the stored code."""
    label = OBJECT_LABELS.get(object_type)
    if label is not None:
        return str(label)
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return object_type
    return str(model._meta.verbose_name)

from django.db import models
from django.utils.translation import gettext_lazy as _


class SuggestionCategory(models.TextChoices):
    STATION = "station", _("驿站服务")
    RIGHTS = "rights", _("权益保障")
    EMPLOYMENT = "employment", _("就业")
    HOUSING = "housing", _("住房")
    EDUCATION = "education", _("子女教育")
    TRANSPORT = "transport", _("交通出行")
    OTHER = "other", _("其他")


class SuggestionState(models.TextChoices):
    SUBMITTED = "submitted", _("待答复")
    REPLIED = "replied", _("已答复")
    ADOPTED = "adopted", _("已采纳")
    TO_NEED = "to_need", _("已转为需求")
    CLOSED = "closed", _("已办结")


class SuggestionOutcome(models.TextChoices):
    """What staff do with a suggestion (each comes with a written reply)."""

    REPLY = "reply", _("答复")
    ADOPT = "adopt", _("采纳")
    TO_NEED = "to_need", _("转为需求")
    CLOSE = "close", _("办结")


class WishState(models.TextChoices):
    PENDING = "pending", _("待审核")
    REJECTED = "rejected", _("未通过")
    PUBLIC = "public", _("征集中")
    FULFILLING = "fulfilling", _("认领中")
    FULFILLED = "fulfilled", _("已圆梦")


class WishAction(models.TextChoices):
    APPROVE = "approve", _("审核通过")
    REJECT = "reject", _("不予公开")
    FULFILLING = "fulfilling", _("认领")
    FULFILLED = "fulfilled", _("已实现")


class NeedState(models.TextChoices):
    OPEN = "open", _("待办理")
    IN_PROGRESS = "in_progress", _("办理中")
    SOLVED = "solved", _("已解决")
    DECLINED = "declined", _("暂不解决")


class NeedAction(models.TextChoices):
    CREATE = "create", _("登记")
    START = "start", _("开始办理")
    PROGRESS = "progress", _("进展")
    SOLVE = "solve", _("解决")
    DECLINE = "decline", _("暂不解决")
    REASSIGN = "reassign", _("改派")
    REOPEN = "reopen", _("重新办理")


class NeedSource(models.TextChoices):
    FORUM = "forum", _("问需会")
    SUGGESTION = "suggestion", _("意见箱")
    WISH = "wish", _("心愿墙")
    DIRECT = "direct", _("其他渠道")

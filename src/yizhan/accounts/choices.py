from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    WORKER = "worker", _("劳动者")
    KEEPER = "keeper", _("站长")
    GRID_WORKER = "grid_worker", _("网格员")
    HANDLER = "handler", _("部门处置人员")
    DUTY_OFFICER = "duty_officer", _("值班员")
    COMMUNITY_ADMIN = "community_admin", _("社区管理员")
    STREET_ADMIN = "street_admin", _("街道管理员")
    DISTRICT_ADMIN = "district_admin", _("区级管理员")
    CITY_ADMIN = "city_admin", _("市级管理员")
    EMPLOYER = "employer", _("用工单位")
    MERCHANT = "merchant", _("爱心商家")
    TEACHER = "teacher", _("志愿教师")
    AUDITOR = "auditor", _("审计管理员")


ADMIN_ROLES = {Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN}


class Trade(models.TextChoices):
    FOOD_DELIVERY = "food_delivery", _("外卖骑手")
    COURIER = "courier", _("快递员")
    RIDE_HAILING = "ride_hailing", _("网约车司机")
    FREIGHT = "freight", _("货车司机")
    CLEANER = "cleaner", _("环卫工人")
    JOB_SEEKER = "job_seeker", _("求职者")
    OTHER = "other", _("其他")

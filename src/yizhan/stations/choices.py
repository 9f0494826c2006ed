from django.db import models
from django.utils.translation import gettext_lazy as _


class StationType(models.TextChoices):
    HUB = "hub", _("服务总站")
    DEMO = "demo", _("示范点")
    STATION = "station", _("驿站")
    RED = "red", _("红色驿站")
    WARM = "warm", _("暖“新”驿站")
    GIG = "gig", _("零工驿站")
    BUS = "bus", _("红色巴士")


class HostType(models.TextChoices):
    COMMUNITY = "community", _("社区")
    PROPERTY = "property", _("物业")
    SHOP = "shop", _("商铺")
    ENTERPRISE = "enterprise", _("企业")


class StationStatus(models.TextChoices):
    OPEN = "open", _("运营中")
    CLOSED = "closed", _("暂停开放")
    REMOVED = "removed", _("已撤除")


class Amenity(models.TextChoices):
    PHONE_CHARGING = "phone_charging", _("手机充电")
    EBIKE_CHARGING = "ebike_charging", _("电动车充电")
    DRINKING_WATER = "drinking_water", _("饮用水")
    HOT_WATER = "hot_water", _("热水")
    TOILET = "toilet", _("卫生间")
    HOT_MEAL = "hot_meal", _("热饭")
    MICROWAVE = "microwave", _("微波炉")
    FRIDGE = "fridge", _("冰箱")
    WIFI = "wifi", _("无线网络")
    BOOKS = "books", _("图书角")
    FIRST_AID = "first_aid", _("急救包")
    UMBRELLA = "umbrella", _("爱心雨伞")
    HEATING_COOLING = "heating_cooling", _("冷暖空调")


# The filters the station finder offers (PRODUCT / issue 2).
FINDER_AMENITIES = [
    Amenity.PHONE_CHARGING,
    Amenity.EBIKE_CHARGING,
    Amenity.DRINKING_WATER,
    Amenity.TOILET,
    Amenity.HOT_MEAL,
    Amenity.WIFI,
    Amenity.HEATING_COOLING,
    Amenity.FIRST_AID,
]


class SupplyItem(models.TextChoices):
    WATER = "water", _("饮用水")
    MASKS = "masks", _("口罩")
    DISINFECTANT = "disinfectant", _("消毒液")
    CHARGERS = "chargers", _("充电器/充电宝")
    BOOKS = "books", _("图书")
    UMBRELLAS = "umbrellas", _("雨伞")
    FIRST_AID_KIT = "first_aid_kit", _("急救包")


class StockMovementKind(models.TextChoices):
    TAKE = "take", _("领用")
    RESTOCK = "restock", _("补货")
    DONATION = "donation", _("捐赠")
    ADJUST = "adjust", _("盘点调整")


class GiverKind(models.TextChoices):
    """The seeds' 三个一点: units chip in, merchants give, residents donate."""

    UNIT = "unit", _("单位")
    MERCHANT = "merchant", _("商家")
    RESIDENT = "resident", _("居民")


class ConditionKind(models.TextChoices):
    """What a worker found at the station when checking in."""

    ALL_GOOD = "all_good", _("一切正常")
    CLOSED_WHEN_OPEN = "closed_when_open", _("应开放却关门")
    NO_HOT_WATER = "no_hot_water", _("没有热水")
    CHARGER_BROKEN = "charger_broken", _("充电设备坏了")
    OUT_OF_SUPPLIES = "out_of_supplies", _("物资用完了")
    DIRTY = "dirty", _("卫生较差")
    OTHER = "other", _("其他问题")

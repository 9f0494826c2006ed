"""The platform's local time zone (``settings.TIME_ZONE``) as a tzinfo, for code that
needs China's wall clock without activating a time zone (China has no DST)."""

from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

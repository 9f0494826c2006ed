"""Opening hours: a weekly schedule plus per-date exceptions (holidays).

Schedule format (stored on ``Station.hours``)::

    {"mon": [["08:00", "20:00"]], "tue": [...], ..., "sun": []}

* A day missing or ``[]`` is closed.
* ``"24:00"`` is allowed as an end; ``[["00:00", "24:00"]]`` is open all day.
* An interval whose end is earlier than its start runs overnight into the next day
  (``["20:00", "02:00"]`` on Friday is Friday 20:00 to Saturday 02:00).

Holidays (``StationHoliday``: a date and a list of intervals, ``[]`` = closed) replace
the intervals that *start* on that date. The rule, so that it is easy to predict:
on a local date D the station is open during

1. the intervals that start on D (D's exception if it has one, else D's weekday), and
2. the overnight tails of the intervals that started on D-1 (again D-1's exception if
   it has one, else its weekday).

So a Spring Festival exception closing 1 February does not cut short a Saturday-night
shift that began on 31 January; an exception on 31 January would.

All times are Asia/Shanghai wall-clock time (no daylight saving), computed from aware
datetimes; results are aware datetimes in Asia/Shanghai.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from yizhan.core.errors import Message, ValidationError
from yizhan.core.tz import SHANGHAI
from yizhan.stations import errors as E

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
HORIZON_DAYS = 8  # how far ahead opens_at looks

_TIME_RE = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True)
class OpenStatus:
    open_now: bool
    opens_at: datetime | None  # next opening, when closed now (within HORIZON_DAYS)
    closes_at: datetime | None  # end of the current opening, when open (None: open beyond the horizon)


def _bad(message_zh: str, message_en: str, field: str) -> ValidationError:
    return E.InvalidHours(Message(message_zh, message_en), field=field)


def parse_minute(value, *, field: str, allow_24: bool) -> int:
    if not isinstance(value, str):
        raise _bad("时间格式应为 HH:MM", "Times must look like HH:MM", field)
    m = _TIME_RE.match(value.strip())
    if not m:
        raise _bad(f"时间“{value}”格式应为 HH:MM", f"Time '{value}' must look like HH:MM", field)
    minutes = int(m.group(1)) * 60 + int(m.group(2))
    if minutes > MINUTES_PER_DAY or (minutes == MINUTES_PER_DAY and not allow_24):
        raise _bad(f"时间“{value}”超出范围", f"Time '{value}' is out of range", field)
    return minutes


def fmt_minute(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def interval_minutes(interval, *, field: str = "hours") -> tuple[int, int]:
    """``["20:00","02:00"]`` -> (1200, 1560): end may exceed a day (overnight)."""
    if not isinstance(interval, (list, tuple)) or len(interval) != 2:
        raise _bad("每个时段应为 [开始, 结束]", "Each interval must be [start, end]", field)
    start = parse_minute(interval[0], field=field, allow_24=False)
    end = parse_minute(interval[1], field=field, allow_24=True)
    if end == start:
        raise _bad("开始和结束时间不能相同", "Start and end must differ", field)
    if end < start:
        end += MINUTES_PER_DAY
    return start, end


def validate_intervals(intervals, *, field: str) -> list[list[str]]:
    """Normalise one day's intervals: sorted, no overlaps."""
    if intervals in (None, ""):
        return []
    if not isinstance(intervals, (list, tuple)):
        raise _bad("开放时段应为列表", "Intervals must be a list", field)
    spans = sorted(interval_minutes(iv, field=field) for iv in intervals)
    for (_s1, e1), (s2, _e2) in zip(spans, spans[1:], strict=False):
        if s2 < e1:
            raise _bad("开放时段有重叠", "Intervals overlap", field)
    # An overnight tail that runs into the next day's first opening is allowed: the
    # spans are merged when evaluated, so the station simply stays open.
    return [[fmt_minute(s), fmt_minute(e if e <= MINUTES_PER_DAY else e - MINUTES_PER_DAY)] for s, e in spans]


def validate_hours(hours) -> dict:
    """Normalised weekly schedule with all seven days; ``invalid_hours`` otherwise."""
    if hours in (None, ""):
        hours = {}
    if not isinstance(hours, dict):
        raise _bad("开放时间格式有误", "Opening hours are malformed", "hours")
    unknown = set(hours) - set(DAYS)
    if unknown:
        day = sorted(unknown)[0]
        raise _bad(f"未知的星期：{day}", f"Unknown day: {day}", f"hours.{day}")
    return {day: validate_intervals(hours.get(day), field=f"hours.{day}") for day in DAYS}


def _day_spans(hours: dict, holidays: dict, day: date) -> list[tuple[int, int]]:
    if day in holidays:
        raw = holidays[day] or []
    else:
        raw = (hours or {}).get(DAYS[day.weekday()]) or []
    return [interval_minutes(iv) for iv in raw]


def _merged_spans(hours: dict, holidays: dict, first: date, last: date) -> list[tuple[datetime, datetime]]:
    """Opening spans (local aware datetimes) of intervals starting first..last, merged."""
    spans: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        midnight = datetime.combine(day, time(0), tzinfo=SHANGHAI)
        for s, e in _day_spans(hours, holidays, day):
            spans.append((midnight + timedelta(minutes=s), midnight + timedelta(minutes=e)))
        day += timedelta(days=1)
    spans.sort()
    merged: list[tuple[datetime, datetime]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _holiday_keys(holidays) -> dict:
    out = {}
    for key, intervals in (holidays or {}).items():
        out[date.fromisoformat(key) if isinstance(key, str) else key] = intervals
    return out


def open_status(*, hours: dict, holidays: dict | None = None, at: datetime) -> OpenStatus:
    """Whether open at ``at`` and the next change (see the module rule)."""
    holidays = _holiday_keys(holidays)
    local = at.astimezone(SHANGHAI)
    today = local.date()
    spans = _merged_spans(hours, holidays, today - timedelta(days=1), today + timedelta(days=HORIZON_DAYS))
    horizon_end = datetime.combine(today + timedelta(days=HORIZON_DAYS), time(0), tzinfo=SHANGHAI)
    for s, e in spans:
        if s <= local < e:
            return OpenStatus(True, None, e if e < horizon_end else None)
        if s > local:
            # the next opening, if it is within HORIZON_DAYS of ``at``
            return OpenStatus(False, s if s - local <= timedelta(days=HORIZON_DAYS) else None, None)
    return OpenStatus(False, None, None)


def is_open_at(*, hours: dict, holidays: dict | None = None, at: datetime) -> bool:
    return open_status(hours=hours, holidays=holidays, at=at).open_now


def week_spans(hours: dict) -> list[tuple[int, int]]:
    """The weekly schedule as minute-of-week spans [start, end) within 0..MINUTES_PER_WEEK,
    overnight intervals split at the week's end. For fast open-now checks."""
    out: list[tuple[int, int]] = []
    for i, day in enumerate(DAYS):
        for s, e in (interval_minutes(iv) for iv in (hours or {}).get(day) or []):
            start, end = i * MINUTES_PER_DAY + s, i * MINUTES_PER_DAY + e
            if end > MINUTES_PER_WEEK:
                out.append((start, MINUTES_PER_WEEK))
                out.append((0, end - MINUTES_PER_WEEK))
            else:
                out.append((start, end))
    return sorted(out)


def minute_of_week(at: datetime) -> int:
    local = at.astimezone(SHANGHAI)
    return local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute


def describe_day(intervals) -> str:
    """"08:00–20:00, 21:00–次日02:00" style text for one day's intervals."""
    parts = []
    for iv in intervals or []:
        s, e = interval_minutes(iv)
        parts.append(f"{fmt_minute(s)}–{'次日' if e > MINUTES_PER_DAY else ''}{iv[1]}")
    return ", ".join(parts)

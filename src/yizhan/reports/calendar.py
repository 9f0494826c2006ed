"""Working-time arithmetic for case clocks (工作时间计时).

A stage's time limit is counted in *working* minutes on the working calendar of the
case's district: the clock runs only inside the weekly working hours, stops on public
holidays and runs on make-up working days (调休). Emergencies run on *natural* time.

    spec = calendar_spec_for(jurisdiction=case.jurisdiction)
    due = deadline_add(spec=spec, start=now, minutes=240)            # 4 working hours
    used = working_minutes_between(spec=spec, start=started, end=now)

* ``hours`` has the stations' shape (``stations.hours``): ``{"mon": [["08:30", "12:00"],
  ["13:30", "18:00"]], ..., "sun": []}``, Asia/Shanghai wall-clock time. Overnight
  intervals (``["22:00", "06:00"]``) and ``"24:00"`` ends work as they do for stations.
* ``days`` maps a date to the intervals that *replace* that date's weekday hours:
  ``[]`` is a holiday, a list of intervals is a make-up working day (or shorter hours).
* Datetimes in are aware (any zone); datetimes out are UTC.

The walk goes interval by interval, one local day at a time, so a call costs
O(days spanned), never O(minutes).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from yizhan.core.process_cache import ProcessCache
from yizhan.reports.models import CalendarDay, WorkCalendar
from yizhan.stations.hours import DAYS, SHANGHAI, interval_minutes

DEFAULT_HOURS = {
    "mon": [["08:30", "12:00"], ["13:30", "18:00"]],
    "tue": [["08:30", "12:00"], ["13:30", "18:00"]],
    "wed": [["08:30", "12:00"], ["13:30", "18:00"]],
    "thu": [["08:30", "12:00"], ["13:30", "18:00"]],
    "fri": [["08:30", "12:00"], ["13:30", "18:00"]],
    "sat": [],
    "sun": [],
}

WORKING = "working"
NATURAL = "natural"
# A limit that cannot be reached within this many days is a broken calendar, not a case.
MAX_DAYS = 366 * 20
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class CalendarSpec:
    """Weekly hours plus per-date exceptions (``[]`` = holiday)."""

    hours: dict = field(default_factory=lambda: DEFAULT_HOURS)
    days: dict = field(default_factory=dict)  # date -> [[start, end], ...]


DEFAULT_SPEC = CalendarSpec(hours=DEFAULT_HOURS, days={})


# ---- the per-process cache of calendars ------------------------------------------------
#
# Every submit and every transition needs the calendar of the case's district; reading
# WorkCalendar and its CalendarDays each time costs two queries. All calendars (a
# handful per city, each with at most a few hundred special days) are kept in memory,
# keyed by jurisdiction code. The cache is forgotten at once in this process when a
# setup service changes a calendar (``calendar_cache_forget``, now and on commit), and
# other processes notice within ``YIZHAN_CALENDAR_REFRESH_SECONDS`` (5 s) through a
# stamp of the tables (count, max id, max updated_at; the setup services touch the
# calendar's updated_at when they change one of its days).

REFRESH_SECONDS = 5.0


def _stamp() -> tuple:
    from django.db.models import Count, Max

    a = WorkCalendar.objects.aggregate(n=Count("id"), i=Max("id"), m=Max("updated_at"))
    b = CalendarDay.objects.aggregate(n=Count("id"), i=Max("id"))
    return (a["n"], a["i"], a["m"], b["n"], b["i"])


def _load(stamp: tuple) -> dict:
    """jurisdiction code -> CalendarSpec."""
    days: dict[int, dict] = {}
    for cal_id, day, is_workday, intervals in CalendarDay.objects.values_list(
        "calendar_id", "date", "is_workday", "intervals"
    ):
        days.setdefault(cal_id, {})[day] = list(intervals or []) if is_workday else []
    return {
        code: CalendarSpec(hours=hours or {}, days=days.get(pk, {}))
        for pk, code, hours in WorkCalendar.objects.values_list("id", "jurisdiction__code", "hours")
    }


_cache = ProcessCache("reports.calendar", build=_load, stamp=_stamp,
                      refresh_setting="YIZHAN_CALENDAR_REFRESH_SECONDS", refresh_default=REFRESH_SECONDS)


def _specs() -> dict:
    return _cache.get()


def calendar_cache_forget() -> None:
    """Forget the cached calendars (the setup services call it now and on commit)."""
    _cache.forget()


def calendar_spec_for(*, jurisdiction) -> CalendarSpec:
    """The calendar of the nearest ancestor-or-self of ``jurisdiction`` that has one
    (usually the district), else the default (Mon–Fri 08:30–12:00, 13:30–18:00).
    Answered from the per-process cache: treat the spec as read-only."""
    if jurisdiction is None:
        return DEFAULT_SPEC
    codes = [c for c in (jurisdiction.path or "").split("/") if c] or [jurisdiction.code]
    specs = _specs()
    if not specs:
        return DEFAULT_SPEC
    for code in reversed(codes):
        spec = specs.get(code)
        if spec is not None:
            return spec
    return DEFAULT_SPEC


# --- the walk -------------------------------------------------------------------------

def _aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return value.astimezone(UTC)


def _day_keys(days) -> dict[date, list]:
    out = {}
    for key, intervals in (days or {}).items():
        out[date.fromisoformat(key) if isinstance(key, str) else key] = intervals or []
    return out


class _Walker:
    """Merged working spans (UTC) of a spec, in order, from a given local date on."""

    def __init__(self, spec: CalendarSpec):
        self.week = [
            [interval_minutes(iv) for iv in ((spec.hours or {}).get(day) or [])] for day in DAYS
        ]
        self.days = {d: [interval_minutes(iv) for iv in ivs] for d, ivs in _day_keys(spec.days).items()}
        self.week_empty = not any(self.week)
        self.last_special = max((d for d, ivs in self.days.items() if ivs), default=None)

    def _spans_of(self, day: date) -> list[tuple[int, int]]:
        if day in self.days:
            return self.days[day]
        return self.week[day.weekday()]

    def spans(self, first: date, last: date | None = None) -> Iterator[tuple[datetime, datetime]]:
        """Working spans of intervals starting on local dates ``first``.. (``last``), merged.
        Stops when there is no working time left (a weekly schedule with no hours, past
        the last make-up day) or after ``MAX_DAYS``."""
        cur: tuple[datetime, datetime] | None = None
        day = first
        limit = first + timedelta(days=MAX_DAYS)
        while day <= limit and (last is None or day <= last):
            if self.week_empty and (self.last_special is None or day > self.last_special):
                break
            raw = self._spans_of(day)
            if raw:
                midnight = datetime.combine(day, time(0), tzinfo=SHANGHAI).astimezone(UTC)
                for s, e in sorted(raw):
                    span = (midnight + timedelta(minutes=s), midnight + timedelta(minutes=e))
                    if cur is not None and span[0] <= cur[1]:
                        cur = (cur[0], max(cur[1], span[1]))
                    else:
                        if cur is not None:
                            yield cur
                        cur = span
            day += timedelta(days=1)
        if cur is not None:
            yield cur


def _local_date(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def deadline_add(*, spec: CalendarSpec, start: datetime, minutes: int | float, clock: str = WORKING) -> datetime:
    """The instant at which ``minutes`` of (working) time have elapsed after ``start``.

    Natural clock: ``start + minutes``. Working clock: the clock is paused outside the
    working hours, so for ``minutes > 0`` the result always lies inside (or at the end
    of) a working interval; ``minutes == 0`` returns ``start``. UTC out."""
    start = _aware(start, "start")
    if minutes < 0:
        raise ValueError("minutes must be >= 0")
    remaining = timedelta(minutes=minutes)
    if clock == NATURAL:
        return start + remaining
    if clock != WORKING:
        raise ValueError(f"unknown clock {clock!r}")
    if not remaining:
        return start
    walker = _Walker(spec)
    # start at the day before: an overnight interval of yesterday may still be running
    for s, e in walker.spans(_local_date(start) - timedelta(days=1)):
        if e <= start:
            continue
        s = max(s, start)
        available = e - s
        if remaining <= available:
            return s + remaining
        remaining -= available
    raise ValueError("the working calendar has no working time left to reach the deadline")


def working_minutes_between(*, spec: CalendarSpec, start: datetime, end: datetime,
                            clock: str = WORKING) -> float:
    """(Working) minutes from ``start`` to ``end``; negative when ``end`` is earlier
    (e.g. how far past a deadline a case is)."""
    start = _aware(start, "start")
    end = _aware(end, "end")
    if clock == NATURAL:
        return (end - start) / _MINUTE
    if clock != WORKING:
        raise ValueError(f"unknown clock {clock!r}")
    if end < start:
        return -working_minutes_between(spec=spec, start=end, end=start, clock=clock)
    total = timedelta(0)
    walker = _Walker(spec)
    for s, e in walker.spans(_local_date(start) - timedelta(days=1), _local_date(end)):
        if s >= end:
            break
        if e <= start:
            continue
        total += min(e, end) - max(s, start)
    return total / _MINUTE


def is_working_time(*, spec: CalendarSpec, at: datetime) -> bool:
    """Whether the working clock runs at ``at`` (inside a working interval)."""
    at = _aware(at, "at")
    for s, e in _Walker(spec).spans(_local_date(at) - timedelta(days=1), _local_date(at)):
        if s <= at < e:
            return True
        if s > at:
            break
    return False

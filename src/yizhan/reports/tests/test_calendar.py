"""Working-time clocks: known cases (nights, weekends, 国庆 with 调休, overnight shifts,
natural time), properties (inverse, monotone, lands in working time) and a
minute-by-minute brute force on short windows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yizhan.reports.calendar import (
    DEFAULT_HOURS,
    DEFAULT_SPEC,
    CalendarSpec,
    calendar_spec_for,
    deadline_add,
    is_working_time,
    working_minutes_between,
)
from yizhan.stations.hours import DAYS, SHANGHAI


def sh(y, m, d, hh=0, mm=0, ss=0):
    return datetime(y, m, d, hh, mm, ss, tzinfo=SHANGHAI)


def utc(dt):
    return dt.astimezone(UTC)


# 2026: 中秋 9-25..27, 国庆 10-01..07; make-up working days Sun 9-20 and Sat 10-10.
GUOQING = CalendarSpec(
    hours=DEFAULT_HOURS,
    days={
        **{date(2026, 9, d): [] for d in (25,)},
        **{date(2026, 10, d): [] for d in range(1, 8)},
        date(2026, 9, 20): [["08:30", "12:00"], ["13:30", "18:00"]],
        date(2026, 10, 10): [["08:30", "12:00"], ["13:30", "18:00"]],
    },
)
NIGHT_SHIFT = CalendarSpec(
    hours={"mon": [["08:00", "12:00"]], "fri": [["22:00", "06:00"]], "sat": [["05:00", "09:00"]]},
    days={},
)
ALL_DAY = CalendarSpec(hours={d: [["00:00", "24:00"]] for d in DAYS}, days={})
SPECS = [DEFAULT_SPEC, GUOQING, NIGHT_SHIFT, ALL_DAY]

WORKING_DAY = 480  # 08:30-12:00 (210) + 13:30-18:00 (270)


# ---- known cases ---------------------------------------------------------------------


def test_friday_afternoon_plus_four_working_hours_is_monday_late_morning():
    # 2026-11-20 is a Friday: 60 min on Friday, 180 on Monday from 08:30.
    due = deadline_add(spec=DEFAULT_SPEC, start=utc(sh(2026, 11, 20, 17, 0)), minutes=240)
    assert due == utc(sh(2026, 11, 23, 11, 30))
    assert due.tzinfo == UTC
    assert working_minutes_between(spec=DEFAULT_SPEC, start=sh(2026, 11, 20, 17), end=due) == 240


def test_lunch_break_and_evening_pause_the_clock():
    assert deadline_add(spec=DEFAULT_SPEC, start=sh(2026, 11, 23, 11, 30), minutes=60) == utc(sh(2026, 11, 23, 14, 0))
    assert deadline_add(spec=DEFAULT_SPEC, start=sh(2026, 11, 23, 12, 30), minutes=30) == utc(sh(2026, 11, 23, 14, 0))
    # starting at night: the clock starts at 08:30 next morning
    assert deadline_add(spec=DEFAULT_SPEC, start=sh(2026, 11, 23, 22, 0), minutes=30) == utc(sh(2026, 11, 24, 9, 0))
    # ending exactly at the end of the day stays on that day
    assert deadline_add(spec=DEFAULT_SPEC, start=sh(2026, 11, 23, 17, 0), minutes=60) == utc(sh(2026, 11, 23, 18, 0))


def test_weekend_start_counts_from_monday():
    # Saturday 10:00 + 30 working minutes = Monday 09:00
    assert deadline_add(spec=DEFAULT_SPEC, start=sh(2026, 11, 21, 10), minutes=30) == utc(sh(2026, 11, 23, 9, 0))
    assert working_minutes_between(spec=DEFAULT_SPEC, start=sh(2026, 11, 21, 0), end=sh(2026, 11, 23, 0)) == 0


def test_fifteen_working_days_for_an_illegal_structure():
    # Monday 2026-11-02 08:30 + 15 working days = Friday 2026-11-20 18:00
    due = deadline_add(spec=DEFAULT_SPEC, start=sh(2026, 11, 2, 8, 30), minutes=15 * WORKING_DAY)
    assert due == utc(sh(2026, 11, 20, 18, 0))


def test_guoqing_holiday_pauses_the_clock():
    # Wednesday 30 September 17:00 + 4 h: 60 min that day, then 1–7 October off -> Thursday 8 October 11:30
    due = deadline_add(spec=GUOQING, start=sh(2026, 9, 30, 17), minutes=240)
    assert due == utc(sh(2026, 10, 8, 11, 30))
    # without the holiday it would have been Thursday 1 October
    assert deadline_add(spec=DEFAULT_SPEC, start=sh(2026, 9, 30, 17), minutes=240) == utc(sh(2026, 10, 1, 11, 30))
    assert working_minutes_between(spec=GUOQING, start=sh(2026, 10, 1), end=sh(2026, 10, 8)) == 0
    assert not is_working_time(spec=GUOQING, at=sh(2026, 10, 5, 10))


def test_make_up_working_days_count():
    # Friday 9 October 17:00 + 4 h: Saturday 10 October is a make-up working day
    assert deadline_add(spec=GUOQING, start=sh(2026, 10, 9, 17), minutes=240) == utc(sh(2026, 10, 10, 11, 30))
    # Sunday 20 September is one too (and Friday 25 September the 中秋 holiday)
    assert is_working_time(spec=GUOQING, at=sh(2026, 9, 20, 9))
    assert working_minutes_between(spec=GUOQING, start=sh(2026, 9, 19), end=sh(2026, 9, 21)) == WORKING_DAY
    assert working_minutes_between(spec=GUOQING, start=sh(2026, 9, 21), end=sh(2026, 9, 28)) == 4 * WORKING_DAY
    # the whole stretch 30 Sep .. 11 Oct: 30 Sep, 8, 9, 10 Oct
    assert working_minutes_between(spec=GUOQING, start=sh(2026, 9, 30), end=sh(2026, 10, 11)) == 4 * WORKING_DAY


def test_string_dates_in_days_are_accepted():
    spec = CalendarSpec(hours=DEFAULT_HOURS, days={"2026-10-01": []})
    assert deadline_add(spec=spec, start=sh(2026, 9, 30, 17), minutes=120) == utc(sh(2026, 10, 2, 9, 30))


def test_overnight_interval_runs_into_the_next_day():
    # Friday 22:00 – Saturday 06:00, merged with Saturday 05:00 – 09:00 (no double count)
    assert deadline_add(spec=NIGHT_SHIFT, start=sh(2026, 11, 20, 23), minutes=120) == utc(sh(2026, 11, 21, 1))
    assert working_minutes_between(spec=NIGHT_SHIFT, start=sh(2026, 11, 20, 12), end=sh(2026, 11, 21, 12)) == 11 * 60
    # started on Saturday 02:00: the Friday-night shift is still running
    assert deadline_add(spec=NIGHT_SHIFT, start=sh(2026, 11, 21, 2), minutes=60) == utc(sh(2026, 11, 21, 3))
    # Saturday 08:30 + 60: 30 min left on Saturday, then Monday 08:00 + 30
    assert deadline_add(spec=NIGHT_SHIFT, start=sh(2026, 11, 21, 8, 30), minutes=60) == utc(sh(2026, 11, 23, 8, 30))


def test_natural_clock_passes_through():
    start = sh(2026, 10, 3, 23, 50)  # a holiday, at night
    assert deadline_add(spec=GUOQING, start=start, minutes=45, clock="natural") == utc(sh(2026, 10, 4, 0, 35))
    assert working_minutes_between(spec=GUOQING, start=start, end=sh(2026, 10, 4, 0, 35), clock="natural") == 45


def test_end_before_start_is_negative_and_zero_minutes_is_start():
    assert working_minutes_between(spec=DEFAULT_SPEC, start=sh(2026, 11, 23, 10), end=sh(2026, 11, 23, 9)) == -60
    start = sh(2026, 11, 22, 3)  # Sunday night
    assert deadline_add(spec=DEFAULT_SPEC, start=start, minutes=0) == utc(start)


def test_bad_input():
    with pytest.raises(ValueError):
        deadline_add(spec=DEFAULT_SPEC, start=datetime(2026, 11, 23, 10), minutes=10)  # naive
    with pytest.raises(ValueError):
        deadline_add(spec=DEFAULT_SPEC, start=sh(2026, 11, 23, 10), minutes=-1)
    with pytest.raises(ValueError):
        deadline_add(spec=DEFAULT_SPEC, start=sh(2026, 11, 23, 10), minutes=1, clock="lunar")
    with pytest.raises(ValueError):
        working_minutes_between(spec=DEFAULT_SPEC, start=sh(2026, 11, 23), end=datetime(2026, 11, 24))


def test_a_calendar_without_working_time_fails_instead_of_looping():
    empty = CalendarSpec(hours={}, days={date(2026, 11, 28): [["09:00", "10:00"]]})
    assert deadline_add(spec=empty, start=sh(2026, 11, 23), minutes=60) == utc(sh(2026, 11, 28, 10))
    with pytest.raises(ValueError):
        deadline_add(spec=empty, start=sh(2026, 11, 23), minutes=61)
    assert working_minutes_between(spec=empty, start=sh(2026, 1, 1), end=sh(2030, 1, 1)) == 60


def test_long_spans_are_fast():
    import time

    t0 = time.perf_counter()
    for _ in range(50):
        deadline_add(spec=GUOQING, start=sh(2026, 9, 1, 9), minutes=15 * WORKING_DAY)
        working_minutes_between(spec=GUOQING, start=sh(2026, 1, 1), end=sh(2027, 1, 1))
    assert time.perf_counter() - t0 < 2.0


# ---- calendar_spec_for -----------------------------------------------------------------


@pytest.mark.django_db
def test_calendar_spec_for_takes_the_nearest_calendar_up_the_tree():
    from yizhan.core.testing.factories import make_jurisdiction_tree
    from yizhan.reports.models import CalendarDay, WorkCalendar

    tree = make_jurisdiction_tree()
    assert calendar_spec_for(jurisdiction=tree.grid) == DEFAULT_SPEC
    district_hours = {**DEFAULT_HOURS, "sat": [["09:00", "12:00"]]}
    cal = WorkCalendar.objects.create(jurisdiction=tree.district, hours=district_hours)
    CalendarDay.objects.create(calendar=cal, date=date(2026, 10, 1), is_workday=False, note="国庆节")
    CalendarDay.objects.create(calendar=cal, date=date(2026, 10, 10), is_workday=True,
                               intervals=[["08:30", "12:00"]], note="调休")
    spec = calendar_spec_for(jurisdiction=tree.grid)
    assert spec.hours == district_hours
    assert spec.days == {date(2026, 10, 1): [], date(2026, 10, 10): [["08:30", "12:00"]]}
    # a street calendar wins for nodes below the street; the other district keeps the default
    WorkCalendar.objects.create(jurisdiction=tree.street, hours=DEFAULT_HOURS)
    assert calendar_spec_for(jurisdiction=tree.grid).days == {}
    assert calendar_spec_for(jurisdiction=tree.district).hours == district_hours
    assert calendar_spec_for(jurisdiction=tree.far_grid) == DEFAULT_SPEC


# ---- properties ------------------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime(2026, 9, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC),
)
specs = st.sampled_from(SPECS)
minutes = st.integers(min_value=0, max_value=20 * WORKING_DAY)
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(spec=specs, start=starts, m=minutes)
def test_deadline_and_minutes_between_are_inverse(spec, start, m):
    due = deadline_add(spec=spec, start=start, minutes=m)
    assert due >= start
    assert due.tzinfo == UTC
    assert working_minutes_between(spec=spec, start=start, end=due) == m


@PROPS
@given(spec=specs, start=starts, hours=st.integers(min_value=0, max_value=24 * 40), extra=st.integers(0, 59))
def test_minutes_between_then_deadline_lands_at_or_before_end(spec, start, hours, extra):
    end = start + timedelta(hours=hours, minutes=extra)
    used = working_minutes_between(spec=spec, start=start, end=end)
    assert used >= 0
    back = deadline_add(spec=spec, start=start, minutes=used)
    assert back <= end
    assert working_minutes_between(spec=spec, start=start, end=back) == used
    if is_working_time(spec=spec, at=end) and end > start:
        assert back == end


@PROPS
@given(spec=specs, start=starts, m1=minutes, m2=minutes, shift=st.integers(0, 5 * 24 * 60))
def test_monotone(spec, start, m1, m2, shift):
    m1, m2 = sorted((m1, m2))
    assert deadline_add(spec=spec, start=start, minutes=m1) <= deadline_add(spec=spec, start=start, minutes=m2)
    later = start + timedelta(minutes=shift)
    assert deadline_add(spec=spec, start=start, minutes=m1) <= deadline_add(spec=spec, start=later, minutes=m1)
    end1 = start + timedelta(minutes=m1)
    end2 = start + timedelta(minutes=m2)
    assert working_minutes_between(spec=spec, start=start, end=end1) <= working_minutes_between(
        spec=spec, start=start, end=end2)


@PROPS
@given(spec=specs, start=starts, m=st.integers(min_value=1, max_value=20 * WORKING_DAY))
def test_never_lands_outside_working_hours(spec, start, m):
    due = deadline_add(spec=spec, start=start, minutes=m)
    assert is_working_time(spec=spec, at=due - timedelta(microseconds=1))


@PROPS
@given(spec=specs, start=starts, m=minutes)
def test_natural_clock_is_plain_arithmetic(spec, start, m):
    assert deadline_add(spec=spec, start=start, minutes=m, clock="natural") == start + timedelta(minutes=m)


def _brute_minutes(spec, start, end):
    """Working minutes by testing every minute (start and end on whole minutes)."""
    n, t = 0, start
    while t < end:
        if is_working_time(spec=spec, at=t):
            n += 1
        t += timedelta(minutes=1)
    return n


@settings(max_examples=40, deadline=None)
@given(spec=specs, start=starts, length=st.integers(0, 3 * 24 * 60))
def test_matches_minute_by_minute_count(spec, start, length):
    start = start.replace(second=0, microsecond=0)
    end = start + timedelta(minutes=length)
    assert working_minutes_between(spec=spec, start=start, end=end) == _brute_minutes(spec, start, end)


def test_is_working_time_agrees_with_the_stations_opening_rule():
    from yizhan.stations.hours import is_open_at

    t = utc(sh(2026, 9, 18))
    while t < utc(sh(2026, 10, 14)):
        for spec in SPECS:
            holidays = {d: ivs for d, ivs in spec.days.items()}
            assert is_working_time(spec=spec, at=t) == is_open_at(hours=spec.hours, holidays=holidays, at=t), (spec, t)
        t += timedelta(minutes=15)

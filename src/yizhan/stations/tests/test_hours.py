"""Opening hours: validation, open status, overnight, holidays, and a brute-force check."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yizhan.core.errors import ValidationError
from yizhan.stations.hours import (
    DAYS,
    HORIZON_DAYS,
    SHANGHAI,
    OpenStatus,
    describe_day,
    open_status,
    validate_hours,
)

ALL_DAY = {d: [["00:00", "24:00"]] for d in DAYS}


def sh(y, m, d, hh=0, mm=0, ss=0):
    return datetime(y, m, d, hh, mm, ss, tzinfo=SHANGHAI)


# 2024-03-01 is a Friday.
FRI = date(2024, 3, 1)


# ---- validate_hours -----------------------------------------------------------------


def test_validate_normalises_and_fills_days():
    out = validate_hours({"mon": [["13:00", "18:00"], ["8:00", "12:00"]], "fri": [["20:00", "2:30"]]})
    assert out == {
        "mon": [["08:00", "12:00"], ["13:00", "18:00"]],
        "tue": [], "wed": [], "thu": [],
        "fri": [["20:00", "02:30"]],
        "sat": [], "sun": [],
    }
    assert validate_hours(None) == {d: [] for d in DAYS}
    assert validate_hours(ALL_DAY) == ALL_DAY
    assert validate_hours({"sun": [["08:00", "24:00"]]})["sun"] == [["08:00", "24:00"]]


@pytest.mark.parametrize("hours, field", [
    ({"mon": [["25:00", "26:00"]]}, "hours.mon"),
    ({"tue": [["08:60", "10:00"]]}, "hours.tue"),
    ({"wed": [["24:00", "02:00"]]}, "hours.wed"),  # 24:00 only as an end
    ({"thu": [["08:00", "08:00"]]}, "hours.thu"),
    ({"fri": [["08:00", "12:00"], ["11:00", "14:00"]]}, "hours.fri"),  # overlap
    ({"sat": [["08:00"]]}, "hours.sat"),
    ({"sun": "08:00-20:00"}, "hours.sun"),
    ({"sun": [[8, 20]]}, "hours.sun"),
    ({"monday": [["08:00", "20:00"]]}, "hours.monday"),
    (["08:00", "20:00"], "hours"),
    ({"mon": [["8am", "8pm"]]}, "hours.mon"),
])
def test_validate_rejects(hours, field):
    with pytest.raises(ValidationError) as exc:
        validate_hours(hours)
    assert exc.value.code == "invalid_hours"
    assert exc.value.field == field
    assert exc.value.message.zh and exc.value.message.en


def test_describe_day_marks_overnight():
    assert describe_day([["08:00", "12:00"], ["20:00", "02:00"]]) == "08:00–12:00, 20:00–次日02:00"


# ---- open_status ----------------------------------------------------------------------


def test_simple_day():
    hours = {"fri": [["08:00", "20:00"]], "sat": [["09:00", "17:00"]]}
    assert open_status(hours=hours, holidays={}, at=sh(2024, 3, 1, 7, 59)) == OpenStatus(
        False, sh(2024, 3, 1, 8), None)
    assert open_status(hours=hours, holidays={}, at=sh(2024, 3, 1, 8)) == OpenStatus(True, None, sh(2024, 3, 1, 20))
    assert open_status(hours=hours, holidays={}, at=sh(2024, 3, 1, 20)) == OpenStatus(
        False, sh(2024, 3, 2, 9), None)
    # the next opening a week later
    assert open_status(hours=hours, holidays={}, at=sh(2024, 3, 2, 18)) == OpenStatus(
        False, sh(2024, 3, 8, 8), None)


def test_aware_utc_input_is_read_in_shanghai_time():
    hours = {"fri": [["08:00", "20:00"]]}
    # 2024-03-01 00:30 UTC is 08:30 in Shanghai
    st_ = open_status(hours=hours, holidays={}, at=datetime(2024, 3, 1, 0, 30, tzinfo=UTC))
    assert st_.open_now and st_.closes_at == sh(2024, 3, 1, 20)
    assert st_.closes_at.utcoffset() == timedelta(hours=8)


def test_overnight_runs_into_next_day():
    hours = {"fri": [["20:00", "02:00"]]}
    assert open_status(hours=hours, holidays={}, at=sh(2024, 3, 2, 1, 30)) == OpenStatus(
        True, None, sh(2024, 3, 2, 2))
    assert not open_status(hours=hours, holidays={}, at=sh(2024, 3, 2, 2)).open_now
    # Sunday night into Monday wraps the week
    hours = {"sun": [["22:00", "06:00"]]}
    assert open_status(hours=hours, holidays={}, at=sh(2024, 3, 4, 5, 59)).closes_at == sh(2024, 3, 4, 6)


def test_adjacent_intervals_merge_for_closes_at():
    hours = {"fri": [["08:00", "24:00"]], "sat": [["00:00", "03:00"], ["03:00", "05:00"]]}
    assert open_status(hours=hours, holidays={}, at=sh(2024, 3, 1, 23)).closes_at == sh(2024, 3, 2, 5)


def test_open_around_the_clock_has_no_closing_time():
    assert open_status(hours=ALL_DAY, holidays={}, at=sh(2024, 3, 1, 12)) == OpenStatus(True, None, None)
    # ... until a holiday closes it
    st_ = open_status(hours=ALL_DAY, holidays={date(2024, 3, 4): []}, at=sh(2024, 3, 1, 12))
    assert st_ == OpenStatus(True, None, sh(2024, 3, 4))


def test_never_open():
    assert open_status(hours={}, holidays={}, at=sh(2024, 3, 1, 12)) == OpenStatus(False, None, None)


def test_holiday_overrides_that_date_only():
    hours = {d: [["08:00", "20:00"]] for d in DAYS}
    holidays = {date(2024, 3, 1): [], date(2024, 3, 2): [["10:00", "12:00"]]}
    st_ = open_status(hours=hours, holidays=holidays, at=sh(2024, 3, 1, 9))
    assert st_ == OpenStatus(False, sh(2024, 3, 2, 10), None)
    assert open_status(hours=hours, holidays=holidays, at=sh(2024, 3, 2, 11)).closes_at == sh(2024, 3, 2, 12)
    assert open_status(hours=hours, holidays=holidays, at=sh(2024, 3, 3, 9)).open_now
    # ISO strings as keys work too (JSON from the API)
    assert not open_status(hours=hours, holidays={"2024-03-01": []}, at=sh(2024, 3, 1, 9)).open_now


def test_overnight_tail_survives_a_holiday_on_the_next_date():
    """The documented rule: an exception replaces the intervals *starting* on its date."""
    hours = {"fri": [["20:00", "02:00"]]}
    closed_sat = {date(2024, 3, 2): []}
    st_ = open_status(hours=hours, holidays=closed_sat, at=sh(2024, 3, 2, 1))
    assert st_ == OpenStatus(True, None, sh(2024, 3, 2, 2))
    # an exception on the Friday itself removes the overnight shift, tail included
    closed_fri = {date(2024, 3, 1): []}
    assert not open_status(hours=hours, holidays=closed_fri, at=sh(2024, 3, 2, 1)).open_now
    # and a holiday's own overnight interval runs into the next day
    late = {date(2024, 3, 1): [["22:00", "04:00"]]}
    assert open_status(hours={}, holidays=late, at=sh(2024, 3, 2, 3)).closes_at == sh(2024, 3, 2, 4)


def test_opens_at_only_within_the_horizon():
    hours = {"fri": [["08:00", "09:00"]]}
    # closed the next Friday by a holiday: the one after is more than 8 days away
    holidays = {date(2024, 3, 8): []}
    assert open_status(hours=hours, holidays=holidays, at=sh(2024, 3, 1, 10)) == OpenStatus(False, None, None)
    # exactly 8 days ahead counts
    hol = {date(2024, 3, 9): [["10:00", "11:00"]]}
    assert open_status(hours={}, holidays=hol, at=sh(2024, 3, 1, 10)).opens_at == sh(2024, 3, 9, 10)
    assert open_status(hours={}, holidays=hol, at=sh(2024, 3, 1, 9, 59)).opens_at is None


# ---- brute force agreement ------------------------------------------------------------------

_minute = st.integers(min_value=0, max_value=24 * 60 - 1)


@st.composite
def day_intervals(draw):
    """0-3 non-overlapping intervals; the last may run overnight or end at 24:00."""
    points = sorted(set(draw(st.lists(st.integers(0, 24 * 4 - 1), min_size=0, max_size=6))))
    points = [p * 15 for p in points]
    if len(points) % 2:
        points = points[:-1]
    out = [[points[i], points[i + 1]] for i in range(0, len(points), 2)]
    if out and draw(st.booleans()):
        last = out[-1]
        choice = draw(st.sampled_from(["24", "overnight", "keep"]))
        if choice == "24":
            last[1] = 24 * 60
        elif choice == "overnight":
            last[1] = draw(st.integers(0, max(0, last[0] - 1)))
            if last[1] == last[0]:
                last[1] = last[0] + 1 if last[0] < 1439 else 0
    return [[f"{s // 60:02d}:{s % 60:02d}", f"{e // 60:02d}:{e % 60:02d}"] for s, e in out]


def _spans(intervals):
    for a, b in intervals:
        s = int(a[:2]) * 60 + int(a[3:])
        e = int(b[:2]) * 60 + int(b[3:])
        yield s, (e if e > s else e + 1440)


def brute_force(hours, holidays, at) -> OpenStatus:
    """Mark every open minute on a timeline, then walk it minute by minute."""
    local = at.astimezone(SHANGHAI)
    today = local.date()
    first = today - timedelta(days=1)
    n_days = HORIZON_DAYS + 3
    open_min = bytearray(n_days * 1440 + 1440)
    for k in range(n_days):
        d = first + timedelta(days=k)
        ivs = holidays[d] if d in holidays else hours.get(DAYS[d.weekday()], [])
        for s, e in _spans(ivs):
            for m in range(k * 1440 + s, k * 1440 + e):
                open_min[m] = 1
    origin = datetime.combine(first, datetime.min.time(), tzinfo=SHANGHAI)
    t = 1440 + local.hour * 60 + local.minute
    horizon_end = (HORIZON_DAYS + 1) * 1440  # midnight starting today + HORIZON_DAYS
    if open_min[t]:
        m = t
        while m < horizon_end and open_min[m]:
            m += 1
        return OpenStatus(True, None, None if m >= horizon_end else origin + timedelta(minutes=m))
    m = t + 1
    while m < len(open_min) and not open_min[m]:
        m += 1
    if m < len(open_min):
        opens = origin + timedelta(minutes=m)
        if opens - local <= timedelta(days=HORIZON_DAYS):
            return OpenStatus(False, opens, None)
    return OpenStatus(False, None, None)


@settings(max_examples=150, deadline=None)
@given(
    week=st.fixed_dictionaries({d: day_intervals() for d in DAYS}),
    holiday_days=st.dictionaries(st.integers(-2, 9), day_intervals(), max_size=3),
    day_offset=st.integers(0, 60),
    minute=_minute,
    second=st.integers(0, 59),
)
def test_open_status_agrees_with_brute_force(week, holiday_days, day_offset, minute, second):
    base = FRI + timedelta(days=day_offset)
    at = datetime.combine(base, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(minutes=minute, seconds=second)
    holidays = {base + timedelta(days=k): ivs for k, ivs in holiday_days.items()}
    hours = validate_hours(week)
    # the stored (normalised) schedule and the raw one behave the same
    got = open_status(hours=hours, holidays=holidays, at=at)
    assert got == open_status(hours=week, holidays=holidays, at=at.astimezone(UTC))
    assert got == brute_force(hours, holidays, at)

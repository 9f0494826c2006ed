"""Demo cases (随手拍 / 工单) from the seeds, driven through the real services.

Called by ``demo.services.demo_load`` after the jurisdictions, stations, staff and workers
exist. Deterministic for the same database and the same ``now``; idempotent (a district
whose demo cases exist is skipped; departments, calendars, grid workers and duty rosters
are upserted by the setup services).

* Xian'an district (咸安区, seed 004): "132 reports collected, 24 of them hazards (electric
  boxes on fire, elevator failures, missing manhole covers), all accepted at once" — 132
  cases over the last ~75 days, 24 in hazard categories, every one accepted within minutes.
* Chongchuan, Langshan street (狼山镇街道, seed 003): the complaint about a private ground
  lock on a public parking space at 新胜花苑, taken by the command centre on 30 August,
  dispatched to the community's grid worker, worked with police, urban management and
  market supervision, handled, verified and closed.
* Science City (苏州科技城, 东渚街道): ~19 recent cases, at least one in every state
  (submitted, accepted, rejected, dispatched, in progress, returned, handled, verified,
  closed, evaluated, parked, merged), so the console and the inbox have work on them.

Every case goes through ``services.case_submit`` and the transition services, so the
timelines, clocks, audit rows and inbox notifications are real. To give the figures page
meaningful numbers, the services must run *in the past*: they read the time from
``django.utils.timezone.now()``, and this loader alone (never the app) moves that clock
while it drives a case (``_DemoClock``; see there). Outbound copies of the notifications
(SMS, WeChat, webhooks) are switched off while loading: nobody should get a text about a
two-month-old demo case. Overdue stages come from the real clocks job
(``case_clocks_check(now=...)``) run at the simulated moment a step is late.
"""

from __future__ import annotations

import io
import random
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from yizhan.accounts.models import RoleGrant, User
from yizhan.core.tz import SHANGHAI as SH
from yizhan.demo.services import DEMO_WORKER_PHONE, _staff
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.reports import calendar as cal
from yizhan.reports import routing, services
from yizhan.reports.choices import CaseState
from yizhan.reports.models import Case, CasePhoto, GridDuty
from yizhan.reports.services import case_clocks_check, case_photo_approve
from yizhan.reports.workflow import stage_is_natural

SEED = 20261124
DEMO_KEY = "demo"  # idempotency keys: demo-<district>-<nnn>

# China's 2026 public holidays and make-up working days (调休), as announced by the General
# Office of the State Council: New Year 1–3 Jan (work Sun 4 Jan); Spring Festival 15–23 Feb
# (work Sat 14 Feb, Sat 28 Feb); Qingming 4–6 Apr; Labour Day 1–5 May (work Sat 9 May);
# Dragon Boat 19–21 Jun; Mid-Autumn 25–27 Sep; National Day 1–7 Oct (work Sun 20 Sep, Sat 10 Oct).
HOLIDAYS_2026 = [
    ("2026-01-01", "2026-01-03", "元旦"),
    ("2026-02-15", "2026-02-23", "春节"),
    ("2026-04-04", "2026-04-06", "清明节"),
    ("2026-05-01", "2026-05-05", "劳动节"),
    ("2026-06-19", "2026-06-21", "端午节"),
    ("2026-09-25", "2026-09-27", "中秋节"),
    ("2026-10-01", "2026-10-07", "国庆节"),
]
MAKEUP_DAYS_2026 = [
    ("2026-01-04", "元旦调休上班"),
    ("2026-02-14", "春节调休上班"),
    ("2026-02-28", "春节调休上班"),
    ("2026-05-09", "劳动节调休上班"),
    ("2026-09-20", "国庆节调休上班"),
    ("2026-10-10", "国庆节调休上班"),
]
CALENDAR_CITIES = ["SZ", "NT", "XN"]  # the calendar sits on the city; districts inherit it

XIANAN, SCIENCE_CITY, LANGSHAN = "XN-XA", "SZ-GX-DZ", "NT-CC-LS"
DEMO_DISTRICTS = {"XN-XA": "XN-XA", "SZ-GX": "SZ-GX-DZ", "NT-CC": "NT-CC-LS"}  # district -> where cases go

# Seed 004's hazards (电箱起火, 电梯故障, 井盖缺失 …) and everyday reports (不文明行为 …).
HAZARDS = (["electric_box_fire"] * 6 + ["elevator"] * 6 + ["manhole_cover"] * 6
           + ["flying_wire_charging"] * 3 + ["blocked_fire_exit"] * 3)
EVERYDAY = {  # category -> weight
    "exposed_rubbish": 14, "illegal_parking": 12, "street_vending": 9, "illegal_ads": 9, "shared_bikes": 8,
    "street_dirty": 8, "trash_bin": 6, "street_lamp": 7, "street_sign": 4, "construction_noise": 5,
    "ground_lock": 4, "public_toilet": 3, "construction_waste": 4, "illegal_banner": 3, "bus_shelter": 2,
    "guardrail": 2, "green_space": 3, "telecom_box": 2,
}
TEXT = {
    "electric_box_fire": ["小区配电箱冒烟，有焦糊味", "路边电箱起火，已用灭火器扑灭明火", "电表箱冒火花"],
    "elevator": ["电梯停在两层之间，按钮无反应", "电梯门关不上，来回开合", "电梯运行时异响抖动"],
    "manhole_cover": ["人行道井盖缺失，晚上很危险", "井盖破裂下沉，电动车经过颠簸", "雨水井盖移位"],
    "flying_wire_charging": ["楼上窗口拉电线下来给电动车充电", "楼道里私拉电线充电"],
    "blocked_fire_exit": ["消防通道被电动车和杂物堵死", "小区消防通道停满了车"],
    "exposed_rubbish": ["路边堆了几袋生活垃圾", "垃圾桶满溢，周边散落垃圾"],
    "illegal_parking": ["机动车停在盲道上", "路口乱停车，外卖车过不去"],
    "street_vending": ["流动摊贩占道经营，影响通行", "早餐摊占用人行道"],
    "illegal_ads": ["电线杆上贴满小广告", "墙上喷涂办证小广告"],
    "shared_bikes": ["共享单车堆满人行道", "地铁口共享单车乱停放"],
    "street_dirty": ["路面有大片油污", "人行道泥土遍地"],
    "trash_bin": ["垃圾桶破损，盖子掉了", "分类垃圾桶被撞坏"],
    "street_lamp": ["路灯不亮，晚上送餐看不清路", "路灯白天一直亮着"],
    "street_sign": ["路名牌被风吹歪了", "路名牌脱落"],
    "construction_noise": ["工地夜间施工噪音大", "凌晨还在打桩"],
    "ground_lock": ["公共停车位被私装地锁", "小区公共车位有人装了地锁"],
    "public_toilet": ["公厕水龙头坏了", "公厕灯不亮"],
    "construction_waste": ["路边乱倒建筑垃圾", "渣土车撒漏"],
    "illegal_banner": ["违规悬挂横幅", "店招广告牌松动"],
    "bus_shelter": ["公交站亭玻璃碎了", "站牌倒了"],
    "guardrail": ["道路护栏倒伏", "隔离栏缺了一段"],
    "green_space": ["绿化带被踩出小路", "草坪被车辆碾压"],
    "telecom_box": ["通信交接箱门开着", "通信电缆垂落"],
}
DETAILS = {"elevator": {"building": "3栋", "unit": "2单元"}, "flying_wire_charging": {"building": "5栋"}}
NOTES = {
    "accept": ["符合立案条件，予以立案", "已立案", ""],
    "dispatch": ["请尽快处置", "请网格员核实后处置", ""],
    "start": ["已签收，马上去现场", "收到", ""],
    "progress": ["已到现场，正在处理", "已联系责任单位"],
    "handle": ["已处置完毕，见处置后照片", "已清理完毕", "已修复"],
    "verify": ["现场核查已解决", "核查通过"],
    "close": ["办结", "已结案"],
    "follow_up": ["电话回访，上报人表示满意", "回访：问题已解决"],
    "reopen": ["问题没有解决，又出现了", "处理后又坏了"],
}


@dataclass
class DemoReportsSummary:
    created: int = 0
    skipped_districts: list[str] = field(default_factory=list)
    by_state: dict[str, int] = field(default_factory=dict)
    grid_workers: int = 0
    departments: int = 0


# ---------------------------------------------------------------- the clock


class _DemoClock:
    """DEMO LOADER ONLY. The case services take "now" from ``django.utils.timezone.now()``
    and cannot be told another time. To build a history with real timelines (events,
    deadlines on the working calendar, audit rows, inbox rows all at consistent moments),
    this loader replaces that one function while it runs, inside ``_demo_time()``, and puts
    it back afterwards. Nothing else in the app does this; ``demo_load`` runs before the
    server starts, in one thread."""

    def __init__(self):
        self.at: datetime | None = None
        self._real = timezone.now

    def __call__(self) -> datetime:
        return self.at if self.at is not None else self._real()


@contextmanager
def _demo_time(clock: _DemoClock):
    # Outbound channels off (see the module docstring); the in-app inbox rows are kept.
    # The calendars are set before any case moves and never change during the walk, so
    # each jurisdiction's calendar is read once instead of on every transition (2 queries
    # and ~50 holiday rows each time; a third of the loader's time on PostgreSQL).
    real_spec_for = cal.calendar_spec_for
    specs: dict[str, cal.CalendarSpec] = {}

    def spec_for(*, jurisdiction):
        key = getattr(jurisdiction, "path", None)
        if key is None:
            return real_spec_for(jurisdiction=jurisdiction)
        if key not in specs:
            specs[key] = real_spec_for(jurisdiction=jurisdiction)
        return specs[key]

    with override_settings(YIZHAN_NOTIFY_CHANNELS=[]), mock.patch.object(timezone, "now", clock), \
            mock.patch.object(cal, "calendar_spec_for", spec_for):
        yield


def _photo(seed: int) -> SimpleUploadedFile:
    """A small after-photo (a flat JPEG; the services re-encode it)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (160, 120), (90 + seed * 37 % 120, 140, 110 + seed * 53 % 100))
    ImageDraw.Draw(img).rectangle((30, 30, 130, 90), outline=(255, 255, 255), width=4)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=70)
    return SimpleUploadedFile(f"after-{seed}.jpg", buf.getvalue(), content_type="image/jpeg")


def _report_photo(seed: int | str) -> SimpleUploadedFile:
    """A reporter's photo of the scene: drawn with Pillow from ``seed`` alone (the same
    bytes on every run), a JPEG without EXIF. A pale panel at the lower right stands for
    what staff blur before publishing (a face, a number plate)."""
    from PIL import Image, ImageDraw

    r = random.Random(f"{SEED}-photo-{seed}")
    w, h = 480, 360
    img = Image.new("RGB", (w, h), (150 + r.randrange(60), 180 + r.randrange(50), 210 + r.randrange(40)))
    d = ImageDraw.Draw(img)
    horizon = 150 + r.randrange(60)
    d.rectangle((0, horizon, w, h), fill=(110 + r.randrange(40), 110 + r.randrange(30), 100 + r.randrange(30)))
    for _i in range(3 + r.randrange(3)):  # buildings
        x = r.randrange(0, w - 80)
        bw, bh = 60 + r.randrange(80), 60 + r.randrange(100)
        shade = 170 + r.randrange(60)
        d.rectangle((x, horizon - bh, x + bw, horizon), fill=(shade, shade - 10, shade - 25))
        for wy in range(horizon - bh + 10, horizon - 10, 22):
            for wx in range(x + 8, x + bw - 12, 18):
                d.rectangle((wx, wy, wx + 8, wy + 10), fill=(90, 110, 140))
    cx, cy = 120 + r.randrange(200), horizon + 40 + r.randrange(90)  # the problem, in warning colours
    d.ellipse((cx - 50, cy - 25, cx + 50, cy + 25), fill=(200 + r.randrange(55), 80 + r.randrange(60), 30))
    d.line((cx - 60, cy + 30, cx + 60, cy - 30), fill=(40, 40, 40), width=5)
    d.rectangle((w - 130, h - 80, w - 30, h - 30), fill=(235, 225, 200), outline=(60, 60, 60), width=3)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return SimpleUploadedFile(f"report-{seed}.jpg", buf.getvalue(), content_type="image/jpeg")


# Demo cases whose reporter sent a photo; all but ``unpublished`` are approved by the
# centre (``redacted``: with the lower-right panel blurred), so the public map and case
# pages show photos. Keyed by the plan's number within its area.
PHOTO_PLANS = {SCIENCE_CITY: {0, 4, 6, 9, 11, 13, 14}, XIANAN: set(range(0, 132, 12))}
UNPUBLISHED_PHOTO = {SCIENCE_CITY: {0}}
REDACTED_PHOTO = {SCIENCE_CITY: {9}}
REDACTION = [[0.72, 0.77, 0.22, 0.15]]


def _photo_plan(key: str, table: dict) -> bool:
    area, _sep, n = key[len(DEMO_KEY) + 1:].rpartition("-")
    return n.isdigit() and int(n) in table.get(area, ())


# ---------------------------------------------------------------- set-up


def _setup(*, admin, summary: DemoReportsSummary) -> dict:
    """Taxonomy, departments, calendars, grid workers on duty, dispatchers. Returns people
    and places the cases need."""
    services.category_taxonomy_load(actor=None)
    days = []
    for first, last, note in HOLIDAYS_2026:
        d = date.fromisoformat(first)
        while d <= date.fromisoformat(last):
            days.append({"date": d.isoformat(), "is_workday": False, "intervals": [], "note": note})
            d += timedelta(days=1)
    days += [{"date": d, "is_workday": True, "intervals": [], "note": note} for d, note in MAKEUP_DAYS_2026]
    for code in CALENDAR_CITIES:
        city = Jurisdiction.objects.filter(code=code).first()
        if city is not None:
            services.calendar_set(actor=admin, jurisdiction=city, hours=cal.DEFAULT_HOURS, days=days)

    places: dict = {}
    for district_code, area_code in DEMO_DISTRICTS.items():
        district = Jurisdiction.objects.filter(code=district_code).first()
        area = Jurisdiction.objects.filter(code=area_code).first()
        if district is None or area is None:
            continue
        summary.departments += len(services.department_defaults_create(actor=admin, jurisdiction=district))
        grids = list(Jurisdiction.objects.filter(path__startswith=area.path, level="grid").order_by("path"))
        have_duty = set(GridDuty.objects.filter(grid__in=grids).values_list("grid_id", flat=True))
        for grid in grids:
            worker = _staff(f"demo-grid-{grid.code.lower()}", f"{grid.name}网格员", "grid_worker", grid)
            if grid.pk not in have_duty:
                services.grid_duty_set(actor=admin, grid=grid, user=worker, weekdays=[0, 1, 2, 3, 4, 5, 6],
                                       start_time=time(8, 0), end_time=time(20, 0))
            summary.grid_workers += 1
        dispatchers = {}
        for g in RoleGrant.objects.filter(role="community_admin", jurisdiction__path__startswith=area.path) \
                .select_related("user", "jurisdiction").order_by("jurisdiction__path", "user__username"):
            dispatchers.setdefault(g.jurisdiction.path, g.user)
        district_admin = RoleGrant.objects.filter(role="district_admin", jurisdiction=district) \
            .select_related("user").order_by("user__username").first()
        places[district_code] = {
            "district": district, "area": area, "grids": grids, "dispatchers": dispatchers,
            "district_admin": district_admin.user if district_admin else admin,
        }
    lang = places.get("NT-CC")
    if lang is not None:  # seed 003: the command centre of the Chongchuan development zone
        lang["duty_officer"] = _staff("demo-duty-nt-cc", "崇川经开区指挥中心 值班员", "duty_officer", lang["district"])
    return places


def _dispatcher_for(place: dict, grid) -> object:
    for path, user in place["dispatchers"].items():
        if grid.path.startswith(path):
            return user
    return place["district_admin"]


def _point_in(grid, rng: random.Random) -> tuple[float, float]:
    from shapely.geometry import Point, shape

    geom = shape(grid.boundary)
    x0, y0, x1, y1 = geom.bounds
    for _ in range(200):
        lng, lat = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if geom.contains(Point(lng, lat)):
            return round(lat, 6), round(lng, 6)
    return round(grid.center_lat, 6), round(grid.center_lng, 6)


def _reporters(city_code: str, n: int) -> list:
    qs = User.objects.filter(worker_profile__isnull=False, worker_profile__home_community__path__startswith=f"/{city_code}/")
    users = list(qs.order_by("phone")[:n])
    if len(users) < n:
        users += list(User.objects.filter(worker_profile__isnull=False).exclude(pk__in=[u.pk for u in users])
                      .order_by("phone")[: n - len(users)])
    return users


# ---------------------------------------------------------------- one case


@dataclass
class Plan:
    """What happens to one case. ``target`` is the state it should end in (the walk also
    stops at ``now``); ``late`` names stages that run over their limit."""

    key: str
    category: str
    grid: object
    reporter: object
    submitted_at: datetime
    target: str = CaseState.EVALUATED
    late: frozenset = frozenset()
    description: str = ""
    address: str = ""
    confirm_by_reporter: bool = False
    reopen: bool = False
    rating: int | None = None
    follow_up: bool = False
    extension: bool = False
    returned_first: bool = False
    source: str = "app"
    contact: dict | None = None
    submitter: object = None  # a hotline operator entering someone else's report
    progress_notes: tuple = ()
    merge_into: str | None = None  # key of an earlier plan
    anonymous: bool = False
    pace: float = 0.5  # share of each stage's limit used when on time
    prompt: bool = False  # accepted within minutes, even out of hours


class _Driver:
    def __init__(self, *, clock: _DemoClock, now: datetime, rng: random.Random, place: dict):
        self.clock, self.now, self.rng, self.place = clock, now, rng, place
        self.specs: dict = {}
        self.cases: dict[str, object] = {}
        self.photo_seed = 0
        self.photo_cases: list[tuple[str, object]] = []

    # -- time
    def _spec(self, case):
        key = case.jurisdiction.path
        if key not in self.specs:
            self.specs[key] = cal.calendar_spec_for(jurisdiction=case.jurisdiction)
        return self.specs[key]

    def _after(self, case, start: datetime, minutes: float) -> datetime:
        # the clock of the case's current stage (urgent categories: natural time throughout)

        cat = case.category
        natural = stage_is_natural(case.state, clock=cat.clock, is_hazard=cat.is_hazard,
                                   urgency=case.urgency if case.urgency != "normal" else cat.urgency)
        clock = cal.NATURAL if natural else cal.WORKING
        return cal.deadline_add(spec=self._spec(case), start=start, minutes=max(1.0, minutes), clock=clock)

    def _stage_end(self, case, plan: Plan, stage: str, start: datetime, limit: int) -> tuple[datetime, bool]:
        late = stage in plan.late
        share = self.rng.uniform(1.15, 2.6) if late else plan.pace * self.rng.uniform(0.4, 1.2)
        return self._after(case, start, limit * min(share, 0.95) if not late else limit * share), late

    def _at(self, when: datetime, *, late: bool = False) -> bool:
        """Move the clock to ``when``; False when that is after ``now`` (the walk stops)."""
        if when >= self.now:
            return False
        if late:  # the clocks job notices the overdue stage first

            self.clock.at = when - timedelta(minutes=1)
            case_clocks_check(now=self.clock.at)
        self.clock.at = when
        return True

    def _note(self, kind: str) -> str:
        return self.rng.choice(NOTES[kind])

    # -- the walk
    def drive(self, plan: Plan):
        rng = self.rng
        c = plan.category
        place = self.place
        dispatcher = _dispatcher_for(place, plan.grid)
        if plan.submitter is not None:
            dispatcher = plan.submitter
        lat, lng = _point_in(plan.grid, rng)
        self.clock.at = plan.submitted_at
        report_photos = [_report_photo(plan.key)] if _photo_plan(plan.key, PHOTO_PLANS) else []
        result = services.case_submit(
            actor=plan.submitter or plan.reporter, category=c, lat=lat, lng=lng,
            description=plan.description or rng.choice(TEXT.get(c, ["发现问题"])), details=DETAILS.get(c),
            address=plan.address, idempotency_key=plan.key, source=plan.source, contact=plan.contact,
            is_anonymous=plan.anonymous, photos=report_photos,
        )
        case = result.case
        self.cases[plan.key] = case
        if report_photos:
            self.photo_cases.append((plan.key, case))
        cat = case.category
        reporter = plan.submitter or plan.reporter
        t = plan.submitted_at

        if plan.merge_into:
            t = t + timedelta(minutes=12)  # the centre spots the duplicate while looking at the queue
            if self._at(t):
                case = services.case_merge(actor=dispatcher, case=case, into=self.cases[plan.merge_into],
                                           note="与已有上报重复，合并处理")
            return case
        if plan.target == CaseState.SUBMITTED:
            return case
        if plan.prompt:  # hazards: the centre files them at once, day or night (seed 004: 第一时间得到受理)
            t, late = t + timedelta(minutes=rng.uniform(3, 20)), False
        else:
            t, late = self._stage_end(case, plan, "accept", t, cat.accept_minutes)
        if not self._at(t, late=late):
            return case
        if plan.target == CaseState.REJECTED:
            return services.case_reject(actor=dispatcher, case=case, note="不属于受理范围：私人住宅内部问题，已告知上报人联系物业")
        case = services.case_accept(actor=dispatcher, case=case, note=self._note("accept"))
        if plan.target == CaseState.ACCEPTED:
            return case
        if plan.target == CaseState.PARKED:
            t = self._after(case, t, cat.dispatch_minutes * 0.5)
            if self._at(t):
                case = services.case_park(actor=dispatcher, case=case,
                                          note="需纳入年度道路改造计划统一实施，暂作挂账处理")
            return case
        t, late = self._stage_end(case, plan, "dispatch", t, cat.dispatch_minutes)
        if not self._at(t, late=late):
            return case
        case = services.case_dispatch(actor=dispatcher, case=case, note=self._note("dispatch"))
        if plan.returned_first or plan.target == CaseState.RETURNED:
            t = self._after(case, t, cat.handle_minutes * 0.1)
            if not self._at(t):
                return case
            case = services.case_return(actor=case.assignee, case=case, note="现场核实不在本网格范围，退回重新派遣")
            if plan.target == CaseState.RETURNED:
                return case
            t = self._after(case, t, cat.dispatch_minutes * 0.5)
            if not self._at(t):
                return case
            case = services.case_dispatch(actor=dispatcher, case=case, note="重新派遣")
        if plan.target == CaseState.DISPATCHED:
            return case
        handle_end, late = self._stage_end(case, plan, "handle", t, cat.handle_minutes)
        t = t + (handle_end - t) * rng.uniform(0.1, 0.3)  # signs for it early in the stage
        if not self._at(t):
            return case
        handler = case.assignee
        case = services.case_start(actor=handler, case=case, note=self._note("start"))
        if plan.extension:
            t = t + (handle_end - t) * 0.3
            if not self._at(t):
                return case
            services.case_request_extension(actor=handler, case=case, minutes=cat.handle_minutes,
                                            note="需等待配件到货，申请延期")
            t = t + timedelta(minutes=40)
            if not self._at(t):
                return case
            case = services.case_decide_extension(actor=dispatcher, case=case, approve=True, note="同意延期")
        for note in plan.progress_notes:
            t = t + (handle_end - t) * 0.4
            if not self._at(t):
                return case
            case = services.case_progress(actor=handler, case=case, note=note)
        if plan.target == CaseState.IN_PROGRESS and not plan.reopen:
            return case
        t = max(handle_end, t + timedelta(minutes=5))
        if not self._at(t, late=late):
            return case
        case = self._handle(handler, case)
        if plan.reopen:
            t = self._after(case, t, self.rng.uniform(60, 300))
            if not self._at(t):
                return case
            case = services.case_reopen(actor=reporter, case=case, note=self._note("reopen"))
            if plan.target == CaseState.IN_PROGRESS:
                return case
            t = self._after(case, t, cat.handle_minutes * 0.4)
            if not self._at(t):
                return case
            case = self._handle(handler, case)
        if plan.target == CaseState.HANDLED:
            return case
        t, late = self._stage_end(case, plan, "verify", t, cat.verify_minutes)
        if not self._at(t, late=late):
            return case
        if plan.confirm_by_reporter:
            case = services.case_confirm(actor=reporter, case=case, note="确认已解决，谢谢")
        else:
            case = services.case_verify(actor=dispatcher, case=case, note=self._note("verify"))
        if plan.target == CaseState.VERIFIED:
            return case
        t, late = self._stage_end(case, plan, "close", t, cat.close_minutes)
        if not self._at(t, late=late):
            return case
        case = services.case_close(actor=dispatcher, case=case, note=self._note("close"))
        if plan.follow_up:
            t = self._after(case, t, 120)
            if self._at(t):
                case = services.case_follow_up(actor=dispatcher, case=case, note=self._note("follow_up"))
        if plan.target == CaseState.CLOSED or plan.rating is None:
            return case
        t = t + timedelta(hours=self.rng.uniform(1, 60))
        if not self._at(t):
            return case
        return services.case_evaluate(actor=reporter, case=case, rating=plan.rating,
                                      note={5: "很及时，点赞", 4: "处理得不错", 3: "还可以，有点慢", 2: "太慢了",
                                            1: "没解决好"}[plan.rating])

    def _handle(self, handler, case):
        self.photo_seed += 1
        return services.case_handle(actor=handler, case=case, note=self._note("handle"),
                                    photos=[_photo(self.photo_seed)])


# ---------------------------------------------------------------- the three places


def _local(day: date, hour: float) -> datetime:
    return datetime.combine(day, time(int(hour), int(hour % 1 * 60)), tzinfo=SH)


def _daytime(now: datetime, rng: random.Random, *, min_days: float, max_days: float) -> datetime:
    """A moment ``min_days``..``max_days`` ago, at a plausible hour for a rider's report."""
    day = (now - timedelta(days=rng.uniform(min_days, max_days))).astimezone(SH).date()
    return _local(day, rng.choice([7.5, 9, 10.25, 11.5, 12.75, 14, 15.5, 17, 18.25, 19.5, 20.75]) +
                  rng.uniform(0, 0.9))


def _rating(rng: random.Random) -> int:
    return rng.choices([5, 4, 3, 2, 1], weights=[55, 25, 12, 5, 3])[0]


def xianan_plans(place: dict, now: datetime, rng: random.Random) -> list[Plan]:
    """Seed 004: 132 reports, 24 hazards, every one accepted at once."""
    grids = place["grids"]
    reporters = _reporters("XN", 40)
    cats = list(HAZARDS)
    everyday = list(EVERYDAY)
    weights = [EVERYDAY[c] for c in everyday]
    cats += rng.choices(everyday, weights=weights, k=132 - len(HAZARDS))
    rng.shuffle(cats)
    plans = []
    for i, c in enumerate(cats):
        submitted = _daytime(now, rng, min_days=4, max_days=75)  # old enough to be accepted by now
        hazard = c in HAZARDS
        late = set()
        if not hazard and rng.random() < 0.16:
            late.add("handle")
        if rng.random() < 0.05:
            late.add("verify")
        plans.append(Plan(
            key=f"{DEMO_KEY}-{XIANAN}-{i:03d}", category=c, grid=rng.choice(grids),
            reporter=reporters[i % len(reporters)], submitted_at=submitted, late=frozenset(late),
            pace=0.15 if hazard else rng.uniform(0.3, 0.8), prompt=hazard,
            confirm_by_reporter=rng.random() < 0.35, reopen=rng.random() < 0.05,
            rating=_rating(rng) if rng.random() < 0.7 else None, follow_up=rng.random() < 0.25,
            anonymous=rng.random() < 0.2,
            target=CaseState.PARKED if i == 17 else CaseState.EVALUATED,
        ))
    return plans


def langshan_plans(place: dict, now: datetime, rng: random.Random) -> list[Plan]:
    """Seed 003: the private ground lock at 新胜花苑, dispatched by the command centre."""
    grid = Jurisdiction.objects.filter(code="NT-CC-LS-C02-G01").first() or place["grids"][0]
    day = date(now.astimezone(SH).year, 8, 30)
    if _local(day, 9.5) > now - timedelta(days=3):
        day = date(day.year - 1, 8, 30)
    return [Plan(
        key=f"{DEMO_KEY}-{LANGSHAN}-000", category="ground_lock", grid=grid, reporter=None,
        submitter=place.get("duty_officer") or place["district_admin"], source="hotline",
        contact={"name": "新胜花苑居民", "phone": "13905130830"},
        submitted_at=_local(day, 9.5),
        description="新胜花苑东区10号楼西侧公共停车位有人私自安装地锁，请帮忙协调拆除",
        address="新胜花苑东区10号楼西侧", target=CaseState.CLOSED, follow_up=True, pace=0.4,
        progress_notes=("专职网格员与微网格员已到现场调查，走访附近住户、联系车主",
                        "指挥中心协调公安、城管、市场监管等部门开展私设地锁专项整治"),
    )]


SCIENCE_CITY_SCRIPT = [  # (target, category, min_days, max_days, extra)
    (CaseState.SUBMITTED, "exposed_rubbish", 0.02, 0.08, {}),
    (CaseState.SUBMITTED, "shared_bikes", 0.03, 0.1, {}),
    (CaseState.ACCEPTED, "illegal_ads", 0.15, 0.4, {}),
    (CaseState.REJECTED, "street_dirty", 1, 3, {}),
    (CaseState.DISPATCHED, "street_lamp", 0.3, 0.9, {}),
    (CaseState.DISPATCHED, "illegal_parking", 0.4, 1.2, {"late": {"handle"}}),
    (CaseState.IN_PROGRESS, "road_damage", 1, 2, {"extension": True, "progress_notes": ("已设置警示围挡，等待修补材料",)}),
    (CaseState.IN_PROGRESS, "trash_bin", 0.5, 1.5, {"progress_notes": ("已联系环卫更换",)}),
    (CaseState.RETURNED, "construction_noise", 1, 2, {}),
    (CaseState.HANDLED, "street_vending", 1, 3, {}),
    (CaseState.VERIFIED, "flying_wire_charging", 2, 4, {}),
    (CaseState.CLOSED, "blocked_fire_exit", 3, 6, {"follow_up": True}),
    (CaseState.CLOSED, "manhole_cover", 3, 8, {"returned_first": True}),
    (CaseState.EVALUATED, "electric_box_fire", 4, 10, {"rating": 5}),
    (CaseState.EVALUATED, "exposed_rubbish", 5, 12, {"rating": 4, "confirm_by_reporter": True}),
    (CaseState.IN_PROGRESS, "street_sign", 6, 12, {"reopen": True}),
    (CaseState.PARKED, "road_damage", 8, 14, {}),
    (CaseState.MERGED, "street_lamp", 0.2, 0.25, {"merge_into": 4}),
    (CaseState.EVALUATED, "illegal_parking", 9, 15, {"rating": 2, "late": {"handle"}}),
]


def science_city_plans(place: dict, now: datetime, rng: random.Random) -> list[Plan]:
    grids = place["grids"]
    reporters = _reporters("SZ", 12)
    plans = []
    for i, (target, c, lo, hi, extra) in enumerate(SCIENCE_CITY_SCRIPT):
        extra = dict(extra)
        merge = extra.pop("merge_into", None)
        plan = Plan(
            key=f"{DEMO_KEY}-{SCIENCE_CITY}-{i:03d}", category=c, grid=rng.choice(grids),
            reporter=reporters[i % len(reporters)], submitted_at=_daytime(now, rng, min_days=lo, max_days=hi),
            target=target, late=frozenset(extra.pop("late", ())), pace=0.4, **extra,
        )
        if merge is not None:  # the same problem, reported again near the first one
            first = plans[merge]
            plan.grid = first.grid
            plan.merge_into = first.key
            plan.submitted_at = min(max(plan.submitted_at, first.submitted_at + timedelta(minutes=20)),
                                    now - timedelta(minutes=30))
        plans.append(plan)
    # The README's demo worker (13800000001) has something to do when they log in: a new
    # report, one handled and waiting for their confirmation, one closed waiting for a rating.

    demo_worker = User.objects.filter(phone=DEMO_WORKER_PHONE).first()
    if demo_worker is not None:
        for plan in plans:
            if plan.target in (CaseState.SUBMITTED, CaseState.HANDLED) or plan.key.endswith("-012"):
                plan.reporter = demo_worker
    return plans


# ---------------------------------------------------------------- entry point


def _publish_photos(driver: _Driver, *, admin) -> None:
    """The centre reviews the reporters' photos a little after each report: most are
    published (one with a blurred panel), one waits for review."""
    for key, case in driver.photo_cases:
        if _photo_plan(key, UNPUBLISHED_PHOTO):
            continue
        for photo in CasePhoto.objects.filter(case_id=case.pk, stage="report").order_by("id"):
            driver.clock.at = min(case.submitted_at + timedelta(minutes=30), driver.now)
            rects = REDACTION if _photo_plan(key, REDACTED_PHOTO) else []
            case_photo_approve(actor=admin, photo=photo, redactions=rects)


def reports_demo_load(*, admin, now: datetime | None = None, stdout=None) -> DemoReportsSummary:
    """Load the demo cases (see the module docstring). ``admin`` is the demo superuser
    (configures calendars and duty rosters); ``now`` anchors the history (default: now)."""
    say = (lambda msg: stdout.write(msg)) if stdout else (lambda msg: None)
    now = now or timezone.now()
    summary = DemoReportsSummary()
    clock = _DemoClock()
    with _demo_time(clock), transaction.atomic(), ExitStack() as stack:
        places = _setup(admin=admin, summary=summary)
        # The walk changes no department, duty roster, category or grant: the routing
        # index's stamp need not be asked again before every dispatch (core.process_cache).
        stack.enter_context(routing._index.holding())
        builders = [("XN-XA", XIANAN, xianan_plans), ("NT-CC", LANGSHAN, langshan_plans),
                    ("SZ-GX", SCIENCE_CITY, science_city_plans)]
        for district_code, area_code, build in builders:
            place = places.get(district_code)
            if place is None:
                continue
            if Case.objects.filter(idempotency_key__startswith=f"{DEMO_KEY}-{area_code}-").exists():
                summary.skipped_districts.append(district_code)
                continue
            rng = random.Random(f"{SEED}-{area_code}")
            plans = sorted(build(place, now, rng), key=lambda p: (p.submitted_at, p.key))
            driver = _Driver(clock=clock, now=now, rng=rng, place=place)
            for plan in plans:
                driver.drive(plan)
                summary.created += 1
            _publish_photos(driver, admin=admin)
            say(f"demo cases {district_code}: {len(plans)}")
        # Whatever is still open and past its limit at ``now`` escalates, as the scheduler would.
        clock.at = now

        case_clocks_check(now=now)
    for state in Case.objects.filter(idempotency_key__startswith=f"{DEMO_KEY}-").values_list("state", flat=True):
        summary.by_state[state] = summary.by_state.get(state, 0) + 1
    return summary

"""Hongzhuang's fire-safety network for the demo district (seed 000; seed 002 for the micro
fire stations and the 331 checks). Owner: demo helper.

Seed 000: Hongzhuang (红庄社区, Wuzhong, ``SZ-WZ-CN-C01``) is an urban village of terraced
three-storey self-built houses let room by room; the 智慧消防运营服务中心 in the middle of
the community links its 11,810 smoke, gas and electrical sensors to one wall, watched 24
hours a day, and staff are on site within 3 minutes of an alarm; 11 charging sheds for
e-bikes; 30-odd 幸福公寓 buildings (~500 flats). Seed 002: micro fire stations with members
and equipment, and the 331 checks of rental houses.

What ``load_demo`` builds, all inside the community's boundary, with bulk writes:

* places: the centre, 4 micro fire stations, 11 charging sheds, 30 幸福公寓 buildings and
  the rental houses (floors, rooms, landlord, tenants) on lanes across the community;
* 11,810 devices ``HZ-00001`` … ``HZ-11810``: per rental house one smoke detector a room, a
  gas detector in the kitchen and an electrical monitor at the distribution box (``HZ-00001``
  is the smoke detector of room 101 of the first house); a smoke detector a flat and an
  electrical monitor a building in the apartments; two temperature sensors and an electrical
  monitor a shed. They start ``new`` (never heard from): ``yizhan simulate-sensors`` brings
  them online;
* the user information transmission device at the centre (GB/T 26875.3 address
  ``0x000012345678``) with a few points of the centre's own fire alarm system;
* the default alarm rules (``rules_defaults.rules_install_defaults``);
* the centre's duty officer and 16 micro-station members (``fire_responder`` on the
  community; on duty, near their station), as responders;
* two months of past alarms with their dispatches and assignments (every timestamp, as the
  workflows write them: timeline rows, audit rows) for the monthly report, and a few open
  low-priority alarms for the wall;
* 331 checks: a few passed ones, and today's failed one with a follow-up deadline and its
  hazard case (through ``inspection_create``: the reports workflow must run for the case),
  filed and parked for supervised rectification (挂账督办) until the follow-up check — an
  open case would start escalating to the city in the demo's first hours.

Idempotent: when the centre exists nothing is written (the rules are topped up).
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from shapely.geometry import Point, shape

from yizhan.accounts.models import User
from yizhan.core.audit import audit_entry
from yizhan.core.geo import cell_of, haversine_m
from yizhan.core.models import AuditAction, AuditLog
from yizhan.core.tz import SHANGHAI as SH
from yizhan.demo.services import _staff_many
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.reports.services import case_accept, case_park
from yizhan.safety.choices import (
    AlarmKind,
    AlarmState,
    AssignmentState,
    DeviceKind,
    DeviceStatus,
    DispatchOutcome,
    DispatchState,
    IngestChannel,
    PlaceKind,
    ResponderKind,
    Severity,
)
from yizhan.safety.models import (
    Alarm,
    AlarmEvent,
    Assignment,
    AssignmentEvent,
    Device,
    Dispatch,
    Place,
    Responder,
)
from yizhan.safety.rules_defaults import rules_install_defaults
from yizhan.safety.services.alarms import alarm_rank
from yizhan.safety.services.dispatch import travel_estimate
from yizhan.safety.services.inspections import inspection_create

SEED = 20261203
HONGZHUANG = "SZ-WZ-CN-C01"
TOTAL_DEVICES = 11810  # seed 000: 全社区烟感、电感等11810台检测设备都联网至中心大屏
DEVICE_CODE = "HZ-{:05d}"
GB_ADDRESS = 0x000012345678
CENTRE_CODE = "HZ-CTR"
TRANSMITTER_CODE = "HZ-UITD-01"
DUTY_USERNAME = "demo-duty-sz-wz-cn-c01"
RESPONDER_USERNAME = "demo-responder-hz-{:02d}"  # demo-responder-hz-01 is printed with the logins
CENTRE_LATLNG = (31.25215, 120.61455)  # 位于社区中心地带

SURNAMES = "钱王李张刘陈杨黄赵吴周徐孙马朱胡郭何林沈顾陆"
GIVEN = "建国志林国平美华兴根金宝雪芳小妹伟强海明秀英荣生德福"


@dataclass
class SafetyDemoSummary:
    created: bool = False
    places: int = 0
    devices: int = 0
    responders: int = 0
    alarms: int = 0
    dispatches: int = 0
    inspections: int = 0
    rules: int = 0
    by_kind: dict = field(default_factory=dict)


@contextmanager
def _historic_times(*models):
    """Bulk rows of the past keep the times given to them: the models' ``auto_now`` /
    ``auto_now_add`` fields (``created_at``, ``updated_at``, an audit row's ``at``) would
    otherwise all say "now". Demo loader only; the flags are put back on exit."""
    saved = []
    for model in models:
        for f in model._meta.concrete_fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                saved.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, now, add in saved:
            f.auto_now, f.auto_now_add = now, add


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", rng.choice(GIVEN)])


def _phone(rng: random.Random) -> str:
    return "139" + "".join(str(rng.randrange(10)) for _ in range(8))


class _Layout:
    """Spots on lanes across the community: rows of terraced houses 12 m apart along lanes
    ~30 m apart, all inside the boundary (with a margin)."""

    LAT_STEP, LNG_STEP, MARGIN = 0.00027, 0.00012, 0.00018

    def __init__(self, community: Jurisdiction):
        geom = shape(community.boundary) if community.boundary else None
        if geom is None:
            lat, lng = community.center_lat or CENTRE_LATLNG[0], community.center_lng or CENTRE_LATLNG[1]
            geom = Point(lng, lat).buffer(0.003)
        inner = geom.buffer(-self.MARGIN)
        x0, y0, x1, y1 = inner.bounds
        self.spots: list[tuple[float, float]] = []
        lat = y0
        while lat <= y1:
            lng = x0
            while lng <= x1:
                if inner.contains(Point(lng, lat)):
                    self.spots.append((round(lat, 6), round(lng, 6)))
                lng += self.LNG_STEP
            lat += self.LAT_STEP
        self.used: set[int] = set()

    def take_near(self, lat: float, lng: float) -> tuple[float, float]:
        best = min((i for i in range(len(self.spots)) if i not in self.used),
                   key=lambda i: (self.spots[i][0] - lat) ** 2 + (self.spots[i][1] - lng) ** 2)
        self.used.add(best)
        return self.spots[best]

    def free(self) -> list[tuple[float, float]]:
        return [s for i, s in enumerate(self.spots) if i not in self.used]


def _place(code, kind, name, node, lat, lng, address, **extra) -> Place:
    return Place(code=code, kind=kind, name=name, address=address, lat=lat, lng=lng, cell=cell_of(lat, lng),
                 jurisdiction=node, **extra)


EQUIPMENT = [
    {"item": "灭火器（4kg干粉）", "count": 20}, {"item": "消防水带", "count": 6}, {"item": "消防头盔", "count": 6},
    {"item": "防烟面罩", "count": 10}, {"item": "破拆工具组", "count": 1}, {"item": "应急照明灯", "count": 4},
    {"item": "电动消防巡逻车", "count": 1},
]


def _build_places(node: Jurisdiction, rng: random.Random) -> tuple:
    layout = _Layout(node)
    addr = "苏州市吴中区城南街道红庄社区"
    lat0, lng0 = CENTRE_LATLNG
    fixed: dict[str, Place] = {}
    lat, lng = layout.take_near(lat0, lng0)
    fixed["centre"] = _place(CENTRE_CODE, PlaceKind.CENTRE, "红庄社区智慧消防运营服务中心", node, lat, lng,
                             f"{addr}中心路8号", phone="0512-65510119",
                             notes="24小时值班：烟感、气感、电气火灾监测全部联网至中心大屏")
    x0, y0, x1, y1 = (min(s[1] for s in layout.spots), min(s[0] for s in layout.spots),
                      max(s[1] for s in layout.spots), max(s[0] for s in layout.spots))
    station_at = [(lat0 + 0.0002, lng0 + 0.0003), (y0 + (y1 - y0) * 0.2, x0 + (x1 - x0) * 0.2),
                  (y0 + (y1 - y0) * 0.8, x0 + (x1 - x0) * 0.25), (y0 + (y1 - y0) * 0.5, x0 + (x1 - x0) * 0.85)]
    station_names = ["红庄社区微型消防站（中心站）", "红庄南片微型消防站", "红庄北片微型消防站", "红庄东片微型消防站"]
    for i, ((la, ln), name) in enumerate(zip(station_at, station_names, strict=True), start=1):
        lat, lng = layout.take_near(la, ln)
        fixed[f"station{i}"] = _place(f"HZ-MS-{i:02d}", PlaceKind.MICRO_STATION, name, node, lat, lng,
                                      f"{addr}{name}", phone=f"0512-6551{i:04d}",
                                      equipment=EQUIPMENT if i == 1 else EQUIPMENT[:5],
                                      notes="3分钟到场；队员24小时轮值")
    sheds = []
    for i in range(1, 12):  # 11个非机动车集中充电棚, spread over the community
        la = y0 + (y1 - y0) * ((i * 0.618) % 1)
        ln = x0 + (x1 - x0) * ((i * 0.382 + 0.1) % 1)
        lat, lng = layout.take_near(la, ln)
        sheds.append(_place(f"HZ-SHED-{i:02d}", PlaceKind.CHARGING_SHED, f"红庄第{i}非机动车集中充电棚", node, lat, lng,
                            f"{addr}第{i}充电棚", charging_points=rng.choice([40, 48, 60, 72, 80])))
    apartments = []
    for i in range(1, 31):  # 幸福公寓: 30 buildings, 500-odd flats (seed 000)
        la = y0 + (y1 - y0) * (0.55 + 0.4 * ((i * 0.37) % 1))
        ln = x0 + (x1 - x0) * (0.05 + 0.9 * ((i * 0.23) % 1))
        lat, lng = layout.take_near(la, ln)
        rooms = 16 + (i % 3)
        apartments.append(_place(f"HZ-APT-{i:02d}", PlaceKind.BUILDING, f"幸福公寓{i}号楼", node, lat, lng,
                                 f"{addr}幸福公寓{i}号楼", floors=5, rooms=rooms, tenant_count=rooms + rng.randrange(4, 12),
                                 landlord_name="幸福公寓运营方", landlord_phone="0512-65512000"))
    houses = []
    # 联排三层自建房, let room by room: as many as the sensors need (a smoke detector a
    # room, a gas and an electrical monitor a house; the apartments' and sheds' first)
    budget = TOTAL_DEVICES - sum(a.rooms + 1 for a in apartments) - 3 * len(sheds)
    for i, (lat, lng) in enumerate(layout.free(), start=1):
        if budget <= 0:
            break
        rooms = rng.randint(8, 14)
        budget -= rooms + 2
        lane, number = divmod(i - 1, 40)
        houses.append(_place(f"HZ-RH-{i:04d}", PlaceKind.RENTAL_HOUSE, f"红庄{lane + 1}巷{number + 1}号", node, lat, lng,
                             f"{addr}{lane + 1}巷{number + 1}号", floors=3, rooms=rooms,
                             tenant_count=rooms + rng.randint(0, rooms), landlord_name=_name(rng),
                             landlord_phone=_phone(rng)))
    return fixed, [*fixed.values(), *sheds, *apartments, *houses], houses, apartments, sheds


def _devices(node, houses, apartments, sheds, rng: random.Random) -> list:
    """11,810 sensors; the houses first (``HZ-00001``: the smoke detector of room 101 of
    the first house), then the apartments and the sheds."""
    installed = date(2021, 6, 1)
    row = _row_class(Device)  # 11,810 model instances cost ~1 s of CPU; these rows a tenth

    def dev(kind, place, **extra):
        return row(kind=kind, place=place, place_id=place.pk, jurisdiction_id=node.pk, status=DeviceStatus.NEW,
                   heartbeat_interval=600,
                   battery=rng.randint(55, 100) if kind in (DeviceKind.SMOKE, DeviceKind.GAS) else None,
                   installed_on=installed + timedelta(days=rng.randrange(0, 900)), **extra)

    tail = []
    for apt in apartments:
        for k in range(apt.rooms):
            floor = 1 + k * apt.floors // apt.rooms
            tail.append(dev(DeviceKind.SMOKE, apt, floor=str(floor), room=f"{floor}{k % 4 + 1:02d}",
                            location_text=f"{floor}楼{floor}{k % 4 + 1:02d}室", model_name="JTY-GD-H361 NB-IoT",
                            firmware="2.3.1"))
        tail.append(dev(DeviceKind.ELECTRICAL, apt, floor="1", location_text="1楼配电箱", model_name="ACREL-ARCM300",
                        firmware="1.8.0"))
    for shed in sheds:
        for side in ("东侧", "西侧"):
            tail.append(dev(DeviceKind.SHED_TEMPERATURE, shed, location_text=f"充电棚{side}顶棚", model_name="HZ-T200",
                            firmware="1.2.0"))
        tail.append(dev(DeviceKind.ELECTRICAL, shed, location_text="充电桩配电柜", model_name="ACREL-ARCM300",
                        firmware="1.8.0"))
    room_budget = TOTAL_DEVICES - len(tail)
    head = []
    for house in houses:
        if len(head) >= room_budget:
            break
        per_floor = -(-house.rooms // house.floors)
        for k in range(house.rooms):
            floor = 1 + k // per_floor
            room = f"{floor}{k % per_floor + 1:02d}"
            head.append(dev(DeviceKind.SMOKE, house, floor=str(floor), room=room, location_text=f"{floor}楼{room}室",
                            model_name="JTY-GD-H361 NB-IoT", firmware="2.3.1"))
        head.append(dev(DeviceKind.GAS, house, floor="1", room="厨房", location_text="1楼公共厨房",
                        model_name="JT-AEC2361 NB-IoT", firmware="1.4.2"))
        head.append(dev(DeviceKind.ELECTRICAL, house, floor="1", location_text="1楼配电箱", model_name="ACREL-ARCM300",
                        firmware="1.8.0"))
    devices = head[:room_budget] + tail
    for i, d in enumerate(devices, start=1):
        d.code = DEVICE_CODE.format(i)
    return devices


def _transmitter(centre: Place, node) -> tuple[Device, list[Device]]:
    uitd = Device(code=TRANSMITTER_CODE, kind=DeviceKind.TRANSMITTER, place=centre, jurisdiction=node,
                  location_text="中心机房", model_name="用户信息传输装置 GST-UITD", firmware="3.0.2",
                  heartbeat_interval=60, status=DeviceStatus.NEW, gb_address=GB_ADDRESS,
                  installed_on=date(2022, 3, 15))
    points = [  # the centre's own fire alarm system (system type 1, address 0) behind it
        (1, 0, 40, 0x0101, "1楼值班室 感烟探测器"), (1, 0, 40, 0x0102, "1楼大厅 感烟探测器"),
        (1, 0, 23, 0x0103, "1楼出口 手动报警按钮"), (1, 0, 40, 0x0201, "2楼走廊 感烟探测器"),
        (1, 0, 21, 0x0202, "2楼机房 感温探测器"),
    ]
    comps = [Device(code=f"{TRANSMITTER_CODE}-P{i:02d}", kind=DeviceKind.COMPONENT, place=centre, jurisdiction=node,
                    transmitter=uitd, gb_sys_type=st, gb_sys_addr=sa, gb_comp_type=ct, gb_comp_addr=ca,
                    location_text=where, floor=where[0], heartbeat_interval=600, status=DeviceStatus.NEW,
                    installed_on=date(2022, 3, 15))
             for i, (st, sa, ct, ca, where) in enumerate(points, start=1)]
    return uitd, comps


def _row_class(model):
    """A plain class whose instances stand for unsaved rows of ``model`` in
    ``_insert_rows``: the attributes given, the fields' defaults for the rest."""
    attrs = {f.attname: f.get_default() for f in model._meta.concrete_fields if not f.primary_key}

    def __init__(self, **values):
        self.pk = None
        self.__dict__.update(values)

    return type(f"{model.__name__}Row", (), {**attrs, "__init__": __init__})


def _insert_rows(model, objs: list, *, key: str = "code") -> None:
    """INSERT unsaved ``objs`` with one ``executemany`` and set their primary keys (read
    back by ``key``, a unique field). For the 11,810 devices: ``bulk_create`` prepares
    every value of every field through the field (~320,000 calls, seconds of CPU); here the
    values are plain (strings, numbers, booleans, None), dates and times go through the
    backend's adapters, JSON through the field once per distinct value. Same rows."""
    from django.db import connections, models, router

    conn = connections[router.db_for_write(model)]
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    prep = []
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            for o in objs:
                setattr(o, f.attname, now)
        if isinstance(f, models.DateTimeField | models.DateField):  # once per distinct value
            adapt = (conn.ops.adapt_datetimefield_value if isinstance(f, models.DateTimeField)
                     else conn.ops.adapt_datefield_value)
            memo = {None: None}
            prep.append(lambda v, adapt=adapt, memo=memo: memo[v] if v in memo else memo.setdefault(v, adapt(v)))
        elif isinstance(f, models.JSONField):
            memo = {}
            prep.append(lambda v, f=f, memo=memo: memo[repr(v)] if repr(v) in memo
                        else memo.setdefault(repr(v), f.get_db_prep_save(v, conn)))
        else:
            prep.append(None)
    rows = []
    for o in objs:
        row = []
        for f, p in zip(fields, prep, strict=True):
            v = getattr(o, f.attname)
            if v is None and f.is_relation and isinstance(o, models.Model) and f.is_cached(o):
                v = getattr(o, f.name).pk
                setattr(o, f.attname, v)
            row.append(p(v) if p is not None else v)
        rows.append(row)
    qn = conn.ops.quote_name
    sql = (f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    before = model.objects.aggregate(m=models.Max("pk"))["m"] or 0
    with conn.cursor() as cursor:
        for i in range(0, len(rows), 2000):
            cursor.executemany(sql, rows[i:i + 2000])
    ids = dict(model.objects.filter(pk__gt=before).values_list(key, "pk"))
    for o in objs:
        o.pk = ids[getattr(o, key)]


def load_demo(*, admin, stdout=None) -> SafetyDemoSummary:
    """This app's demo loader (``AppManifest.demo_loader``); see the module docstring."""
    say = (lambda msg: stdout.write(msg)) if stdout else (lambda msg: None)
    summary = SafetyDemoSummary()
    node = Jurisdiction.objects.filter(code=HONGZHUANG).first()
    with transaction.atomic():
        summary.rules = len(rules_install_defaults())
        if node is None or Place.objects.filter(code=CENTRE_CODE).exists():
            summary.places = Place.objects.count()
            summary.devices = Device.objects.count()
            return summary
        summary.created = True
        rng = random.Random(SEED)
        now = timezone.now()

        fixed, places, houses, apartments, sheds = _build_places(node, rng)
        _insert_rows(Place, places)
        centre = fixed["centre"]

        devices = _devices(node, houses, apartments, sheds, rng)
        uitd, comps = _transmitter(centre, node)
        _insert_rows(Device, [*devices, uitd])
        for c in comps:
            c.transmitter = uitd
        _insert_rows(Device, comps)
        summary.places, summary.devices = len(places), len(devices) + 1 + len(comps)
        for d in devices:
            summary.by_kind[d.kind] = summary.by_kind.get(d.kind, 0) + 1

        people = _people(node, fixed, rng, now)
        summary.responders = len(people["responders"])
        alarms, dispatches = _history(node, devices, people, rng, now)
        summary.alarms, summary.dispatches = alarms, dispatches
        summary.inspections = _inspections(node, houses, people, rng, now, admin=admin)
    say(f"safety: {summary.places} places, {summary.devices} devices, {summary.responders} responders, "
        f"{summary.alarms} past alarms, {summary.dispatches} dispatches")
    return summary


def _people(node, fixed: dict, rng: random.Random, now: datetime) -> dict:
    """The centre's duty officer (吴琦, seed 000) and 16 micro-station members."""
    rows = [(DUTY_USERNAME, "红庄消防中心 值班员 吴琦", "duty_officer", node, None)]
    stations = [fixed[f"station{i}"] for i in range(1, 5)]
    members = []
    for i in range(1, 17):
        station = stations[(i - 1) // 4]
        members.append((RESPONDER_USERNAME.format(i), f"{station.name[:-5]}队员 {_name(rng)}", station))
        rows.append((RESPONDER_USERNAME.format(i), members[-1][1], "fire_responder", node, None))
    users = _staff_many(rows)
    centre = fixed["centre"]
    responders = [Responder(user=users[DUTY_USERNAME], kind=ResponderKind.CENTRE, jurisdiction=node, on_duty=True,
                            lat=centre.lat, lng=centre.lng, position_at=now, skills=["值班监控", "初期火灾扑救"])]
    for username, _display, station in members:
        responders.append(Responder(
            user=users[username], kind=ResponderKind.MICRO_STATION, station=station, jurisdiction=node, on_duty=True,
            lat=round(station.lat + rng.uniform(-0.0004, 0.0004), 6),
            lng=round(station.lng + rng.uniform(-0.0004, 0.0004), 6), position_at=now,
            skills=rng.sample(["灭火器使用", "消防水带", "破拆", "急救", "电气排查"], 2)))
    Responder.objects.bulk_create(responders)
    if responders[0].pk is None:
        ids = dict(Responder.objects.filter(jurisdiction=node).values_list("user_id", "pk"))
        for r in responders:
            r.pk = ids[r.user_id]
    return {"duty": users[DUTY_USERNAME], "responders": responders, "members": responders[1:]}


# (alarm kind, severity, share) of the past alarms that were dispatched, and their stories
DISPATCHED = [
    (AlarmKind.SMOKE, Severity.CRITICAL, 0.78), (AlarmKind.GAS, Severity.CRITICAL, 0.22),
]
OUTCOMES = [  # (outcome, weight, note)
    (DispatchOutcome.FALSE_ALARM, 55, "做饭油烟触发烟感，已开窗通风，复位"),
    (DispatchOutcome.FALSE_ALARM, 20, "房间内吸烟触发，已劝导租户"),
    (DispatchOutcome.TEST, 5, "房东测试设备，已告知提前报备"),
    (DispatchOutcome.REAL_FIRE, 6, "电动车电池起火，已用灭火器扑灭，无人员受伤"),
]
GAS_NOTES = ["煤气灶阀门未关紧，已关阀通风", "液化气瓶接口漏气，已关阀并通知燃气公司更换"]
OTHER_ALARMS = [  # dispatch-free alarms: (kind, severity, device kind, note)
    (AlarmKind.ELECTRICAL, Severity.MAJOR, DeviceKind.ELECTRICAL, "剩余电流超限，已通知房东检修线路"),
    (AlarmKind.TEMPERATURE, Severity.CRITICAL, DeviceKind.SHED_TEMPERATURE, "午后暴晒棚顶温度高，已现场查看无异常"),
    (AlarmKind.LOW_BATTERY, Severity.WARNING, DeviceKind.SMOKE, "已更换电池"),
]


def _history(node, devices: list[Device], people: dict, rng: random.Random, now: datetime) -> tuple[int, int]:
    """Two months of alarms as the ingest and the dispatch workflow would have left them:
    the alarm with its timeline (raise, acknowledge, clear) and audit rows; for smoke and
    gas, the dispatch with the two nearest members' assignments (each step's time, the
    timeline and audit rows; the second stood down once the first resolved). Written in
    bulk, with their own past times."""
    duty = people["duty"]
    members = people["members"]
    by_kind: dict[str, list] = {}
    for d in devices:
        by_kind.setdefault(d.kind, []).append(d)
    alarms, alarm_events, audits = [], [], []
    plans = []  # (alarm, dispatch plan or None)
    start_day = (now - timedelta(days=62)).astimezone(SH).date()
    n_dispatched = 46
    for i in range(n_dispatched + 18):
        dispatched = i < n_dispatched
        if dispatched:
            kind, severity = (AlarmKind.SMOKE, Severity.CRITICAL) if rng.random() < 0.78 else (AlarmKind.GAS,
                                                                                              Severity.CRITICAL)
            device = rng.choice(by_kind[DeviceKind.SMOKE if kind == AlarmKind.SMOKE else DeviceKind.GAS])
        else:
            kind, severity, dkind, note = OTHER_ALARMS[i % len(OTHER_ALARMS)]
            device = rng.choice(by_kind[dkind])
        day = start_day + timedelta(days=rng.randrange(0, 61))
        hour = rng.choice([7, 11, 11, 12, 17, 18, 18, 19, 20, 21, 22, 23, 1, 14])
        started = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=SH)
        if started > now - timedelta(hours=2):
            started = now - timedelta(hours=rng.randint(30, 200))
        values = ({"smoke_obscuration": round(rng.uniform(0.12, 0.6), 2)} if kind == AlarmKind.SMOKE
                  else {"gas_lel": round(rng.uniform(22, 45), 1)} if kind == AlarmKind.GAS
                  else {"residual_current_ma": rng.randint(310, 520)} if kind == AlarmKind.ELECTRICAL
                  else {"shed_temp_c": rng.randint(61, 68)} if kind == AlarmKind.TEMPERATURE
                  else {"battery": rng.randint(8, 19)})
        alarm = Alarm(device_id=device.pk, place=device.place, jurisdiction=node, kind=kind, severity=severity,
                      rank=alarm_rank(kind, severity), started_at=started, last_triggered_at=started, trigger_count=1,
                      channel=IngestChannel.MQTT, details={"values": values, "event": "alarm" if dispatched else None},
                      received_at=started + timedelta(milliseconds=rng.randint(120, 900)), created_at=started)
        alarms.append(alarm)
        plans.append((alarm, dispatched, None if dispatched else note))
    # a few still open on the wall: two low batteries waiting for a visit, one electrical seen by the centre
    for k, (kind, severity, dkind) in enumerate([(AlarmKind.LOW_BATTERY, Severity.WARNING, DeviceKind.SMOKE),
                                                 (AlarmKind.LOW_BATTERY, Severity.WARNING, DeviceKind.GAS),
                                                 (AlarmKind.ELECTRICAL, Severity.MAJOR, DeviceKind.ELECTRICAL)]):
        device = by_kind[dkind][rng.randrange(len(by_kind[dkind]))]
        started = now - timedelta(hours=3 + 5 * k, minutes=rng.randrange(60))
        alarm = Alarm(device_id=device.pk, place=device.place, jurisdiction=node, kind=kind, severity=severity,
                      rank=alarm_rank(kind, severity), started_at=started, last_triggered_at=started, trigger_count=1,
                      channel=IngestChannel.MQTT, received_at=started + timedelta(milliseconds=300), created_at=started,
                      details={"values": {"battery": 15} if kind == AlarmKind.LOW_BATTERY else {"residual_current_ma": 340}})
        alarms.append(alarm)
        plans.append((alarm, False, "open-ack" if kind == AlarmKind.ELECTRICAL else "open"))

    dispatches, assignments, a_events = [], [], []
    for alarm, dispatched, note in plans:
        t0 = alarm.started_at
        events = [AlarmEvent(alarm=alarm, action="raise", to_state=AlarmState.ACTIVE,
                             data={"severity": alarm.severity, "channel": alarm.channel}, at=t0)]
        audits.append((t0, None, AuditAction.CREATE, alarm, f"safety.alarm raise: {alarm.kind} {alarm.severity}",
                       {"action": "raise", "kind": alarm.kind, "severity": alarm.severity, "device": alarm.device_id}))
        if note == "open":
            alarm.updated_at = t0
            alarm_events.append(events)
            continue
        ack = t0 + timedelta(seconds=rng.randint(9, 40))
        events.append(AlarmEvent(alarm=alarm, action="acknowledge", from_state=AlarmState.ACTIVE,
                                 to_state=AlarmState.ACKNOWLEDGED, actor=duty, at=ack))
        alarm.acknowledged_at, alarm.acknowledged_by = ack, duty
        alarm.state = AlarmState.ACKNOWLEDGED
        audits.append((ack, duty, AuditAction.UPDATE, alarm, "safety.alarm acknowledge: active -> acknowledged",
                       {"action": "acknowledge", "state": ["active", "acknowledged"]}))
        alarm.updated_at = ack
        if note == "open-ack":
            alarm_events.append(events)
            continue
        if dispatched:
            plan = _dispatch_plan(alarm, members, rng)
            d, rows, evs, auds, end = plan
            dispatches.append(d)
            assignments.extend(rows)
            a_events.extend(evs)
            audits.extend(auds)
            clear_note = d.outcome_note
        else:
            end = t0 + timedelta(minutes=rng.randint(20, 180))
            clear_note = note
        cleared = end + timedelta(seconds=rng.randint(30, 240))
        events.append(AlarmEvent(alarm=alarm, action="clear", from_state=AlarmState.ACKNOWLEDGED,
                                 to_state=AlarmState.CLEARED, actor=duty, note=clear_note[:300], at=cleared))
        alarm.state, alarm.open = AlarmState.CLEARED, False
        alarm.cleared_at, alarm.cleared_by, alarm.clear_note = cleared, duty, clear_note[:300]
        alarm.updated_at = cleared
        audits.append((cleared, duty, AuditAction.UPDATE, alarm, "safety.alarm clear: acknowledged -> cleared",
                       {"action": "clear", "state": ["acknowledged", "cleared"]}))
        alarm_events.append(events)

    with _historic_times(Alarm, Dispatch, Assignment, AuditLog):
        Alarm.objects.bulk_create(alarms)
        if alarms[0].pk is None:
            ids = {(a.device_id, a.kind, a.started_at): a.pk for a in Alarm.objects.filter(jurisdiction=node)}
            for a in alarms:
                a.pk = ids[(a.device_id, a.kind, a.started_at)]
        AlarmEvent.objects.bulk_create([e for evs in alarm_events for e in evs])
        for d in dispatches:
            d.alarm_id = d.alarm.pk
            d.created_at, d.updated_at = d.created_at_alarm, d.resolved_at
        Dispatch.objects.bulk_create(dispatches)
        if dispatches and dispatches[0].pk is None:
            ids = dict(Dispatch.objects.filter(jurisdiction=node).values_list("alarm_id", "pk"))
            for d in dispatches:
                d.pk = ids[d.alarm_id]
        for a in assignments:
            a.dispatch_id = a.dispatch.pk
        Assignment.objects.bulk_create(assignments)
        if assignments and assignments[0].pk is None:
            ids = {(dp, r): pk for dp, r, pk in Assignment.objects.filter(dispatch__jurisdiction=node)
                   .values_list("dispatch_id", "responder_id", "pk")}
            for a in assignments:
                a.pk = ids[(a.dispatch_id, a.responder_id)]
        for e in a_events:
            e.assignment_id = e.assignment.pk
        AssignmentEvent.objects.bulk_create(a_events)
        rows = []
        for at, actor, action, obj, summary, changes in sorted(audits, key=lambda x: x[0]):
            row = audit_entry(actor=actor, action=action, obj=obj, summary=summary, changes=changes,
                              jurisdiction_path=node.path)
            row.at = at
            rows.append(row)
        AuditLog.objects.bulk_create(rows, batch_size=500)
    return len(alarms), len(dispatches)


def _dispatch_plan(alarm: Alarm, members: list[Responder], rng: random.Random):
    """One past dispatch of ``alarm``: the two nearest members, the first there within
    ~3 minutes most of the time (seed 000), the second stood down when it is resolved."""
    place = alarm.place
    near = sorted(members, key=lambda r: haversine_m(r.lat, r.lng, place.lat, place.lng))[:2]
    t0 = alarm.started_at
    notified = t0 + timedelta(seconds=rng.uniform(0.8, 2.5))
    outcome, _w, note = rng.choices(OUTCOMES, weights=[o[1] for o in OUTCOMES])[0]
    if alarm.kind == AlarmKind.GAS:
        outcome, note = DispatchOutcome.FALSE_ALARM, rng.choice(GAS_NOTES)
    d = Dispatch(alarm=alarm, jurisdiction=alarm.jurisdiction, state=DispatchState.RESOLVED, outcome=outcome,
                 outcome_note=note, wave=1, created_at_alarm=t0, notified_at=notified)
    rows, events, audits = [], [], []
    first_arrival = None
    resolved = None
    for k, r in enumerate(near):
        seconds, metres = travel_estimate(r.lat, r.lng, place.lat, place.lng)
        a = Assignment(dispatch=d, responder=r, wave=1, travel_seconds=seconds, distance_m=metres, notified_at=notified)
        a.created_at = notified
        ack = notified + timedelta(seconds=rng.uniform(4, 14))
        en_route = ack + timedelta(seconds=rng.uniform(10, 35))
        slow = rng.random() < 0.08  # stairs, a locked gate, the wrong lane
        arrived = en_route + timedelta(seconds=min(seconds, 100) * rng.uniform(0.8, 1.1) + (75 if slow else 10))
        steps = [("acknowledge", AssignmentState.NOTIFIED, AssignmentState.ACKNOWLEDGED, ack, {}),
                 ("en_route", AssignmentState.ACKNOWLEDGED, AssignmentState.EN_ROUTE, en_route, {})]
        a.acknowledged_at, a.en_route_at = ack, en_route
        if k == 0:
            lat = round(place.lat + rng.uniform(-0.0001, 0.0001), 6)
            lng = round(place.lng + rng.uniform(-0.0001, 0.0001), 6)
            dist = int(round(haversine_m(lat, lng, place.lat, place.lng)))
            a.arrived_at, a.arrived_lat, a.arrived_lng, a.arrived_distance_m = arrived, lat, lng, dist
            first_arrival = arrived
            resolved = arrived + timedelta(minutes=rng.uniform(4, 18))
            a.resolved_at = resolved
            a.state = AssignmentState.RESOLVED
            steps += [("arrive", AssignmentState.EN_ROUTE, AssignmentState.ARRIVED, arrived, {"distance_m": dist}),
                      ("resolve", AssignmentState.ARRIVED, AssignmentState.RESOLVED, resolved, {"outcome": outcome})]
            d.first_ack_at, d.first_en_route_at, d.first_arrived_at = ack, en_route, arrived
        else:
            d.first_ack_at = min(d.first_ack_at, ack)
            d.first_en_route_at = min(d.first_en_route_at, en_route)
            a.state = AssignmentState.STOOD_DOWN
            steps.append(("stand_down", AssignmentState.EN_ROUTE, AssignmentState.STOOD_DOWN, resolved, {}))
        a.updated_at = steps[-1][3]
        for action, frm, to, at, data in steps:
            system = action == "stand_down"
            actor = None if system else r.user
            events.append(AssignmentEvent(assignment=a, action=action, from_state=frm, to_state=to, actor=actor,
                                          note="已由他人处置完毕" if system else (note if action == "resolve" else ""),
                                          data=data, at=at))
            audits.append((at, actor, AuditAction.UPDATE, a, f"safety.assignment {action}: {frm} -> {to}",
                           {"action": action, "state": [str(frm), str(to)], **data}))
        rows.append(a)
    d.state, d.resolved_at = DispatchState.RESOLVED, resolved
    audits.append((first_arrival, None, AuditAction.UPDATE, d, "safety.dispatch arrive: open -> on_scene",
                   {"action": "arrive", "state": ["open", "on_scene"]}))
    audits.append((resolved, None, AuditAction.UPDATE, d, "safety.dispatch resolve: on_scene -> resolved",
                   {"action": "resolve", "state": ["on_scene", "resolved"], "outcome": outcome}))
    if outcome == DispatchOutcome.REAL_FIRE:
        d.forwarded_119_at = resolved + timedelta(seconds=1)
        d.forward_119_status = "sent 1: 200"
    return d, rows, events, audits, resolved


INSPECTION_ROOMS = ["101", "102", "103", "201", "202", "203", "301", "302"]


def _inspections(node, houses: list[Place], people: dict, rng: random.Random, now: datetime, *, admin) -> int:
    """331 checks by the centre: five passed in the last weeks, today's failed one (missing
    escape ropes, flying-wire charging) with its follow-up deadline and hazard case."""
    inspector = User.objects.filter(username=f"demo-community-{HONGZHUANG.lower()}").first() or admin
    made = 0
    for k in range(5):
        house = houses[10 + 37 * k]
        rooms = [{"room": r, "extinguisher": True, "escape_rope": True, "smoke_mask": True, "emergency_light": True}
                 for r in INSPECTION_ROOMS[: min(len(INSPECTION_ROOMS), house.rooms)]]
        inspection_create(actor=inspector, place=house, rooms=rooms,
                          inspected_at=now - timedelta(days=3 + 4 * k, hours=rng.randint(0, 5)),
                          findings="四件套齐全，疏散通道畅通")
        made += 1
    house = houses[0]  # the house of HZ-00001
    rooms = [{"room": r, "extinguisher": True, "escape_rope": r[0] != "3", "smoke_mask": True,
              "emergency_light": True} for r in INSPECTION_ROOMS[:6]]
    failed = inspection_create(actor=inspector, place=house, rooms=rooms, flying_wire_charging=True,
                               findings="三楼房间缺逃生绳；楼道内私拉电线给电动车充电（飞线充电），已当场拆除并责令整改")
    if failed.case is not None:
        # the community files the hazard and lists it for supervised rectification (挂账督办)
        # until the follow-up check, as the 331 campaign does: the case waits, parked
        case = case_accept(actor=inspector, case=failed.case, note="消防检查发现隐患，予以立案")
        case_park(actor=inspector, case=case,
                  note=f"纳入“331”整治挂账督办：房东须于{failed.follow_up_due:%m月%d日}前整改，到期复查")
    return made + 1

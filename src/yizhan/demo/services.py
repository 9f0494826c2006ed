"""Build the demo district from the seeds, deterministically.

The data files in ``demo/data/`` (made by ``data/build_world.py`` from the five seed
articles) hold the jurisdiction tree with boundaries and the stations. Loading goes
through the same services the pages use, so the demo exercises the real rules
(validation, audit rows, keeper alerts). Running it twice changes nothing the
second time: jurisdictions are upserted by code and stations are skipped if present.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.test.utils import override_settings

from yizhan.accounts.choices import Role, Trade
from yizhan.accounts.models import RoleGrant, User, WorkerProfile
from yizhan.core import geo
from yizhan.core.audit import audit_batch, audit_unbatched
from yizhan.core.manifest import demo_loaders
from yizhan.demo.apps import DemoConfig
from yizhan.jurisdictions.choices import Level
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.jurisdictions.services import jurisdictions_import_geojson
from yizhan.stations import services as station_services
from yizhan.stations.choices import ConditionKind, GiverKind
from yizhan.stations.models import Station
from yizhan.stations.qr import qr_token_for

DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_PASSWORD = "yizhan-demo-2026"
DEMO_WORKER_PHONE = "13800000001"
SEED = 20261123


@dataclass
class DemoLogin:
    role: str
    username: str
    password: str
    scope: str
    note: str = ""


@dataclass
class DemoSummary:
    jurisdictions: dict = field(default_factory=dict)
    stations_created: int = 0
    stations_total: int = 0
    workers: int = 0
    logins: list[DemoLogin] = field(default_factory=list)
    # app label -> what that app's demo loader returned (``summary.reports`` reads it too)
    loaded: dict = field(default_factory=dict)

    def __getattr__(self, name):
        loaded = self.__dict__.get("loaded") or {}
        if name in loaded:
            return loaded[name]
        raise AttributeError(name)


def _load_json(name: str):
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _demo_password_hash() -> str:
    # One PBKDF2 run for all ~190 demo staff instead of one each (0.2 s apiece).
    return make_password(DEMO_PASSWORD)


def _staff(username: str, display_name: str, role: str, node: Jurisdiction, phone: str | None = None) -> User:
    """Staff account with the demo password and one role (idempotent). The role goes
    through ``role_grant`` (audited); the account row is made here so the password hash
    can be shared."""
    from yizhan.accounts.services import role_grant

    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create(
            username=username, display_name=display_name, phone=phone, is_staff=True,
            password=_demo_password_hash(),
        )
    if not RoleGrant.objects.filter(user=user, role=role, jurisdiction=node).exists():
        role_grant(actor=None, user=user, role=role, jurisdiction=node)
    return user


def _staff_many(rows: list[tuple]) -> dict[str, User]:
    """``_staff`` for many accounts at once: ``rows`` of (username, display_name, role, node,
    phone), in creation order. The same rows as ``_staff`` one by one (accounts in this order,
    each missing grant with the audit row ``role_grant(actor=None)`` writes), in four bulk
    statements. An account named twice gets every grant listed for it. Returns users by
    username."""
    from yizhan.core.audit import audit_entry
    from yizhan.core.models import AuditAction, AuditLog
    from yizhan.core.permissions import forget_grants

    names = list(dict.fromkeys(r[0] for r in rows))
    users = {u.username: u for u in User.objects.filter(username__in=names)}
    new = []
    for username, display_name, _role, _node, phone in rows:
        if username not in users:
            users[username] = User(username=username, display_name=display_name, phone=phone, is_staff=True,
                                   password=_demo_password_hash())
            new.append(users[username])
    if new:
        User.objects.bulk_create(new)
        users.update({u.username: u for u in User.objects.filter(username__in=[u.username for u in new])})
    have = set(RoleGrant.objects.filter(user__in=list(users.values())).values_list("user_id", "role", "jurisdiction_id"))
    grants = []
    for username, _name, role, node, _phone in rows:
        key = (users[username].pk, role, node.pk)
        if key not in have:
            have.add(key)
            grants.append(RoleGrant(user=users[username], role=role, jurisdiction=node, granted_by=None))
    if grants:
        RoleGrant.objects.bulk_create(grants)
        if any(g.pk is None for g in grants):  # a backend that does not return ids
            ids = {(g.user_id, g.role, g.jurisdiction_id): g.pk for g in RoleGrant.objects.filter(
                user__in=[g.user for g in grants])}
            for g in grants:
                g.pk = ids[(g.user_id, g.role, g.jurisdiction_id)]
        AuditLog.objects.bulk_create([audit_entry(
            actor=None, action=AuditAction.CREATE, obj=g,
            summary=f"grant {g.role} @ {g.jurisdiction.code} to {g.user.username}", jurisdiction_path=g.jurisdiction.path,
        ) for g in grants])
        for g in grants:
            forget_grants(g.user)
    return users


def _first(level: str, code_prefix: str = "") -> Jurisdiction | None:
    qs = Jurisdiction.objects.filter(level=level)
    if code_prefix:
        qs = qs.filter(path__contains=f"/{code_prefix}")
    return qs.order_by("path").first()


# The accounts worth trying first, in the order a newcomer would: (username, what to try).
FEATURED = [
    ("demo-district-sz-gx", "苏州高新区全区驿站、覆盖分析 / whole district, coverage map"),
    ("demo-community-sz-gx-dz-c01", "东渚社区（科技城服务总站）/ Dongzhu community only"),
    ("demo-community-sz-wz-cn-c01", "红庄社区“温馨小站” / Hongzhuang community only"),
    ("demo-keeper-st-sz-0001", "服务总站站长：补货、二维码 / hub keeper: stock, QR code"),
    ("demo-keeper-st-sz-0007", "彭山社区驿站站长（库存不足提醒）/ keeper with low stock"),
    ("demo-city-xn", "咸宁市：120个红色驿站 / Xianning, 120 red stations"),
    ("demo-auditor", "只能查看审计日志 / audit log only"),
    ("demo-grid-sz-gx-dz-c02-g03", "网格员：我的工单 /work/ / grid worker: case inbox"),
    ("demo-duty-nt-cc", "值班员：派单台 /dispatch/ / duty officer: dispatch console"),
    ("demo-duty-sz-wz-cn-c01", "红庄消防中心值班员：报警大屏 /safety/wall/ / fire-safety duty officer: alarm wall"),
    ("demo-responder-hz-01", "微型消防站队员：出警 /safety/respond/ / micro fire station member: responder phone page"),
]
# Roles that capability apps add in their manifests (not in accounts.choices.Role).
OTHER_ROLE_LABELS = {"fire_responder": "微型消防站队员"}


def _role_label(role: str) -> str:
    try:
        return str(Role(role).label)
    except ValueError:
        return OTHER_ROLE_LABELS.get(role, role)


def demo_logins() -> list[DemoLogin]:
    """The demo accounts as they are in the database now (for `make run` and README)."""
    logins: list[DemoLogin] = []
    if User.objects.filter(username="admin", is_superuser=True).exists():
        logins.append(DemoLogin("超级管理员 superuser", "admin", DEMO_PASSWORD, "全部 all", "/admin/"))
    grants = {
        g.user.username: g
        for g in RoleGrant.objects.filter(user__username__in=[u for u, _ in FEATURED]).select_related("user", "jurisdiction")
    }
    for username, note in FEATURED:
        g = grants.get(username)
        if g is not None:
            logins.append(DemoLogin(_role_label(g.role), username, DEMO_PASSWORD, g.jurisdiction.name, note))
    if User.objects.filter(phone=DEMO_WORKER_PHONE).exists():
        logins.append(DemoLogin(
            str(Role.WORKER.label), DEMO_WORKER_PHONE, "短信验证码 one-time code", "",
            "验证码打印在服务器控制台 / the code is printed on the server console",
        ))
    return logins


def demo_load(*, stdout=None) -> DemoSummary:
    """Load (or top up) the demo: the superuser, then every installed app's demo loader
    (``AppManifest.demo_loader``) in ``demo_order`` — this app's district first, so the
    others find the jurisdictions, stations, staff and workers. Deterministic for the
    same data files."""
    # One transaction for the whole load: one commit instead of one per station and per case
    # step (the services' own atomic blocks become savepoints); work scheduled on commit
    # (index refreshes) runs once, at the end.
    # Audit rows are collected and written in bulk at the end (core.audit.audit_batch: the
    # same rows with their own times), and the SQL is not copied into connection.queries
    # (with DEBUG on, every statement was formatted and kept: SQLite re-queries each
    # statement's parameters for that).
    with override_settings(DEBUG=False), transaction.atomic(), audit_batch():
        admin = _demo_admin()
        loaded = {config.label: loader(admin=admin, stdout=stdout) for config, loader in demo_loaders()}
    summary = loaded.get(DemoConfig.label) or DemoSummary()
    summary.loaded = loaded
    summary.logins = demo_logins()
    return summary


def _demo_admin() -> User:
    """The superuser ``admin`` with the demo password (idempotent)."""
    with transaction.atomic():
        admin = User.objects.filter(username="admin").first()
        if admin is None:
            admin = User.objects.create_superuser("admin", password=None, display_name="系统管理员")
            admin.password = _demo_password_hash()
            admin.save(update_fields=["password"])
    return admin


def demo_district_load(*, admin: User, stdout=None) -> DemoSummary:
    """This app's demo loader: jurisdictions, staff, stations, workers and a little station
    life from the seeds."""
    rng = random.Random(SEED)
    summary = DemoSummary()
    say = (lambda msg: stdout.write(msg)) if stdout else (lambda msg: None)

    # 1. Jurisdictions with boundaries, from the GeoJSON file (upsert by code).
    # An import that changes nothing still writes its audit row; on a second run that row is
    # rolled back with its savepoint, so loading twice changes nothing.
    with transaction.atomic(), audit_unbatched():
        saved = transaction.savepoint()
        summary.jurisdictions = jurisdictions_import_geojson(
            actor=None, content=(DATA_DIR / "jurisdictions.geojson").read_bytes()
        )
        if summary.jurisdictions.get("created") or summary.jurisdictions.get("updated"):
            transaction.savepoint_commit(saved)
        else:
            transaction.savepoint_rollback(saved)
    say(f"jurisdictions: {summary.jurisdictions}")

    # 2. The staff who run the district.
    nodes = {j.code: j for j in Jurisdiction.objects.all()}
    by_level = sorted(nodes.values(), key=lambda j: j.code)
    staff = [(f"demo-city-{c.code.lower()}", f"{c.name}管理员", Role.CITY_ADMIN, c, None)
             for c in by_level if c.level == Level.CITY]
    staff += [(f"demo-district-{d.code.lower()}", f"{d.name}管理员", Role.DISTRICT_ADMIN, d, None)
              for d in by_level if d.level == Level.DISTRICT]
    auditor_node = nodes.get("SZ") or next((c for c in by_level if c.level == Level.CITY), None)
    staff.append(("demo-auditor", "审计员 周敏", Role.AUDITOR, auditor_node, None))
    _staff_many(staff)

    # 3. Stations, their keepers, supplies and hours, through the station services.
    stations = _load_json("stations.json")
    by_code = {s.code: s for s in Station.objects.all()}
    # hubs first so members can point at them
    stations.sort(key=lambda s: (s.get("hub") is not None, s["code"]))
    new_rows = [row for row in stations if row["code"] not in by_code]
    # Their community admins and keepers first, in the order the station walk meets them
    # (a keeper is found by phone: one person may keep several stations).
    communities_with_admin: set[str] = set()
    staff, keeper_names, by_phone = [], {}, {}
    for row in new_rows:
        community = nodes[row["community"]]
        if community.code not in communities_with_admin:
            communities_with_admin.add(community.code)
            staff.append((f"demo-community-{community.code.lower()}", f"{community.name}管理员",
                          Role.COMMUNITY_ADMIN, community, None))
        phone = (row.get("keeper") or {}).get("phone")
        if phone:
            if phone not in by_phone:
                known = User.objects.filter(phone=phone).only("username").first()
                by_phone[phone] = known.username if known else f"demo-keeper-{row['code'].lower()}"
            keeper_names[row["code"]] = by_phone[phone]
            staff.append((by_phone[phone], row["keeper"].get("name", "站长"), Role.KEEPER, community, phone))
    people = _staff_many(staff)
    for i, row in enumerate(stations):
        if row["code"] in by_code:
            continue
        community = nodes[row["community"]]
        data = {k: row[k] for k in (
            "code", "name", "name_en", "type", "host_type", "host_name", "address", "lat", "lng",
            "amenities", "hours", "opened_on",
        ) if k in row}
        data["jurisdiction"] = community
        data["hub"] = row.get("hub")
        data["description"] = row.get("description_zh", "")
        data["holidays"] = [
            {"date": h["date"], "intervals": h.get("intervals", []), "note": h.get("note_zh", "")}
            for h in row.get("holidays", [])
        ]
        station = station_services.station_create(actor=admin, data=data)
        by_code[station.code] = station
        summary.stations_created += 1
        if row["code"] in keeper_names:
            station_services.station_keeper_assign(actor=admin, station=station, user=people[keeper_names[row["code"]]])
        supplies = [{"item": sup["item"], "threshold": int(sup.get("threshold", 0)),
                     "quantity": int(sup["quantity"]) if int(sup.get("quantity", 0)) > 0 else None}
                    for sup in row.get("supplies", [])]
        if supplies:
            station_services.supplies_bulk_set(actor=admin, station=station, supplies=supplies, note="演示数据初始盘点")
        if (i + 1) % 25 == 0:
            say(f"stations: {i + 1}/{len(stations)}")
    summary.stations_total = Station.objects.count()

    # 4. Workers with home communities (for coverage), and one known demo worker.
    _demo_workers(rng, summary)

    # 5. A little life: gifts, check-ins, condition reports and reviews at a few stations.
    if summary.stations_created:
        _demo_activity(rng, admin)

    return summary


TRADES = [Trade.FOOD_DELIVERY, Trade.FOOD_DELIVERY, Trade.COURIER, Trade.RIDE_HAILING, Trade.JOB_SEEKER,
          Trade.FREIGHT, Trade.CLEANER]
PLATFORMS = {
    Trade.FOOD_DELIVERY: ["美团", "饿了么"], Trade.COURIER: ["顺丰", "京东", "中通", "圆通"],
    Trade.RIDE_HAILING: ["滴滴", "曹操出行"], Trade.FREIGHT: ["货拉拉"], Trade.CLEANER: ["环卫公司"],
    Trade.JOB_SEEKER: [""],
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林"


def _demo_workers(rng: random.Random, summary: DemoSummary) -> None:
    if WorkerProfile.objects.exists():
        summary.workers = WorkerProfile.objects.count()
        return
    communities = list(Jurisdiction.objects.filter(level=Level.COMMUNITY).exclude(boundary=None).order_by("code"))
    users, profiles = [], []
    n = 0
    for community in communities:
        cells = geo.cells_in_geometry(community.boundary)
        if not cells:
            continue
        for _ in range(rng.randint(6, 14)):
            n += 1
            phone = f"1390000{n:04d}"
            trade = rng.choice(TRADES)
            user = User(username=f"w{phone}", phone=phone,
                        display_name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", rng.choice(GIVEN)]))
            user.set_unusable_password()
            users.append(user)
            profiles.append((user, WorkerProfile(
                trade=trade, platform=rng.choice(PLATFORMS[trade]), home_community=community,
                home_cell=rng.choice(cells), skills=rng.sample(["电动车维修", "驾驶", "普通话", "烹饪", "搬运", "电工"], 2),
                consent_version="2026-11",
            )))
    demo = User(username="w" + DEMO_WORKER_PHONE, phone=DEMO_WORKER_PHONE, display_name="赵小哥")
    demo.set_unusable_password()
    users.append(demo)
    home = communities[0] if communities else None
    profiles.append((demo, WorkerProfile(
        trade=Trade.FOOD_DELIVERY, platform="美团", home_community=home,
        home_cell=(geo.cells_in_geometry(home.boundary) or [""])[0] if home else "",
        consent_version="2026-11",
    )))
    with transaction.atomic():
        User.objects.bulk_create(users)
        saved = {u.phone: u for u in User.objects.filter(phone__in=[u.phone for u in users])}
        for user, profile in profiles:
            profile.user = saved[user.phone]
        WorkerProfile.objects.bulk_create([p for _, p in profiles])
    summary.workers = len(profiles)


def _demo_activity(rng: random.Random, admin: User) -> None:
    workers = list(User.objects.filter(worker_profile__isnull=False).order_by("phone")[:40])
    stations = list(Station.objects.order_by("code"))
    if not workers or not stations:
        return
    givers = [
        (GiverKind.UNIT, "苏州科技城管委会", "矿泉水 10 箱", "water", 240),
        (GiverKind.MERCHANT, "爱心商家 老王面馆", "一次性口罩 5 盒", "masks", 250),
        (GiverKind.RESIDENT, "社区居民 李阿姨", "雨伞 10 把", "umbrellas", 10),
    ]
    for station in stations[:: max(1, len(stations) // 12)]:
        kind, name, desc, item, qty = rng.choice(givers)
        station_services.donation_record(
            actor=admin, station=station, giver_kind=kind, giver_name=name, description=desc,
            item=item, quantity=qty, received_on=date(2026, 11, 1) + timedelta(days=rng.randint(0, 20)),
        )
    for worker in workers:
        for station in rng.sample(stations, k=min(3, len(stations))):
            station_services.checkin_create(actor=worker, token=qr_token_for(station=station))
        station = rng.choice(stations)
        station_services.review_upsert(
            actor=worker, station=station, rating=rng.choice([4, 5, 5, 5, 3]),
            comment=rng.choice(["夏天有空调，冬天有热水，很贴心", "充电很方便", "站长很热情", "", "希望开到更晚"]),
        )
    for worker, kind in zip(workers[:4], [ConditionKind.ALL_GOOD, ConditionKind.NO_HOT_WATER,
                                          ConditionKind.CHARGER_BROKEN, ConditionKind.ALL_GOOD], strict=False):
        station = rng.choice(stations)
        station_services.condition_report_create(actor=worker, station=station, kind=kind)

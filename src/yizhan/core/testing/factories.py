"""Plain test factories shared by every app (no factory_boy).

    tree = make_jurisdiction_tree()
    admin = make_staff("community_admin", tree.community)        # community A
    other = make_staff("community_admin", tree.other_community)  # community B, same street
    worker = make_worker()
    client.force_login(admin)   or   headers=bearer(admin)

The tree (WGS-84 squares around Suzhou Science City, lng/lat):

    city      SZ               120.00–121.00 × 31.00–32.00
    district  SZ-GX            120.30–120.50 × 31.25–31.45
    street    SZ-GX-KX         120.35–120.45 × 31.30–31.40
    community SZ-GX-KX-A       120.35–120.40 × 31.30–31.40   (tree.community)
      grids   SZ-GX-KX-A-1 (south half), SZ-GX-KX-A-2 (north half)
    community SZ-GX-KX-B       120.40–120.45 × 31.30–31.40   (tree.other_community)
      grids   SZ-GX-KX-B-1, SZ-GX-KX-B-2
    district  SZ-WZ            120.55–120.75 × 31.10–31.30   (tree.other_district)
      street  SZ-WZ-HZ, community SZ-WZ-HZ-C, grid SZ-WZ-HZ-C-1 (whole community)

``tree.point(node)`` gives a (lat, lng) inside a node. Codes get a suffix when
``prefix`` is given, so two trees can live in one test.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from yizhan.accounts.models import RoleGrant, User, WorkerProfile
from yizhan.jurisdictions.models import Jurisdiction

DEFAULT_PASSWORD = "Yizhan-test-pass-2024"
CONSENT_VERSION = "2024-01"

_seq = itertools.count(1)


def square(min_lng: float, min_lat: float, max_lng: float, max_lat: float) -> dict:
    """A GeoJSON Polygon for an axis-aligned box (lng/lat order, closed ring)."""
    return {
        "type": "Polygon",
        "coordinates": [
            [
                [min_lng, min_lat],
                [max_lng, min_lat],
                [max_lng, max_lat],
                [min_lng, max_lat],
                [min_lng, min_lat],
            ]
        ],
    }


@dataclass
class Tree:
    city: Jurisdiction
    district: Jurisdiction
    street: Jurisdiction
    community: Jurisdiction
    other_community: Jurisdiction
    grid: Jurisdiction  # first grid of community A
    grids: list[Jurisdiction]  # B-1, B-2
    other_district: Jurisdiction
    other_street: Jurisdiction
    far_community: Jurisdiction  # community in the other district
    far_grid: Jurisdiction
    nodes: dict[str, Jurisdiction] = field(default_factory=dict)

    # Aliases that read well in tests.
    @property
    def community_a(self) -> Jurisdiction:
        return self.community

    @property
    def community_b(self) -> Jurisdiction:
        return self.other_community

    def point(self, node: Jurisdiction) -> tuple[float, float]:
        """(lat, lng) of the node's centre — inside the node for these boxes."""
        return node.center_lat, node.center_lng


def make_jurisdiction(
    *, code: str, name: str | None = None, level: str, parent=None, boundary=None, name_en: str = ""
) -> Jurisdiction:
    from yizhan.jurisdictions.services import jurisdiction_create

    return jurisdiction_create(
        actor=None,
        code=code,
        name=name or code,
        name_en=name_en or code,
        level=level,
        parent=parent,
        boundary=boundary,
    )


def make_jurisdiction_tree(prefix: str = "") -> Tree:
    p = f"{prefix}-" if prefix else ""

    def mk(code, name, level, parent, box, name_en=""):
        return make_jurisdiction(
            code=f"{p}{code}", name=name, name_en=name_en or code, level=level, parent=parent,
            boundary=square(*box),
        )

    city = mk("SZ", "苏州市", "city", None, (120.0, 31.0, 121.0, 32.0), "Suzhou")
    district = mk("SZ-GX", "高新区", "district", city, (120.30, 31.25, 120.50, 31.45), "SND")
    street = mk("SZ-GX-KX", "科学城街道", "street", district, (120.35, 31.30, 120.45, 31.40), "Science City")
    comm_a = mk("SZ-GX-KX-A", "东渚社区", "community", street, (120.35, 31.30, 120.40, 31.40), "Dongzhu")
    comm_b = mk("SZ-GX-KX-B", "龙惠社区", "community", street, (120.40, 31.30, 120.45, 31.40), "Longhui")
    grids = [
        mk("SZ-GX-KX-A-1", "东渚一网格", "grid", comm_a, (120.35, 31.30, 120.40, 31.35)),
        mk("SZ-GX-KX-A-2", "东渚二网格", "grid", comm_a, (120.35, 31.35, 120.40, 31.40)),
        mk("SZ-GX-KX-B-1", "龙惠一网格", "grid", comm_b, (120.40, 31.30, 120.45, 31.35)),
        mk("SZ-GX-KX-B-2", "龙惠二网格", "grid", comm_b, (120.40, 31.35, 120.45, 31.40)),
    ]
    other_district = mk("SZ-WZ", "吴中区", "district", city, (120.55, 31.10, 120.75, 31.30), "Wuzhong")
    other_street = mk("SZ-WZ-HZ", "横泾街道", "street", other_district, (120.60, 31.15, 120.70, 31.25))
    far_comm = mk("SZ-WZ-HZ-C", "洪庄社区", "community", other_street, (120.60, 31.15, 120.65, 31.20))
    far_grid = mk("SZ-WZ-HZ-C-1", "洪庄一网格", "grid", far_comm, (120.60, 31.15, 120.65, 31.20))
    nodes = {
        n.code: n
        for n in [city, district, street, comm_a, comm_b, *grids, other_district, other_street, far_comm, far_grid]
    }
    return Tree(
        city=city,
        district=district,
        street=street,
        community=comm_a,
        other_community=comm_b,
        grid=grids[0],
        grids=grids,
        other_district=other_district,
        other_street=other_street,
        far_community=far_comm,
        far_grid=far_grid,
        nodes=nodes,
    )


def unique_phone() -> str:
    """A fresh valid mainland mobile number (139xxxxxxxx)."""
    return f"139{next(_seq):08d}"


def make_user(
    *, username: str | None = None, password: str | None = DEFAULT_PASSWORD, phone: str | None = None,
    display_name: str = "", is_superuser: bool = False, **extra,
) -> User:
    username = username or f"user{next(_seq)}"
    user = User(
        username=username,
        phone=phone,
        display_name=display_name or username,
        is_superuser=is_superuser,
        **{"is_staff": is_superuser, **extra},
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


def grant(user: User, role: str, jurisdiction: Jurisdiction) -> RoleGrant:
    """Give ``user`` a role on a node, bypassing the granting rules (test set-up)."""
    rg, _ = RoleGrant.objects.get_or_create(user=user, role=role, jurisdiction=jurisdiction)
    if hasattr(user, "_yizhan_grants"):
        del user._yizhan_grants
    return rg


def make_staff(
    role: str, jurisdiction: Jurisdiction, *, username: str | None = None, password: str = DEFAULT_PASSWORD,
    phone: str | None = None, display_name: str = "",
) -> User:
    """A staff user (password login, ``is_staff`` so Django admin lets them in) holding ``role``."""
    user = make_user(
        username=username or f"{role}{next(_seq)}", password=password, phone=phone,
        display_name=display_name, is_staff=True,
    )
    grant(user, role, jurisdiction)
    return user


def make_superuser(*, username: str | None = None, password: str = DEFAULT_PASSWORD) -> User:
    return make_user(username=username or f"root{next(_seq)}", password=password, is_superuser=True)


def make_worker(
    phone: str | None = None, *, trade: str = "food_delivery", platform: str = "美团", home_community=None,
    skills: list[str] | None = None, home_cell: str = "", display_name: str = "",
) -> User:
    """A worker as the phone+code login would create them: no usable password, a profile."""
    phone = phone or unique_phone()
    from django.utils import timezone

    user = make_user(username=f"w{next(_seq)}", password=None, phone=phone, display_name=display_name or "")
    WorkerProfile.objects.create(
        user=user,
        trade=trade,
        platform=platform,
        skills=skills or [],
        home_community=home_community,
        home_cell=home_cell,
        consent_version=CONSENT_VERSION,
        consent_at=timezone.now(),
    )
    return user


def make_api_token(user: User, *, name: str = "test") -> str:
    """A raw Bearer token for ``user`` (through the real service)."""
    from yizhan.accounts.services import api_token_create

    _token, raw = api_token_create(actor=None, user=user, name=name)
    return raw


def bearer(user_or_raw) -> dict:
    """Headers for the test client: ``client.get(url, headers=bearer(user))``."""
    raw = user_or_raw if isinstance(user_or_raw, str) else make_api_token(user_or_raw)
    return {"Authorization": f"Bearer {raw}"}


def otp_code(phone: str, *, ip: str | None = "127.0.0.1") -> str:
    """Request a login code through the real service and read it from the console
    SMS backend's outbox (runs the on-commit send inside a test transaction)."""
    from django.test import TestCase

    from yizhan.accounts.services import otp_request
    from yizhan.accounts.sms import ConsoleSmsBackend

    with TestCase.captureOnCommitCallbacks(execute=True):
        otp_request(phone=phone, ip=ip)
    code = ConsoleSmsBackend.last_code(phone)
    assert code, "no code in ConsoleSmsBackend.outbox (is YIZHAN_SMS_BACKEND the console backend?)"
    return code


def login_worker(client, phone: str | None = None):
    """Log a worker in through the real phone + code API; returns the user."""
    import json

    phone = phone or unique_phone()
    code = otp_code(phone)
    resp = client.post(
        "/api/v1/accounts/otp/verify", data=json.dumps({"phone": phone, "code": code}),
        content_type="application/json",
    )
    assert resp.status_code == 200, resp.content
    return User.objects.get(phone=phone)

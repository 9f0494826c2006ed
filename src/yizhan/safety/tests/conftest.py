"""Shared fire-safety test data: ``safety_tree`` (owner: rules helper; others extend it).

    def test_x(safety_tree, client):
        st = safety_tree
        st.tree                   # core.testing.factories tree (community A/B, far district)
        st.building, st.rental_house, st.shed, st.station, st.centre   # Places in community A
        st.other_place            # a rental house in community B (wrong-jurisdiction checks)
        st.devices["smoke"]       # one Device per kind (DeviceKind values), all in community A
        st.smoke, st.gas, st.electrical, st.shed_temp, st.transmitter, st.component
        st.other_device           # a smoke detector in community B
        st.duty_officer           # duty_officer on community A
        st.grid_worker            # grid_worker on community A, a Responder (on duty, near the house)
        st.station_member         # fire_responder on community A, Responder of the micro station
        st.manager                # community_admin on community A (safety.manage)
        st.other_manager          # community_admin on community B
        st.responders             # [grid worker's, station member's] Responder rows
        st.rules                  # the default AlarmRules installed (rules_defaults)

The transmitter has ``gb_address`` ``0x000012345678`` (the demo's) and one point in its
table: ``component`` (system 1 addr 0, component 0x0102 type 40).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

GB_ADDRESS = 0x000012345678


@dataclass
class SafetyTree:
    tree: object
    building: object
    rental_house: object
    shed: object
    station: object
    centre: object
    other_place: object
    devices: dict = field(default_factory=dict)
    other_device: object = None
    duty_officer: object = None
    grid_worker: object = None
    station_member: object = None
    manager: object = None
    other_manager: object = None
    responders: list = field(default_factory=list)
    rules: list = field(default_factory=list)

    @property
    def smoke(self):
        return self.devices["smoke"]

    @property
    def gas(self):
        return self.devices["gas"]

    @property
    def electrical(self):
        return self.devices["electrical"]

    @property
    def shed_temp(self):
        return self.devices["shed_temperature"]

    @property
    def transmitter(self):
        return self.devices["transmitter"]

    @property
    def component(self):
        return self.devices["component"]


def _place(code, kind, name, jurisdiction, lat, lng, **extra):
    from yizhan.core.geo import cell_of
    from yizhan.safety.models import Place

    return Place.objects.create(code=code, kind=kind, name=name, address=f"{name}地址", lat=lat, lng=lng,
                                cell=cell_of(lat, lng), jurisdiction=jurisdiction, **extra)


def _device(code, kind, place, **extra):
    from yizhan.safety.models import Device

    return Device.objects.create(code=code, kind=kind, place=place, jurisdiction=place.jurisdiction, **extra)


def build_safety_tree(tree) -> SafetyTree:
    from yizhan.core.testing.factories import grant, make_staff, make_user
    from yizhan.safety.choices import DeviceKind, PlaceKind, ResponderKind
    from yizhan.safety.models import Responder
    from yizhan.safety.rules_defaults import rules_install_defaults

    a = tree.community
    lat, lng = tree.point(tree.grid)  # 31.325, 120.375
    building = _place("T-BLD-1", PlaceKind.BUILDING, "东渚1号楼", a, lat, lng, floors=6)
    house = _place("T-RH-1", PlaceKind.RENTAL_HOUSE, "东渚出租房1", a, lat + 0.001, lng, parent=building,
                   floors=4, rooms=12, tenant_count=20, landlord_name="王房东", landlord_phone="13900000001")
    shed = _place("T-SHED-1", PlaceKind.CHARGING_SHED, "东渚充电棚", a, lat + 0.002, lng + 0.001,
                  charging_points=20)
    station = _place("T-MS-1", PlaceKind.MICRO_STATION, "东渚微型消防站", a, lat - 0.003, lng,
                     equipment=[{"item": "灭火器", "count": 10}], phone="051200000119")
    centre = _place("T-CTR", PlaceKind.CENTRE, "24小时监控中心", a, lat - 0.004, lng + 0.002, phone="051200000000")
    blat, blng = tree.point(tree.grids[2])
    other = _place("T-RH-B", PlaceKind.RENTAL_HOUSE, "龙惠出租房", tree.other_community, blat, blng)

    devices = {
        DeviceKind.SMOKE: _device("T-SMOKE-1", DeviceKind.SMOKE, house, floor="3", room="301",
                                  location_text="3楼楼道", heartbeat_interval=60, battery=90),
        DeviceKind.GAS: _device("T-GAS-1", DeviceKind.GAS, house, floor="1", room="厨房", heartbeat_interval=60),
        DeviceKind.ELECTRICAL: _device("T-ELEC-1", DeviceKind.ELECTRICAL, building, location_text="配电箱",
                                       heartbeat_interval=60),
        DeviceKind.SHED_TEMPERATURE: _device("T-SHEDT-1", DeviceKind.SHED_TEMPERATURE, shed,
                                             heartbeat_interval=60),
        DeviceKind.TRANSMITTER: _device("T-UITD-1", DeviceKind.TRANSMITTER, centre, gb_address=GB_ADDRESS,
                                        heartbeat_interval=60),
    }
    devices[DeviceKind.COMPONENT] = _device(
        "T-POINT-1", DeviceKind.COMPONENT, building, transmitter=devices[DeviceKind.TRANSMITTER],
        gb_sys_type=1, gb_sys_addr=0, gb_comp_type=40, gb_comp_addr=0x0102, location_text="2楼走廊")
    other_device = _device("T-SMOKE-B", DeviceKind.SMOKE, other, heartbeat_interval=60)

    duty = make_staff("duty_officer", a, display_name="值班员")
    worker = make_staff("grid_worker", a, display_name="网格员")
    member = make_user(display_name="微站队员")
    grant(member, "fire_responder", a)
    manager = make_staff("community_admin", a)
    other_manager = make_staff("community_admin", tree.other_community)
    responders = [
        Responder.objects.create(user=worker, kind=ResponderKind.GRID_WORKER, jurisdiction=a, on_duty=True,
                                 lat=lat + 0.0015, lng=lng + 0.0005),
        Responder.objects.create(user=member, kind=ResponderKind.MICRO_STATION, station=station, jurisdiction=a,
                                 on_duty=True, lat=station.lat, lng=station.lng),
    ]
    rules = rules_install_defaults()
    return SafetyTree(tree=tree, building=building, rental_house=house, shed=shed, station=station, centre=centre,
                      other_place=other, devices={str(k): v for k, v in devices.items()}, other_device=other_device,
                      duty_officer=duty, grid_worker=worker, station_member=member, manager=manager,
                      other_manager=other_manager, responders=responders, rules=rules)


@pytest.fixture
def safety_tree(tree) -> SafetyTree:
    """The test tree plus fire-safety places, devices, people and the default rules."""
    return build_safety_tree(tree)

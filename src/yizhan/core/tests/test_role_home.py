"""Issue 8 (what a new user hit, 9): staff land on their role's home page after login,
not on the station finder; a safe ``next`` still wins, an unsafe one falls back home."""

import pytest

from yizhan.core.testing.factories import (
    DEFAULT_PASSWORD,
    make_jurisdiction_tree,
    make_staff,
    make_superuser,
    make_worker,
    otp_code,
)


@pytest.fixture
def nodes(db):
    return make_jurisdiction_tree()


@pytest.mark.parametrize(("role", "level", "home"), [
    ("keeper", "community", "/keeper/"),
    ("grid_worker", "grid", "/work/"),
    ("handler", "street", "/work/"),
    ("duty_officer", "district", "/dispatch/"),
    ("community_admin", "community", "/dispatch/"),
    ("street_admin", "street", "/dispatch/"),
    ("district_admin", "district", "/dispatch/"),
    ("auditor", "district", "/audit/"),
])
def test_staff_land_on_their_role_home(client, nodes, role, level, home):
    make_staff(role, getattr(nodes, level), username="u1")
    resp = client.post("/accounts/login/", {"username": "u1", "password": DEFAULT_PASSWORD})
    assert resp.status_code == 302 and resp["Location"] == home
    assert client.get(home).status_code == 200


def test_superuser_lands_on_dispatch(client, db):
    make_superuser(username="root")
    resp = client.post("/accounts/login/", {"username": "root", "password": DEFAULT_PASSWORD})
    assert resp["Location"] == "/dispatch/"


def test_safe_next_wins_unsafe_next_goes_home(client, nodes):
    make_staff("auditor", nodes.district, username="aud")
    resp = client.post("/accounts/login/?next=/inbox/", {"username": "aud", "password": DEFAULT_PASSWORD})
    assert resp["Location"] == "/inbox/"
    client.logout()
    resp = client.post("/accounts/login/", {"username": "aud", "password": DEFAULT_PASSWORD,
                                            "next": "https://evil.example/"})
    assert resp["Location"] == "/audit/"


def test_admin_without_reports_perms_lands_on_station_management(client, nodes, monkeypatch):
    from yizhan.core import context_processors

    real = context_processors.nav_for
    monkeypatch.setattr(context_processors, "nav_for",
                        lambda user: [i for i in real(user) if i["key"] not in ("dispatch", "work", "figures")])
    make_staff("community_admin", nodes.community, username="adm")
    resp = client.post("/accounts/login/", {"username": "adm", "password": DEFAULT_PASSWORD})
    assert resp["Location"] == "/manage/stations/"


def test_worker_lands_on_the_home_page(client, db):
    worker = make_worker()
    code = otp_code(worker.phone)
    resp = client.post("/accounts/otp/", {"step": "code", "phone": worker.phone, "code": code})
    assert resp.status_code == 302 and resp["Location"] == "/"

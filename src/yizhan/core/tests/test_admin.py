"""Django admin is scoped like the rest: community admins see their subtree,
auditors only the audit log, superusers everything; writes go through services."""


from yizhan.accounts.models import RoleGrant
from yizhan.core.models import AuditLog
from yizhan.core.testing.factories import (
    make_staff,
    make_superuser,
    make_worker,
)
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.stations.models import Station
from yizhan.stations.tests.factories import make_station


def station_form(tree, **over):
    data = {"code": "ADM-1", "name": "后台驿站", "name_en": "", "type": "station", "host_type": "community",
            "host_name": "", "address": "科技城 1 号", "lat": "31.32", "lng": "120.37",
            "jurisdiction": str(tree.grid.pk), "hub": "", "amenities": '["drinking_water"]',
            "hours": '{"mon": [["08:00", "20:00"]]}', "description": "", "opened_on": "",
            "supplies-TOTAL_FORMS": "0", "supplies-INITIAL_FORMS": "0",
            "keeper_links-TOTAL_FORMS": "0", "keeper_links-INITIAL_FORMS": "0"}
    data.update(over)
    return data


def test_auditor_sees_only_audit_log(client, tree):
    client.force_login(make_staff("auditor", tree.city))
    html = client.get("/admin/").content.decode()
    assert "/admin/core/auditlog/" in html
    for other in ("/admin/stations/station/", "/admin/accounts/user/", "/admin/jurisdictions/jurisdiction/"):
        assert other not in html
        assert client.get(other).status_code == 403
    assert client.get("/admin/core/auditlog/").status_code == 200
    row = AuditLog.objects.first()
    assert client.get(f"/admin/core/auditlog/{row.pk}/delete/").status_code == 403


def test_community_admin_scoped_stations(client, tree):
    mine = make_station(tree.grid, code="MINE")
    theirs = make_station(tree.other_community, code="THEIRS")
    client.force_login(make_staff("community_admin", tree.community))
    html = client.get("/admin/stations/station/").content.decode()
    assert "MINE" in html and "THEIRS" not in html
    assert client.get(f"/admin/stations/station/{mine.pk}/change/").status_code == 200
    resp = client.get(f"/admin/stations/station/{theirs.pk}/change/")
    assert resp.status_code == 302  # Django admin: "doesn't exist" → redirect to index
    assert "/admin/core/auditlog/" not in client.get("/admin/").content.decode()


def test_station_create_through_service(client, tree):
    admin_user = make_staff("community_admin", tree.community)
    client.force_login(admin_user)
    resp = client.post("/admin/stations/station/add/", station_form(tree))
    assert resp.status_code == 302, resp.content.decode()[:2000]
    station = Station.objects.get(code="ADM-1")
    assert station.cell  # computed by the service, not by the admin form
    assert AuditLog.objects.filter(action="create", object_type="stations.station", actor=admin_user).exists()
    # Out of scope: the jurisdiction is not even offered.
    resp = client.post("/admin/stations/station/add/",
                       station_form(tree, code="ADM-2", jurisdiction=str(tree.other_community.pk)))
    assert resp.status_code == 200 and not Station.objects.filter(code="ADM-2").exists()
    # Bad amenity: the service's message beside the field, nothing written.
    resp = client.post("/admin/stations/station/add/",
                       station_form(tree, code="ADM-3", amenities='["jacuzzi"]'))
    assert resp.status_code == 200 and not Station.objects.filter(code="ADM-3").exists()
    assert "errorlist" in resp.content.decode()


def test_keeper_cannot_edit_in_admin(client, tree):
    station = make_station(tree.grid, code="K1")
    client.force_login(make_staff("keeper", tree.community))
    assert client.get("/admin/stations/station/").status_code == 200
    resp = client.post(f"/admin/stations/station/{station.pk}/change/", station_form(tree, name="x"))
    assert resp.status_code == 403
    assert Station.objects.get(pk=station.pk).name != "x"


def test_jurisdiction_admin(client, tree):
    client.force_login(make_staff("community_admin", tree.community))
    html = client.get("/admin/jurisdictions/jurisdiction/").content.decode()
    assert "SZ-GX-KX-A-1" in html and "SZ-GX-KX-B-1" not in html
    assert client.get("/admin/jurisdictions/jurisdiction/add/").status_code == 403
    district = make_staff("district_admin", tree.district)
    client.force_login(district)
    resp = client.post("/admin/jurisdictions/jurisdiction/add/", {
        "code": "SZ-GX-KX-A-3", "name": "三网格", "name_en": "", "level": "grid", "parent": str(tree.community.pk),
        "boundary": '{"type": "Polygon", "coordinates": [[[120.36, 31.31], [120.37, 31.31], [120.37, 31.32], [120.36, 31.32], [120.36, 31.31]]]}',
    })
    assert resp.status_code == 302, resp.content.decode()[:1500]
    node = Jurisdiction.objects.get(code="SZ-GX-KX-A-3")
    assert node.path == tree.community.path + "SZ-GX-KX-A-3/" and node.area_km2 > 0
    resp = client.post("/admin/jurisdictions/jurisdiction/add/", {
        "code": "SZ-GX-KX-A-4", "name": "四", "level": "street", "parent": str(tree.community.pk), "boundary": "null"})
    assert resp.status_code == 200 and "SZ-GX-KX-A-4" not in set(Jurisdiction.objects.values_list("code", flat=True))


def test_role_grant_admin(client, tree):
    street = make_staff("street_admin", tree.street)
    target = make_worker()
    client.force_login(street)
    resp = client.post("/admin/accounts/rolegrant/add/", {"user": str(target.pk), "role": "keeper",
                                                          "jurisdiction": str(tree.community.pk)})
    assert resp.status_code == 302
    assert RoleGrant.objects.filter(user=target, role="keeper", granted_by=street).exists()
    resp = client.post("/admin/accounts/rolegrant/add/", {"user": str(target.pk), "role": "district_admin",
                                                          "jurisdiction": str(tree.street.pk)})
    assert resp.status_code == 200 and not RoleGrant.objects.filter(user=target, role="district_admin").exists()


def test_user_admin_masks_and_audits(client, tree):
    keeper = make_staff("keeper", tree.grid, phone="13700001111")
    far = make_staff("keeper", tree.far_community, username="far-keeper")
    client.force_login(make_staff("community_admin", tree.community))
    html = client.get("/admin/accounts/user/").content.decode()
    assert "137****1111" in html and "13700001111" not in html and "far-keeper" not in html
    before = AuditLog.objects.filter(action="read").count()
    resp = client.get(f"/admin/accounts/user/{keeper.pk}/change/")
    assert resp.status_code == 200 and "13700001111" not in resp.content.decode()
    assert AuditLog.objects.filter(action="read").count() == before + 1
    assert client.get(f"/admin/accounts/user/{far.pk}/change/").status_code == 302


def test_superuser_sees_all(client, tree):
    make_station(tree.grid, code="MINE")
    make_station(tree.far_grid, code="FAR")
    client.force_login(make_superuser())
    html = client.get("/admin/stations/station/").content.decode()
    assert "MINE" in html and "FAR" in html
    assert client.get("/admin/accounts/apitoken/").status_code == 200

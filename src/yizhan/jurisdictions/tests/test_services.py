import json
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from yizhan.core.errors import AppError, PermissionDenied, ValidationError
from yizhan.core.models import AuditLog
from yizhan.core.testing.factories import make_staff, square
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.jurisdictions.selectors import jurisdiction_locate, jurisdiction_subtree
from yizhan.jurisdictions.services import (
    jurisdiction_create,
    jurisdiction_update,
    jurisdictions_import_geojson,
)


def codes(nodes):
    return [n.code for n in nodes] if nodes is not None else None


def test_create_computes_geometry(tree):
    c = tree.community
    assert (c.path, c.depth) == ("/SZ/SZ-GX/SZ-GX-KX/SZ-GX-KX-A/", 3)
    assert c.center_lat == pytest.approx(31.35) and c.center_lng == pytest.approx(120.375)
    # 0.05° lng × 0.1° lat at 31.35°N ≈ 4.75 km × 11.06 km
    assert c.area_km2 == pytest.approx(52.5, rel=0.02)
    assert AuditLog.objects.filter(action="create", object_type="jurisdictions.jurisdiction").count() == 13


def test_level_order_enforced(tree):
    with pytest.raises(ValidationError) as exc:
        jurisdiction_create(actor=None, code="X1", name="x", level="grid", parent=tree.street)
    assert exc.value.code == "wrong_level_order"
    with pytest.raises(ValidationError) as exc:
        jurisdiction_create(actor=None, code="X2", name="x", level="district", parent=None)
    assert exc.value.code == "wrong_level_order"
    with pytest.raises(ValidationError) as exc:
        jurisdiction_create(actor=None, code="bad code", name="x", level="city")
    assert exc.value.code == "invalid_code"
    with pytest.raises(ValidationError) as exc:
        jurisdiction_create(actor=None, code="SZ", name="x", level="city")
    assert exc.value.code == "duplicate_code"


def test_invalid_geometry(tree):
    bowtie = {"type": "Polygon", "coordinates": [[[120.36, 31.31], [120.37, 31.32], [120.37, 31.31],
                                                  [120.36, 31.32], [120.36, 31.31]]]}
    for geom in (bowtie, {"type": "Point", "coordinates": [1, 2]}, {"type": "Polygon", "coordinates": "x"},
                 square(200, 31, 201, 32)):
        with pytest.raises(ValidationError) as exc:
            jurisdiction_create(actor=None, code="G9", name="x", level="grid", parent=tree.community, boundary=geom)
        assert exc.value.code == "invalid_geometry" and exc.value.field == "boundary"
    with pytest.raises(ValidationError) as exc:  # a grid far outside its community
        jurisdiction_create(actor=None, code="G9", name="x", level="grid", parent=tree.community,
                            boundary=square(120.6, 31.15, 120.61, 31.16))
    assert exc.value.code == "outside_parent"
    assert not Jurisdiction.objects.filter(code="G9").exists()


def test_manage_permission(tree):
    street = make_staff("street_admin", tree.street)
    with pytest.raises(PermissionDenied):
        jurisdiction_create(actor=street, code="G9", name="x", level="grid", parent=tree.community)
    district = make_staff("district_admin", tree.district)
    node = jurisdiction_create(actor=district, code="G9", name="x", level="grid", parent=tree.community,
                               boundary=square(120.36, 31.31, 120.37, 31.32))
    assert node.path.endswith("/SZ-GX-KX-A/G9/")
    with pytest.raises(PermissionDenied):
        jurisdiction_create(actor=district, code="G10", name="x", level="grid", parent=tree.far_community)


def test_subtree(tree):
    assert set(codes(jurisdiction_subtree(node=tree.community))) == {"SZ-GX-KX-A", "SZ-GX-KX-A-1", "SZ-GX-KX-A-2"}
    assert len(jurisdiction_subtree(node=tree.community, include_self=False)) == 2


# ---- locate ---------------------------------------------------------------------------


def test_locate_grid_then_ancestors(tree):
    assert codes(jurisdiction_locate(lat=31.32, lng=120.37)) == [
        "SZ-GX-KX-A-1", "SZ-GX-KX-A", "SZ-GX-KX", "SZ-GX", "SZ"]
    assert codes(jurisdiction_locate(lat=31.38, lng=120.43))[0] == "SZ-GX-KX-B-2"
    assert codes(jurisdiction_locate(lat=31.17, lng=120.62))[0] == "SZ-WZ-HZ-C-1"
    # Inside the city but in no district: the city alone.
    assert codes(jurisdiction_locate(lat=31.9, lng=120.9)) == ["SZ"]
    assert jurisdiction_locate(lat=39.9, lng=116.4) is None  # Beijing


def test_locate_bad_input(tree):
    for lat, lng in ((91, 120), (31, 181), ("x", 1), (None, None)):
        with pytest.raises(ValidationError) as exc:
            jurisdiction_locate(lat=lat, lng=lng)
        assert exc.value.code == "invalid_coordinates"


def test_locate_sees_changes(tree):
    assert codes(jurisdiction_locate(lat=31.32, lng=120.37))[0] == "SZ-GX-KX-A-1"
    jurisdiction_update(actor=None, jurisdiction=tree.grids[0], boundary=square(120.35, 31.30, 120.36, 31.31))
    assert codes(jurisdiction_locate(lat=31.32, lng=120.37))[0] == "SZ-GX-KX-A"
    assert codes(jurisdiction_locate(lat=31.305, lng=120.355))[0] == "SZ-GX-KX-A-1"


def test_locate_fast(tree):
    import random

    from yizhan.jurisdictions.locate import locate

    rnd = random.Random(1)
    points = [(31.30 + rnd.random() * 0.1, 120.35 + rnd.random() * 0.1) for _ in range(20000)]
    locate(*points[0])  # build
    t0 = time.perf_counter()
    for lat, lng in points:
        assert locate(lat, lng)
    rate = len(points) / (time.perf_counter() - t0)
    # 100k/s is the goal on a free core; the CI box is shared, so assert a safe floor.
    assert rate > 30_000, rate


# ---- GeoJSON import ----------------------------------------------------------------------------


def feature(code, level, parent, box, name=None):
    return {"type": "Feature", "properties": {"code": code, "name": name or code, "name_en": code,
            "level": level, "parent": parent}, "geometry": square(*box)}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


GOOD = collection(  # children first: the importer sorts
    feature("NT-LS-1", "grid", "NT-LS", (120.90, 31.90, 120.95, 31.95)),
    feature("NT-LS", "community", "NT-S", (120.90, 31.90, 121.00, 32.00)),
    feature("NT-S", "street", "NT-D", (120.85, 31.85, 121.05, 32.05)),
    feature("NT-D", "district", "NT", (120.8, 31.8, 121.1, 32.1)),
    feature("NT", "city", None, (120.5, 31.5, 121.5, 32.5), name="南通市"),
)


def test_import_and_idempotent(db):
    summary = jurisdictions_import_geojson(actor=None, content=json.dumps(GOOD).encode())
    assert summary == {"created": 5, "updated": 0, "unchanged": 0, "total": 5}
    assert Jurisdiction.objects.get(code="NT-LS-1").path == "/NT/NT-D/NT-S/NT-LS/NT-LS-1/"
    again = jurisdictions_import_geojson(actor=None, content=GOOD)
    assert again == {"created": 0, "updated": 0, "unchanged": 5, "total": 5}
    renamed = json.loads(json.dumps(GOOD))
    renamed["features"][4]["properties"]["name"] = "南通"
    assert jurisdictions_import_geojson(actor=None, content=renamed)["updated"] == 1
    assert Jurisdiction.objects.get(code="NT").name == "南通"
    assert AuditLog.objects.filter(action="import").count() == 3


@pytest.mark.parametrize(
    "mutate, code",
    [
        (lambda fc: fc["features"].pop(2), "missing_parent"),  # street NT-S gone
        (lambda fc: fc["features"][0]["properties"].update(parent="NT-S"), "wrong_level_order"),
        (lambda fc: fc["features"][0].update(geometry={"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}),
         "invalid_geometry"),
        (lambda fc: fc["features"][0]["properties"].update(level="village"), "invalid_level"),
        (lambda fc: fc["features"].append(feature("NT", "city", None, (1, 1, 2, 2))), "duplicate_code"),
        (lambda fc: fc.update(type="Feature"), "invalid_geojson"),
    ],
)
def test_import_all_or_nothing(db, mutate, code):
    fc = json.loads(json.dumps(GOOD))
    mutate(fc)
    with pytest.raises(AppError) as exc:
        jurisdictions_import_geojson(actor=None, content=fc)
    assert exc.value.code == code
    assert Jurisdiction.objects.count() == 0


def test_import_garbage(db):
    with pytest.raises(ValidationError) as exc:
        jurisdictions_import_geojson(actor=None, content=b"\xff not json")
    assert exc.value.code == "invalid_geojson"


def test_import_cannot_move_node(tree):
    fc = collection(feature("SZ-GX-KX-A-1", "grid", "SZ-GX-KX-B", (120.40, 31.30, 120.45, 31.35)))
    with pytest.raises(AppError) as exc:
        jurisdictions_import_geojson(actor=None, content=fc)
    assert exc.value.code == "jurisdiction_moved"


def test_import_command(db, tmp_path):
    path = tmp_path / "j.geojson"
    path.write_text(json.dumps(GOOD))
    out = StringIO()
    call_command("import-jurisdictions", str(path), stdout=out)
    assert "5 created" in out.getvalue()
    path.write_text("{}")
    with pytest.raises(CommandError):
        call_command("import-jurisdictions", str(path), stdout=StringIO())


def test_locate_multipolygon_and_tiny_node(db):
    from yizhan.core.testing.factories import make_jurisdiction

    city = make_jurisdiction(code="C", level="city", boundary={"type": "MultiPolygon", "coordinates": [
        square(120, 31, 120.1, 31.1)["coordinates"], square(121, 31, 121.1, 31.1)["coordinates"]]})
    make_jurisdiction(code="D", level="district", parent=city, boundary=square(121.05, 31.05, 121.0505, 31.0505))
    # exactly on D's corner: boundaries count as inside (covers), so D, not C
    assert codes(jurisdiction_locate(lat=31.05, lng=121.05)) == ["D", "C"]
    assert codes(jurisdiction_locate(lat=31.0499, lng=121.05)) == ["C"]
    assert codes(jurisdiction_locate(lat=31.0502, lng=121.0502)) == ["D", "C"]
    assert codes(jurisdiction_locate(lat=31.05, lng=120.05)) == ["C"]
    assert jurisdiction_locate(lat=31.05, lng=120.5) is None

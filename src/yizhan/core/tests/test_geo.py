"""Geography helpers: distance, GCJ-02 round trip, H3 cells, polygons."""

import math

import h3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yizhan.core import geo
from yizhan.core.errors import ValidationError

# mainland China, where GCJ-02 applies
china_lat = st.floats(min_value=18.2, max_value=53.5)
china_lng = st.floats(min_value=73.7, max_value=134.7)


def test_haversine_known_distance():
    # Suzhou railway station to Shanghai Hongqiao: about 81 km as the crow flies
    d = geo.haversine_m(31.3290, 120.6094, 31.1947, 121.3205)
    assert 68_000 < d < 70_000


def test_haversine_is_zero_for_the_same_point_and_symmetric():
    assert geo.haversine_m(31.3, 120.4, 31.3, 120.4) == 0
    assert geo.haversine_m(31.3, 120.4, 29.8, 114.3) == pytest.approx(geo.haversine_m(29.8, 114.3, 31.3, 120.4))


def test_gcj02_offset_in_suzhou_is_a_few_hundred_metres():
    lat, lng = 31.3390, 120.4240
    glat, glng = geo.wgs84_to_gcj02(lat, lng)
    shift = geo.haversine_m(lat, lng, glat, glng)
    assert 300 < shift < 700  # the well-known 500 m-ish offset


def test_gcj02_leaves_points_outside_china_alone():
    assert geo.wgs84_to_gcj02(51.5074, -0.1278) == (51.5074, -0.1278)
    assert geo.gcj02_to_wgs84(51.5074, -0.1278) == (51.5074, -0.1278)


@settings(max_examples=300, deadline=None)
@given(china_lat, china_lng)
def test_gcj02_round_trip_within_a_centimetre(lat, lng):
    back_lat, back_lng = geo.gcj02_to_wgs84(*geo.wgs84_to_gcj02(lat, lng))
    assert geo.haversine_m(lat, lng, back_lat, back_lng) < 0.01


@pytest.mark.parametrize(
    ("lat", "lng", "field"),
    [(91, 120, "lat"), (-90.5, 120, "lat"), (31, 180.1, "lng"), ("abc", 120, "lat"), (None, 120, "lat"),
     (float("nan"), 120, "lat"), (31, float("inf"), "lng")],
)
def test_validate_lat_lng_rejects_out_of_range(lat, lng, field):
    with pytest.raises(ValidationError) as exc:
        geo.validate_lat_lng(lat, lng)
    assert exc.value.code == "invalid_coordinates"
    assert exc.value.field == field
    assert exc.value.message.zh and exc.value.message.en


def test_validate_lat_lng_accepts_strings_of_numbers():
    assert geo.validate_lat_lng("31.5", "120.25") == (31.5, 120.25)


def square(lng0, lat0, lng1, lat1):
    return {"type": "Polygon", "coordinates": [[[lng0, lat0], [lng1, lat0], [lng1, lat1], [lng0, lat1], [lng0, lat0]]]}


def test_point_in_geometry_inside_outside_and_on_edge():
    sq = square(120.0, 31.0, 120.1, 31.1)
    assert geo.point_in_geometry(31.05, 120.05, sq)
    assert not geo.point_in_geometry(31.2, 120.05, sq)
    assert geo.point_in_geometry(31.0, 120.05, sq)  # on the boundary counts as inside


def test_cells_in_geometry_cover_the_area():
    sq = square(120.0, 31.0, 120.05, 31.05)  # about 4.8 km × 5.5 km ≈ 26 km²
    cells = geo.cells_in_geometry(sq)
    area_km2 = sum(h3.cell_area(c, unit="km^2") for c in cells)
    assert area_km2 == pytest.approx(4.76 * 5.56, rel=0.05)
    for cell in cells[:20]:
        lat, lng = geo.cell_center(cell)
        assert geo.point_in_geometry(lat, lng, sq)


def test_cell_polygon_geojson_is_a_multipolygon():
    cells = geo.cells_in_geometry(square(120.0, 31.0, 120.01, 31.01))
    shape = geo.cell_polygon_geojson(cells)
    assert shape["type"] == "MultiPolygon" and shape["coordinates"]
    assert geo.cell_polygon_geojson([]) == {"type": "MultiPolygon", "coordinates": []}


@given(china_lat, china_lng)
def test_cell_of_contains_the_point(lat, lng):
    cell = geo.cell_of(lat, lng)
    c_lat, c_lng = geo.cell_center(cell)
    # a res-8 cell's centre is within ~0.6 km of any point in it
    assert geo.haversine_m(lat, lng, c_lat, c_lng) < 1_000
    assert not math.isnan(c_lat)

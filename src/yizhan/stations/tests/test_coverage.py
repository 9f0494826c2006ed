"""Coverage of a small square jurisdiction with stations placed so the answer is known."""

from __future__ import annotations

import math
import random

import h3
import pytest
from shapely.geometry import Point, shape

from yizhan.core.errors import ValidationError
from yizhan.core.geo import COVERAGE_RES, cells_in_geometry, haversine_m
from yizhan.core.testing.factories import (
    make_jurisdiction,
    make_jurisdiction_tree,
    make_worker,
    square,
)
from yizhan.stations.coverage import covered_mask, reach_m, station_coverage
from yizhan.stations.tests.factories import make_station

pytestmark = pytest.mark.django_db

BOX = (120.380, 31.320, 120.395, 31.333)  # ~1.4 × 1.4 km, 26 res-9 cells, inside the test tree's community A


@pytest.fixture
def area():
    tree = make_jurisdiction_tree()
    node = make_jurisdiction(code="SQ", level="grid", parent=tree.community, boundary=square(*BOX))
    cells = cells_in_geometry(node.boundary, COVERAGE_RES)
    return tree, node, cells


def at_centre(cell):
    return h3.cell_to_latlng(cell)


def test_reach():
    # 15 minutes on foot: 15 × 75 m / 1.3 ≈ 865 m straight line; by e-bike 2885 m
    assert round(reach_m(15, "walk")) == 865
    assert round(reach_m(15, "ebike")) == 2885


def test_one_minute_covers_exactly_the_cells_with_a_station_at_their_centre(area):
    tree, node, cells = area
    assert 20 < len(cells) < 40
    # 1 minute on foot reaches ~58 m: less than the distance between neighbouring res-9 centres
    assert reach_m(1, "walk") < 0.5 * h3.average_hexagon_edge_length(COVERAGE_RES, "m") * math.sqrt(3)
    chosen = cells[::4][:5]  # cells 0, 4, 8, 12, 16
    for c in chosen:
        lat, lng = at_centre(c)
        make_station(tree.community, lat=lat, lng=lng)
    # stations that must not count: paused, removed, and one just outside the box
    lat, lng = at_centre(cells[5])
    make_station(tree.community, lat=lat, lng=lng, status="closed", status_reason="装修")
    lat, lng = at_centre(cells[6])
    make_station(tree.community, lat=lat, lng=lng, status="removed", status_reason="拆除")
    make_station(tree.community, lat=BOX[1] - 0.01, lng=BOX[0] - 0.01)

    out = station_coverage(jurisdiction=node, minutes=1, mode="walk")
    assert out["jurisdiction"] == "SQ" and out["minutes"] == 1 and out["mode"] == "walk"
    assert out["cells_total"] == len(cells)
    assert out["cells_covered"] == 5
    assert out["area_share"] == 5 / len(cells)
    feats = out["uncovered"]["features"]
    assert out["uncovered"]["type"] == "FeatureCollection" and len(feats) == 1
    assert feats[0]["properties"]["cells"] == len(cells) - 5
    poly = shape(feats[0]["geometry"])
    for c in chosen:
        lat, lng = at_centre(c)
        assert not poly.contains(Point(lng, lat))
    for c in (cells[5], cells[6], cells[1]):
        lat, lng = at_centre(c)
        assert poly.contains(Point(lng, lat))


def test_station_in_the_middle_covers_everything_by_ebike(area):
    tree, node, cells = area
    make_station(tree.community, lat=(BOX[1] + BOX[3]) / 2, lng=(BOX[0] + BOX[2]) / 2)
    out = station_coverage(jurisdiction=node, minutes=15, mode="ebike")
    assert out["area_share"] == 1.0 and out["cells_covered"] == out["cells_total"] == len(cells)
    assert out["uncovered"] == {"type": "FeatureCollection", "features": []}


def test_station_outside_the_border_counts(area):
    tree, node, cells = area
    # 300 m west of the box: covers the western strip within 15 min walking
    make_station(tree.community, lat=(BOX[1] + BOX[3]) / 2, lng=BOX[0] - 300 / 95_000)
    out = station_coverage(jurisdiction=node, minutes=15, mode="walk")
    assert 0 < out["area_share"] < 1


def test_no_stations(area):
    _tree, node, cells = area
    out = station_coverage(jurisdiction=node)
    assert (out["area_share"], out["cells_covered"], out["minutes"], out["mode"]) == (0.0, 0, 15, "walk")
    assert out["uncovered"]["features"][0]["properties"]["cells"] == len(cells)
    assert out["worker_share"] == 0.0 and out["workers_total"] == 0


def test_worker_share_counts_home_cells_inside_the_jurisdiction(area):
    tree, node, cells = area
    lat, lng = at_centre(cells[0])
    make_station(tree.community, lat=lat, lng=lng)
    for _ in range(3):
        make_worker(home_cell=cells[0])  # covered
    make_worker(home_cell=cells[-1])  # inside, not covered (1 minute reaches only cells[0])
    gone = make_worker(home_cell=cells[0])
    gone.is_active = False
    gone.save()
    make_worker(home_cell=h3.latlng_to_cell(30.0, 119.0, COVERAGE_RES))  # elsewhere
    make_worker(home_cell="")
    out = station_coverage(jurisdiction=node, minutes=1)
    assert (out["workers_total"], out["workers_covered"], out["worker_share"]) == (4, 3, 0.75)


def test_matches_a_plain_scan_of_every_cell_and_station(area):
    tree, node, cells = area
    rng = random.Random(7)
    pts = [(rng.uniform(BOX[1] - 0.01, BOX[3] + 0.01), rng.uniform(BOX[0] - 0.01, BOX[2] + 0.01))
           for _ in range(6)]
    for lat, lng in pts:
        make_station(tree.community, lat=lat, lng=lng)
    for minutes in (3, 5, 8):
        radius = reach_m(minutes, "walk")
        expected = sum(
            1 for c in cells if any(haversine_m(*at_centre(c), lat, lng) <= radius for lat, lng in pts)
        )
        out = station_coverage(jurisdiction=node, minutes=minutes)
        assert out["cells_covered"] == expected
        assert 0 < expected < len(cells)  # the sample is not trivial


def test_covered_mask_edges():
    import numpy as np

    assert covered_mask([], np.zeros((0, 2)), 100).tolist() == []
    cell = h3.latlng_to_cell(31.3, 120.4, COVERAGE_RES)
    lat, lng = h3.cell_to_latlng(cell)
    assert covered_mask([cell], np.array([[lat, lng + 0.001]]), 200).tolist() == [True]
    assert covered_mask([cell], np.array([[lat, lng + 0.01]]), 200).tolist() == [False]


@pytest.mark.parametrize("kwargs, code, field", [
    ({"minutes": 0}, "invalid_minutes", "minutes"),
    ({"minutes": 61}, "invalid_minutes", "minutes"),
    ({"minutes": "x"}, "invalid_minutes", "minutes"),
    ({"mode": "car"}, "invalid_mode", "mode"),
])
def test_bad_input(area, kwargs, code, field):
    _tree, node, _cells = area
    with pytest.raises(ValidationError) as exc:
        station_coverage(jurisdiction=node, **kwargs)
    assert (exc.value.code, exc.value.field) == (code, field)


def test_no_boundary():
    node = make_jurisdiction(code="NOB", level="city", boundary=None)
    with pytest.raises(ValidationError) as exc:
        station_coverage(jurisdiction=node)
    assert exc.value.code == "no_boundary"

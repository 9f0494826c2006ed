"""The refined locate index against a plain polygon test: borders, vertices, random points."""

import math
import random

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPoint, box, mapping, shape

from yizhan.core.testing.factories import make_jurisdiction, square
from yizhan.jurisdictions import locate as loc
from yizhan.jurisdictions.models import Jurisdiction

BOX = (120.30, 31.30, 120.34, 31.33)  # a community of ~3.8 × 3.3 km


def codes(chain):
    return [n.code for n in chain] if chain is not None else None


def brute_force(nodes, lat, lng):
    """The deepest node whose polygon covers the point (boundary included), ties by id."""
    for node, geom in nodes:
        if shapely.intersects_xy(geom, lng, lat):
            return node.code
    return None


def _nodes():
    rows = sorted(Jurisdiction.objects.all(), key=lambda n: (-n.depth, n.pk))
    return [(n, shape(n.boundary)) for n in rows if n.boundary]


@pytest.fixture
def voronoi(db):
    """City > district > community (BOX) > 12 irregular grids (Voronoi cells of
    jittered seeds clipped to the community), plus a tiny grid-less street corner."""
    rng = random.Random(7)
    x0, y0, x1, y1 = BOX
    city = make_jurisdiction(code="VC", level="city", boundary=square(120.2, 31.2, 120.5, 31.5))
    district = make_jurisdiction(code="VC-D", level="district", parent=city, boundary=square(120.25, 31.25, 120.45, 31.4))
    street = make_jurisdiction(code="VC-D-S", level="street", parent=district, boundary=square(x0, y0, x1 + 0.02, y1))
    community = make_jurisdiction(code="VC-D-S-C", level="community", parent=street, boundary=square(*BOX))
    seeds = [(x0 + (i % 4 + 0.2 + 0.6 * rng.random()) * (x1 - x0) / 4,
              y0 + (i // 4 + 0.2 + 0.6 * rng.random()) * (y1 - y0) / 3) for i in range(12)]
    rect = box(*BOX)
    k = 0
    for cell in shapely.voronoi_polygons(MultiPoint(seeds), extend_to=rect).geoms:
        g = cell.intersection(rect)
        if g.is_empty or g.geom_type != "Polygon":
            continue
        g = shapely.set_precision(g, 1e-9)
        make_jurisdiction(code=f"VC-G{k:02d}", level="grid", parent=community, boundary=mapping(g))
        k += 1
    return _nodes()


def test_point_on_a_shared_border_lands_in_a_grid(db):
    city = make_jurisdiction(code="BC", level="city", boundary=square(120.0, 31.0, 120.2, 31.2))
    district = make_jurisdiction(code="BC-D", level="district", parent=city, boundary=square(120.0, 31.0, 120.1, 31.1))
    street = make_jurisdiction(code="BC-D-S", level="street", parent=district, boundary=square(120.0, 31.0, 120.1, 31.1))
    community = make_jurisdiction(code="BC-D-S-C", level="community", parent=street,
                                  boundary=square(120.0, 31.0, 120.1, 31.1))
    west = make_jurisdiction(code="BC-W", level="grid", parent=community, boundary=square(120.0, 31.0, 120.05, 31.1))
    make_jurisdiction(code="BC-E", level="grid", parent=community, boundary=square(120.05, 31.0, 120.1, 31.1))
    # exactly on the shared edge, and on its end vertex: a grid (the lower id), never the community
    for lat, lng in ((31.05, 120.05), (31.0123456, 120.05), (31.1, 120.05), (31.0, 120.05)):
        chain = loc.locate(lat, lng)
        assert codes(chain)[0] == west.code, (lat, lng)
        assert codes(chain)[1:] == ["BC-D-S-C", "BC-D-S", "BC-D", "BC"]
    # on the outer edge of the grids (= the community's edge): still the grid
    assert codes(loc.locate(31.05, 120.0))[0] == "BC-W"
    assert codes(loc.locate(31.05, 120.1))[0] == "BC-E"
    # on the district's east edge, outside the grids' community: the district's border
    assert codes(loc.locate(31.15, 120.1)) == ["BC"]
    assert codes(loc.locate(31.05, 120.1000001)) == ["BC"]
    # the same answers as a plain polygon test
    nodes = _nodes()
    for lat, lng in ((31.05, 120.05), (31.1, 120.05), (31.05, 120.0), (31.15, 120.1)):
        assert codes(loc.locate(lat, lng))[0] == brute_force(nodes, lat, lng)


def test_index_is_refined_only_where_nodes_are_small(voronoi):
    stats = loc.locate_index_stats()
    assert stats["with_boundary"] == len(voronoi)
    assert stats["coarse_cells"] > 0  # the inside of the city and the district
    assert stats["refined_coarse_cells"] > 0 and stats["fine_cells"] > 0
    rng = random.Random(3)
    x0, y0, x1, y1 = BOX
    points = [(rng.uniform(y0, y1), rng.uniform(x0, x1)) for _ in range(3000)]
    tests = sum(loc.locate_polygon_tests(lat, lng) for lat, lng in points) / len(points)
    assert tests < 0.5, tests  # most points need no polygon test at all
    for lat, lng in points:
        assert codes(loc.locate(lat, lng))[0] == brute_force(voronoi, lat, lng)


def _edge_points(nodes):
    """Points exactly on polygon vertices and on the segments between them."""
    out = []
    for _node, geom in nodes:
        for poly in getattr(geom, "geoms", [geom]):
            ring = list(poly.exterior.coords)
            for (ax, ay), (bx, by) in zip(ring, ring[1:], strict=False):
                out.append((ay, ax, by, bx))
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_refined_index_agrees_with_a_plain_polygon_test(voronoi, data):
    kind = data.draw(st.sampled_from(["anywhere", "community", "vertex", "edge", "near_edge"]))
    if kind == "anywhere":
        lat = data.draw(st.floats(31.15, 31.55))
        lng = data.draw(st.floats(120.15, 120.55))
    elif kind == "community":
        lat = data.draw(st.floats(BOX[1] - 0.001, BOX[3] + 0.001))
        lng = data.draw(st.floats(BOX[0] - 0.001, BOX[2] + 0.001))
    else:
        edges = _edge_points(voronoi)
        ay, ax, by, bx = data.draw(st.sampled_from(edges))
        if kind == "vertex":
            lat, lng = ay, ax
        else:
            t = data.draw(st.floats(0, 1))
            lat, lng = ay + (by - ay) * t, ax + (bx - ax) * t
            if kind == "near_edge":
                # a few centimetres to a few metres off the edge, either side
                off = data.draw(st.sampled_from([1e-7, 3e-7, 1e-6, 1e-5, 3e-5]))
                angle = data.draw(st.floats(0, 2 * math.pi))
                lat, lng = lat + off * math.sin(angle), lng + off * math.cos(angle)
    expected = brute_force(voronoi, lat, lng)
    got = loc.locate(lat, lng)
    assert (codes(got)[0] if got else None) == expected, (kind, lat, lng)
    if got:  # the ancestors follow the deepest node
        assert [n.code for n in got[1:]] == [c for c in reversed(got[0].path.split("/")[1:-2])]


def test_vectorised_sweep_agrees_everywhere(voronoi):
    """A dense lattice over the community and its surroundings (about 20 m apart)."""
    x0, y0, x1, y1 = BOX
    n = 0
    for i in range(120):
        for j in range(100):
            lat, lng = y0 - 0.002 + i * (y1 - y0 + 0.004) / 119, x0 - 0.002 + j * (x1 - x0 + 0.004) / 99
            got = loc.locate(lat, lng)
            assert (codes(got)[0] if got else None) == brute_force(voronoi, lat, lng), (lat, lng)
            n += 1
    assert n == 12_000

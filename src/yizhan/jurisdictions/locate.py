"""Point → jurisdiction lookup, in process, without a spatial database.

The index maps every H3 cell (resolution ``INDEX_RES``) that touches a node's
boundary to the nodes it may belong to, deepest first. A cell lying wholly inside a
node is marked *interior*: a point in it needs no polygon test. Border cells test
prepared shapely polygons with ``contains_xy`` (no Point objects). A lookup is one
``latlng_to_cell``, one dict lookup and usually zero or one polygon tests, which is
well over 100,000 lookups per second per core.

The index is rebuilt lazily: at once in this process when a service changes the
tree (``locate_index_invalidate`` on commit), and in other processes when they
notice, at most every ``STAMP_CHECK_SECONDS``, that the table's stamp changed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import h3
import shapely
from django.db.models import Count, Max
from shapely.geometry import Polygon

from yizhan.jurisdictions.models import Jurisdiction

INDEX_RES = 8  # ~0.74 km² cells: a city of 10,000 km² is ~13,500 cells
STAMP_CHECK_SECONDS = 5.0


@dataclass
class _Index:
    stamp: tuple
    # cell -> tuple of (node_id, geometry-or-None-when-interior), deepest first
    cells: dict[str, tuple] = field(default_factory=dict)
    # node_id -> [node, parent, ..., root]
    chains: dict[int, list[Jurisdiction]] = field(default_factory=dict)
    checked_at: float = 0.0


_lock = threading.Lock()
_index: _Index | None = None


def _stamp() -> tuple:
    agg = Jurisdiction.objects.aggregate(n=Count("id"), m=Max("updated_at"), i=Max("id"))
    return (agg["n"], agg["m"], agg["i"])


def _cover(geom) -> tuple[set[str], set[str]]:
    """(all cells touching geom, cells wholly inside geom)."""
    shape_ = h3.geo_to_h3shape(geom.__geo_interface__)
    touching = set(h3.h3shape_to_cells_experimental(shape_, INDEX_RES, contain="overlap"))
    try:
        inside = set(h3.h3shape_to_cells_experimental(shape_, INDEX_RES, contain="full"))
    except Exception:  # very small or odd polygons: treat every cell as a border cell
        inside = set()
    return touching, inside


def _build() -> _Index:
    from yizhan.jurisdictions.services import boundary_geometry

    stamp = _stamp()
    nodes = list(Jurisdiction.objects.all().only(
        "id", "code", "name", "name_en", "level", "parent_id", "path", "depth",
        "boundary", "center_lat", "center_lng",
    ))
    by_id = {n.pk: n for n in nodes}
    index = _Index(stamp=stamp)
    for node in nodes:
        chain, cur = [], node
        while cur is not None:
            chain.append(cur)
            cur = by_id.get(cur.parent_id)
        index.chains[node.pk] = chain

    buckets: dict[str, list[tuple[int, int, object]]] = {}
    for node in nodes:
        if not node.boundary:
            continue
        try:
            geom = boundary_geometry(node.boundary, code=node.code)
        except Exception:
            continue  # a bad row must not break locating everything else
        shapely.prepare(geom)
        touching, inside = _cover(geom)
        for cell in touching:
            buckets.setdefault(cell, []).append((node.depth, node.pk, None if cell in inside else geom))
    for cell, entries in buckets.items():
        entries.sort(key=lambda e: -e[0])
        index.cells[cell] = tuple((pk, geom) for _depth, pk, geom in entries)
    index.checked_at = time.monotonic()
    return index


def _current() -> _Index:
    global _index
    idx = _index
    now = time.monotonic()
    if idx is not None and now - idx.checked_at < STAMP_CHECK_SECONDS:
        return idx
    with _lock:
        idx = _index
        if idx is not None and now - idx.checked_at < STAMP_CHECK_SECONDS:
            return idx
        if idx is not None and _stamp() == idx.stamp:
            idx.checked_at = now
            return idx
        _index = _build()
        return _index


def locate_index_invalidate() -> None:
    """Forget the index; the next lookup rebuilds it. Called on commit by services."""
    global _index
    with _lock:
        _index = None


def locate(lat: float, lng: float) -> list[Jurisdiction] | None:
    """Deepest node containing the point, then its ancestors up to the root."""
    idx = _current()
    try:
        cell = h3.latlng_to_cell(lat, lng, INDEX_RES)
    except Exception:
        return None
    candidates = idx.cells.get(cell)
    if not candidates:
        return None
    for pk, geom in candidates:
        if geom is None or shapely.contains_xy(geom, lng, lat):
            return list(idx.chains[pk])
    return None


def cell_polygon(cell: str) -> Polygon:
    return Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])

"""Point → jurisdiction lookup, in process, without a spatial database.

The answer is the deepest node whose boundary *covers* the point (boundary
included), then its ancestors; nodes of equal depth are tried in id order, so a
point exactly on the border shared by two grids lands in the grid with the lower
id, never in their parent.

The index is two-level, on H3 cells (integer ids):

* a *coarse* cell (``COARSE_RES`` 8, ~0.74 km²) whose whole neighbourhood lies
  inside one node, with no deeper node anywhere near, stores that node: a point
  there needs no polygon test (the inside of districts, streets, large rural
  communities);
* every other coarse cell is refined: each of its *fine* children (``FINE_RES``
  10, ~0.015 km², ~66 m edge) stores either the node it lies wholly inside (again
  no test) or, where a border crosses it, the few nodes it touches, deepest
  first, each with its prepared polygon, the last one usually "wholly inside".

A lookup is one ``latlng_to_cell`` at the fine resolution, one or two dict
lookups (the fine cell, else its coarse parent, by bit arithmetic) and, for the
few points in a cell a border crosses, usually one ``intersects_xy`` test. The
classification is conservative: "wholly inside" is decided against the polygon
shrunk by ``EPS`` degrees (~1 cm) and "touches" against it grown by ``EPS_TOUCH``,
so the small difference between an H3 cell's true edges and its lat/lng polygon
never misclassifies a point; a coarse cell counts as inside only when its six
neighbours do too (an H3 cell's children reach a little beyond their parent's
hexagon, never beyond its neighbours).

The index is rebuilt lazily: at once in this process when a service changes the
tree (``locate_index_invalidate`` on commit), and in other processes when they
notice, at most every ``STAMP_CHECK_SECONDS``, that the table's stamp changed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import h3
import h3.api.basic_int as h3i
import numpy as np
import shapely
from django.db.models import Count, Max
from shapely.geometry import Polygon

from yizhan.core.process_cache import ProcessCache
from yizhan.jurisdictions.geometry import boundary_geometry
from yizhan.jurisdictions.models import Jurisdiction

COARSE_RES = 8  # ~0.74 km²: a city of 10,000 km² is ~13,500 coarse cells
FINE_RES = 10  # ~0.015 km²: children of the coarse cells a border crosses (49 each)
INDEX_RES = COARSE_RES  # kept for callers that read it
STAMP_CHECK_SECONDS = 5.0
EPS = 1e-7  # degrees (~1 cm): margin of the "wholly inside" test
EPS_TOUCH = 1e-6  # degrees (~10 cm): margin of the "touches" test

# parent of a FINE_RES cell at COARSE_RES: set the resolution field, fill the
# finer digits with 7 (H3 index layout: resolution in bits 52-55, 3 bits a digit)
_DIGITS = (1 << (3 * (15 - COARSE_RES))) - 1
_PARENT_MASK = ((1 << 64) - 1) & ~(0xF << 52) & ~_DIGITS
_PARENT_SET = (COARSE_RES << 52) | _DIGITS


@dataclass
class _Index:
    stamp: tuple
    # H3 int cell (coarse or fine) -> node id (no test needed) or a tuple of
    # (node_id, prepared geometry or None when the cell is wholly inside), to try in order
    cells: dict[int, object] = field(default_factory=dict)
    # node_id -> [node, parent, ..., root]
    chains: dict[int, list[Jurisdiction]] = field(default_factory=dict)
    stats: dict = field(default_factory=dict)


def _stamp() -> tuple:
    agg = Jurisdiction.objects.aggregate(n=Count("id"), m=Max("updated_at"), i=Max("id"))
    return (agg["n"], agg["m"], agg["i"])


# Lattice step (degrees) for finding the coarse cells a bounding box may touch: well
# under the smallest res-8 cell's inradius (~0.3 km), so the cell of the lattice point
# nearest any point of the box is that point's cell or one of its neighbours.
_LATTICE = 0.0015


def _coarse_near(bounds) -> set[int]:
    """A superset of the coarse cells a bounding box touches."""
    minx, miny, maxx, maxy = bounds
    nx, ny = int((maxx - minx) / _LATTICE) + 2, int((maxy - miny) / _LATTICE) + 2
    seen = set()
    cell = h3i.latlng_to_cell
    for i in range(ny):
        lat = min(miny + i * _LATTICE, maxy)
        for j in range(nx):
            seen.add(cell(lat, min(minx + j * _LATTICE, maxx), COARSE_RES))
    out = set()
    for c in seen:
        out.update(h3i.grid_disk(c, 1))
    return out


def _polygons(cells: list[int]) -> np.ndarray:
    """Shapely polygons (lng, lat) of H3 int cells, vectorised."""
    coords, offsets = [], [0]
    for c in cells:
        ring = h3i.cell_to_boundary(c)
        coords.extend((lng, lat) for lat, lng in ring)
        coords.append((ring[0][1], ring[0][0]))
        offsets.append(len(coords))
    rings = shapely.linearrings(np.asarray(coords, dtype=float),
                                indices=np.repeat(np.arange(len(cells)), np.diff(offsets)))
    return shapely.polygons(rings)


def _build(stamp) -> _Index:
    started = time.perf_counter()
    nodes = list(Jurisdiction.objects.all().only(
        "id", "code", "name", "name_en", "level", "parent_id", "path", "depth",
        "boundary", "center_lat", "center_lng",
    ))
    by_id = {n.pk: n for n in nodes}
    index = _Index(stamp=stamp)
    for node in nodes:
        chain, cur, seen = [], node, set()
        while cur is not None and cur.pk not in seen:
            seen.add(cur.pk)
            chain.append(cur)
            cur = by_id.get(cur.parent_id)
        index.chains[node.pk] = chain

    # nodes with a usable boundary, deepest first, then by id (the lookup order)
    geo = []
    for node in sorted(nodes, key=lambda n: (-n.depth, n.pk)):
        if not node.boundary:
            continue
        try:
            geom = boundary_geometry(node.boundary, code=node.code)
        except Exception:
            continue  # a bad row must not break locating everything else
        inner, outer = geom.buffer(-EPS), geom.buffer(EPS_TOUCH)
        for g in (geom, inner, outer):
            shapely.prepare(g)
        geo.append((node.pk, node.depth, geom, inner, outer))
    n = len(geo)
    inner_arr = np.array([g[3] for g in geo], dtype=object)
    outer_arr = np.array([g[4] for g in geo], dtype=object)

    # coarse cells each node touches / lies wholly inside (checked with shapely too)
    # (a lattice over each node's bounding box, then exact shapely tests on the hexagons)
    near_sets = [sorted(_coarse_near(g[4].bounds)) for g in geo]
    all_cells = sorted({c for cells in near_sets for c in cells})
    position = {c: i for i, c in enumerate(all_cells)}
    hexes = _polygons(all_cells) if all_cells else np.array([], dtype=object)
    touch: dict[int, list[int]] = {}
    full: list[set[int]] = []
    for rank, cells in enumerate(near_sets):
        inner, outer = geo[rank][3], geo[rank][4]
        at = hexes[[position[c] for c in cells]]
        touching = shapely.intersects(outer, at)
        inside = shapely.contains(inner, at)
        for c, t in zip(cells, touching.tolist(), strict=True):
            if t:
                touch.setdefault(c, []).append(rank)
        full.append({c for c, w in zip(cells, inside.tolist(), strict=True) if w})

    refine: list[int] = []  # coarse cells to split into fine children
    coarse_done = 0
    for coarse in {d for c in touch for d in h3i.grid_disk(c, 1)}:
        disk = h3i.grid_disk(coarse, 1)
        near = sorted({r for d in disk for r in touch.get(d, ())})
        if not near:
            continue
        first = near[0]
        if all(d in full[first] for d in disk):
            index.cells[coarse] = geo[first][0]
            coarse_done += 1
        else:
            refine.append(coarse)

    # fine children of the refined coarse cells: classify them depth by depth, deepest
    # first (an STRtree of that depth's nodes finds the ones each child touches); a
    # child is settled by the first node it lies wholly inside
    children: list[int] = []
    for coarse in refine:
        children.extend(h3i.cell_to_children(coarse, FINE_RES))
    polys = _polygons(children) if children else np.array([], dtype=object)
    entries: list[list] = [[] for _ in children]
    settled = np.zeros(len(children), dtype=bool)
    ranks_by_depth: dict[int, list[int]] = {}
    for rank, g in enumerate(geo):
        ranks_by_depth.setdefault(g[1], []).append(rank)
    pair_tests = 0
    for depth in sorted(ranks_by_depth, reverse=True):
        open_ = np.flatnonzero(~settled)
        if not len(open_):
            break
        ranks = np.asarray(ranks_by_depth[depth])
        tree = shapely.STRtree(outer_arr[ranks])
        qi, ti = tree.query(polys[open_], predicate="intersects")
        if not len(qi):
            continue
        ci, ri = open_[qi], ranks[ti]
        order = np.lexsort((ri, ci))  # by child, then rank (the lookup order)
        ci, ri = ci[order], ri[order]
        pair_tests += len(ci)
        inside = shapely.contains(inner_arr[ri], polys[ci])
        for i, r, w in zip(ci.tolist(), ri.tolist(), inside.tolist(), strict=True):
            if settled[i]:
                continue
            if w:
                entries[i].append((geo[r][0], None))
                settled[i] = True
            else:
                entries[i].append((geo[r][0], geo[r][2]))
    interned: dict[tuple, tuple] = {}
    border_cells = 0
    for child, found in zip(children, entries, strict=True):
        if not found:
            continue
        if found[0][1] is None:
            index.cells[child] = found[0][0]
            continue
        border_cells += 1
        key = tuple((pk, g is None) for pk, g in found)
        index.cells[child] = interned.setdefault(key, tuple(found))
    index.stats = {
        "nodes": len(nodes), "with_boundary": n, "coarse_cells": coarse_done, "refined_coarse_cells": len(refine),
        "fine_cells": len(index.cells) - coarse_done, "border_cells": border_cells,
        "pair_tests": pair_tests, "build_s": round(time.perf_counter() - started, 3),
    }
    return index


_index = ProcessCache("jurisdictions.locate", build=_build, stamp=_stamp, refresh_default=STAMP_CHECK_SECONDS)


def _current() -> _Index:
    return _index.get()


def locate_index_invalidate() -> None:
    """Forget the index; the next lookup rebuilds it. Called on commit by services."""
    _index.forget()


def locate_index_stats() -> dict:
    """Sizes of the current index (builds it if needed): for benchmarks and ops."""
    return dict(_current().stats)


def _entry(idx: _Index, lat: float, lng: float):
    cell = h3i.latlng_to_cell(lat, lng, FINE_RES)
    entry = idx.cells.get(cell)
    if entry is None:
        entry = idx.cells.get((cell & _PARENT_MASK) | _PARENT_SET)
    return entry


def locate_polygon_tests(lat: float, lng: float) -> int:
    """How many polygon tests ``locate`` makes for this point (for benchmarks)."""
    entry = _entry(_current(), lat, lng)
    if entry is None or entry.__class__ is int:
        return 0
    tests = 0
    for _pk, geom in entry:
        if geom is None:
            break
        tests += 1
        if shapely.intersects_xy(geom, lng, lat):
            break
    return tests


def locate(lat: float, lng: float) -> list[Jurisdiction] | None:
    """Deepest node covering the point (boundary included), then its ancestors."""
    idx = _current()
    try:
        entry = _entry(idx, lat, lng)
    except Exception:
        return None
    if entry is None:
        return None
    if entry.__class__ is int:
        return list(idx.chains[entry])
    for pk, geom in entry:
        if geom is None or shapely.intersects_xy(geom, lng, lat):
            return list(idx.chains[pk])
    return None


def cell_polygon(cell: str) -> Polygon:
    return Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])

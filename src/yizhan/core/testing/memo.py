"""Expensive in-process indexes that tests rebuild from the same data, built once per
test process.

The locate index (``jurisdictions.locate``) of the test tree costs ~1 s of CPU to build
(its city is a 1° × 1° square: ~17,000 coarse H3 cells to classify; ~3.5 s while the fine
cells along every border were built up front too), and every test that locates a point
built it again, because each test starts with the process caches forgotten
(``fixtures._fresh_process_caches``) and a tree of its own. Those trees are the same
shapes under new ids (new sequence values on PostgreSQL).

``memo_locate_build`` wraps the index's ``build``: the geometric part of the index
depends only on the nodes' codes, depths and boundaries in lookup order (depth, then id),
so it is keyed by exactly that; a hit reuses the cells, with each node's id replaced by the
id the node has now, and builds the ancestor chains afresh from the rows (as the real
build does); when the index refines border cells on first lookup, the cells still to
refine come along and are refined as usual. Anything else (another tree, a changed
boundary, the demo district) is a miss and runs the real build, whose result is kept for
the next test. The answer is the index the real build would have made
(``core/tests/test_testing_memo.py`` checks it); should ``locate._Index`` take a shape
other than these two, the memo steps aside (``_EAGER``, ``_LAZY``). ``YIZHAN_TEST_MEMO=0`` turns it off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os

ENABLED = os.environ.get("YIZHAN_TEST_MEMO", "1") not in ("", "0")

_LOCATE: dict[str, tuple] = {}  # geometry key -> (index as built, {pk at build: rank})
KEEP = 8  # distinct geometries kept per process (the tree, a prefixed tree, the demo, ...)
stats = {"hits": 0, "misses": 0}


def _locate_rows():
    from yizhan.jurisdictions.models import Jurisdiction

    # the lookup order of locate._build: deepest first, then by id
    return list(Jurisdiction.objects.order_by("-depth", "id").values_list("id", "code", "depth", "boundary"))


def _locate_key(rows) -> str:
    digest = hashlib.sha256()
    for _pk, code, depth, boundary in rows:
        digest.update(json.dumps([code, depth, boundary], sort_keys=True, separators=(",", ":")).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _chains(index_cls, stamp):
    from yizhan.jurisdictions.models import Jurisdiction

    nodes = list(Jurisdiction.objects.all().only(
        "id", "code", "name", "name_en", "level", "parent_id", "path", "depth",
        "boundary", "center_lat", "center_lng",
    ))
    by_id = {n.pk: n for n in nodes}
    index = index_cls(stamp=stamp)
    for node in nodes:
        chain, cur, seen = [], node, set()
        while cur is not None and cur.pk not in seen:
            seen.add(cur.pk)
            chain.append(cur)
            cur = by_id.get(cur.parent_id)
        index.chains[node.pk] = chain
    return index


# the shapes of locate._Index this memo knows how to carry over: every cell built up front,
# or border cells refined on first lookup (``pending``, ``geo``); any other shape turns the
# memo off rather than guess
_EAGER = {"stamp", "cells", "chains", "stats"}
_LAZY = _EAGER | {"pending", "geo", "interned", "lock"}


def memo_locate_build(real_build):
    """A ``build(stamp)`` for locate's ProcessCache that reuses earlier builds of the same
    shapes."""
    from yizhan.jurisdictions import locate

    shape = {f.name for f in dataclasses.fields(locate._Index)}
    known, lazy = shape in (_EAGER, _LAZY), shape == _LAZY

    def build(stamp):
        if not known:
            return real_build(stamp)
        rows = _locate_rows()
        key = _locate_key(rows)
        kept = _LOCATE.get(key)
        if kept is None:
            stats["misses"] += 1
            index = real_build(stamp)
            if len(_LOCATE) >= KEEP:
                _LOCATE.pop(next(iter(_LOCATE)))
            _LOCATE[key] = (index, {pk: rank for rank, (pk, *_rest) in enumerate(rows)})
            return index
        stats["hits"] += 1
        built, rank_of = kept
        pk_now = [pk for pk, *_rest in rows]
        chains = _chains(locate._Index, stamp).chains
        if all(pk_now[rank] == pk for pk, rank in rank_of.items()):
            # same ids (SQLite reuses them after a rollback): the cells, the coarse cells
            # still to refine and their lock are shared with the kept index, so a cell
            # refined by one test is refined for the next (the same answer either way)
            return dataclasses.replace(built, stamp=stamp, chains=chains)
        new = {pk: pk_now[rank] for pk, rank in rank_of.items()}
        lock = built.lock if lazy else contextlib.nullcontext()
        with lock:  # a consistent copy: refining moves cells from pending to cells
            items = list(built.cells.items())
            pending = dict(built.pending) if lazy else None
            stats_now = dict(built.stats)
        interned: dict[int, tuple] = {}
        cells = {}
        for cell, entry in items:
            if entry.__class__ is int:
                cells[cell] = new[entry]
            else:
                found = interned.get(id(entry))
                if found is None:
                    found = interned[id(entry)] = tuple((new[pk], geom) for pk, geom in entry)
                cells[cell] = found
        if not lazy:
            return locate._Index(stamp=stamp, cells=cells, chains=chains, stats=stats_now)
        geo = [(new[g[0]], *g[1:]) for g in built.geo]
        return locate._Index(stamp=stamp, cells=cells, chains=chains, stats=stats_now, pending=pending, geo=geo)

    return build


def install() -> list:
    """Wrap the builds; returns what ``uninstall`` needs."""
    if not ENABLED:
        return []
    from yizhan.jurisdictions import locate

    cache = locate._index
    real = cache._build
    cache._build = memo_locate_build(real)
    return [(cache, real)]


def uninstall(installed: list) -> None:
    for cache, real in installed:
        cache._build = real

"""The test kit's memo of the locate index (core.testing.memo) gives the index the real
build gives, ids included, when the same shapes come back under new ids."""

import dataclasses

import pytest

from yizhan.core.testing import memo
from yizhan.core.testing.factories import make_jurisdiction, square
from yizhan.jurisdictions import locate
from yizhan.jurisdictions.models import Jurisdiction

pytestmark = pytest.mark.django_db


def _small_tree(suffix=""):
    top = make_jurisdiction(code="M", name="顶", level="city", parent=None,
                            boundary=square(120.30, 31.25, 120.34, 31.29))
    left = make_jurisdiction(code="M-L", name="左", level="district", parent=top,
                             boundary=square(120.30, 31.25, 120.32, 31.29))
    right = make_jurisdiction(code="M-R", name="右", level="district", parent=top,
                              boundary=square(120.32, 31.25, 120.34, 31.29))
    return top, left, right


def _same(a, b):
    assert a.cells == b.cells
    if hasattr(a, "pending"):  # the index that refines border cells on first lookup
        assert a.pending == b.pending
        assert [g[:2] for g in a.geo] == [g[:2] for g in b.geo]
    assert {pk: [n.pk for n in chain] for pk, chain in a.chains.items()} == \
        {pk: [n.pk for n in chain] for pk, chain in b.chains.items()}


def test_memo_hit_is_the_real_index_under_the_new_ids(monkeypatch):
    monkeypatch.setattr(memo, "_LOCATE", {})
    build = memo.memo_locate_build(locate._build)
    top, left, right = _small_tree()
    first = build(locate._stamp())
    _same(first, locate._build(locate._stamp()))

    Jurisdiction.objects.filter(parent__isnull=False).delete()
    Jurisdiction.objects.all().delete()
    top2, left2, right2 = _small_tree()  # same shapes, new ids
    assert {top2.pk, left2.pk, right2.pk}.isdisjoint({top.pk, left.pk, right.pk})
    # the memo knows this shape of the index (else it steps aside and this test says so)
    assert {f.name for f in dataclasses.fields(locate._Index)} in (memo._EAGER, memo._LAZY)
    hits = memo.stats["hits"]
    again = build(locate._stamp())
    assert memo.stats["hits"] == hits + 1
    real = locate._build(locate._stamp())
    _same(again, real)
    for idx in (again, real):  # and once every border cell is refined
        for coarse in list(getattr(idx, "pending", ())):
            locate._refine(idx, coarse)
    _same(again, real)
    # and the lookups answer with the new rows
    monkeypatch.setattr(locate._index, "_build", build)
    locate.locate_index_invalidate()
    assert [n.code for n in locate.locate(31.27, 120.31)] == ["M-L", "M"]
    assert locate.locate(31.27, 120.31)[0].pk == left2.pk


def test_memo_misses_when_a_boundary_changes(monkeypatch):
    monkeypatch.setattr(memo, "_LOCATE", {})
    build = memo.memo_locate_build(locate._build)
    top, left, right = _small_tree()
    build(locate._stamp())
    Jurisdiction.objects.filter(pk=right.pk).update(boundary=square(120.32, 31.25, 120.35, 31.29))
    misses = memo.stats["misses"]
    changed = build(locate._stamp())
    assert memo.stats["misses"] == misses + 1
    _same(changed, locate._build(locate._stamp()))

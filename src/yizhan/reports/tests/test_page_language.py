"""Issue 8 (what a new user hit, 7): one language at a time. The category filters on
/reports/ and /dispatch/ follow the active language; the staff timeline names the
escalation's jurisdiction in it (not "升级到 SZ-GX") with the translated action; a case's
extra details are labelled (not "building"); the brand is 驿站 / Yizhan."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from yizhan.core.testing.factories import make_jurisdiction_tree, make_staff, make_worker
from yizhan.reports import services
from yizhan.reports.models import CaseEvent
from yizhan.reports.tests.factories import make_category

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture
def world(db):
    from types import SimpleNamespace

    from yizhan.reports.routing import routing_index_invalidate

    tree = make_jurisdiction_tree()
    admin = make_staff("community_admin", tree.community)
    cat = make_category("elevator_fault", name="电梯故障", name_en="Lift out of order", extra_fields=[
        {"name": "building", "label": "楼栋", "label_en": "Building", "required": True, "type": "text"}])
    routing_index_invalidate()
    lat, lng = tree.point(tree.grid)
    case = services.case_submit(actor=make_worker(), category=cat.code, lat=lat, lng=lng,
                                description="电梯困人", details={"building": "3栋"}).case
    CaseEvent.objects.create(case=case, action="escalate", at=timezone.now(), is_public=False,
                             note="超时升级（1 级）至高新区 (escalated to SND)",
                             data={"level": 1, "to": tree.district.code, "to_name": tree.district.name})
    return SimpleNamespace(tree=tree, admin=admin, cat=cat, case=case)


def _section(html: str, start: str, end: str) -> str:
    return html[html.index(start):html.index(end, html.index(start))]


def _options(html: str, name: str) -> str:
    return _section(html, f'name="{name}"', "</select>")


def test_category_filters_follow_the_language(client, world):
    html = client.get("/reports/", **EN).content.decode()
    assert "Lift out of order" in _options(html, "category") and "电梯故障" not in _options(html, "category")
    html = client.get("/reports/", **ZH).content.decode()
    assert "电梯故障" in _options(html, "category")
    client.force_login(world.admin)
    html = client.get("/dispatch/", **EN).content.decode()
    options = _options(html, "category")
    assert "Lift out of order" in options and "电梯故障" not in options
    assert "Dongzhu" in _options(html, "jurisdiction") and "东渚社区" not in _options(html, "jurisdiction")
    html = client.get("/dispatch/", **ZH).content.decode()
    assert "电梯故障" in _options(html, "category")


def test_staff_timeline_names_the_escalation_in_one_language(client, world):
    client.force_login(world.admin)
    url = f"/dispatch/c/{world.case.number}/"
    html = client.get(url, **EN).content.decode()
    timeline = _section(html, 'id="timeline"', "</ol>")
    assert "Escalated to SND" in timeline
    assert "SZ-GX" not in timeline and "高新区" not in timeline and "超时升级（" not in timeline
    html = client.get(url, **ZH).content.decode()
    timeline = _section(html, 'id="timeline"', "</ol>")
    assert "升级到 高新区" in timeline and "SZ-GX" not in timeline and "escalated to" not in timeline


def test_case_details_are_labelled_not_raw_keys(client, world):
    client.force_login(world.admin)
    url = f"/dispatch/c/{world.case.number}/"
    html = client.get(url, **ZH).content.decode()
    assert "<dt>楼栋</dt><dd>3栋</dd>" in html and "<dt>building</dt>" not in html
    html = client.get(url, **EN).content.decode()
    assert "<dt>Building</dt><dd>3栋</dd>" in html


@pytest.mark.parametrize(("headers", "brand", "wrong"), [(ZH, "驿站", "Yizhan</a>"), (EN, "Yizhan", "Station</a>")])
def test_the_brand_is_yizhan_in_english(client, db, headers, brand, wrong):
    make_jurisdiction_tree()
    html = client.get("/", **headers).content.decode()
    assert re.search(r'class="brand"[^>]*>.*?</span> ' + brand + "</a>", html)
    assert wrong not in html
    assert f"<title>{brand}" in html or "· Yizhan</title>" in html

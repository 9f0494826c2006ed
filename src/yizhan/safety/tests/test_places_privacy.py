"""PIPL export and erasure of the fire-safety app (safety/privacy.py): a grid worker
who inspected, responded and acknowledged alarms, and who is also a landlord."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from yizhan.accounts import services as accounts
from yizhan.core.testing.privacy import assert_no_path_back, identifiers_of
from yizhan.safety.models import Alarm, AlarmEvent, Place, Responder
from yizhan.safety.services.inspections import inspection_create

pytestmark = pytest.mark.django_db


def test_export_then_erase_leaves_no_path_back(safety_tree):
    st = safety_tree
    me = st.grid_worker
    me.phone = "13900000077"
    me.save(update_fields=["phone"])
    house = st.rental_house
    Place.objects.filter(pk=house.pk).update(landlord_phone=me.phone, landlord_name=me.display_name,
                                             notes=f"联系{me.display_name}")
    ins = inspection_create(actor=me, place=house, garage_sleeping=True, findings=f"{me.display_name}发现车库住人")
    now = timezone.now()
    alarm = Alarm.objects.create(device=st.smoke, place=house, jurisdiction=house.jurisdiction, kind="smoke",
                                 severity="major", state="cleared", open=False, started_at=now,
                                 last_triggered_at=now, acknowledged_by=me, cleared_by=me, acknowledged_at=now,
                                 cleared_at=now, clear_note=f"{me.display_name}到场确认误报")
    AlarmEvent.objects.create(alarm=alarm, action="clear", actor=me, note="误报", at=now)

    data = accounts.account_export(actor=me, user=me)
    json.dumps(data, ensure_ascii=False, default=str)
    assert [i["id"] for i in data["safety_inspections"]] == [ins.pk]
    assert data["safety_responder"][0]["kind"] == "grid_worker"
    assert {a["action"] for a in data["safety_alarm_actions"]} == {"acknowledge", "clear"}
    assert data["safety_landlord_of"][0]["place"] == house.code
    other = accounts.account_export(actor=st.manager, user=st.manager)
    assert other["safety_inspections"] == [] and other["safety_landlord_of"] == []

    names = identifiers_of(me)
    accounts.account_delete(actor=me, user=me)
    assert_no_path_back("safety", me, identifiers=names)
    ins.refresh_from_db()
    assert ins.inspector_id is None and ins.result == "failed" and "车库住人" in ins.findings
    responder = Responder.objects.get(pk=st.responders[0].pk)
    assert responder.user_id is None and not responder.on_duty and responder.lat is None
    house.refresh_from_db()
    assert house.landlord_phone == "" and house.landlord_name == ""

"""``ConsoleSmsBackend.last_code`` reads login codes only: notifications go through
the same SMS backends (``core.outbox.SmsChannel``) and must not hide the code."""

import pytest

from yizhan.accounts.services import otp_request, otp_verify
from yizhan.accounts.sms import ConsoleSmsBackend
from yizhan.core.models import OutboundMessage
from yizhan.core.outbox import SmsChannel
from yizhan.core.testing.factories import make_worker, unique_phone

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_outbox():
    ConsoleSmsBackend.outbox.clear()
    yield
    ConsoleSmsBackend.outbox.clear()


def test_last_code_skips_notifications_sent_after_the_code(django_capture_on_commit_callbacks):
    worker = make_worker()
    phone = worker.phone
    with django_capture_on_commit_callbacks(execute=True):
        otp_request(phone=phone, ip="127.0.0.1")
    code = ConsoleSmsBackend.outbox[-1].code
    assert code and len(code) == 6
    # A notification to the same phone afterwards, through the real SMS channel.
    msg = OutboundMessage(user=worker, channel="sms", kind="case_dispatched",
                          payload={"title": {"zh": "新派单 20261123-000001"}, "url": ""})
    SmsChannel().send(msg)
    assert ConsoleSmsBackend.outbox[-1].code == "" and ConsoleSmsBackend.outbox[-1].phone == phone
    assert ConsoleSmsBackend.last_code(phone) == code
    assert ConsoleSmsBackend.last_code() == code
    assert otp_verify(phone=phone, code=ConsoleSmsBackend.last_code(phone)).pk == worker.pk


def test_last_code_per_phone_and_none_without_a_code():
    a, b = unique_phone(), unique_phone()
    backend = ConsoleSmsBackend()
    assert ConsoleSmsBackend.last_code(a) is None
    backend.send(phone=a, text="【驿站】验证码 111111", code="111111")
    backend.send(phone=b, text="【驿站】验证码 222222", code="222222")
    backend.send(phone=a, text="【驿站】您的工单已办结")
    backend.send(phone=b, text="【驿站】您有新的派单")
    assert ConsoleSmsBackend.last_code(a) == "111111"
    assert ConsoleSmsBackend.last_code(b) == "222222"
    assert ConsoleSmsBackend.last_code() == "222222"
    backend.send(phone="13900000000", text="【驿站】提醒")
    assert ConsoleSmsBackend.last_code("13900000000") is None

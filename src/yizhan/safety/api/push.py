"""Fire-safety API: HTTP push from NB-IoT carrier platforms (``POST /api/v1/safety/push``).

Signed with HMAC instead of a user's session or token (see ``safety/push.py``)."""

from ninja import Router, Schema

from yizhan.safety.push import outcome_alarm_id, outcome_status, push_receive

router = Router(tags=["safety"])


class PushOut(Schema):
    result: str  # accepted | duplicate | alarm
    alarm: int | None = None


@router.post("/push", auth=None, response=PushOut,
             summary="Push one sensor message (NB-IoT platforms; HMAC-signed: X-Yizhan-Key, -Timestamp, -Nonce, -Signature)",
             openapi_extra={"x-errors": [403], "requestBody": {"required": True, "content": {"application/json": {"schema": {
                 "type": "object", "required": ["device"],
                 "properties": {"device": {"type": "string"}, "seq": {"type": "integer"}, "ts": {"type": "integer"},
                                "battery": {"type": "integer"}, "event": {"type": "string"},
                                "values": {"type": "object", "additionalProperties": {"type": "number"}}}}}}}})
def push(request):
    h = request.headers
    outcome = push_receive(key_id=h.get("X-Yizhan-Key", ""), timestamp=h.get("X-Yizhan-Timestamp", ""),
                           nonce=h.get("X-Yizhan-Nonce", ""), signature=h.get("X-Yizhan-Signature", ""),
                           body=request.body, peer=request.META.get("REMOTE_ADDR", ""))
    return {"result": outcome_status(outcome), "alarm": outcome_alarm_id(outcome)}

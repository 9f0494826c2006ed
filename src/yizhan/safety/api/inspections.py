"""Fire-safety API: 331 inspections (safety.view reads in scope; safety.inspect writes).

    GET   /inspections?state&result&place&limit&offset   -> {"items", "count"}
    GET   /inspections/{id}
    POST  /inspections            (JSON; photos through the page /safety/inspections/new/)
    POST  /inspections/{id}/rectify  {"note"}
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status

from yizhan.core import permissions
from yizhan.core.schemas import Id, LimitQuery, OffsetQuery, page
from yizhan.safety.choices import InspectionResult, InspectionState
from yizhan.safety.errors import InvalidFilter, PlaceNotFound
from yizhan.safety.schemas import inspections as S
from yizhan.safety.selectors import inspections as selectors
from yizhan.safety.selectors import places as place_selectors
from yizhan.safety.services import inspections as services

router = Router(tags=["safety"])
VIEW, INSPECT = "safety.view", "safety.inspect"


def _place(user, value):
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        return place_selectors.place_get(user=user, place_id=value, perm=INSPECT)
    qs = place_selectors.place_list(user=user, perm=INSPECT).filter(code=str(value or "").strip())
    place = qs.first()
    if place is None:
        raise PlaceNotFound(field="place")
    return place


@router.get("/inspections", response=S.InspectionListOut, summary="331 inspections in scope, newest first")
def inspection_list(request: HttpRequest, state: str = "", result: str = "", place: str = "",
                    limit: int = LimitQuery(50), offset: int = OffsetQuery()):
    permissions.require(request.user, VIEW)
    if state and state not in InspectionState.values:
        raise InvalidFilter(field="state")
    if result and result not in InspectionResult.values:
        raise InvalidFilter(field="result")
    items, count = page(selectors.inspection_list(user=request.user, state=state, result=result, place=place.strip()),
                        limit=limit, offset=offset)
    return {"items": [selectors.inspection_view(i) for i in items], "count": count}


@router.get("/inspections/{inspection_id}", response=S.InspectionOut, summary="One inspection")
def inspection_get(request: HttpRequest, inspection_id: Id):
    permissions.require(request.user, VIEW)
    ins = selectors.inspection_get(user=request.user, inspection_id=inspection_id)
    return selectors.inspection_view(ins, user=request.user)


@router.post("/inspections", response={201: S.InspectionOut},
             summary="Record a 331 inspection (safety.inspect); failed → follow-up deadline and a hazard case")
def inspection_create(request: HttpRequest, payload: S.InspectionIn):
    permissions.require(request.user, INSPECT)
    data = payload.dict()
    place = _place(request.user, data.pop("place"))
    ins = services.inspection_create(actor=request.user, place=place, **data)
    ins = selectors.inspection_get(user=request.user, inspection_id=ins.pk)
    return Status(201, selectors.inspection_view(ins, user=request.user))


@router.post("/inspections/{inspection_id}/rectify", response=S.InspectionOut,
             summary="Record the rectification of a failed inspection")
def inspection_rectify(request: HttpRequest, inspection_id: Id, payload: S.RectifyIn):
    permissions.require(request.user, VIEW)
    ins = selectors.inspection_get(user=request.user, inspection_id=inspection_id)
    services.inspection_rectify(actor=request.user, inspection=ins, note=payload.note)
    ins = selectors.inspection_get(user=request.user, inspection_id=inspection_id)
    return selectors.inspection_view(ins, user=request.user)

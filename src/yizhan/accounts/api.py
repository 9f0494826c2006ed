"""/api/v1/accounts: worker login by code, own profile (PIPL export/delete), API
tokens, staff records. Thin: schema → permission → service/selector → schema."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpResponse
from django.utils import timezone
from ninja import Router
from ninja.responses import Status

from yizhan.accounts import selectors, services
from yizhan.accounts.choices import Role, Trade
from yizhan.accounts.errors import PersonNotFound
from yizhan.accounts.models import User
from yizhan.accounts.schemas import (
    MeOut,
    MePatchIn,
    OtpRequestIn,
    OtpRequestOut,
    OtpVerifyIn,
    RoleGrantIn,
    StaffCreateIn,
    StaffListOut,
    StaffOut,
    TokenCreatedOut,
    TokenIn,
    TokenListOut,
    TokenOut,
)
from yizhan.core.middleware import client_ip
from yizhan.core.pii import mask_id, mask_phone
from yizhan.core.schemas import LimitQuery, OffsetQuery
from yizhan.jurisdictions.selectors import jurisdiction_get

router = Router(tags=["accounts"])
SESSION_BACKEND = "yizhan.accounts.backends.StaffPasswordBackend"
MAX_PAGE = 100


def _roles(user) -> list[dict]:
    labels = dict(Role.choices)
    return [
        {
            "role": g.role,
            "role_label": str(labels.get(g.role, g.role)),
            "jurisdiction": g.jurisdiction.code,
            "jurisdiction_name": g.jurisdiction.name,
        }
        for g in user.role_grants.all()
    ]


def me_dict(user) -> dict:
    profile = selectors.worker_profile_of(user=user)
    trades = dict(Trade.choices)
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "phone": user.phone,
        "id_number": mask_id(user.id_number),
        "is_staff": user.is_staff,
        "roles": _roles(user),
        "profile": None
        if profile is None
        else {
            "trade": profile.trade,
            "trade_label": str(trades.get(profile.trade, profile.trade)),
            "platform": profile.platform,
            "employer": profile.employer,
            "skills": profile.skills or [],
            "home_community": profile.home_community.code if profile.home_community else None,
            "home_community_name": profile.home_community.name if profile.home_community else None,
            "consent_version": profile.consent_version,
            "consent_at": profile.consent_at,
        },
    }


def staff_dict(user) -> dict:
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "phone_masked": mask_phone(user.phone),
        "is_active": user.is_active,
        "locked": bool(user.locked_until and user.locked_until > timezone.now()),
        "roles": _roles(user),
    }


@router.post("/otp/request", auth=None, response=OtpRequestOut, openapi_extra={"x-errors": [429]}, summary="Send a login code by SMS")
def otp_request(request, payload: OtpRequestIn):
    services.otp_request(phone=payload.phone, ip=client_ip(request))
    return {"sent": True, "expires_in": settings.YIZHAN_OTP_TTL_SECONDS}


@router.post("/otp/verify", auth=None, response=MeOut, openapi_extra={"x-errors": [429]}, summary="Log in with the code (starts a session)")
def otp_verify(request, payload: OtpVerifyIn):
    user = services.otp_verify(phone=payload.phone, code=payload.code, ip=client_ip(request))
    login(request, user, backend=SESSION_BACKEND)
    return me_dict(user)


@router.get("/me", response=MeOut, summary="My account and worker profile")
def me_get(request):
    return me_dict(request.auth)


@router.patch("/me", response=MeOut, summary="Edit my profile")
def me_patch(request, payload: MePatchIn):
    data = payload.dict(exclude_unset=True)
    services.worker_profile_update(actor=request.auth, user=request.auth, data=data)
    request.auth.refresh_from_db()
    return me_dict(request.auth)


@router.get("/me/export", summary="Download everything stored about me (JSON)")
def me_export(request):
    data = services.account_export(actor=request.auth, user=request.auth)
    resp = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2, default=str), content_type="application/json; charset=utf-8"
    )
    resp["Content-Disposition"] = 'attachment; filename="yizhan-my-data.json"'
    return resp


@router.delete("/me", response={204: None}, summary="Delete my account (PIPL)")
def me_delete(request):
    services.account_delete(actor=request.auth, user=request.auth)
    if hasattr(request, "session"):
        logout(request)
    return Status(204, None)


@router.get("/tokens", response=TokenListOut, summary="My API tokens")
def tokens_list(request):
    items = list(selectors.api_tokens_of(user=request.auth))
    return {"items": items, "count": len(items)}


@router.post("/tokens", response={201: TokenCreatedOut}, summary="Create an API token (shown once)")
def tokens_create(request, payload: TokenIn):
    token, raw = services.api_token_create(actor=request.auth, user=request.auth, name=payload.name)
    out = TokenOut.model_validate(token, from_attributes=True).model_dump()
    out["token"] = raw
    return Status(201, out)


@router.delete("/tokens/{token_id}", response={204: None}, summary="Revoke an API token")
def tokens_revoke(request, token_id: int):
    token = selectors.api_token_get(actor=request.auth, token_id=token_id)
    services.api_token_revoke(actor=request.auth, token=token)
    return Status(204, None)


@router.get("/staff", response=StaffListOut, summary="Staff in my jurisdiction (phones masked)")
def staff_list(
    request, role: str | None = None, jurisdiction: str | None = None, q: str | None = None,
    limit: int = LimitQuery(50, maximum=MAX_PAGE), offset: int = OffsetQuery(),
):
    qs = selectors.staff_list(actor=request.auth, filters={"role": role, "jurisdiction": jurisdiction, "q": q})
    count = qs.count()
    users = list(qs[offset : offset + limit])
    selectors.staff_list_audited(actor=request.auth, users=users)
    return {"items": [staff_dict(u) for u in users], "count": count}


@router.get("/staff/{user_id}", response=StaffOut, summary="One staff record (read is audited)")
def staff_detail(request, user_id: int):
    return staff_dict(selectors.staff_get(actor=request.auth, user_id=user_id))


@router.post("/staff", response={201: StaffOut}, summary="Create a staff account with one role")
def staff_create(request, payload: StaffCreateIn):
    node = _node(payload.jurisdiction)
    user = services.staff_create(
        actor=request.auth, username=payload.username, display_name=payload.display_name,
        phone=payload.phone, password=payload.password, role=payload.role, jurisdiction=node,
    )
    return Status(201, staff_dict(user))


@router.post("/staff/{user_id}/roles", response={201: StaffOut}, summary="Grant a role")
def staff_role_grant(request, user_id: int, payload: RoleGrantIn):

    node = _node(payload.jurisdiction)
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:

        raise PersonNotFound()
    services.role_grant(actor=request.auth, user=user, role=payload.role, jurisdiction=node)
    return Status(201, staff_dict(user))


@router.delete("/staff/{user_id}/roles", response={204: None}, summary="Revoke a role")
def staff_role_revoke(request, user_id: int, role: str, jurisdiction: str):

    node = _node(jurisdiction)
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise PersonNotFound()
    services.role_revoke(actor=request.auth, user=user, role=role, jurisdiction=node)
    return Status(204, None)


def _node(code: str):
    return jurisdiction_get(code=code)

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field

from yizhan.core.text import CleanStr


class OtpRequestIn(Schema):
    phone: str = Field(..., max_length=32)


class OtpRequestOut(Schema):
    sent: bool
    expires_in: int


class OtpVerifyIn(Schema):
    phone: str = Field(..., max_length=32)
    code: str = Field(..., max_length=12)


class ProfileOut(Schema):
    trade: str
    trade_label: str
    platform: str
    employer: str
    skills: list[str]
    home_community: str | None
    home_community_name: str | None
    consent_version: str
    consent_at: datetime | None


class RoleOut(Schema):
    role: str
    role_label: str
    jurisdiction: str
    jurisdiction_name: str


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    phone: str | None  # the owner sees their own number
    id_number: str  # masked even to the owner on the wire
    is_staff: bool
    roles: list[RoleOut]
    profile: ProfileOut | None


class MePatchIn(Schema):
    display_name: CleanStr | None = Field(None, max_length=60)
    trade: str | None = None
    platform: CleanStr | None = Field(None, max_length=60)
    employer: CleanStr | None = Field(None, max_length=100)
    skills: list[CleanStr] | None = None
    home_community: str | None = None
    id_number: str | None = Field(None, max_length=18)


class TokenIn(Schema):
    name: CleanStr = Field(..., max_length=80)


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str  # shown once


class TokenListOut(Schema):
    items: list[TokenOut]
    count: int


class StaffOut(Schema):
    id: int
    username: str
    display_name: str
    phone_masked: str
    is_active: bool
    locked: bool
    roles: list[RoleOut]


class StaffListOut(Schema):
    items: list[StaffOut]
    count: int


class StaffCreateIn(Schema):
    username: str = Field(..., max_length=150)
    display_name: CleanStr = Field("", max_length=60)
    phone: str | None = Field(None, max_length=32)
    password: str = Field(..., max_length=128)
    role: str
    jurisdiction: str


class RoleGrantIn(Schema):
    role: str
    jurisdiction: str

from __future__ import annotations

from ninja import Schema


class JurisdictionPublicOut(Schema):
    code: str
    name: str
    name_en: str
    level: str
    parent: str | None
    depth: int


class JurisdictionOut(JurisdictionPublicOut):
    center_lat: float | None
    center_lng: float | None
    area_km2: float | None
    boundary: dict | None = None


class JurisdictionListOut(Schema):
    items: list[JurisdictionOut | JurisdictionPublicOut]
    count: int
    scoped: bool


class LocateOut(Schema):
    items: list[JurisdictionPublicOut]
    count: int


class ImportOut(Schema):
    created: int
    updated: int
    unchanged: int
    total: int

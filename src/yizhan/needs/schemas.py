"""In/Out schemas of the needs API. Values the domain judges (dates, counts,
owners) are accepted loosely so the service answers with its own code."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from yizhan.core.schemas import Id
from yizhan.core.text import CleanStr, CleanText


class Place(Schema):
    code: str
    name: str


class SuggestionIn(Schema):
    text: CleanText
    category: str
    jurisdiction: str | None = Field(None, description="Community code; or give lat/lng")
    lat: Any = None
    lng: Any = None
    is_anonymous: bool = False


class NeedRef(Schema):
    id: int
    state: str
    state_label: str


class SuggestionOut(Schema):
    id: int
    text: str
    category: str
    category_label: str
    state: str
    state_label: str
    is_anonymous: bool
    author: str | None = Field(None, description="Staff views only: 匿名 or the masked name")
    jurisdiction: Place
    created_at: datetime
    reply: str
    replied_at: datetime | None
    tracking_code: str | None = Field(None, description="The author's views only: read the reply without an account")
    need: NeedRef | None = None


class SuggestionListOut(Schema):
    items: list[SuggestionOut]
    count: int


class AnswerIn(Schema):
    outcome: str = Field(description="reply | adopt | to_need | close")
    reply: CleanText
    owner: Any = Field(None, description="to_need: the owner's user id or username")
    due_on: Any = Field(None, description="to_need: YYYY-MM-DD")
    title: CleanStr = ""


class WishIn(Schema):
    text: CleanText
    jurisdiction: str | None = None
    lat: Any = None
    lng: Any = None
    is_anonymous: bool = False


class WishOut(Schema):
    id: int
    text: str
    author: str
    jurisdiction: Place
    state: str
    state_label: str
    support_count: int
    supported: bool
    fulfiller: str
    fulfil_note: str
    fulfilled_at: datetime | None
    created_at: datetime
    reject_reason: str | None = None


class WishListOut(Schema):
    items: list[WishOut]
    count: int


class WishSupportOut(Schema):
    id: int
    support_count: int
    supported: bool
    created: bool


class WishActionIn(Schema):
    reason: CleanStr = ""
    fulfiller: CleanStr = ""
    note: CleanText = ""


class ForumIn(Schema):
    held_on: Any
    group: str
    jurisdiction: str
    attendees: Any = 0
    hosts: CleanStr = ""
    notes: CleanText = ""
    title: CleanStr = ""
    venue: CleanStr = ""


class ForumOut(Schema):
    id: int
    held_on: date
    group: str
    title: str
    jurisdiction: Place
    venue: str
    attendees: int
    hosts: str
    notes: str
    needs_total: int = 0
    needs_solved: int = 0


class ForumListOut(Schema):
    items: list[ForumOut]
    count: int


class NeedIn(Schema):
    title: CleanStr
    owner: Any
    due_on: Any
    detail: CleanText = ""
    jurisdiction: str | None = Field(None, description="Needed unless forum or wish is given")
    forum: Id | None = None
    wish: Id | None = None
    raised_on: Any = None


class ForumNeedIn(Schema):
    title: CleanStr
    owner: Any
    due_on: Any
    detail: CleanText = ""


class Owner(Schema):
    id: int
    name: str


class NeedOut(Schema):
    id: int
    title: str
    detail: str
    jurisdiction: Place
    source: str
    source_label: str
    forum_id: int | None
    suggestion_id: int | None
    wish_id: int | None
    raised_on: date
    owner: Owner | None  # None once the owner deleted their account, until reassigned
    due_on: date
    state: str
    state_label: str
    overdue: bool
    resolution: str
    decline_reason: str
    solved_at: datetime | None


class NeedEventOut(Schema):
    action: str
    label: str
    from_state: str
    to_state: str
    actor: str
    at: datetime
    note: str


class NeedDetailOut(NeedOut):
    timeline: list[NeedEventOut]
    actions: list[str]


class NeedListOut(Schema):
    items: list[NeedOut]
    count: int


class NeedActionIn(Schema):
    note: CleanText = ""
    owner: Any = None
    due_on: Any = None


class NeedFigures(Schema):
    collected: int
    open: int
    in_progress: int
    solved: int
    declined: int
    overdue: int
    solve_rate: float | None


class SuggestionFigures(Schema):
    received: int
    answered: int
    adopted: int
    answer_rate: float | None


class WishFigures(Schema):
    posted: int
    pending: int
    public: int
    fulfilled: int
    supports: int


class ForumFigures(Schema):
    held: int
    attendees: int


class FiguresOut(Schema):
    jurisdiction: Place | None
    since: date | None
    until: date | None
    needs: NeedFigures
    suggestions: SuggestionFigures
    wishes: WishFigures
    forums: ForumFigures


class FiguresWithRowsOut(FiguresOut):
    rows: list[FiguresOut] = []


class SuggestionCategoryOut(Schema):
    code: str
    label: str

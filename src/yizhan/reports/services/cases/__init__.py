"""The case services, one module per concept (``from yizhan.reports import services``
re-exports every public name, so callers need not know the modules):

common.py       login checks, text limits, labels, page URLs, row locking
audience.py     who is who on a case (``actor_kinds``) and who is told
photos.py       cleaning and saving photos; publishing a blurred copy
submit.py       ``case_submit``, ``case_support``
transitions.py  one service per workflow action, ``case_act``, bulk dispatch, merging
clocks.py       stage deadlines, warnings and escalations (``case_clocks_check``)
"""

from yizhan.reports.services.cases.audience import actor_kinds
from yizhan.reports.services.cases.clocks import case_clocks_check
from yizhan.reports.services.cases.photos import case_photo_approve, case_photo_unpublish
from yizhan.reports.services.cases.submit import SubmitResult, case_submit, case_support
from yizhan.reports.services.cases.transitions import (
    ACTION_SERVICES,
    case_accept,
    case_act,
    case_bulk_dispatch,
    case_close,
    case_confirm,
    case_decide_extension,
    case_dispatch,
    case_evaluate,
    case_follow_up,
    case_handle,
    case_merge,
    case_park,
    case_progress,
    case_reject,
    case_reopen,
    case_request_extension,
    case_return,
    case_start,
    case_transfer,
    case_unpark,
    case_verify,
    case_verify_fail,
)

__all__ = [
    "ACTION_SERVICES",
    "SubmitResult",
    "actor_kinds",
    "case_accept",
    "case_act",
    "case_bulk_dispatch",
    "case_clocks_check",
    "case_close",
    "case_confirm",
    "case_decide_extension",
    "case_dispatch",
    "case_evaluate",
    "case_follow_up",
    "case_handle",
    "case_merge",
    "case_park",
    "case_photo_approve",
    "case_photo_unpublish",
    "case_progress",
    "case_reject",
    "case_reopen",
    "case_request_extension",
    "case_return",
    "case_start",
    "case_submit",
    "case_support",
    "case_transfer",
    "case_unpark",
    "case_verify",
    "case_verify_fail",
]

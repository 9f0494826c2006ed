"""The one permission helper every list, detail and write uses.

A user holds roles (``accounts.RoleGrant``), each granted on a jurisdiction node and
covering that node's subtree. A permission is a string like ``"stations.manage"``;
``ROLE_PERMISSIONS`` says which roles carry it. Scoping is by the jurisdiction
``path`` prefix, so it is one indexed ``LIKE 'prefix%'`` on SQLite and PostgreSQL.

    qs = restrict(Station.objects.all(), user, "stations.view", path_field="jurisdiction__path")
    require(user, "stations.manage", station.jurisdiction)    # raises OutOfJurisdiction
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet

from yizhan.core.errors import NotAuthenticated, OutOfJurisdiction, PermissionDenied
from yizhan.core.manifest import role_permissions

ADMINS = ("community_admin", "street_admin", "district_admin", "city_admin")
# The platform's role names (labels: accounts.choices.Role). Each app's manifest
# (``AppManifest.roles``, core's own too: the audit log) adds the permissions it defines
# to these roles, or a new role of its own.
ROLES = ("worker", "keeper", "grid_worker", "handler", "duty_officer", "employer", "merchant",
         "teacher", "auditor", *ADMINS)


class _FromManifests(Mapping):
    """A read-only mapping built from the installed apps' manifests on first use (the
    app registry must be ready; manifests change only when INSTALLED_APPS does)."""

    def __init__(self, build):
        self._build = build

    def _data(self) -> dict:
        return self._build()

    def __getitem__(self, key):
        return self._data()[key]

    def __iter__(self):
        return iter(self._data())

    def __len__(self):
        return len(self._data())

    def __repr__(self):
        return repr(self._data())


def _role_permissions() -> dict[str, frozenset[str]]:
    return role_permissions(ROLES)


#: ``{role: frozenset(perms)}`` merged from every manifest.
ROLE_PERMISSIONS: Mapping[str, frozenset[str]] = _FromManifests(_role_permissions)


def jurisdiction_model():
    """The jurisdiction tree's model, found through core's own foreign key to it, so the
    kernel names no app."""
    # imported here: apps.py files import this module before models may be loaded
    from yizhan.core.models import WebhookSubscription

    return WebhookSubscription._meta.get_field("jurisdiction").related_model


def ancestor_paths(path: str) -> list[str]:
    """The paths of a node and its ancestors, root first (pure; no query).

    ``"/SZ/SZ-GX/SZ-GX-KX/"`` -> ``["/SZ/", "/SZ/SZ-GX/", "/SZ/SZ-GX/SZ-GX-KX/"]``."""
    codes = [c for c in path.split("/") if c]
    return ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes))]


def _grants(user):
    """(role, path) pairs of the user, cached on the user object per request."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_yizhan_grants", None)
    if cached is None:
        cached = list(user.role_grants.values_list("role", "jurisdiction__path"))
        user._yizhan_grants = cached
    return cached


def roles_of(user) -> set[str]:
    return {role for role, _ in _grants(user)}


def has_role(user, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def scope_paths(user, perm: str) -> list[str]:
    """Jurisdiction path prefixes where ``user`` holds ``perm`` (minimal set).

    Active superusers hold every permission everywhere ("/" prefixes every path)."""
    if getattr(user, "is_superuser", False) and getattr(user, "is_active", False):
        return ["/"]
    paths = sorted({path for role, path in _grants(user) if perm in ROLE_PERMISSIONS.get(role, ())})
    minimal: list[str] = []
    for p in paths:  # drop paths already covered by an ancestor
        if not any(p.startswith(m) for m in minimal):
            minimal.append(p)
    return minimal


def has_perm_anywhere(user, perm: str) -> bool:
    return bool(scope_paths(user, perm))


def can(user, perm: str, jurisdiction) -> bool:
    """Whether ``user`` holds ``perm`` on ``jurisdiction`` (a node or its path)."""
    path = jurisdiction if isinstance(jurisdiction, str) else jurisdiction.path
    return any(path.startswith(p) for p in scope_paths(user, perm))


def require(user, perm: str, jurisdiction=None) -> None:
    """Raise unless allowed. Without a jurisdiction: allowed somewhere."""
    if not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()
    paths = scope_paths(user, perm)
    if not paths:
        raise PermissionDenied()
    if jurisdiction is not None and not can(user, perm, jurisdiction):
        raise OutOfJurisdiction()


def restrict(qs: QuerySet, user, perm: str, *, path_field: str = "jurisdiction__path") -> QuerySet:
    """Only the rows inside the user's scope for ``perm`` (none for no scope)."""
    paths = scope_paths(user, perm)
    if not paths:
        return qs.none()
    return qs.filter(reduce(or_, (Q(**{f"{path_field}__startswith": p}) for p in paths)))


# ---- role levels (who may grant what) ---------------------------------------
# An admin may grant a role only on a node inside their scope and never a role
# above their own level. Non-admin roles are level 0 except the auditor, who
# watches admins and so may only be appointed from district level up.
_LEVELS = {"community_admin": 1, "street_admin": 2, "district_admin": 3, "city_admin": 4, "auditor": 3}
ROLE_LEVEL: Mapping[str, int] = _FromManifests(
    lambda: {role: _LEVELS.get(role, 0) for role in _role_permissions()}
)


def admin_level_at(user, jurisdiction) -> int:
    """The highest admin level ``user`` holds on a grant covering ``jurisdiction``
    (superusers: above every role)."""
    if getattr(user, "is_superuser", False):
        return 99
    path = jurisdiction if isinstance(jurisdiction, str) else jurisdiction.path
    levels = [ROLE_LEVEL[role] for role, p in _grants(user) if role in ADMINS and path.startswith(p)]
    return max(levels, default=-1)


def can_grant(user, role: str, jurisdiction) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    if not can(user, "people.manage", jurisdiction):
        return False
    return ROLE_LEVEL.get(role, 99) <= admin_level_at(user, jurisdiction)


def forget_grants(user) -> None:
    """Drop the per-request cache of a user's grants (after a grant changes)."""
    if hasattr(user, "_yizhan_grants"):
        del user._yizhan_grants

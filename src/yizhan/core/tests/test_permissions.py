import pytest

from yizhan.core import permissions as P
from yizhan.core.errors import NotAuthenticated, OutOfJurisdiction, PermissionDenied
from yizhan.core.testing.factories import (
    make_staff,
    make_superuser,
    make_worker,
)
from yizhan.jurisdictions.models import Jurisdiction


def test_scope_and_restrict(tree):
    street = make_staff("street_admin", tree.street)
    comm = make_staff("community_admin", tree.community)
    assert P.scope_paths(street, "stations.manage") == [tree.street.path]
    qs = P.restrict(Jurisdiction.objects.all(), comm, "stations.view", path_field="path")
    assert set(qs.values_list("code", flat=True)) == {"SZ-GX-KX-A", "SZ-GX-KX-A-1", "SZ-GX-KX-A-2"}
    assert P.restrict(Jurisdiction.objects.all(), make_worker(), "stations.view", path_field="path").count() == 0


def test_require(tree):
    comm = make_staff("community_admin", tree.community)
    P.require(comm, "stations.manage", tree.grid)
    with pytest.raises(OutOfJurisdiction):
        P.require(comm, "stations.manage", tree.other_community)
    with pytest.raises(PermissionDenied):
        P.require(make_worker(), "stations.manage")
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAuthenticated):
        P.require(AnonymousUser(), "stations.view")


def test_superuser_sees_all(tree):
    root = make_superuser()
    assert P.can(root, "audit.view", tree.far_grid)
    assert P.restrict(Jurisdiction.objects.all(), root, "stations.view", path_field="path").count() == 13


def test_auditor_only_audit(tree):
    auditor = make_staff("auditor", tree.city)
    assert P.can(auditor, "audit.view", tree.grid)
    assert not P.has_perm_anywhere(auditor, "stations.view")


def test_can_grant_levels(tree):
    street = make_staff("street_admin", tree.street)
    assert P.can_grant(street, "community_admin", tree.community)
    assert P.can_grant(street, "street_admin", tree.street)
    assert not P.can_grant(street, "district_admin", tree.street)
    assert not P.can_grant(street, "auditor", tree.street)
    assert not P.can_grant(street, "keeper", tree.far_community)
    district = make_staff("district_admin", tree.district)
    assert P.can_grant(district, "auditor", tree.district)

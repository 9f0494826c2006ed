from yizhan.core import permissions
from yizhan.core.testing.factories import make_jurisdiction_tree, make_staff, make_worker


def test_tree_shape(db):
    tree = make_jurisdiction_tree()
    assert tree.community.path == "/SZ/SZ-GX/SZ-GX-KX/SZ-GX-KX-A/"
    assert tree.grid.depth == 4 and tree.grid.level == "grid"
    assert tree.community.area_km2 > 0
    lat, lng = tree.point(tree.grid)
    assert 31.30 < lat < 31.35 and 120.35 < lng < 120.40


def test_staff_scoped(db):
    tree = make_jurisdiction_tree()
    admin = make_staff("community_admin", tree.community)
    assert permissions.can(admin, "stations.manage", tree.grid)
    assert not permissions.can(admin, "stations.manage", tree.other_community)
    worker = make_worker()
    assert worker.worker_profile.consent_version
    assert not worker.has_usable_password()

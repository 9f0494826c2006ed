"""Test data built once and shared by consecutive tests: ``tree`` and ``demo_world``.

    def test_x(tree, client): ...        # the jurisdiction tree of factories.make_jurisdiction_tree
    def test_y(demo_world): ...          # the demo district (demo_load()), for read-only checks

Building the tree costs ~50 ms per test (~700 tests ask for it) and the demo ~10-30 s.
Like Django's ``TestCase.setUpTestData``, the data is written once inside an outer
transaction; each test runs in its own savepoint inside it (pytest-django's usual
per-test transaction), so whatever a test writes is rolled back and the next test sees
the data as built. Each test gets a deep copy of the Python objects (as setUpTestData
does), so attributes a test sets on ``tree.community`` do not leak either.

The outer transaction is opened just before pytest-django's per-test transaction of the
first test that asks for the data and stays open while the following tests ask for the
same data; it is rolled back before any test that does not (a test that does not ask
for the tree never sees it). Transactional tests (``transaction=True``, ``live_server``)
cannot share uncommitted data: they get a fresh tree of their own, as before, and the
demo cannot be asked for there. Tests asking for the demo are run one after the other
(collection order otherwise kept), so the demo loads once per session (per xdist worker).
"""

from __future__ import annotations

import copy
import os
import time

import pytest

# Off by default. On SQLite, a live-server test whose fixtures build on the shared tree
# (e.g. safety's browser tests, safety_tree -> tree) meets "database table is locked": the
# shared tree's outer transaction holds the in-memory shared-cache database while the live
# server's thread writes (reproduced 2026-12-03: safety/tests/test_respond_page.py alone,
# mode on: 2 errors; off: green). YIZHAN_TEST_SHARED_DATA=1 turns it on (safe on
# PostgreSQL); every test otherwise builds its own tree and demo (same fixtures, same data).
ENABLED = os.environ.get("YIZHAN_TEST_SHARED_DATA", "0") not in ("", "0")

# fixture name -> builder; a test asks for at most one of them
SHARED = ("tree", "demo_world")


def _build_tree():
    from yizhan.core.testing.factories import make_jurisdiction_tree

    return make_jurisdiction_tree()


def _build_demo():
    from yizhan.demo.services import demo_load

    return demo_load()


BUILDERS = {"tree": _build_tree, "demo_world": _build_demo}


def _is_transactional(item) -> bool:
    """pytest-django's own rule (its _django_db_helper)."""
    from pytest_django.plugin import validate_django_db

    marker = item.get_closest_marker("django_db")
    transactional = reset_sequences = False
    if marker:
        transactional, reset_sequences, *_ = validate_django_db(marker)
    names = getattr(item, "fixturenames", ())
    return bool(transactional or reset_sequences or "transactional_db" in names or "live_server" in names)


def _wanted(item) -> str | None:
    """The shared data this test asks for (through these fixtures, not a local one of the
    same name)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    wanted = []
    for name in SHARED:
        defs = info.name2fixturedefs.get(name)
        if defs and getattr(defs[-1].func, "__module__", None) == __name__:
            wanted.append(name)
    if len(wanted) > 1:
        pytest.fail(f"a test can ask for one of {SHARED}, not {wanted}", pytrace=False)
    return wanted[0] if wanted else None


class SharedData:
    """The outer transaction and what was built in it."""

    def __init__(self, blocker, media_root):
        self.blocker = blocker
        self.media_root = media_root
        self.key: str | None = None
        self.value = None
        self.seconds = 0.0
        self.builds: dict[str, int] = {}
        self._atomics: list = []

    def open(self, key: str) -> None:
        if self.key == key:
            return
        self.close()
        from django.db import connections, transaction
        from django.test.utils import override_settings

        with self.blocker.unblock():
            for alias in connections:
                atomic = transaction.atomic(using=alias)
                atomic._from_testcase = True  # as Django's TestCase marks its own (durable blocks)
                atomic.__enter__()
                self._atomics.append((alias, atomic))
            self.key = key
            started = time.perf_counter()
            try:
                # the same settings the autouse fixtures give every test (fixtures.py)
                with override_settings(
                    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
                    MEDIA_ROOT=str(self.media_root),
                    YIZHAN_NEARBY_REFRESH_SECONDS=0,
                    YIZHAN_CALENDAR_REFRESH_SECONDS=0,
                ):
                    self.value = BUILDERS[key]()
            except BaseException:
                self.close()
                raise
            self.seconds = time.perf_counter() - started
            self.builds[key] = self.builds.get(key, 0) + 1

    def close(self) -> None:
        self.key = self.value = None
        if not self._atomics:
            return
        from django.db import connections, transaction

        with self.blocker.unblock():
            while self._atomics:
                alias, atomic = self._atomics.pop()
                if connections[alias].in_atomic_block:
                    transaction.set_rollback(True, using=alias)
                    atomic.__exit__(None, None, None)
                else:  # something ended it already (a failed test's teardown): start clean
                    connections[alias].close()


@pytest.fixture(scope="session")
def _shared_data(django_db_setup, django_db_blocker, tmp_path_factory):
    state = SharedData(django_db_blocker, tmp_path_factory.mktemp("shared-media"))
    yield state
    state.close()


@pytest.fixture
def _shared_data_gate(request, _shared_data):
    """Runs before pytest-django opens the test's transaction (see _django_db_helper)."""
    if not ENABLED:
        return
    item = request.node
    key = _wanted(item)
    if key is None or _is_transactional(item):
        if key == "demo_world":
            pytest.fail("demo_world is for non-transactional tests (it lives in an open transaction)",
                        pytrace=False)
        _shared_data.close()
    else:
        _shared_data.open(key)


@pytest.fixture
def _django_db_helper(_shared_data_gate, _django_db_helper):
    """pytest-django's per-test database set-up, preceded by the shared-data gate, so the
    outer transaction (if any) is entered before the test's own."""
    return _django_db_helper


@pytest.fixture(scope="session")
def _no_shared_data_yet(_shared_data):
    _shared_data.close()


@pytest.fixture(scope="session")
def live_server(_no_shared_data_yet, live_server):
    """pytest-django's live server, started with no outer transaction open: on SQLite its
    thread shares the in-memory database connection with the tests."""
    return live_server


@pytest.fixture
def tree(db, _shared_data):
    """The jurisdiction tree (see factories.make_jurisdiction_tree), built once and shared."""
    if _shared_data.key == "tree":
        return copy.deepcopy(_shared_data.value)
    return _build_tree()  # transactional test: its own tree, committed, flushed afterwards


@pytest.fixture
def demo_world(db, _shared_data):
    """The demo district as ``demo_load()`` left it, loaded once; tests must not need a
    fresh one (writes are rolled back after each test all the same)."""
    if _shared_data.key == "demo_world":
        return copy.deepcopy(_shared_data.value)
    started = time.perf_counter()
    summary = _build_demo()
    _shared_data.seconds = time.perf_counter() - started
    return summary


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    """Tests asking for the demo run one after the other, where the first of them was
    (after pytest-django's order: plain database tests, transactional ones, the rest)."""
    demo = [item for item in items if _wanted(item) == "demo_world"] if ENABLED else []
    if len(demo) < 2:
        return
    first = items.index(demo[0])
    rest = [item for item in items if _wanted(item) != "demo_world"]
    items[:] = rest[:first] + demo + rest[first:]

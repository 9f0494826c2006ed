"""pytest fixtures shared by every app's tests."""

import pytest


@pytest.fixture(autouse=True)
def _no_outgoing_network(monkeypatch):
    """Tests never reach the network (loopback is fine)."""
    import socket

    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
        ):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True, scope="session")
def _memoized_index_builds():
    """Indexes rebuilt from the same shapes test after test are built once per process
    (see core.testing.memo: the locate index of the test tree costs ~3.5 s of CPU)."""
    from yizhan.core.testing import memo

    installed = memo.install()
    yield
    memo.uninstall(installed)


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """In-process indexes and outboxes must not leak between tests (each test's
    database rolls back, the indexes would not): every installed app's
    ``AppManifest.caches``."""
    from yizhan.core.manifest import forget_process_caches

    forget_process_caches()
    yield
    forget_process_caches()


@pytest.fixture(autouse=True)
def _nearby_sees_every_write(settings):
    """Station writes in a test never commit (on_commit does not fire), so the nearby
    index checks the table fingerprint on every query instead of every 2 s."""
    settings.YIZHAN_NEARBY_REFRESH_SECONDS = 0


@pytest.fixture(autouse=True)
def _calendars_see_every_write(settings):
    """Likewise the cached working calendars (reports.calendar): tests write calendar rows
    with the ORM and never commit, so the cache checks the tables' stamp on every call
    (the cache itself is dropped by ``_fresh_process_caches``)."""
    settings.YIZHAN_CALENDAR_REFRESH_SECONDS = 0


@pytest.fixture(autouse=True)
def _fast_passwords_and_private_media(settings, tmp_path_factory):
    """Staff users are made by the dozen: the default PBKDF2 hasher costs ~0.5 s each on
    this machine, MD5 a microsecond (tests check the login rules, not the hash's cost).
    Uploaded photos go to a temporary folder, never into var/media."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))


@pytest.fixture(autouse=True)
def _static_from_source(settings, tmp_path_factory):
    """Static URLs are the plain source names in tests, whatever a `make run` left in
    var/staticfiles (its manifest would hash them); the page-weight test collects its own."""
    # a folder of its own per test: a test that collects by mistake cannot hash the next ones
    empty = tmp_path_factory.mktemp("no-staticfiles")
    settings.STATIC_ROOT = str(empty)
    # and the browser never asks a real tile server (map tests set one and route it)
    settings.YIZHAN_TILE_URL = ""


@pytest.fixture
def outside_playwright_loop(request):
    """The session's Playwright (sync API) leaves its event loop marked as running in this
    thread after the first browser test, so a later test in the same xdist worker that runs
    async code (``async_to_sync``, ``asyncio.run``: the wall's event stream, the GB/T 26875.3
    listener, the MQTT broker) was refused with "cannot use AsyncToSync in the same thread as
    an async event loop" — only when a browser test happened to run first. Between
    Playwright calls that loop is idle, so such test files opt in
    (``pytestmark = pytest.mark.usefixtures("outside_playwright_loop")``) and run with the
    marker cleared; it is put back after each test. (Autouse for every test, it caused
    "database table is locked" cascades on SQLite under xdist: keep it opt-in.)"""
    import asyncio.events

    loop = asyncio.events._get_running_loop()
    if loop is None or "browser" in request.fixturenames:
        yield
        return
    asyncio.events._set_running_loop(None)
    try:
        yield
    finally:
        asyncio.events._set_running_loop(loop)


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's default language: a request through the test client
    with ``Accept-Language: en`` leaves English active in the thread (LocaleMiddleware does
    not deactivate it), which made later tests in the same worker read 'Anonymous' for 匿名."""
    from django.conf import settings as django_settings
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)

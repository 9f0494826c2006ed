"""PostgreSQL connections (issue 8, availability 3): under uvicorn every request thread
kept its own persistent connection (CONN_MAX_AGE=60), so 50 parallel requests ran the
server out of clients. Connections now come from one psycopg pool per process
(Django's ``OPTIONS["pool"]``): 200 parallel requests all answer and the server never
holds more than ``YIZHAN_DB_POOL_MAX`` connections."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
pytestmark = pytest.mark.skipif(not POSTGRES, reason="needs PostgreSQL: set DATABASE_URL=postgres://…")

APP_NAME = "yizhan-pool-test"
POOL_MAX = 5
PARALLEL = 200


def test_settings_use_the_pool_without_persistent_connections():
    db = connection.settings_dict
    assert db["CONN_MAX_AGE"] == 0
    assert db["OPTIONS"]["pool"]["max_size"] >= 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_connections(admin, dbname: str) -> int:
    with admin.cursor() as cur:
        cur.execute("select count(*) from pg_stat_activity where datname = %s and application_name = %s",
                    [dbname, APP_NAME])
        return cur.fetchone()[0]


@pytest.mark.django_db(transaction=True)  # the server reads the migrated test database
def test_200_parallel_requests_all_answer_and_the_server_holds_a_bounded_pool(tmp_path):
    import psycopg

    dbname = connection.settings_dict["NAME"]  # the migrated test database
    parts = urlsplit(os.environ["DATABASE_URL"])
    url = urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", f"application_name={APP_NAME}", ""))
    port, log = _free_port(), tmp_path / "web.log"
    env = {**os.environ, "DATABASE_URL": url, "YIZHAN_DB_POOL_MAX": str(POOL_MAX),
           "YIZHAN_VAR_DIR": str(tmp_path / "var"), "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING"}
    admin = psycopg.connect(urlunsplit((parts.scheme, parts.netloc, "/postgres", "", "")), autocommit=True)
    with open(log, "wb") as out:
        web = subprocess.Popen([sys.executable, "-m", "yizhan", "web", "--port", str(port)],
                               stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v1/core/ping", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline and web.poll() is None, log.read_text(errors="replace")
                time.sleep(0.3)

        peak, done = [0], threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], _server_connections(admin, dbname))
                time.sleep(0.02)

        def ask(i):
            try:
                with urllib.request.urlopen(f"{base}/api/v1/jurisdictions/?n={i}", timeout=60) as resp:
                    return resp.status
            except Exception as exc:  # noqa: BLE001 - the status is what we count
                return repr(exc)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        with ThreadPoolExecutor(PARALLEL) as pool:
            statuses = list(pool.map(ask, range(PARALLEL)))
        elapsed = time.monotonic() - started
        done.set()
        sampler.join(5)
        peak[0] = max(peak[0], _server_connections(admin, dbname))
        failures = [s for s in statuses if s != 200]
        assert not failures, f"{len(failures)} of {PARALLEL} failed: {failures[:5]}\n" + \
            log.read_text(errors="replace")[-3000:]
        assert 1 <= peak[0] <= POOL_MAX, f"the server held {peak[0]} connections"
        assert "too many clients" not in log.read_text(errors="replace")
        print(f"{PARALLEL} parallel requests in {elapsed:.1f} s, at most {peak[0]} connections")
    finally:
        web.terminate()
        try:
            web.wait(timeout=15)
        except subprocess.TimeoutExpired:
            web.kill()
            web.wait(timeout=5)
        # the pool's connections end with the process (the test database can be dropped)
        deadline = time.monotonic() + 10
        while _server_connections(admin, dbname) and time.monotonic() < deadline:
            time.sleep(0.2)
        admin.close()

"""`yizhan up` supervises its children (issue 8, availability 2): a crashed child is
restarted with back-off and logged, the others keep running; Ctrl-C/SIGTERM stops all.
A task left RUNNING by a dead worker is queued again after its lease. And (new-user
item 9) the demo logins come after the children's start-up lines."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from yizhan.core import task_lease
from yizhan.core.management.commands import up as up_command
from yizhan.core.supervisor import Supervisor
from yizhan.core.tasks import outbox_deliver

# ---- the supervisor logic, with fake children and a fake clock ----------------------------------


class FakeProc:
    pids = iter(range(1000, 100000))

    def __init__(self, argv):
        self.argv, self.pid, self.returncode, self.signals = argv, next(self.pids), None, []
        self.ignores_term = False

    def poll(self):
        return self.returncode

    def crash(self, code=-9):
        self.returncode = code

    def send_signal(self, sig):
        self.signals.append(sig)
        if not self.ignores_term:
            self.returncode = -sig

    def wait(self, timeout=None):
        if self.returncode is None:
            raise subprocess.TimeoutExpired("fake", timeout)
        return self.returncode

    def kill(self):
        self.signals.append(signal.SIGKILL)
        self.returncode = -9


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def sup():
    clock = Clock()
    s = Supervisor({"web": ["web"], "worker": ["worker"], "scheduler": ["scheduler"]},
                   spawn=FakeProc, clock=clock, sleep=clock.advance, stable_after=60)
    s.clock_ = clock
    s.start()
    return s


def proc(s, name) -> FakeProc:
    return s.children[name].proc


def test_a_crashed_child_is_restarted_and_the_others_keep_running(sup, caplog):
    web, scheduler, worker = proc(sup, "web"), proc(sup, "scheduler"), proc(sup, "worker")
    worker.crash()
    sup.step()
    assert proc(sup, "worker") is worker and sup.children["worker"].restart_at == 1001.0
    assert f"worker (pid {worker.pid}) exited with SIGKILL" in caplog.text
    assert "restarting in 1 s" in caplog.text
    sup.clock_.advance(0.5)
    sup.step()
    assert proc(sup, "worker") is worker  # not before the back-off
    sup.clock_.advance(0.5)
    sup.step()
    new = proc(sup, "worker")
    assert new is not worker and new.poll() is None and new.argv == ["worker"]
    assert f"worker started (pid {new.pid})" in caplog.text
    assert proc(sup, "web") is web and proc(sup, "scheduler") is scheduler
    assert web.signals == [] and scheduler.signals == []
    assert sorted(sup.alive()) == ["scheduler", "web", "worker"]


def test_backoff_doubles_to_30_s_and_resets_after_staying_up(sup):
    delays = []
    for _ in range(8):
        proc(sup, "worker").crash(1)
        sup.step()
        child = sup.children["worker"]
        delays.append(child.restart_at - sup.clock_.now)
        sup.clock_.advance(delays[-1])
        sup.step()  # restarted
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]
    assert sup.children["worker"].restarts == 8
    sup.clock_.advance(59)
    sup.step()
    assert sup.children["worker"].crashes == 8  # not yet stable
    sup.clock_.advance(1)
    sup.step()
    assert sup.children["worker"].crashes == 0
    proc(sup, "worker").crash()
    sup.step()
    assert sup.children["worker"].restart_at - sup.clock_.now == 1  # back to the start


def test_run_supervises_until_stopped(sup):
    ticks = []

    def should_stop():
        ticks.append(sup.clock_.now)
        if len(ticks) == 3:
            proc(sup, "web").crash(1)
        return len(ticks) > 10

    sup.run(should_stop)
    assert sup.children["web"].restarts == 1 and proc(sup, "web").poll() is None


def test_stop_terminates_everything_and_restarts_nothing(sup):
    stubborn = proc(sup, "scheduler")
    stubborn.ignores_term = True
    procs = [proc(sup, n) for n in ("web", "worker", "scheduler")]
    sup.stop(timeout=5)
    assert all(p.poll() is not None for p in procs)
    assert procs[0].signals == [signal.SIGTERM] and procs[1].signals == [signal.SIGTERM]
    assert stubborn.signals == [signal.SIGTERM, signal.SIGKILL]  # killed after the timeout
    sup.step()
    assert [proc(sup, n) for n in ("web", "worker", "scheduler")] == procs  # no restart while stopping


# ---- the demo logins come after the children's start-up lines -----------------------------------


def test_up_prints_the_demo_logins_after_the_children_started(monkeypatch):
    out = io.StringIO()

    def fake_call_command(name, *args, **kwargs):
        if name == "demo":
            kwargs["stdout"].write("loading the demo district\n")
            kwargs["stdout"].write("Demo logins 演示账号:\n")
            kwargs["stdout"].write("  city_admin  demo-city  pass\n")

    class FakeSupervisor:
        def __init__(self, children):
            self.children, self.stopping = children, False

        def start(self):
            out.write("INFO uvicorn Uvicorn running on http://127.0.0.1:1\n")

        def run(self):
            out.write("supervising\n")

        def stop(self):
            out.write("children stopped\n")

    monkeypatch.setattr(up_command, "call_command", fake_call_command)
    monkeypatch.setattr(up_command, "get_commands", lambda: {"demo": "yizhan.demo"})
    monkeypatch.setattr(up_command, "Supervisor", FakeSupervisor)
    monkeypatch.setattr(up_command.Command, "_wait_ready", lambda self, sup, host, port: True)
    with mock.patch.object(up_command, "collect"):  # where up.py looks it up
        call_command("up", "--port", "1", stdout=out)
    text = out.getvalue()
    order = [text.index(s) for s in ("loading the demo district", "Uvicorn running", "Demo logins",
                                      "demo-city", "is up", "supervising", "children stopped")]
    assert order == sorted(order), text


# ---- the task lease: a task left RUNNING by a dead worker is queued again -----------------------


@pytest.fixture
def lease(settings):
    settings.YIZHAN_TASK_LEASE_SECONDS = 60
    settings.YIZHAN_TASK_MAX_ATTEMPTS = 3


def _running(worker_id: str, started_ago: float, attempts: int = 1) -> DBTaskResult:
    result = outbox_deliver.enqueue()
    row = DBTaskResult.objects.get(pk=result.id)
    row.claim(worker_id)
    DBTaskResult.objects.filter(pk=row.pk).update(
        started_at=timezone.now() - timedelta(seconds=started_ago),
        worker_ids=[f"earlier-{i}" for i in range(attempts - 1)] + [worker_id])
    return row


@pytest.mark.django_db(transaction=True)  # the real worker loop closes connections between tasks
def test_a_task_of_a_dead_worker_is_queued_again_after_its_lease(lease, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    dead = _running("dead-worker", started_ago=61)
    young = _running("dead-worker-2", started_ago=30)  # lease not over yet
    task_lease.worker_beat("live-worker")
    long_running = _running("live-worker", started_ago=600)  # its worker still beats
    poison = _running("dead-worker-3", started_ago=61, attempts=3)
    assert task_lease.tasks_requeue_stale() == {"requeued": 1, "failed": 1}
    states = {r.pk: r for r in DBTaskResult.objects.all()}
    assert states[dead.pk].status == TaskResultStatus.READY and states[dead.pk].started_at is None
    assert DBTaskResult.objects.ready().filter(pk=dead.pk).exists()  # a worker will take it up
    assert states[young.pk].status == TaskResultStatus.RUNNING
    assert states[long_running.pk].status == TaskResultStatus.RUNNING
    assert states[poison.pk].status == TaskResultStatus.FAILED
    assert "WorkerDied" in states[poison.pk].exception_class_path
    # a worker takes it up again and finishes it
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)
    assert DBTaskResult.objects.get(pk=dead.pk).status == TaskResultStatus.SUCCESSFUL


@pytest.mark.django_db
def test_a_stale_worker_heartbeat_does_not_keep_the_task(lease, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    row = _running("gone-worker", started_ago=300)
    with mock.patch.object(task_lease.timezone, "now", return_value=timezone.now() - timedelta(seconds=200)):
        task_lease.worker_beat("gone-worker")  # last beat 200 s ago
    assert task_lease.tasks_requeue_stale() == {"requeued": 1, "failed": 0}
    assert DBTaskResult.objects.get(pk=row.pk).status == TaskResultStatus.READY


def test_the_lease_sweep_is_a_scheduler_job():
    from yizhan.core.scheduler import discover_jobs

    assert any(job.func.__name__ == "task_lease_sweep" for job in discover_jobs().values())


# ---- the real thing: `yizhan up`, kill the worker ----------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; log:\n{log.read_text(errors='replace')[-4000:]}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped) counts as dead
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_yizhan_up_restarts_a_killed_worker_and_web_keeps_answering(tmp_path):
    port = free_port()
    log = tmp_path / "up.log"
    env = {**os.environ, "YIZHAN_VAR_DIR": str(tmp_path / "var"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'up.sqlite3'}",
           "YIZHAN_NOTIFY_CHANNELS": "", "PYTHONUNBUFFERED": "1",
           # the apps' own processes (sensor ingest, GB/T 26875.3 listener) are off here:
           # this test is about the platform's children; they would also take fixed ports
           "YIZHAN_INGEST": "0", "YIZHAN_GB26875": "0"}
    with open(log, "wb") as out:
        up = subprocess.Popen([sys.executable, "-m", "yizhan", "up", "--no-demo", "--port", str(port)],
                              stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        text = lambda: log.read_text(errors="replace")  # noqa: E731
        wait_for(lambda: "is up" in text(), 240, "yizhan up to be up", log)
        started = dict(re.findall(r"(\w+) started \(pid (\d+)\)", text()))
        assert set(started) == {"web", "worker", "scheduler"}, text()
        assert text().index("Uvicorn running") < text().index("is up")  # after the start-up noise
        web_pid, worker_pid = int(started["web"]), int(started["worker"])
        url = f"http://127.0.0.1:{port}/"
        assert urllib.request.urlopen(url, timeout=10).status == 200

        os.kill(worker_pid, signal.SIGKILL)
        restarted = wait_for(
            lambda: [int(p) for p in re.findall(r"worker started \(pid (\d+)\)", text())[1:]], 20,
            "the worker to be restarted", log)
        assert f"worker (pid {worker_pid}) exited with SIGKILL" in text()
        new_pid = restarted[0]
        assert new_pid != worker_pid and alive(new_pid)
        assert alive(web_pid) and up.poll() is None
        assert urllib.request.urlopen(url, timeout=10).status == 200  # web still answering
        children = [int(p) for p in re.findall(r"\w+ started \(pid (\d+)\)", text())]
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait(timeout=10)
            raise
    assert up.returncode == 0, text()
    assert "stopped" in text()
    assert not [pid for pid in children if alive(pid)], "a child outlived yizhan up"

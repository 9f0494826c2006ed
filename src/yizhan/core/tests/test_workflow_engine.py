"""The workflow engine (core.workflow) on a tiny test-only declaration over an existing
model (needs.Need and its NeedEvent timeline; no migration): the table, the actor
kinds, reason / photo / confirmation, the timeline and audit rows, notifications and
on-commit callbacks, and two people moving one row at once (exactly one wins) on
SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, connections, transaction

from yizhan.core import permissions
from yizhan.core.errors import (
    InvalidTransition,
    Message,
    NotAuthenticated,
    PermissionDenied,
    ValidationError,
)
from yizhan.core.models import AuditLog, Notification
from yizhan.core.testing.factories import make_jurisdiction_tree, make_staff, make_worker
from yizhan.core.workflow import SYSTEM, Transition, Workflow, WorkflowErrors, workflow_transition
from yizhan.needs.models import Need, NeedEvent
from yizhan.needs.tests.factories import make_need

MANAGER, OWNER = "manager", "owner"


class Denied(PermissionDenied):
    code = "test_denied"


class NotYours(PermissionDenied):
    code = "test_not_yours"


class Invalid(InvalidTransition):
    code = "test_invalid"


class Finished(InvalidTransition):
    code = "test_finished"


class Reason(ValidationError):
    code = "test_reason_required"


class Photo(ValidationError):
    code = "test_photo_required"


class Confirm(ValidationError):
    code = "test_confirm_required"


def kinds_of(actor, need) -> set[str]:
    kinds = set()
    if permissions.can(actor, "needs.manage", need.jurisdiction):
        kinds.add(MANAGER)
    if need.owner_id == actor.pk:
        kinds.add(OWNER)
    return kinds


def write_event(step) -> NeedEvent:
    return NeedEvent.objects.create(need=step.obj, action=step.action, from_state=step.from_state,
                                    to_state=step.to_state, actor=step.actor, at=step.now, note=step.note,
                                    data=step.data)


def tell_owner(need, step) -> None:
    step.tell.append(([need.owner], "need_assigned", Message("测试", "test"), None, "/needs/"))


def keep_constraints(need, step) -> None:
    """Need's check constraints: a solved need has a resolution, a declined one a reason."""
    if step.to_state == "solved":
        need.resolution = step.note or "done"
    if step.to_state == "declined":
        need.decline_reason = step.note or "expired"


TEST = Workflow(
    name="test.need",
    model=Need,
    transitions={
        ("open", "start"): Transition("in_progress", frozenset({MANAGER, OWNER})),
        ("open", "decline"): Transition("declined", frozenset({MANAGER}), reason_required=True),
        ("in_progress", "solve"): Transition("solved", frozenset({OWNER}), photo_required=True),
        ("in_progress", "drop"): Transition("declined", frozenset({MANAGER}), confirm_required=True),
        ("in_progress", "expire"): Transition("declined", frozenset({SYSTEM})),
    },
    actor_kinds=kinds_of,
    errors=WorkflowErrors(invalid=Invalid, finished=Finished, wrong_actor=NotYours,
                          denied=lambda actor, obj: Denied(), reason_required=Reason, photo_required=Photo,
                          confirm_required=Confirm),
    finished_states=frozenset({"solved", "declined"}),
    select_related=("jurisdiction", "owner"),
    event=write_event,
    apply=(tell_owner, keep_constraints),
)


@pytest.fixture
def world(db):
    tree = make_jurisdiction_tree()
    manager = make_staff("community_admin", tree.community)
    owner = make_staff("grid_worker", tree.grid)  # works the need, may not manage it
    need = make_need(tree.community, actor=manager, owner=owner)
    Notification.objects.all().delete()
    return tree, manager, owner, need


def _nothing_written(need: Need, state: str = "open") -> None:
    assert Need.objects.get(pk=need.pk).state == state
    assert not NeedEvent.objects.filter(need=need).exclude(action="create").exists()
    assert not AuditLog.objects.filter(object_type="needs.need", object_id=str(need.pk), action="update").exists()
    assert not Notification.objects.exists()


def test_a_move_writes_state_event_audit_and_notification(world):
    _tree, manager, owner, need = world
    step = workflow_transition(TEST, obj=need, action="start", actor=manager, note="开始",
                               data={"why": "test"})
    assert step.from_state == "open" and step.to_state == "in_progress" and step.kinds == {MANAGER}
    assert step.result.state == "in_progress" and Need.objects.get(pk=need.pk).state == "in_progress"
    event = NeedEvent.objects.get(need=need, action="start")
    assert (event.from_state, event.to_state, event.actor, event.note) == ("open", "in_progress", manager, "开始")
    assert step.event == event and event.data == {"why": "test"}
    log = AuditLog.objects.get(object_type="needs.need", object_id=str(need.pk), action="update")
    assert log.actor == manager and log.summary == "test.need start: open -> in_progress"
    assert log.changes == {"action": "start", "state": ["open", "in_progress"], "why": "test"}
    assert log.jurisdiction_path == need.jurisdiction.path
    assert list(Notification.objects.values_list("user_id", "kind")) == [(owner.pk, "need_assigned")]


def test_table_is_enforced(world):
    _tree, manager, _owner, need = world
    with pytest.raises(Invalid) as exc:
        workflow_transition(TEST, obj=need, action="solve", actor=manager)  # not from "open"
    assert exc.value.code == "test_invalid" and exc.value.status == 409
    with pytest.raises(Invalid):
        workflow_transition(TEST, obj=need, action="no-such-action", actor=manager)
    _nothing_written(need)


def test_a_finished_row_gets_the_finished_error(world):
    _tree, manager, _owner, need = world
    Need.objects.filter(pk=need.pk).update(state="declined", decline_reason="x")
    with pytest.raises(Finished):
        workflow_transition(TEST, obj=need, action="start", actor=manager)
    _nothing_written(need, state="declined")


def test_wrong_actor_is_refused(world):
    tree, manager, owner, need = world
    with pytest.raises(NotYours) as exc:  # the owner has a kind here, not the manager's
        workflow_transition(TEST, obj=need, action="decline", actor=owner, note="不办")
    assert exc.value.code == "test_not_yours" and exc.value.status == 403
    with pytest.raises(Denied):  # nothing to do with this need at all
        workflow_transition(TEST, obj=need, action="start", actor=make_worker())
    with pytest.raises(NotAuthenticated):
        workflow_transition(TEST, obj=need, action="start", actor=None)
    with pytest.raises(Denied):  # a system-only move is not for people
        Need.objects.filter(pk=need.pk).update(state="in_progress")
        workflow_transition(TEST, obj=need, action="expire", actor=make_worker())
    with pytest.raises(NotYours):
        workflow_transition(TEST, obj=need, action="expire", actor=manager)
    _nothing_written(need, state="in_progress")
    step = workflow_transition(TEST, obj=need, action="expire", actor=None, system=True)
    assert step.result.state == "declined" and step.kinds == {SYSTEM}
    assert AuditLog.objects.get(object_type="needs.need", object_id=str(need.pk), action="update").actor is None


def test_reason_required(world):
    _tree, manager, _owner, need = world
    with pytest.raises(Reason):
        workflow_transition(TEST, obj=need, action="decline", actor=manager, note="")
    _nothing_written(need)
    assert workflow_transition(TEST, obj=need, action="decline", actor=manager, note="重复").result.state == "declined"


def test_photo_and_confirmation_required(world):
    _tree, manager, owner, need = world
    Need.objects.filter(pk=need.pk).update(state="in_progress")
    with pytest.raises(Photo):
        workflow_transition(TEST, obj=need, action="solve", actor=owner, photos=[None])
    with pytest.raises(Confirm):
        workflow_transition(TEST, obj=need, action="drop", actor=manager)
    _nothing_written(need, state="in_progress")
    step = workflow_transition(TEST, obj=need, action="solve", actor=owner, photos=["photo.jpg"])
    assert step.photos == ["photo.jpg"] and step.result.state == "solved"
    need2 = make_need(need.jurisdiction, actor=manager, owner=owner)
    Need.objects.filter(pk=need2.pk).update(state="in_progress")
    assert workflow_transition(TEST, obj=need2, action="drop", actor=manager, confirmed=True).result.state == "declined"


def test_prepare_may_refuse_before_anything_is_written(world):
    _tree, manager, _owner, need = world

    def prepare(row, step):
        raise Reason()

    with pytest.raises(Reason):
        workflow_transition(TEST, obj=need, action="start", actor=manager, prepare=prepare)
    _nothing_written(need)


def test_notifications_and_callbacks_only_after_commit(world, django_capture_on_commit_callbacks):
    _tree, manager, owner, need = world
    seen = []

    def apply(row, step):
        step.on_commit(lambda: seen.append(Need.objects.get(pk=row.pk).state))

    # rolled back: nobody is told, the callback never runs
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            workflow_transition(TEST, obj=need, action="start", actor=manager, apply=apply)
            raise RuntimeError("undo")
    assert callbacks == [] and seen == []
    _nothing_written(need)
    # committed: the inbox row is in the step's transaction, the callback runs after commit
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        workflow_transition(TEST, obj=need, action="start", actor=manager, apply=apply)
        assert seen == []  # not before the commit
        assert Notification.objects.filter(user=owner).count() == 1
    assert seen == ["in_progress"]
    assert any(getattr(cb, "__qualname__", "").startswith("test_notifications") for cb in callbacks)


def test_the_callers_instance_is_left_alone_unless_sync(world):
    _tree, manager, _owner, need = world
    step = workflow_transition(TEST, obj=need, action="start", actor=manager)
    assert step.obj is not need and step.obj.state == "in_progress"


# ---- two people, one row -----------------------------------------------------------


def _race(n, fn):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _exactly_one_wins(*, refused_when_locked: bool = False):
    tree = make_jurisdiction_tree()
    managers = [make_staff("community_admin", tree.community) for _ in range(4)]
    need = make_need(tree.community, actor=managers[0])
    gate = threading.Event()

    def prepare(row, step):
        gate.wait(0.2)  # hold the row lock a moment so the others really queue on it

    results = _race(4, lambda i: workflow_transition(TEST, obj=need.pk, action="start", actor=managers[i],
                                                      prepare=prepare))
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, Exception)]
    assert len(wins) == 1, results
    for loss in losses:
        if refused_when_locked and isinstance(loss, OperationalError):
            assert "locked" in str(loss)  # refused at once, before reading anything
        else:
            assert isinstance(loss, Invalid), loss  # waited for the lock, then saw the new state
    assert NeedEvent.objects.filter(need=need, action="start").count() == 1
    assert AuditLog.objects.filter(object_type="needs.need", object_id=str(need.pk), action="update").count() == 1
    assert Need.objects.get(pk=need.pk).state == "in_progress"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite run of the race (this run is on PostgreSQL)")
def test_concurrent_moves_on_one_row_exactly_one_wins_sqlite():
    # Writers take the database's write lock when their transaction begins
    # (transaction_mode IMMEDIATE). On a file database (WAL, busy_timeout) the others
    # wait and then see the new state; the in-memory test database (shared cache) has no
    # busy wait and refuses them at once with "database table is locked". Either way
    # exactly one wins and the others write nothing.
    _exactly_one_wins(refused_when_locked=True)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="no PostgreSQL server for this run: set DATABASE_URL=postgres://... to run the race there")
def test_concurrent_moves_on_one_row_exactly_one_wins_postgresql():
    _exactly_one_wins()

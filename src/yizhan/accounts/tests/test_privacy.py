"""Issue 8, item 10: deleting an account leaves no path back to the person — in the
audit log, the messages (inbox and outbound copies), Django admin's history, and in
every app (the walk of ``core.testing.privacy`` covers apps added later)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.test import override_settings

from yizhan.accounts import services
from yizhan.accounts.errors import InvalidCredentials
from yizhan.accounts.models import ApiToken, LoginThrottle, RoleGrant
from yizhan.core.errors import Message
from yizhan.core.models import AuditLog, Notification, OutboundMessage, WebhookSubscription
from yizhan.core.notifications import notify
from yizhan.core.privacy import DELETED_LABEL, identifiers, scrub
from yizhan.core.testing.factories import (
    DEFAULT_PASSWORD,
    make_staff,
    make_superuser,
    make_worker,
)
from yizhan.core.testing.privacy import (
    assert_no_path_back,
    every_app_with_personal_rows,
    identifiers_of,
    paths_back,
)

PHONE = "13812345678"


@override_settings(YIZHAN_NOTIFY_CHANNELS=("console", "sms"), YIZHAN_NOTIFY_ENQUEUE=False)
def test_delete_cuts_audit_labels_and_messages_loose(tree):
    boss = make_staff("district_admin", tree.district, username="boss")
    clerk = make_staff("community_admin", tree.community, username="wangfang_clerk")
    clerk.display_name, clerk.phone = "王芳书记", PHONE
    clerk.save(update_fields=["display_name", "phone"])
    colleague = make_staff("community_admin", tree.community, username="colleague")
    # The clerk acts (audit rows carry their label and IP), is named in others'
    # messages and audit summaries, receives messages, owns a token and grants a role.
    with pytest.raises(InvalidCredentials):
        services.staff_login(username="wangfang_clerk", password="wrong-password", ip="10.0.0.5")
    services.staff_login(username="wangfang_clerk", password=DEFAULT_PASSWORD, ip="10.0.0.5")
    services.role_grant(actor=boss, user=clerk, role="grid_worker", jurisdiction=tree.grid)
    services.role_grant(actor=clerk, user=colleague, role="grid_worker", jurisdiction=tree.grid)
    services.api_token_create(actor=clerk, user=clerk, name="script")
    notify(user=clerk, kind="case_dispatched", title=Message("派给您的工单", "A case for you"))
    notify(user=colleague, kind="case_dispatched", title=Message("王芳书记转给您的工单", "From 王芳书记"),
           body=Message(f"联系 {PHONE}", f"call {PHONE}"))
    WebhookSubscription.objects.create(jurisdiction=tree.district, name="hook", url="https://example.com/h",
                                       secret="s", created_by=clerk)
    assert AuditLog.objects.filter(actor=clerk).exists()
    assert AuditLog.objects.filter(summary__contains="wangfang_clerk").exists()
    assert OutboundMessage.objects.filter(user=clerk).exists()
    names = identifiers_of(clerk)
    assert {"wangfang_clerk", "王芳书记", PHONE, "138****5678"} <= set(names)

    services.account_delete(actor=clerk, user=clerk)

    assert_no_path_back(None, clerk, identifiers=names)
    # The audit rows stay (the district's record) without the person.
    acted = AuditLog.objects.filter(actor_label=DELETED_LABEL)
    assert acted.exists() and not acted.exclude(actor=None).exists() and not acted.exclude(ip=None).exists()
    assert AuditLog.objects.filter(summary__contains=f"to {DELETED_LABEL}").exists()  # the boss's grant
    about_me = AuditLog.objects.filter(object_type="accounts.user", object_id=str(clerk.pk))
    assert not about_me.exclude(ip=None).exists()
    # Their messages are gone; the colleague's message no longer names them.
    assert not Notification.objects.filter(user=clerk).exists()
    assert not OutboundMessage.objects.filter(user=clerk).exists()
    theirs = Notification.objects.get(user=colleague)
    assert theirs.title_zh == f"{DELETED_LABEL}转给您的工单" and PHONE not in theirs.body_zh
    for msg in OutboundMessage.objects.filter(user=colleague):
        assert "王芳书记" not in str(msg.payload) and PHONE not in str(msg.payload)
    # The grant they gave stays, without its granter; tokens and throttles gone.
    assert RoleGrant.objects.get(user=colleague, role="grid_worker").granted_by_id is None
    assert not ApiToken.objects.filter(user=clerk).exists() and not LoginThrottle.objects.exists()
    assert WebhookSubscription.objects.get().created_by_id is None
    clerk.refresh_from_db()
    assert clerk.last_login is None and not clerk.is_superuser and clerk.username == f"deleted_{clerk.pk}"


def test_delete_cleans_django_admin_history(tree):
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType

    root = make_superuser()
    worker = make_worker(PHONE)
    worker.display_name = "赵小六"
    worker.save(update_fields=["display_name"])
    ct = ContentType.objects.get_for_model(worker)
    LogEntry.objects.create(user=root, content_type=ct, object_id=str(worker.pk), object_repr="赵小六",
                            action_flag=CHANGE, change_message="[]")
    LogEntry.objects.create(user=worker, content_type=ct, object_id=str(worker.pk), object_repr="x",
                            action_flag=CHANGE, change_message="[]")
    names = identifiers_of(worker)
    services.account_delete(actor=worker, user=worker)
    assert_no_path_back(None, worker, identifiers=names)
    assert LogEntry.objects.get().object_repr == DELETED_LABEL


def test_the_walk_finds_a_relation_or_a_name_left_in_any_app(tree):
    """The helper itself: a planted FK or a planted name is found, whatever the app."""
    worker = make_worker(PHONE)
    worker.display_name = "钱多多"
    worker.save(update_fields=["display_name"])
    names = identifiers(worker)
    notify(user=worker, kind="x", title=Message("hi", "hi"))
    assert "Notification.user" in paths_back(worker, identifiers=names)
    Notification.objects.all().delete()
    staff = make_staff("community_admin", tree.community)
    notify(user=staff, kind="x", title=Message("钱多多 来过", "came"))
    found = paths_back(worker, identifiers=names)
    assert "Notification.title_zh contains '钱多多'" in found
    with pytest.raises(AssertionError, match="钱多多"):
        assert_no_path_back(None, worker, identifiers=names)
    # An ASCII name counts as a whole word only: "admin" is not in "community_admin".
    assert scrub("grant community_admin to admin.", ["admin"]) == f"grant community_admin to {DELETED_LABEL}."


def test_every_app_with_personal_rows_has_an_erasure_hook(db):
    """A new app whose models point at people is caught here until it ships a
    ``privacy`` module whose ``erase`` runs on account deletion."""
    from yizhan.accounts.services import DELETION_HOOKS

    try:
        from yizhan.core.manifest import privacy_modules

        manifest_hooks = {getattr(m, "erase", None) for m in privacy_modules()}
    except ImportError:  # before the app manifests
        manifest_hooks = set()
    hooks = set(DELETION_HOOKS) | manifest_hooks
    labels = every_app_with_personal_rows()
    assert {"stations", "reports", "needs"} <= set(labels)
    for label in labels:
        module = importlib.import_module(f"{apps.get_app_config(label).name}.privacy")
        assert module.erase in hooks, label
        assert callable(getattr(module, "EXPORTS", None) and module.EXPORTS[0]), label


def test_delete_ends_the_sessions_on_other_devices(client, tree):
    from django.contrib.sessions.models import Session
    from django.test import Client

    worker = make_worker(PHONE)
    phone = Client()
    phone.force_login(worker)
    client.force_login(worker)
    other = make_worker()
    Client().force_login(other)

    def sessions_of(user):
        return [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk)]

    assert len(sessions_of(worker)) == 2
    assert client.delete("/api/v1/accounts/me").status_code == 204
    assert sessions_of(worker) == [] and len(sessions_of(other)) == 1
    assert phone.get("/api/v1/accounts/me").status_code == 401


def test_delete_unlinks_their_id_in_domain_events(tree):
    from yizhan.core.events import event_emit
    from yizhan.core.models import DomainEvent

    worker = make_worker(PHONE)
    other = make_worker()
    event_emit(name="reports.case_verified", aggregate_type="reports.case", aggregate_id=1,
               payload={"case_id": worker.pk, "reporter_id": worker.pk, "number": "N1"})
    event_emit(name="reports.case_verified", aggregate_type="reports.case", aggregate_id=2,
               payload={"case_id": 2, "reporter_id": other.pk, "number": "N2"})
    names = identifiers_of(worker)
    assert "DomainEvent.payload holds their id" in paths_back(worker, identifiers=names)
    services.account_delete(actor=worker, user=worker)
    assert_no_path_back(None, worker, identifiers=names)
    payloads = {e.aggregate_id: e.payload for e in DomainEvent.objects.all()}
    # Only the person key is cut; a case id that happens to equal theirs stays.
    assert payloads["1"] == {"case_id": worker.pk, "reporter_id": None, "number": "N1"}
    assert payloads["2"]["reporter_id"] == other.pk

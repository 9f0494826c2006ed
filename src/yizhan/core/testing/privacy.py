"""Test helpers for the PIPL export/erasure hooks every app registers.

``assert_no_path_back`` walks the models itself, so a new app (or a new model, FK or
text field) is covered by the existing tests without writing a new one:

* every relation to the user model — ForeignKey, OneToOneField and the rows of every
  ManyToMany table — in every model of the apps looked at: no row may point at the
  deleted person;
* every JSONField: no payload may keep their id under a person key ("reporter_id", …,
  ``core.privacy.PERSON_KEYS``);
* every text field (CharField, TextField and their subclasses) and JSONField: no row
  may contain one of the strings that named the person before the deletion (take
  them with ``identifiers_of(user)`` *before* deleting; username, display name, phone
  and masked phone, e-mail, ID number).

``every_app_with_personal_rows`` lists the apps whose models point at the user model:
each must have a ``<app>.privacy`` module with an ``erase`` hook that
``account_delete`` runs (see ``accounts.tests.test_privacy``).
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.db import models

from yizhan.core.privacy import identifiers as identifiers_of
from yizhan.core.privacy import names_in, person_key_match, text_match, with_json_text

# Apps whose rows about a person the accounts and core erasure handle themselves.
CORE_APPS = {"accounts", "core", "admin", "auth", "contenttypes", "sessions"}


def _user_model():
    return apps.get_model(settings.AUTH_USER_MODEL)


def _models(app_label: str | None):
    if app_label is None:
        return apps.get_models(include_auto_created=True)
    return apps.get_app_config(app_label).get_models(include_auto_created=True)


def user_relations(model) -> list[models.ForeignKey]:
    """The FK / one-to-one fields of ``model`` that point at the user model (a
    many-to-many shows up as the FKs of its auto-created through model)."""
    user_model = _user_model()
    return [
        f for f in model._meta.get_fields()
        if isinstance(f, models.ForeignKey) and not f.auto_created and f.related_model is user_model
    ]


def text_fields(model) -> tuple[list[str], list[str]]:
    """(char/text field names, JSON field names) of ``model``."""
    plain, json = [], []
    for f in model._meta.get_fields():
        if getattr(f, "concrete", False) and not f.is_relation:
            if isinstance(f, models.JSONField):
                json.append(f.name)
            elif isinstance(f, (models.CharField, models.TextField)):
                plain.append(f.name)
    return plain, json


def paths_back(user, *, app_label: str | None = None, identifiers=(), kept_on_shell=frozenset()) -> list[str]:
    """Every way back to ``user`` left in the database: "Model.field" for a relation
    that still points at them, "Model.field contains 'x'" for a text that names them."""
    found: list[str] = []
    needles = [n for n in identifiers if n]
    for model in _models(app_label):
        name = model.__name__
        for f in user_relations(model):
            if f"{name}.{f.name}" in kept_on_shell:
                continue
            if model._default_manager.filter(**{f.name: user}).exists():
                found.append(f"{name}.{f.name}")
        plain, json = text_fields(model)
        for field in json:  # a person's id kept in a payload ("reporter_id": 12)
            if model._default_manager.filter(person_key_match(field, user)).exists():
                found.append(f"{name}.{field} holds their id")
        if not needles or not (plain or json):
            continue
        qs = with_json_text(model._default_manager.all(), json)
        if not qs.filter(text_match(plain, needles, json_fields=json)).exists():
            continue  # one query per model; the details only when something is there
        for field in plain + json:
            match = text_match([] if field in json else [field], needles, json_fields=[field] if field in json else [])
            hits = set()
            for value in qs.filter(match).values_list(field, flat=True):
                hits.update(names_in(value, needles))  # whole words for ASCII names (core.privacy)
            found.extend(f"{name}.{field} contains {needle!r}" for needle in sorted(hits))
    return found


def assert_no_path_back(app_label: str | None, user, *, kept_on_shell=frozenset(), identifiers=()) -> None:
    """No row of ``app_label`` (None: of every installed app) points at ``user`` or
    names them (``identifiers``, taken before the deletion). ``kept_on_shell``
    ("Model.field") is for a relation an app documents as kept on the anonymous shell;
    none is left today."""
    found = paths_back(user, app_label=app_label, identifiers=identifiers, kept_on_shell=set(kept_on_shell))
    assert not found, "paths back to the deleted person: " + ", ".join(found)


def every_app_with_personal_rows() -> list[str]:
    """Labels of the apps (other than accounts/core/Django's) whose models point at the user model."""
    labels = set()
    for model in apps.get_models(include_auto_created=True):
        if user_relations(model):
            labels.add(model._meta.app_label)
    return sorted(labels - CORE_APPS)


__all__ = ["assert_no_path_back", "every_app_with_personal_rows", "identifiers_of", "paths_back"]

"""Test helpers for the PIPL export/erasure hooks every app registers."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.db.models import ForeignKey


def assert_no_path_back(app_label: str, user, *, kept_on_shell: set[str]) -> None:
    """Every FK to the user model in the app: nullable ones no longer point at
    ``user``; not-null ones only where the module docstring says the row stays on the
    anonymous shell (``kept_on_shell``: "Model.field")."""
    for model in apps.get_app_config(app_label).get_models():
        for f in model._meta.get_fields():
            if not isinstance(f, ForeignKey) or f.related_model._meta.label != settings.AUTH_USER_MODEL:
                continue
            if f"{model.__name__}.{f.name}" in kept_on_shell:
                continue
            assert not model.objects.filter(**{f.name: user}).exists(), f"{model.__name__}.{f.name}"

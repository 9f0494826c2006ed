"""Mounted at /audit/ by config/urls.py."""

from django.urls import path

from yizhan.core import views

app_name = "core"
urlpatterns = [
    path("", views.audit_view, name="audit"),
]

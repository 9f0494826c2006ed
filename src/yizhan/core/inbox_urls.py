"""Mounted at /inbox/ by config/urls.py."""

from django.urls import path

from yizhan.core import views

app_name = "inbox"
urlpatterns = [
    path("", views.inbox_view, name="list"),
    path("settings/", views.notification_settings_view, name="settings"),
]

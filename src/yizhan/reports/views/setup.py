"""Reports pages (setup: categories, calendar, departments, duty, templates)."""

urlpatterns: list = []

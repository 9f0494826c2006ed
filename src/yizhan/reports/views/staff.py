"""Reports pages (staff)."""

urlpatterns: list = []

"""Reports pages (public)."""

urlpatterns: list = []

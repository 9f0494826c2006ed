"""Reports pages (figures)."""

urlpatterns: list = []

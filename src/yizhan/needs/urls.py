"""Pages of the needs app (suggestion box, wish wall, needs forums)."""

app_name = "needs"
urlpatterns: list = []

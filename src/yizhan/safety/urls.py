"""Pages of the fire-safety app (/safety/...)."""

from django.urls import path

from yizhan.safety.views import inspections, monthly, places, respond, wall

app_name = "safety"
urlpatterns = [
    path("safety/wall/", wall.wall, name="wall"),
    path("safety/wall/stream/", wall.stream, name="wall_stream"),
    path("safety/wall/cells.json", wall.cells, name="wall_cells"),
    path("safety/respond/", respond.respond, name="respond"),
    path("safety/respond/duty/", respond.respond_duty, name="respond_duty"),
    path("safety/respond/<int:assignment_id>/", respond.respond_detail, name="respond_detail"),
    path("safety/respond/<int:assignment_id>/act/", respond.respond_act, name="respond_act"),
    path("safety/reports/monthly/", monthly.monthly, name="monthly_report"),
    path("safety/inspections/", inspections.inspections, name="inspections"),
    path("safety/places/", places.places, name="places"),
]

"""Pages of the fire-safety app (/safety/...)."""

from django.urls import path

from yizhan.safety.views import inspections, places, respond, wall

app_name = "safety"
urlpatterns = [
    path("safety/wall/", wall.wall, name="wall"),
    path("safety/wall/stream/", wall.stream, name="wall_stream"),
    path("safety/respond/", respond.respond, name="respond"),
    path("safety/inspections/", inspections.inspections, name="inspections"),
    path("safety/places/", places.places, name="places"),
]

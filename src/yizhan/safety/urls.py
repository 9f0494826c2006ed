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
    path("safety/inspections/new/", inspections.inspection_new, name="inspection_new"),
    path("safety/inspections/<int:inspection_id>/", inspections.inspection_detail, name="inspection_detail"),
    path("safety/inspections/<int:inspection_id>/rectify/", inspections.inspection_rectify, name="inspection_rectify"),
    path("safety/places/", places.places, name="places"),
    path("safety/places/import/", places.places_import, name="places_import"),
    path("safety/places/import/template.xlsx", places.places_import_template, name="places_import_template"),
    path("safety/places/<int:place_id>/", places.place_detail, name="place_detail"),
    path("safety/places/<int:place_id>/active/", places.place_toggle, name="place_toggle"),
    path("safety/devices/", places.devices, name="devices"),
    path("safety/devices/<int:device_id>/", places.device_detail, name="device_detail"),
    path("safety/devices/<int:device_id>/active/", places.device_toggle, name="device_toggle"),
    path("safety/rejects/", places.rejects, name="rejects"),
]

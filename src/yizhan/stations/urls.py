from django.urls import path

from yizhan.stations import views

app_name = "stations"
urlpatterns = [
    path("", views.finder, name="finder"),
    path("stations/nearby/partial", views.nearby_partial, name="nearby_partial"),
    path("maps/outline.json", views.map_outline, name="map_outline"),
    path("stations/<str:code>/", views.detail, name="detail"),
    path("stations/<str:code>/review/", views.review, name="review"),
    path("c/<str:token>/", views.checkin, name="checkin"),
    path("c/<str:token>/report/", views.checkin_report, name="checkin_report"),
    path("keeper/", views.keeper_home, name="keeper_home"),
    path("keeper/stations/<str:code>/", views.keeper_station, name="keeper_station"),
    path("keeper/stations/<str:code>/supplies/<str:item>/", views.keeper_supply, name="keeper_supply"),
    path("keeper/stations/<str:code>/thresholds/<str:item>/", views.keeper_threshold,
         name="keeper_threshold"),
    path("keeper/stations/<str:code>/donations/", views.keeper_donation, name="keeper_donation"),
    path("keeper/stations/<str:code>/reports/<int:report_id>/resolve/", views.keeper_resolve,
         name="keeper_resolve"),
    path("keeper/stations/<str:code>/photos/", views.keeper_photo, name="keeper_photo"),
    path("keeper/stations/<str:code>/photos/<int:photo_id>/remove/", views.keeper_photo_remove,
         name="keeper_photo_remove"),
    path("keeper/stations/<str:code>/qr/", views.keeper_qr, name="keeper_qr"),
    path("manage/stations/", views.manage_list, name="manage_list"),
    path("manage/stations/new/", views.manage_edit, name="manage_new"),
    path("manage/stations/<str:code>/edit/", views.manage_edit, name="manage_edit"),
    path("manage/import/", views.manage_import, name="manage_import"),
    path("manage/import/template.xlsx", views.manage_import_template, name="manage_import_template"),
    path("manage/coverage/", views.manage_coverage, name="manage_coverage"),
]

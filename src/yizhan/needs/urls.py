"""Pages of the needs app (suggestion box, wish wall, needs forums)."""

from django.urls import path

from yizhan.needs import views

app_name = "needs"
urlpatterns = [
    path("needs/", views.home, name="home"),
    path("needs/wishes/new/", views.wish_new, name="wish_new"),
    path("needs/wishes/<int:wish_id>/support/", views.wish_support, name="wish_support"),
    path("needs/suggest/", views.suggest, name="suggest"),
    path("needs/track/", views.track, name="track"),
    path("needs/mine/", views.mine, name="mine"),
    path("needs/staff/", views.staff, name="staff"),
    path("needs/staff/suggestions/<int:suggestion_id>/", views.staff_suggestion, name="staff_suggestion"),
    path("needs/staff/wishes/<int:wish_id>/act/", views.staff_wish_action, name="staff_wish_action"),
    path("needs/staff/forums/new/", views.staff_forum_new, name="staff_forum_new"),
    path("needs/staff/forums/<int:forum_id>/", views.staff_forum, name="staff_forum"),
    path("needs/staff/needs/<int:need_id>/", views.staff_need, name="staff_need"),
]

from django.contrib.auth import views as auth_views
from django.urls import path

from yizhan.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.staff_login_view, name="login"),
    path("otp/", views.otp_view, name="otp"),
    path("logout/", auth_views.LogoutView.as_view(next_page="/"), name="logout"),
    path("me/", views.me_view, name="me"),
    path("me/export/", views.me_export_view, name="me_export"),
    path("me/delete/", views.me_delete_view, name="me_delete"),
    path("tokens/", views.tokens_view, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke_view, name="token_revoke"),
]

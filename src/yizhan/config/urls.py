from django.contrib import admin
from django.urls import include, path

from yizhan.config.api import api
from yizhan.core.media import media_urlpatterns

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("yizhan.accounts.urls")),
    path("audit/", include("yizhan.core.urls")),
    path("inbox/", include("yizhan.core.inbox_urls")),
    path("", include("yizhan.reports.urls")),
    path("", include("yizhan.needs.urls")),
    path("open311/v2/", include("yizhan.reports.open311_urls")),
    path("", include("yizhan.stations.urls")),
]
# only the public media prefixes, in every mode; originals go through permission-checked views
urlpatterns += media_urlpatterns()

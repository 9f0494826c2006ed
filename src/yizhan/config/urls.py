from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from yizhan.config.api import api

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
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

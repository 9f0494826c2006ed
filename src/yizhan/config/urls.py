from django.contrib import admin
from django.urls import include, path

from yizhan.config.api import api
from yizhan.core.manifest import url_mounts
from yizhan.core.media import media_urlpatterns

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]
# each installed app's pages, in the order their manifests give (AppManifest.urls)
urlpatterns += [path(prefix, include(module)) for prefix, module in url_mounts()]
# only the public media prefixes, in every mode; originals go through permission-checked views
urlpatterns += media_urlpatterns()

"""Open311 GeoReport v2 at /open311/v2/ (views in ``reports.open311``). Every resource
takes a ``.json`` or ``.xml`` suffix; anything else below /open311/v2/ is an Open311 404."""

from django.urls import path, re_path

from yizhan.reports import open311

app_name = "open311"

F = r"\.(?P<fmt>json|xml)$"
urlpatterns = [
    path("", open311.discovery, name="root"),
    re_path(r"^discovery" + F, open311.discovery, name="discovery"),
    re_path(r"^services" + F, open311.service_list, name="services"),
    re_path(r"^services/(?P<code>[A-Za-z0-9_]+)" + F, open311.service_definition, name="service"),
    re_path(r"^requests" + F, open311.requests_view, name="requests"),
    re_path(r"^requests/(?P<number>[A-Za-z0-9_-]+)" + F, open311.request_detail, name="request"),
    re_path(r"^tokens/(?P<token>[A-Za-z0-9_-]+)" + F, open311.token_detail, name="token"),
    re_path(r"^servicerequestupdates" + F, open311.service_request_updates, name="updates"),
    re_path(r"^.*$", open311.unknown, name="unknown"),
]

"""``/api/v1/docs``: Swagger UI from the vendored ``static/vendor/swagger-ui`` (npm
``swagger-ui-dist``, fetched by ``scripts/vendor_frontend.sh``), never a CDN. ninja's own
docs page loads it from jsDelivr when ``ninja`` is not an installed app, which left the
page blank offline and behind a Content-Security-Policy."""

from __future__ import annotations

from django.shortcuts import render
from ninja.openapi.docs import Swagger


class VendoredSwagger(Swagger):
    template = "core/api_docs.html"
    default_settings = {"layout": "BaseLayout", "deepLinking": True, "docExpansion": "list",
                        "defaultModelsExpandDepth": 0}

    def render_page(self, request, api, **kwargs):
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        return render(request, self.template, {"swagger_settings": dict(self.settings), "api": api})

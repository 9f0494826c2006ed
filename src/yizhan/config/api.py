"""The one NinjaAPI: mounts each app's router and renders every AppError."""

from ninja import NinjaAPI

from yizhan.core.api_auth import api_auth
from yizhan.core.api_docs import VendoredSwagger
from yizhan.core.api_errors import install_error_handlers, render_error  # noqa: F401
from yizhan.core.manifest import api_mounts, resolve

api = NinjaAPI(
    title="Yizhan 驿站 API",
    version="1",
    description="Service and community-governance platform for gig workers. Errors are "
    '`{"code", "message": {"zh", "en"}, "field"}`.',
    urls_namespace="api",
    auth=api_auth,
    docs=VendoredSwagger(),  # Swagger UI from static/vendor/swagger-ui, no CDN
)
install_error_handlers(api)


def _mount():
    """Each installed app's router, from its manifest (``AppManifest.api_router``)."""
    for prefix, router in api_mounts():
        api.add_router(prefix, resolve(router))


_mount()

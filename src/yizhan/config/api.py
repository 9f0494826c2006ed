"""The one NinjaAPI: mounts each app's router and renders every AppError."""

from ninja import NinjaAPI

from yizhan.core.api_auth import api_auth
from yizhan.core.api_errors import install_error_handlers, render_error  # noqa: F401

api = NinjaAPI(
    title="Yizhan 驿站 API",
    version="1",
    description="Service and community-governance platform for gig workers. Errors are "
    '`{"code", "message": {"zh", "en"}, "field"}`.',
    urls_namespace="api",
    auth=api_auth,
)
install_error_handlers(api)


def _mount():
    from yizhan.accounts.api import router as accounts_router
    from yizhan.core.api import router as core_router
    from yizhan.jurisdictions.api import router as jurisdictions_router
    from yizhan.reports.api import router as reports_router
    from yizhan.stations.api import router as stations_router

    api.add_router("/accounts", accounts_router)
    api.add_router("/jurisdictions", jurisdictions_router)
    api.add_router("/stations", stations_router)
    api.add_router("/reports", reports_router)
    api.add_router("/core", core_router)
    api.add_router("/needs", "yizhan.needs.api.router")


_mount()

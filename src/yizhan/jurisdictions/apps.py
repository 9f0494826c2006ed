from django.apps import AppConfig

from yizhan.core.manifest import AppManifest
from yizhan.core.permissions import ADMINS


class JurisdictionsConfig(AppConfig):
    name = "yizhan.jurisdictions"
    label = "jurisdictions"
    verbose_name = "辖区 Jurisdictions"
    manifest = AppManifest(
        api_router="yizhan.jurisdictions.api.router", api_prefix="/jurisdictions", api_order=20,
        roles={
            **{admin: {"jurisdictions.view"} for admin in ADMINS},
            # District and city admins also edit the tree and the boundaries.
            "district_admin": {"jurisdictions.view", "jurisdictions.manage"},
            "city_admin": {"jurisdictions.view", "jurisdictions.manage"},
        },
        caches=["yizhan.jurisdictions.locate.locate_index_invalidate"],
    )

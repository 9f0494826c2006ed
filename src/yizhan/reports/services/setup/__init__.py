"""Writes that set the reports app up: the category taxonomy and its time limits,
departments and their members, the working calendar, the grid duty roster and the
reply templates.

Every service takes keyword-only arguments with ``actor`` first, checks
``reports.configure`` (district and city admins) through ``core.permissions``, runs
in one transaction and leaves an audit row in it. Categories are global (one
taxonomy for the platform), so editing one needs ``reports.configure`` on any node;
everything else is checked on its jurisdiction. ``actor=None`` is the system (seed
data, demo, tests) and is only accepted by the two loaders of the shipped data.
"""


from yizhan.reports.services.setup.calendar import (
    calendar_day_remove,
    calendar_day_set,
    calendar_set,
)
from yizhan.reports.services.setup.common import (
    LIMIT_FIELDS,
    MAX_LIMIT_MINUTES,  # noqa: F401  (re-exported: views.setup)
    category_clean,  # noqa: F401
    clean_extra_fields,  # noqa: F401
    default_departments_data,
    require_platform_configure,
    taxonomy_data,
)
from yizhan.reports.services.setup.departments import (
    department_create,
    department_defaults_create,
    department_member_add,
    department_member_remove,
    department_update,
)
from yizhan.reports.services.setup.duty import grid_duty_remove, grid_duty_set
from yizhan.reports.services.setup.reply_templates import reply_template_delete, reply_template_save
from yizhan.reports.services.setup.taxonomy import (
    category_override_reset,
    category_taxonomy_load,
    category_update,
)

__all__ = [
    "LIMIT_FIELDS",
    "category_taxonomy_load",
    "category_update",
    "category_override_reset",
    "require_platform_configure",
    "department_defaults_create",
    "department_create",
    "department_update",
    "department_member_add",
    "department_member_remove",
    "calendar_set",
    "calendar_day_set",
    "calendar_day_remove",
    "grid_duty_set",
    "grid_duty_remove",
    "reply_template_save",
    "reply_template_delete",
    "taxonomy_data",
    "default_departments_data",
]

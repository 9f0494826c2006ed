"""Every write of the reports app (a package: one module per area, one owner each).

    from yizhan.reports import services
    services.case_submit(actor=..., ...)

cases/      submitting, the workflow transitions, photos, who is told, clocks (a package)
setup/      taxonomy, categories, working calendar, departments, duty roster, reply templates
open311.py  Open311 client keys
"""

from yizhan.reports.services.cases import *  # noqa: F403
from yizhan.reports.services.open311 import *  # noqa: F403
from yizhan.reports.services.setup import *  # noqa: F403

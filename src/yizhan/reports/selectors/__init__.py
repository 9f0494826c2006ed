"""Every read other code may call (a package: one module per area, one owner each)."""

from yizhan.reports.selectors.cases import *  # noqa: F403
from yizhan.reports.selectors.setup import *  # noqa: F403

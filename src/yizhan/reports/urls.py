"""Every page of the reports app: the public and reporter pages (/reports/), the grid
worker's inbox (/work/), the dispatch console, its figures and settings (/dispatch/)."""

from yizhan.reports.views import figures, public, setup, staff

app_name = "reports"
urlpatterns = public.urlpatterns + staff.urlpatterns + figures.urlpatterns + setup.urlpatterns

"""Every page of the reports app: the public and reporter pages (/reports/), the grid
worker's inbox (/work/), the dispatch console and its figures (/dispatch/)."""

from yizhan.reports.views import figures, public, staff

app_name = "reports"
urlpatterns = public.urlpatterns + staff.urlpatterns + figures.urlpatterns

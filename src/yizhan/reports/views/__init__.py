"""Pages of the reports app, one module per audience; each module has ``urlpatterns``."""

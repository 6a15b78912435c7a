"""Public (non-API, non-portal) routes of this app, mounted at the site root."""

urlpatterns: list = []

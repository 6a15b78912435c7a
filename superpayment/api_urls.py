"""The merchant REST API, mounted at /v1/."""

urlpatterns: list = []

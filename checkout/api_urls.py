"""Merchant API routes of this app, mounted under /v1/."""

urlpatterns: list = []

"""Portal pages of this app, mounted under /dashboard/<slug>/ in the `portal` namespace."""

urlpatterns: list = []

"""Portal pages of this app, mounted under /dashboard/<slug>/ in the `portal` namespace."""

from django.urls import path

from webhooks import portal_views as views

urlpatterns = [
    path("webhooks/", views.webhooks_page, name="webhooks"),
    path("webhooks/events/", views.webhook_events, name="webhook_events"),
    path("webhooks/<str:endpoint_id>/", views.webhook_detail, name="webhook_detail"),
    path("webhooks/<str:endpoint_id>/rotate/", views.webhook_rotate, name="webhook_rotate"),
    path("webhooks/<str:endpoint_id>/test/", views.webhook_test, name="webhook_test"),
    path("webhooks/<str:endpoint_id>/delete/", views.webhook_delete, name="webhook_delete"),
    path("webhooks/<str:endpoint_id>/recover/", views.webhook_recover, name="webhook_recover"),
    path(
        "webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>/",
        views.webhook_delivery,
        name="webhook_delivery",
    ),
]

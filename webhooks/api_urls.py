"""Merchant API routes of this app, mounted under /v1/."""

from django.urls import path

from webhooks.api import views

urlpatterns = [
    path(
        "webhook_endpoints",
        views.EndpointListCreateView.as_view(),
        name="api-webhook-endpoints",
    ),
    path(
        "webhook_endpoints/<str:endpoint_id>",
        views.EndpointDetailView.as_view(),
        name="api-webhook-endpoint",
    ),
    path(
        "webhook_endpoints/<str:endpoint_id>/rotate_secret",
        views.EndpointRotateView.as_view(),
        name="api-webhook-endpoint-rotate",
    ),
    path(
        "webhook_endpoints/<str:endpoint_id>/test",
        views.EndpointTestView.as_view(),
        name="api-webhook-endpoint-test",
    ),
    path("events", views.EventListView.as_view(), name="api-events"),
    path("events/<str:event_id>", views.EventDetailView.as_view(), name="api-event"),
]

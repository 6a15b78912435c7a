"""Webhook endpoints and events over the API (secret key). A key sees only its own mode."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from superpayment.api.fields import StrictBooleanField, StrictCharField, StrictChoiceField
from superpayment.api.idempotency import idempotent
from superpayment.api.pagination import PAGE_PARAMETERS, ListPagination, page_of
from webhooks.endpoints import (
    endpoint_create,
    endpoint_data_object,
    endpoint_delete,
    endpoint_secret_rotate,
    endpoint_test_send,
    endpoint_update,
)
from webhooks.events import ALL_EVENTS, SUBSCRIBABLE, EventType
from webhooks.selectors import endpoint_get, endpoint_list, event_get, event_list

TAG_ENDPOINTS = ["Webhook endpoints"]
TAG_EVENTS = ["Events"]
EVENT_CHOICES = [ALL_EVENTS, *SUBSCRIBABLE]


class EndpointSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(help_text='Always "webhook_endpoint".')
    version = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField()
    enabled_events = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField(help_text="`enabled` or `disabled`.")
    disabled_reason = serializers.CharField(allow_null=True)
    livemode = serializers.BooleanField()
    created = serializers.IntegerField(help_text="Unix time.")


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(
        help_text="`whsec_…`: shown only when the endpoint is created or its secret rotated."
    )


class EndpointDeletedSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(help_text='Always "webhook_endpoint".')
    deleted = serializers.BooleanField(help_text="Always true.")


class EndpointCreateSerializer(serializers.Serializer):
    url = StrictCharField(max_length=2048, help_text="An https URL on a public address.")
    enabled_events = serializers.ListField(
        child=StrictChoiceField(choices=EVENT_CHOICES),
        min_length=1,
        max_length=len(EVENT_CHOICES),
    )
    description = StrictCharField(max_length=500, required=False, allow_blank=True)


class EndpointUpdateSerializer(serializers.Serializer):
    url = StrictCharField(max_length=2048, required=False)
    enabled_events = serializers.ListField(
        child=StrictChoiceField(choices=EVENT_CHOICES),
        min_length=1,
        max_length=len(EVENT_CHOICES),
        required=False,
    )
    description = StrictCharField(max_length=500, required=False, allow_blank=True)
    disabled = StrictBooleanField(required=False)


class RotateSerializer(serializers.Serializer):
    expires_in = StrictChoiceField(
        choices=["now", "24h"],
        default="24h",
        help_text="When the old secret stops signing: now, or after 24 h of overlap.",
    )


class EventSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(help_text='Always "event".')
    type = serializers.CharField()
    created = serializers.IntegerField(help_text="Unix time.")
    livemode = serializers.BooleanField()
    api_version = serializers.CharField()
    data = serializers.DictField(help_text='`{"object": {...}}`: the object as it was then.')


def _endpoint_body(endpoint, *, with_secret: bool = False) -> dict:
    body = endpoint_data_object(endpoint)
    if with_secret:
        body["secret"] = endpoint.secret
    return body


def _valid(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class EndpointListCreateView(APIView):
    @extend_schema(
        operation_id="webhook_endpoints_list",
        summary="List webhook endpoints",
        responses=page_of(EndpointSerializer),
        tags=TAG_ENDPOINTS,
    )
    def get(self, request: Request) -> Response:
        endpoints = endpoint_list(livemode=request.auth.livemode)
        return Response(
            {
                "object": "list",
                "data": [_endpoint_body(e) for e in endpoints],
                "has_more": False,
                "next_cursor": None,
            }
        )

    @extend_schema(
        operation_id="webhook_endpoints_create",
        summary="Create a webhook endpoint",
        description="The answer carries the signing secret (`whsec_…`); it is shown only now.",
        request=EndpointCreateSerializer,
        responses={201: EndpointWithSecretSerializer},
        tags=TAG_ENDPOINTS,
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = _valid(EndpointCreateSerializer, request)
        endpoint = endpoint_create(livemode=request.auth.livemode, **data)
        return Response(_endpoint_body(endpoint, with_secret=True), status=status.HTTP_201_CREATED)


class EndpointDetailView(APIView):
    @extend_schema(
        operation_id="webhook_endpoints_retrieve",
        summary="Retrieve a webhook endpoint",
        responses=EndpointSerializer,
        tags=TAG_ENDPOINTS,
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        endpoint = endpoint_get(endpoint_id=endpoint_id, livemode=request.auth.livemode)
        return Response(_endpoint_body(endpoint))

    @extend_schema(
        operation_id="webhook_endpoints_update",
        summary="Update a webhook endpoint",
        description="`disabled: true` stops deliveries; `false` enables the endpoint again.",
        request=EndpointUpdateSerializer,
        responses=EndpointSerializer,
        tags=TAG_ENDPOINTS,
    )
    @idempotent
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = endpoint_get(endpoint_id=endpoint_id, livemode=request.auth.livemode)
        data = _valid(EndpointUpdateSerializer, request)
        disabled = data.pop("disabled", None)
        endpoint = endpoint_update(
            endpoint=endpoint, enabled=None if disabled is None else not disabled, **data
        )
        return Response(_endpoint_body(endpoint))

    @extend_schema(
        operation_id="webhook_endpoints_delete",
        summary="Delete a webhook endpoint",
        responses={200: EndpointDeletedSerializer},
        tags=TAG_ENDPOINTS,
    )
    def delete(self, request: Request, endpoint_id: str) -> Response:
        endpoint = endpoint_get(endpoint_id=endpoint_id, livemode=request.auth.livemode)
        public_id = endpoint.public_id
        endpoint_delete(endpoint=endpoint)
        return Response({"id": public_id, "object": "webhook_endpoint", "deleted": True})


class EndpointRotateView(APIView):
    @extend_schema(
        operation_id="webhook_endpoints_rotate_secret",
        summary="Rotate the signing secret",
        description=(
            "A new secret at once. During the overlap every delivery carries two signatures "
            "(new and old) in `webhook-signature`, so receivers swap secrets without downtime."
        ),
        request=RotateSerializer,
        responses=EndpointWithSecretSerializer,
        tags=TAG_ENDPOINTS,
    )
    @idempotent
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = endpoint_get(endpoint_id=endpoint_id, livemode=request.auth.livemode)
        data = _valid(RotateSerializer, request)
        endpoint = endpoint_secret_rotate(endpoint=endpoint, overlap=data["expires_in"])
        return Response(_endpoint_body(endpoint, with_secret=True))


class EndpointTestView(APIView):
    @extend_schema(
        operation_id="webhook_endpoints_test",
        summary="Send a test event",
        description="Delivers a `test.webhook` event to this endpoint only.",
        request=None,
        responses={202: EventSerializer},
        tags=TAG_ENDPOINTS,
    )
    @idempotent
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = endpoint_get(endpoint_id=endpoint_id, livemode=request.auth.livemode)
        event = endpoint_test_send(endpoint=endpoint)
        return Response(event.payload(), status=status.HTTP_202_ACCEPTED)


class EventListView(APIView):
    @extend_schema(
        operation_id="events_list",
        summary="List events",
        description="Events of the last 30 days, newest first: reconcile what you missed.",
        parameters=[
            OpenApiParameter("type", OpenApiTypes.STR, enum=[t.value for t in EventType]),
            *PAGE_PARAMETERS,
        ],
        responses=page_of(EventSerializer),
        tags=TAG_EVENTS,
    )
    def get(self, request: Request) -> Response:
        event_type = request.query_params.get("type")
        if event_type is not None and event_type not in {t.value for t in EventType}:
            raise serializers.ValidationError({"type": [f"Unknown event type {event_type!r}."]})
        events = event_list(livemode=request.auth.livemode, type=event_type)
        paginator = ListPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response([event.payload() for event in page])


class EventDetailView(APIView):
    @extend_schema(
        operation_id="events_retrieve",
        summary="Retrieve an event",
        responses=EventSerializer,
        tags=TAG_EVENTS,
    )
    def get(self, request: Request, event_id: str) -> Response:
        return Response(event_get(event_id=event_id, livemode=request.auth.livemode).payload())

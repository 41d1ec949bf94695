"""The popup API: events (impression, close), subscribe, web push.

Public endpoints called by ``popup.js`` from the shop's own pages. They take JSON only,
need no login and no CSRF token (see ``permissions`` for why that is safe), are rate
limited (``throttles``), and answer bad input with a 400 naming the field and the fix.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, Throttled
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ..core.tokens import form_token
from ..models import PopupEvent
from ..popups.subscribe import SubscriptionFailed, subscribe
from ..push.subscriptions import subscribe_push
from . import serializers, throttles
from .permissions import SameOrigin


class ErrorSerializer(serializers.serializers.Serializer):
    detail = serializers.serializers.CharField()


# What every endpoint may answer besides success; 400s name the fields at fault.
ERRORS = {
    400: OpenApiResponse(description="Invalid input: {field: [messages]} or non_field_errors."),
    403: OpenApiResponse(ErrorSerializer, description="Not sent from the shop's own pages."),
    415: OpenApiResponse(ErrorSerializer, description="The body is not application/json."),
    429: OpenApiResponse(ErrorSerializer, description="Rate limited; see Retry-After."),
}


class TryLater(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("We could not save that just now. Please try again in a moment.")
    default_code = "unavailable"


class PopupAPIView(APIView):
    # No authentication: nothing here is authorised by who the visitor is, and DRF's
    # session authentication would demand a CSRF token cached pages cannot carry.
    authentication_classes = []
    permission_classes = [SameOrigin]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    # drf-spectacular's, whatever the project's DEFAULT_SCHEMA_CLASS: the schema view and
    # @extend_schema below build on it.
    schema = AutoSchema()

    def throttled(self, request, wait):
        raise Throttled(wait, detail=str(_("Too many attempts. Please try again later.")))

    def validated(self, serializer_class, request):
        serializer = serializer_class(data=request.data, context={"request": request._request})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


@extend_schema(
    operation_id="popup_event",
    summary="Record that a popup was shown or closed",
    request=serializers.EventSerializer,
    responses={
        201: OpenApiResponse(
            serializers.EventResponseSerializer, description="Shown: the form token."
        ),
        204: OpenApiResponse(description="Closed: recorded."),
        **ERRORS,
    },
)
class PopupEventView(PopupAPIView):
    throttle_classes = [throttles.EventsPerIP]

    def post(self, request):
        data = self.validated(serializers.EventSerializer, request)
        variant = data["variant"]
        PopupEvent.objects.create(popup=variant.popup, variant=variant, kind=data["kind"])
        if data["kind"] == "close":
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response({"token": form_token(variant)}, status=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="popup_subscribe",
    summary="Subscribe through a popup",
    description="Creates or completes the contact, records each ticked consent with "
    "the wording shown, and returns the gift; under double opt-in it mails a link "
    "instead, and the gift comes with the confirmation.",
    request=serializers.SubscribeSerializer,
    responses={
        201: serializers.SubscribeResponseSerializer,
        **ERRORS,
        503: OpenApiResponse(ErrorSerializer, description="Could not be saved; try again."),
    },
)
class SubscribeView(PopupAPIView):
    throttle_classes = [throttles.SubscribePerIP, throttles.SubscribePerEmail]

    def post(self, request):
        data = self.validated(serializers.SubscribeSerializer, request)
        try:
            result = subscribe(request._request, **data)
        except SubscriptionFailed:
            raise TryLater() from None
        body = {"status": result.status, "gift": result.gift}
        response = serializers.SubscribeResponseSerializer(body).data
        return Response(response, status=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="push_subscribe",
    summary="Store the browser's web push subscription given from a popup",
    request=serializers.PushSubscribeSerializer,
    responses={201: serializers.PushResponseSerializer, **ERRORS},
)
class PushSubscriptionView(PopupAPIView):
    throttle_classes = [throttles.PushPerIP]

    def post(self, request):
        data = self.validated(serializers.PushSubscribeSerializer, request)
        subscribe_push(request._request, data["variant"], data["subscription"])
        return Response({"status": "subscribed"}, status=status.HTTP_201_CREATED)

"""The popup API: events (impression, close), subscribe, web push, "notify me".

Public endpoints called by ``popup.js`` from the shop's own pages. They take JSON only,
need no login and no CSRF token (see ``permissions`` for why that is safe), are rate
limited (``throttles``), and answer bad input with a 400 naming the field and the fix.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied, Throttled, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from ..browsing import alerts
from ..core.tokens import form_token
from ..integrations import identify
from ..models import PopupEvent
from ..popups.subscribe import FormAlreadySent, SubscriptionFailed, subscribe
from ..push.subscriptions import subscribe_push
from . import serializers, throttles, visitor_contact
from .parsers import StrictJSONParser
from .permissions import SameOrigin, SameOriginSessionAuthentication
from .schema import PopupAPISchema


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
    # No authentication unless a view needs the login: events and subscriptions go by what
    # the visitor sends, and DRF's session authentication would demand a CSRF token that
    # cached pages cannot carry.
    authentication_classes = []
    permission_classes = [SameOrigin]
    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]
    # drf-spectacular's, whatever the project's DEFAULT_SCHEMA_CLASS: the schema view and
    # @extend_schema below build on it.
    schema = PopupAPISchema()
    #: The operation's id in the schema (see ``PopupAPISchema``).
    operation_id = None

    def permission_denied(self, request, message=None, code=None):
        # DRF answers "credentials were not provided" when no login was found: none is
        # needed here, so say what is refused (SameOrigin's message).
        raise PermissionDenied(detail=message, code=code)

    def throttled(self, request, wait):
        raise Throttled(wait, detail=str(_("Too many attempts. Please try again later.")))

    def validated(self, serializer_class, request):
        serializer = serializer_class(data=request.data, context={"request": request._request})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


@extend_schema(
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
    operation_id = "popup_event"
    throttle_classes = [throttles.EventsPerIP]

    def post(self, request):
        data = self.validated(serializers.EventSerializer, request)
        variant = data["variant"]
        PopupEvent.objects.create(popup=variant.popup, variant=variant, kind=data["kind"])
        if data["kind"] == "close":
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response({"token": form_token(variant)}, status=status.HTTP_201_CREATED)


@extend_schema(
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
    operation_id = "popup_subscribe"
    throttle_classes = [throttles.SubscribePerIP, throttles.SubscribePerEmail]

    def post(self, request):
        data = self.validated(serializers.SubscribeSerializer, request)
        try:
            result = subscribe(request._request, **data)
        except SubscriptionFailed:
            raise TryLater() from None
        except FormAlreadySent:
            raise ValidationError(
                {
                    api_settings.NON_FIELD_ERRORS_KEY: [
                        _("This form was already sent. Reload the page to send it again.")
                    ]
                },
                code="spent",
            ) from None
        body = {"status": result.status, "gift": result.gift}
        response = serializers.SubscribeResponseSerializer(body).data
        return Response(response, status=status.HTTP_201_CREATED)


@extend_schema(
    summary="Store the browser's web push subscription given from a popup",
    request=serializers.PushSubscribeSerializer,
    responses={201: serializers.PushResponseSerializer, **ERRORS},
)
class PushSubscriptionView(PopupAPIView):
    operation_id = "push_subscribe"
    # The shop's login: a logged-in customer's browser joins their contact.
    authentication_classes = [SameOriginSessionAuthentication]
    throttle_classes = [throttles.PushPerIP]

    def post(self, request):
        data = self.validated(serializers.PushSubscribeSerializer, request)
        subscribe_push(
            request._request,
            data["variant"],
            data["subscription"],
            contact=visitor_contact(request._request),
        )
        return Response({"status": "subscribed"}, status=status.HTTP_201_CREATED)


@extend_schema(
    summary="Ask to be told when a product is back in stock (or costs less)",
    description="Creates or finds the contact by email and records the request; the "
    "back-in-stock (or price-drop) flow sends the one notice it asked for when the shop "
    "reports the news, even without marketing consent.",
    request=serializers.NotifyMeSerializer,
    responses={
        201: serializers.NotifyMeResponseSerializer,
        **ERRORS,
        503: OpenApiResponse(ErrorSerializer, description="Could not be saved; try again."),
    },
)
class NotifyMeView(PopupAPIView):
    operation_id = "product_notify_me"
    # A request to be emailed: limited like a subscription, per IP and per address.
    throttle_classes = [throttles.SubscribePerIP, throttles.SubscribePerEmail]

    def post(self, request):
        data = self.validated(serializers.NotifyMeSerializer, request)
        contact = identify(request._request, email=data["email"], source="notify_me")
        if contact is None:  # identify() logged why
            raise TryLater()
        alerts.request_alert(contact, data["product_id"], data["kind"])
        return Response({"status": "requested"}, status=status.HTTP_201_CREATED)

"""The OpenAPI schema of the popup API, served beside it."""

from django.urls import include, path
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny


class PopupAPISchema(AutoSchema):
    """drf-spectacular's schema, with the operation id the view names in ``operation_id``.

    ``@extend_schema(operation_id=...)`` on a view class is refused by drf-spectacular (an
    "Error" line on every schema request), and on the ``post`` method it would build on the
    project's ``DEFAULT_SCHEMA_CLASS``, which need not be drf-spectacular's.
    """

    def get_operation_id(self):
        return getattr(self.view, "operation_id", None) or super().get_operation_id()

    def get_auth(self):
        # Nothing is required: a login, when there is one, only decides which contact a
        # push subscription joins.
        return []


class PopupAPISchemaView(SpectacularAPIView):
    """OpenAPI 3 schema of omnichannel's API only, wherever the shop mounted it."""

    authentication_classes = []
    permission_classes = [AllowAny]
    custom_settings = {
        "TITLE": "omnichannel popup API",
        "DESCRIPTION": "Called by the popup script from the shop's pages: JSON bodies, "
        "same-origin requests only, rate limited.",
    }

    #: The URL patterns to describe (``as_view(endpoints=...)``).
    endpoints = ()

    def get(self, request, *args, **kwargs):
        # Mounted at ".../api/schema/": the endpoints live under ".../api/".
        prefix = request.path_info.lstrip("/").removesuffix("schema/")
        self.patterns = [path(prefix, include(list(self.endpoints)))]
        return super().get(request, *args, **kwargs)

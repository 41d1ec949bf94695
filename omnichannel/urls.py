"""omnichannel's URLs. Include them once in the shop's URLconf:

path("omnichannel/", include("omnichannel.urls")),
"""

from django.urls import include, path

from .popups import views as popup_views

app_name = "omnichannel"

urlpatterns = [
    path("api/", include("omnichannel.api.urls")),
    path("popups/confirm/<str:token>/", popup_views.confirm, name="popup-confirm"),
    path("push/sw.js", popup_views.push_service_worker, name="push-service-worker"),
]

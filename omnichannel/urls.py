"""The app's URLs: ``path("omnichannel/", include("omnichannel.urls"))``."""

from django.urls import path

from .views import preferences, unsubscribe

app_name = "omnichannel"

urlpatterns = [
    path("unsubscribe/<str:token>/", unsubscribe.unsubscribe, name="unsubscribe"),
    path("preferences/<str:token>/", preferences.preferences, name="preferences"),
]

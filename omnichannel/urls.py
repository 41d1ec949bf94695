"""The app's URLs. Include them once in the shop's URLconf:

path("omnichannel/", include("omnichannel.urls")),
"""

from django.urls import include, path

from .api import inbox, push
from .popups import views as popup_views
from .views import clicks, preferences, restore, service_worker, unsubscribe
from .webhooks import twilio

app_name = "omnichannel"

urlpatterns = [
    path("api/", include("omnichannel.api.urls")),
    path("popups/confirm/<str:token>/", popup_views.confirm, name="popup-confirm"),
    path("popups/variants/<str:variant>/", popup_views.content, name="popup-content"),
    path("cart/<str:token>/", restore.restore_cart, name="restore_cart"),
    path("c/<str:token>/", clicks.click, name="click"),
    path("unsubscribe/<str:token>/", unsubscribe.unsubscribe, name="unsubscribe"),
    path("preferences/<str:token>/", preferences.preferences, name="preferences"),
    path("webhooks/twilio/status/", twilio.status_callback, name="twilio_status"),
    path("webhooks/twilio/inbound/", twilio.inbound_message, name="twilio_inbound"),
    path("inbox/", inbox.InboxListView.as_view(), name="inbox_list"),
    path("inbox/read/", inbox.InboxReadAllView.as_view(), name="inbox_read_all"),
    path("inbox/<str:message_id>/read/", inbox.InboxReadView.as_view(), name="inbox_read"),
    path("push/subscribe/", push.PushSubscribeView.as_view(), name="push_subscribe"),
    path("push/unsubscribe/", push.PushUnsubscribeView.as_view(), name="push_unsubscribe"),
    path("push/clicked/", push.PushClickedView.as_view(), name="push_clicked"),
    path("sw.js", service_worker.service_worker, name="service_worker"),
]

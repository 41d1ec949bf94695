from django.urls import path

from . import views
from .schema import PopupAPISchemaView

endpoints = [
    path("popups/events/", views.PopupEventView.as_view(), name="popup-events"),
    path("popups/subscribe/", views.SubscribeView.as_view(), name="popup-subscribe"),
    path("push/subscriptions/", views.PushSubscriptionView.as_view(), name="push-subscriptions"),
    path("products/notify-me/", views.NotifyMeView.as_view(), name="product-notify-me"),
]

urlpatterns = [
    *endpoints,
    path("schema/", PopupAPISchemaView.as_view(endpoints=endpoints), name="api-schema"),
]

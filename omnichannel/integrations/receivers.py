"""Ready-made receivers: django.contrib.auth, allauth, and the app's inbound signals.

Each one takes ``**kwargs``, returns at once on ``raw`` (fixtures being loaded) and never
raises into the shop. The auth, allauth and ``customer_identified`` receivers write
nothing in the request: their work runs after the shop's transaction commits. The
``cart_changed`` and ``order_placed`` receivers are ``track_cart`` and ``track_order``:
they read the shop's cart / order in the request, in a savepoint of their own, and write
after the commit. ``request_finished`` writes the product views a request buffered.
"""

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.db.models.signals import post_save

from .. import signals
from ..browsing import product_views
from . import api, safety
from .safety import after_commit

DISPATCH_PREFIX = "omnichannel."


def user_created(sender, instance, created, raw=False, **kwargs):
    # Staff and superusers are the shop's team, not its customers.
    if raw or not created or instance.is_staff or instance.is_superuser:
        return
    after_commit(api.track_signup, instance, source="signup")


def user_logged_in_receiver(sender, request, user, **kwargs):
    if user.is_staff or user.is_superuser:
        return
    # Fold the guest session (contact, anonymous carts) into the user's contact.
    after_commit(api.identify, request, user=user, source="login")


def allauth_user_signed_up(sender, request, user, **kwargs):
    after_commit(api.track_signup, user, request, source="signup")


def cart_changed_receiver(sender, cart, request=None, **kwargs):
    api.track_cart(cart, request)


def order_placed_receiver(sender, order, request=None, **kwargs):
    api.track_order(order, request)


def customer_identified_receiver(sender, request=None, **kwargs):
    after_commit(api.identify, request, **kwargs)


def connect_auth_receivers():
    post_save.connect(
        user_created, sender=get_user_model(), dispatch_uid=DISPATCH_PREFIX + "user_created"
    )
    user_logged_in.connect(user_logged_in_receiver, dispatch_uid=DISPATCH_PREFIX + "logged_in")
    if apps.is_installed("allauth.account"):
        from allauth.account.signals import user_signed_up

        user_signed_up.connect(
            allauth_user_signed_up, dispatch_uid=DISPATCH_PREFIX + "allauth_signed_up"
        )


def request_started_receiver(sender, **kwargs):
    product_views.discard_buffered()


def request_finished_receiver(sender, **kwargs):
    # The response has gone: the request's product views cost the shopper nothing now.
    if product_views.has_buffered():  # most pages: not even a savepoint
        safety.never_raises(api.write_buffered_views)()


def connect_shop_signals():
    request_started.connect(request_started_receiver, dispatch_uid=DISPATCH_PREFIX + "started")
    # The views must be written before Django closes the request's database connection
    # (``close_old_connections``, which closes it outright with CONN_MAX_AGE = 0): after
    # it, the write would open a connection of its own and leave it open in the thread.
    # Receivers run in the order they were connected, so Django's goes after ours.
    request_finished.disconnect(close_old_connections)
    request_finished.connect(
        request_finished_receiver, dispatch_uid=DISPATCH_PREFIX + "views_written"
    )
    request_finished.connect(close_old_connections)
    signals.cart_changed.connect(cart_changed_receiver, dispatch_uid=DISPATCH_PREFIX + "cart")
    signals.order_placed.connect(order_placed_receiver, dispatch_uid=DISPATCH_PREFIX + "order")
    signals.customer_identified.connect(
        customer_identified_receiver, dispatch_uid=DISPATCH_PREFIX + "identified"
    )

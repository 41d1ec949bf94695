"""The popup's markup, fetched when it opens, and the pages a subscription leads to."""

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from ..conf import omnichannel_settings
from .config import live_markup
from .confirmation import signup_from_confirmation_token
from .subscribe import confirm_signup


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request, token):
    """The double opt-in link.

    Opening the link shows a button; only the button's POST confirms. Mail scanners and
    link previews open links on their own, and must not confirm on the reader's behalf.
    Once confirmed, the page shows the gift again on every visit.
    """
    signup = signup_from_confirmation_token(token)
    if signup is None:
        return render(request, "omnichannel/popups/confirm.html", {"invalid": True}, status=400)
    gift = None
    if request.method == "POST" or signup.completed_at:
        gift = confirm_signup(signup, request)
        signup.refresh_from_db()
    context = {"signup": signup, "variant": signup.variant, "gift": gift}
    return render(request, "omnichannel/popups/confirm.html", context)


@require_GET
def content(request, variant):
    """A live variant's markup and what popup.js needs beside it, fetched by the loader
    when a trigger fires (none of it is written into the page).

    The same for every visitor and never personal, so browsers and shared caches may keep
    it as long as the server keeps its own cache of the popups (``POPUP_CACHE_TIMEOUT``).
    """
    markup = live_markup(variant)
    if markup is None:
        return JsonResponse({"detail": "No live popup has this variant."}, status=404)
    response = JsonResponse(
        {
            "markup": markup,
            "api": {
                "event": reverse("omnichannel:popup-events"),
                "subscribe": reverse("omnichannel:popup-subscribe"),
                "push": reverse("omnichannel:push-subscriptions"),
            },
            "sw": reverse("omnichannel:service_worker"),
            "vapid": omnichannel_settings.VAPID_PUBLIC_KEY or "",
        }
    )
    patch_cache_control(response, public=True, max_age=omnichannel_settings.POPUP_CACHE_TIMEOUT)
    return response

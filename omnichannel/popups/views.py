"""The pages a popup subscription leads to outside the popup itself."""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

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

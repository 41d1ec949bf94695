"""The double opt-in email: the link that turns a pending subscription into a real one.

It is a transactional message (it asks for consent, it does not advertise), sent with
Django's mail API from overridable templates. It is the only email this module sends, in
one function, so that it can later go through the messaging outbox unchanged for callers.
"""

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from ..conf import omnichannel_settings
from ..contacts.consent import is_suppressed
from ..core.links import token_url
from ..core.tokens import confirmation_token, read_confirmation_token
from ..integrations import get_adapter
from ..integrations.safety import never_raises
from ..models import PopupSignup
from ..models.channels import Channel

TEMPLATES = "omnichannel/popups/email/"


@never_raises
def shop_context():
    # The shop's name and address dress the email; without them it still goes out.
    return get_adapter().get_shop_context()


def signup_from_confirmation_token(token):
    """The ``PopupSignup`` a confirmation link is for, or None if forged, expired or gone."""
    try:
        return (
            PopupSignup.objects.select_related("popup", "variant", "contact")
            .filter(uuid=read_confirmation_token(token))
            .first()
        )
    except (signing.BadSignature, ValueError):
        return None


def confirmation_url(signup):
    """The link on ``PUBLIC_BASE_URL``, like every link that leaves the site.

    Never from the request's Host header: with a permissive ``ALLOWED_HOSTS`` (or a proxy
    passing the client's Host on) a visitor could have the mail point at their own site,
    valid token included.
    """
    return token_url("omnichannel:popup-confirm", confirmation_token(signup))


def send_confirmation_email(signup):
    """Mail the confirmation link for ``signup``; False when the address may not be mailed."""
    contact = signup.contact
    if not contact.email or is_suppressed(Channel.EMAIL, contact.email):
        return False
    context = {
        "url": confirmation_url(signup),
        "popup": signup.popup,
        "variant": signup.variant,
        "contact": contact,
        "shop": shop_context() or {},
        "valid_days": max(1, omnichannel_settings.DOUBLE_OPT_IN_MAX_AGE // 86400),
    }
    locale = (signup.variant.locale if signup.variant else "") or contact.locale
    with translation.override(locale or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(TEMPLATES + "confirm_subject.txt", context).split())
        message = EmailMultiAlternatives(
            subject,
            render_to_string(TEMPLATES + "confirm.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [contact.email],
        )
        message.attach_alternative(
            render_to_string(TEMPLATES + "confirm.html", context), "text/html"
        )
    message.send()
    return True

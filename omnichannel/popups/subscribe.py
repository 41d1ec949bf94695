"""What a submitted popup form does, and what a confirmation link completes.

1. The contact is found or created with ``identify`` (which never overwrites what the
   profile already holds, and attaches the visitor's carts from the session).
2. Each ticked consent is recorded with the exact wording the variant showed, the IP and
   the user agent.
3. Without double opt-in the subscription is complete at once: the gift is returned and
   ``popup_subscribed`` is sent. With it, the consents stay pending and a link is mailed;
   the gift and the signal wait for the click (``confirm_signup``), so no gift goes to an
   address whose owner did not confirm.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .. import signals
from ..conf import omnichannel_settings
from ..contacts.consent import confirm_consent, grant_consent
from ..core.request_meta import header_country
from ..integrations import identify, session
from ..integrations.safety import after_commit
from ..models import Consent, Popup, PopupEvent, PopupSignup
from ..models.consent import ConsentStatus, Purpose
from ..models.popups import DoubleOptIn, PopupEventKind
from .confirmation import send_confirmation_email
from .form_uses import spend_form_token
from .gift import gift_for


class SubscriptionFailed(Exception):
    """The contact could not be recorded (the cause is logged by ``identify``)."""


class FormAlreadySent(Exception):
    """The form token was spent on another subscription: the form must be shown again."""


@dataclass(frozen=True)
class Subscription:
    signup: PopupSignup
    # "subscribed": complete, ``gift`` is what it earned; "confirm": a link was mailed.
    status: str
    gift: dict | None = None


def needs_double_opt_in(popup, *, country, has_email):
    """Double opt-in confirms an email address, so a submission without one never needs it."""
    if not has_email or popup.double_opt_in == DoubleOptIn.NEVER:
        return False
    if popup.double_opt_in == DoubleOptIn.ALWAYS:
        return True
    return country.upper() in {c.upper() for c in omnichannel_settings.DOUBLE_OPT_IN_COUNTRIES}


def subscribe(
    request,
    *,
    variant,
    token,
    email=None,
    phone=None,
    consents=(),
    profile=None,
    attributes=None,
):
    """Subscribe the visitor of ``request`` (a Django ``HttpRequest``) through ``variant``.

    ``token`` is the form token, already checked; ``email`` and ``phone`` are validated;
    ``consents`` lists the ticked channels; ``profile`` may hold first_name, last_name and
    country; ``attributes`` the other extra fields. Raises ``SubscriptionFailed`` when the
    contact cannot be recorded, ``FormAlreadySent`` when the token earned another
    subscription (then no signup, consent or gift is recorded for this one).
    """
    popup = variant.popup
    profile = profile or {}
    contact = identify(
        request,
        email=email,
        phone=phone,
        source=popup.source,
        attributes=attributes or None,
        **profile,
    )
    if contact is None:
        raise SubscriptionFailed
    country = profile.get("country") or contact.country or header_country(request)
    double_opt_in = needs_double_opt_in(popup, country=country, has_email=bool(email))
    with transaction.atomic():
        signup, _ = PopupSignup.objects.select_for_update().get_or_create(
            popup=popup, contact=contact, defaults={"variant": variant}
        )
        signup.popup, signup.contact = popup, contact
        if not spend_form_token(token, signup):
            raise FormAlreadySent
        pending = _record_consents(signup, variant, consents, request, double_opt_in)
        PopupEvent.objects.create(
            popup=popup, variant=variant, kind=PopupEventKind.SUBMIT, contact=contact
        )
        session.mark_subscribed(request)
        if double_opt_in:
            signup.double_opt_in = True
            signup.consent_tokens = sorted(set(signup.consent_tokens) | pending)
            signup.save(update_fields=["double_opt_in", "consent_tokens"])
            # Sent again on a second submission: the link is also how the gift is shown.
            after_commit(send_confirmation_email, signup)
            return Subscription(signup, "confirm")
        gift = gift_for(signup)
        _complete(signup, request, confirmed=False)
    return Subscription(signup, "subscribed", gift)


def _record_consents(signup, variant, channels, request, double_opt_in):
    """Record each ticked consent; returns the confirmation tokens of the pending ones.

    A consent already granted is left alone under double opt-in: a form anyone can fill
    in must not turn a confirmed consent back into a pending one.
    """
    granted = set(
        Consent.objects.filter(
            contact=signup.contact,
            purpose=Purpose.MARKETING,
            status=ConsentStatus.GRANTED,
            channel__in=channels,
        ).values_list("channel", flat=True)
    )
    pending = set()
    for channel in channels:
        if double_opt_in and channel in granted:
            continue
        consent = grant_consent(
            signup.contact,
            channel,
            source=signup.popup.source,
            wording=variant.consent_text(channel),
            request=request,
            double_opt_in=double_opt_in,
        )
        if consent.status == ConsentStatus.PENDING:
            pending.add(str(consent.confirmation_token))
    return pending


def confirm_signup(signup, request):
    """Complete a double opt-in from its link: confirm its consents, return the gift."""
    with transaction.atomic():
        # Lock the signup row only: PostgreSQL cannot lock the nullable side of the
        # outer join to its variant.
        signup = (
            PopupSignup.objects.select_for_update(of=("self",))
            .select_related("popup", "variant", "contact")
            .get(pk=signup.pk)
        )
        for token in signup.consent_tokens:
            confirm_consent(token, request=request)
        if signup.consent_tokens:
            signup.consent_tokens = []
            signup.save(update_fields=["consent_tokens"])
        gift = gift_for(signup)
        _complete(signup, request, confirmed=True)
    session.mark_subscribed(request)
    return gift


def _complete(signup, request, *, confirmed):
    """Mark ``signup`` complete, once; then ``popup_subscribed`` goes out after commit."""
    now = timezone.now()
    if not PopupSignup.objects.filter(pk=signup.pk, completed_at__isnull=True).update(
        completed_at=now
    ):
        return
    signup.completed_at = now
    transaction.on_commit(
        lambda: signals.popup_subscribed.send(
            sender=Popup,
            contact=signup.contact,
            popup=signup.popup,
            variant=signup.variant,
            request=request,
            confirmed=confirmed,
        )
    )

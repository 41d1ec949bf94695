"""Ready-made flows a shop installs and then edits in the admin.

They are plain data (a flow, its steps, their content per channel) turned into ordinary
rows by ``install_defaults``, so everything stays editable: copy, delays, offer, channels.
Installing is idempotent by slug: a flow that exists is left exactly as staff made it.
New flows start as drafts; staff read them, put their own words in, and activate them.

Every email is built from blocks (``outbox.blocks``; staff edit them in the block editor)
and installed in each shipped language: its words are translated in the app's catalogs.

The welcome series (started by a signup, ends when the contact orders):

1. at once, by email: who the shop is and what it cares about, with a small gift
   (10 % off the first order, a single-use code valid 7 days) and a few products;
2. four days later, on the best other channel the contact agreed to (push, on-site inbox
   or SMS, in the shop's channel order): a short reminder of the code. A contact reachable
   by email only skips it; the dispatcher sends SMS only with SMS consent;
3. two days later, by email: a last, light nudge before the code expires.

Popup subscribers already get their gift from the popup: for them, duplicate the flow in
the admin, set its trigger to "Subscribes through a popup" and remove the offer.

The cart recovery (started when a cart is abandoned, ends when it is ordered or emptied):

1. about an hour after the cart went idle, on the best channel (email, push or inbox in
   the shop's channel order): the cart's lines, a link that restores the cart on any
   device, and a few similar products;
2. about a day later, by email: a unique 10 % code valid three days, with the cart;
3. at the same time, for carts worth 50 or more, a short SMS with the code when the
   contact agreed to texts (the step is skipped otherwise; add a WhatsApp template in
   the admin to use WhatsApp too);
4. two days later, by email: a last note before the code expires.

The browse abandonment (started when an identified visitor stopped looking at products
without a cart; ends on a cart or an order; once a week at most):

1. an hour later, on the best channel (email, push or inbox): the products they looked
   at, with a link to each.

Back in stock and price drop (started by ``notify_back_in_stock`` / ``notify_price_drop``
for the contacts who asked or viewed the product lately): one email at once with the
product and a link to it.

After a purchase (their emails: ``order_flows``):
thank you and cross-sell (every purchase), the review request (an order delivered) and
the win-back (a buyer who stopped ordering). Priorities: cart recovery 30, back in
stock / price drop 25, browse abandonment 20, post-purchase 15, win-back 10, welcome 0
(see ``omnichannel.outbox.policy``).
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ..models import Flow, Step, StepContent
from ..models.channels import Channel
from ..models.flows import BEST_CHANNEL, ExitGoal, FlowKind, FlowStatus, OfferKind, Trigger
from . import lifecycle, order_flows
from .shipped_blocks import HELLO, LOGO, SIGNATURE, button, discount, footer, heading, text

DAY = timedelta(days=1)
# With ``fast=True`` (demos, trying a flow out) a day of the series takes a minute.
FAST_DAY = timedelta(minutes=1)


@dataclass(frozen=True)
class Offer:
    kind: str
    value: Decimal
    prefix: str
    valid_for: timedelta


@dataclass(frozen=True)
class StepSpec:
    name: str
    delay: timedelta
    channel: str
    contents: dict  # channel -> StepContent fields, in the default language
    offer: Offer | None = None
    min_cart_value: Decimal | None = None
    transactional: bool = False


@dataclass(frozen=True)
class FlowSpec:
    slug: str
    name: str
    kind: str
    trigger: str
    steps: list
    exit_goals: list = field(default_factory=list)
    also_triggered_by: list = field(default_factory=list)
    # Cart recovery outranks browse abandonment, post-purchase and win-back (policy).
    priority: int = 0
    reentry_cooldown: timedelta | None = None


# --- the emails' content --------------------------------------------------------------------
#
# Emails are blocks (``outbox.blocks``) in the shop's brand; their words are translated like
# the admin's, and ``install_flow`` writes one content per shipped language. The merge tags
# stay inside the translated sentences, where each language puts them.

PERCENT = "{{ discount.value|floatformat }} %"
# The code's expiry is stored as an ISO timestamp: its first ten characters are the date.
EXPIRY_DATE = '{{ discount.expires_at|slice:":10" }}'
# The languages the app ships a catalog for: each shipped email exists in all of them.
SHIPPED_LANGUAGES = ("en", "fr", "ru", "bg", "sk")

RECOMMENDATIONS = {"type": "recommendations", "title": _("A few things people come back for:")}
ACCOUNT_FOOTER = footer(
    _("You receive this email because you created an account at {{ shop.name }}.")
)
CART_FOOTER = footer(_("You receive this email about the cart you left at {{ shop.name }}."))


INTRODUCTION = {
    "subject": _('Welcome to {{ shop.name }}, {{ contact.first_name|default:"there" }}'),
    "preheader": _("A little about us, and a small welcome gift."),
    "blocks": [
        LOGO,
        heading(_("Welcome to {{ shop.name }}")),
        HELLO,
        text(
            _(
                "Thank you for joining {{ shop.name }}. We are a small team, and we would like "
                "to tell you who we are before we tell you about anything else."
            )
        ),
        text(
            _(
                "We choose every product ourselves and use it before we sell it. We work with "
                "makers we know by name, we pack your order with care, and if something is not "
                "right we will make it right. We would rather you buy one thing you love than "
                "three you don't."
            )
        ),
        text(_("To say welcome, here is {{ discount.value|floatformat }} % off your first order:")),
        discount(
            _(
                'Yours until {{ discount.expires_at|slice:":10" }}. No rush: we are glad you '
                "are here."
            )
        ),
        RECOMMENDATIONS,
        button(_("Visit the shop")),
        text(_("Warmly,\nThe {{ shop.name }} team")),
        ACCOUNT_FOOTER,
    ],
}

REMINDER_TITLE = "Your welcome gift is waiting"
REMINDER_BODY = f"{PERCENT} off your first order with {{{{ discount.code }}}}, until {EXPIRY_DATE}."
REMINDER = {
    Channel.PUSH: {"title": REMINDER_TITLE, "body": REMINDER_BODY, "url": "{{ shop.url }}"},
    Channel.INBOX: {"title": REMINDER_TITLE, "body": REMINDER_BODY, "url": "{{ shop.url }}"},
    # One GSM-7 segment: no emoji, no curly quotes; STOP is what Twilio listens for.
    Channel.SMS: {
        "text": (
            f"{{{{ shop.name }}}}: your {PERCENT} welcome code {{{{ discount.code }}}} is valid "
            f"until {EXPIRY_DATE}. {{{{ shop.url }}}} Reply STOP to opt out"
        )
    },
}

LAST_NUDGE = {
    "subject": _('Your welcome code ends on {{ discount.expires_at|slice:":10" }}'),
    "preheader": _("{{ discount.value|floatformat }} % off your first order, one last time."),
    "blocks": [
        LOGO,
        HELLO,
        text(
            _(
                "A quick note before it goes: your welcome code, {{ discount.value|floatformat }} "
                '% off your first order, ends on {{ discount.expires_at|slice:":10" }}.'
            )
        ),
        discount(_("If now is not the time, that is fine: we will still be here.")),
        button(_("Use my code")),
        SIGNATURE,
        ACCOUNT_FOOTER,
    ],
}

WELCOME_GIFT = Offer(
    kind=OfferKind.PERCENT, value=Decimal("10"), prefix="WELCOME", valid_for=7 * DAY
)

WELCOME_SERIES = FlowSpec(
    slug="welcome",
    name="Welcome series",
    kind=FlowKind.WELCOME,
    trigger=Trigger.SIGNUP,
    # A popup subscriber is welcomed too; whoever both subscribes and signs up gets the
    # series once (a contact goes through a welcome series once: no re-entry cooldown).
    also_triggered_by=[Trigger.POPUP_SUBSCRIBED],
    exit_goals=[ExitGoal.ORDERED],
    steps=[
        StepSpec(
            "Who we are, and a welcome gift",
            timedelta(0),
            Channel.EMAIL,
            {Channel.EMAIL: INTRODUCTION},
            WELCOME_GIFT,
        ),
        # The same offer on every step: the engine reuses the code while it is valid.
        StepSpec("Reminder of the code", 4 * DAY, BEST_CHANNEL, REMINDER, WELCOME_GIFT),
        StepSpec(
            "Last nudge before the code expires",
            2 * DAY,
            Channel.EMAIL,
            {Channel.EMAIL: LAST_NUDGE},
            WELCOME_GIFT,
        ),
    ],
)

# --- the cart recovery's content -------------------------------------------------------------

RESTORE = "{{ cart.restore_url }}"

CART_REMINDER_EMAIL = {
    "subject": _("You left something in your cart"),
    "preheader": _("Your cart is saved: pick up where you left off."),
    "blocks": [
        LOGO,
        HELLO,
        text(_("You left these in your cart. We kept them for you:")),
        {"type": "cart"},
        button(_("Back to my cart"), RESTORE),
        text(
            _(
                "If something made you hesitate (a question about size, delivery or returns), "
                "just reply: a person will answer."
            )
        ),
        RECOMMENDATIONS,
        SIGNATURE,
        CART_FOOTER,
    ],
}
CART_REMINDER_SHORT = {
    "title": "Your cart is saved",
    "body": "{{ cart.item_count }} item{{ cart.item_count|pluralize }} waiting for you.",
    "url": "{{ cart.restore_url }}",
}
CART_REMINDER = {
    Channel.EMAIL: CART_REMINDER_EMAIL,
    Channel.PUSH: CART_REMINDER_SHORT,
    Channel.INBOX: CART_REMINDER_SHORT,
}

CART_OFFER_EMAIL = {
    "subject": _("{{ discount.value|floatformat }} % off the cart you left"),
    "preheader": _("A code for you alone, valid a few days."),
    "blocks": [
        LOGO,
        HELLO,
        text(_("Your cart is still here, and here is {{ discount.value|floatformat }} % off it:")),
        discount(
            _(
                'For you alone, until {{ discount.expires_at|slice:":10" }}. Already applied '
                "with the button."
            )
        ),
        {"type": "cart"},
        button(_("Complete my order"), RESTORE),
        SIGNATURE,
        CART_FOOTER,
    ],
}
# One GSM-7 segment with a short code and link.
CART_OFFER_SMS_TEXT = (
    f"{{{{ shop.name }}}}: {PERCENT} off your cart with {{{{ discount.code }}}} until "
    f"{EXPIRY_DATE}: {{{{ cart.restore_url }}}} Reply STOP to opt out"
)
# WhatsApp needs a template approved by Meta outside the 24-hour window: add a WhatsApp
# content with its Content SID to this step in the admin to send the code there too.
CART_OFFER_SHORT = {Channel.SMS: {"text": CART_OFFER_SMS_TEXT}}

CART_LAST_NOTE = {
    "subject": _(
        'Your {{ discount.value|floatformat }} % code ends on {{ discount.expires_at|slice:":10" }}'
    ),
    "preheader": _("The last note about your cart."),
    "blocks": [
        LOGO,
        HELLO,
        text(
            _(
                "The last note from us about your cart: your code ends on "
                '{{ discount.expires_at|slice:":10" }}.'
            )
        ),
        discount(_("After that, your cart stays saved, without the discount.")),
        button(_("Open my cart"), RESTORE),
        SIGNATURE,
        CART_FOOTER,
    ],
}

CART_OFFER = Offer(kind=OfferKind.PERCENT, value=Decimal("10"), prefix="BACK", valid_for=3 * DAY)

CART_RECOVERY = FlowSpec(
    slug="cart-recovery",
    name="Cart recovery",
    kind=FlowKind.CART_RECOVERY,
    trigger=Trigger.CART_ABANDONED,
    exit_goals=[ExitGoal.ORDERED, ExitGoal.CART_EMPTIED],
    priority=30,
    steps=[
        StepSpec("Reminder with the cart", timedelta(hours=1), BEST_CHANNEL, CART_REMINDER),
        StepSpec(
            "10 % code",
            23 * timedelta(hours=1),
            Channel.EMAIL,
            {Channel.EMAIL: CART_OFFER_EMAIL},
            CART_OFFER,
        ),  # fmt: skip
        StepSpec(
            "Code by SMS (carts of 50 or more)",
            timedelta(0),
            BEST_CHANNEL,
            CART_OFFER_SHORT,
            CART_OFFER,
            min_cart_value=Decimal("50"),
        ),  # fmt: skip
        StepSpec(
            "Last note before the code expires",
            2 * DAY,
            Channel.EMAIL,
            {Channel.EMAIL: CART_LAST_NOTE},
            CART_OFFER,
        ),  # fmt: skip
    ],
)

# --- the journey after a purchase (its emails: ``order_flows``) -----------------------------


def email_step(name, delay, email, *, marketing=True, offer=None):
    """An email step sending ``email``; not marketing means transactional."""
    return StepSpec(
        name, delay, Channel.EMAIL, {Channel.EMAIL: email}, offer, transactional=not marketing
    )


POST_PURCHASE = FlowSpec(
    slug="post-purchase",
    name="Thank you and cross-sell",
    kind=FlowKind.POST_PURCHASE,
    trigger=Trigger.ORDER_PLACED,
    priority=15,
    steps=[
        email_step("Thank you for the order", timedelta(0), order_flows.THANK_YOU, marketing=False),
        email_step("Goes well with the order", 7 * DAY, order_flows.CROSS_SELL),
    ],
)

REVIEW_REQUEST = FlowSpec(
    slug="review-request",
    name="Review request",
    kind=FlowKind.POST_PURCHASE,
    trigger=Trigger.ORDER_DELIVERED,
    priority=15,
    steps=[email_step("Review the order", 3 * DAY, order_flows.REVIEW_REQUEST)],
)

COME_BACK = Offer(
    kind=OfferKind.PERCENT, value=Decimal("15"), prefix="COMEBACK", valid_for=14 * DAY
)

WIN_BACK = FlowSpec(
    slug="win-back",
    name="Win-back",
    kind=FlowKind.WIN_BACK,
    trigger=Trigger.LAPSED,
    exit_goals=[ExitGoal.ORDERED],
    priority=10,
    steps=[
        email_step("We miss you", timedelta(0), order_flows.MISS_YOU),
        email_step("A gift to come back", 7 * DAY, order_flows.COME_BACK_GIFT, offer=COME_BACK),
        email_step(
            "Last note before the code ends", 10 * DAY, order_flows.LAST_CALL, offer=COME_BACK
        ),
    ],
)

# --- browse abandonment (omnichannel.browsing) -----------------------------------------------
# One reminder of the products a contact looked at (``trigger.products``, the latest
# first). The wording never claims a product is in stock or reserved: the shop knows
# that, the reminder does not.

BROWSE_TITLE = _("Still thinking it over?")
BROWSE_SHORT = {
    "title": BROWSE_TITLE,
    "body": _("The things you looked at are one tap away."),
    "url": "{{ shop.url }}",
}
BROWSE_REMINDER = {
    Channel.EMAIL: {
        "subject": BROWSE_TITLE,
        "preheader": _("The things you looked at, in one place."),
        "blocks": [
            LOGO,
            heading(BROWSE_TITLE),
            HELLO,
            text(_("You were looking at these at {{ shop.name }}. Here they are again:")),
            {"type": "viewed"},
            # Each product of the list links its own page; the button, the shop's.
            button(_("Take another look")),
            text(
                _(
                    "A question about one of them (size, delivery, returns)? Just reply: a "
                    "person will answer."
                )
            ),
            SIGNATURE,
            footer(_("You receive this email because you agreed to hear from {{ shop.name }}.")),
        ],
    },
    Channel.PUSH: BROWSE_SHORT,
    Channel.INBOX: BROWSE_SHORT,
}

BROWSE_ABANDONMENT = FlowSpec(
    slug="browse-abandonment",
    name="Browse abandonment",
    kind=FlowKind.BROWSE_ABANDONMENT,
    trigger=Trigger.BROWSE_ABANDONED,
    exit_goals=[ExitGoal.ORDERED, ExitGoal.ADDED_TO_CART],
    # Below cart recovery (a cart is the stronger signal), above what follows a purchase.
    priority=20,
    # One reminder a week at most, however often the contact browses.
    reentry_cooldown=7 * DAY,
    steps=[StepSpec("The products viewed", timedelta(hours=1), BEST_CHANNEL, BROWSE_REMINDER)],
)

# --- back in stock, price drop (omnichannel.browsing.news) ---------------------------------
# One email each about ``trigger.product``, with a button to its page.

NEWS_FOOTER = footer(
    _(
        "You receive this email because you asked us to tell you about this product, "
        "or agreed to hear from {{ shop.name }}."
    )
)


def product_news_email(subject, preheader, intro):
    return {
        Channel.EMAIL: {
            "subject": subject,
            "preheader": preheader,
            "blocks": [
                LOGO,
                heading(subject),
                HELLO,
                text(intro),
                button(_("See the product"), "{{ trigger.product.url }}"),
                SIGNATURE,
                NEWS_FOOTER,
            ],
        }
    }


BACK_IN_STOCK_EMAIL = product_news_email(
    _("It is back: {{ trigger.product.name }}"),
    _("The product you looked at can be ordered again."),
    _("Good news: {{ trigger.product.name }} is back at {{ shop.name }}."),
)
PRICE_DROP_EMAIL = product_news_email(
    _("{{ trigger.product.name }} now costs less"),
    _("From {{ trigger.old_price }} to {{ trigger.new_price }}."),
    _(
        "The price of {{ trigger.product.name }} went down at {{ shop.name }}: "
        "{{ trigger.new_price }} instead of {{ trigger.old_price }}."
    ),
)


def product_news_flow(slug, name, trigger, contents):
    return FlowSpec(
        slug=slug,
        name=name,
        kind=FlowKind.PRODUCT_NEWS,
        trigger=trigger,
        exit_goals=[ExitGoal.ORDERED],
        # News of one product is timelier than a browse reminder (it may sell out again),
        # and gives way to a cart recovery.
        priority=25,
        # Each product's news is its own: a second product back the same day is news too.
        reentry_cooldown=timedelta(0),
        steps=[StepSpec(name, timedelta(0), Channel.EMAIL, contents)],
    )


BACK_IN_STOCK = product_news_flow(
    "back-in-stock", "Back in stock", Trigger.BACK_IN_STOCK, BACK_IN_STOCK_EMAIL
)
PRICE_DROP = product_news_flow("price-drop", "Price drop", Trigger.PRICE_DROP, PRICE_DROP_EMAIL)

DEFAULT_FLOWS = [
    WELCOME_SERIES,
    CART_RECOVERY,
    BROWSE_ABANDONMENT,
    BACK_IN_STOCK,
    PRICE_DROP,
    POST_PURCHASE,
    REVIEW_REQUEST,
    WIN_BACK,
]


# --- installing ----------------------------------------------------------------------------


def scaled(duration, fast):
    return duration / DAY * FAST_DAY if fast else duration


def offer_fields(offer, fast):
    if offer is None:
        return {}
    return {
        "offer_kind": offer.kind,
        "offer_value": offer.value,
        "offer_prefix": offer.prefix,
        "offer_valid_for": scaled(offer.valid_for, fast),
    }


def content_languages(parts):
    """``[(locale, language)]`` to write ``parts`` in: the default content (no locale) in
    ``LANGUAGE_CODE``, and one per other shipped language when its words are translated
    (email); other parts (the shop writes its own SMS) only as the default."""
    default = settings.LANGUAGE_CODE.split("-")[0].lower()
    languages = [("", settings.LANGUAGE_CODE)]
    if any(isinstance(value, Promise) for value in parts.values()):
        languages += [(code, code) for code in SHIPPED_LANGUAGES if code != default]
    return languages


def step_contents(step_spec):
    """``(channel, locale, parts)`` of every content ``step_spec`` ships: its parts in every
    language their translatable words are in (``content_languages``)."""
    for channel, parts in step_spec.contents.items():
        for locale, language in content_languages(parts):
            yield channel, locale, in_language(parts, language)


def in_language(value, language):
    """``value`` (parts, blocks) with its translatable strings in ``language``."""
    if isinstance(value, dict):
        return {key: in_language(item, language) for key, item in value.items()}
    if isinstance(value, list):
        return [in_language(item, language) for item in value]
    if isinstance(value, Promise):
        with translation.override(language):
            return str(value)
    return value


@transaction.atomic
def install_flow(spec, *, activate=False, fast=False):
    """Create the flow of ``spec`` unless its slug exists; returns ``(flow, created)``.

    With ``activate`` the new flow is activated as staff would (``lifecycle.activate``):
    only if it passes its validation, else it stays a draft.
    """
    existing = Flow.objects.filter(slug=spec.slug).first()
    if existing is not None:
        return existing, False
    flow = Flow.objects.create(
        slug=spec.slug,
        name=f"{spec.name} (fast: a day is a minute)" if fast else spec.name,
        kind=spec.kind,
        trigger=spec.trigger,
        also_triggered_by=list(spec.also_triggered_by),
        exit_goals=list(spec.exit_goals),
        priority=spec.priority,
        reentry_cooldown=None
        if spec.reentry_cooldown is None
        else scaled(spec.reentry_cooldown, fast),
        status=FlowStatus.DRAFT,
    )
    for position, step_spec in enumerate(spec.steps):
        step = Step.objects.create(
            flow=flow,
            position=position,
            name=step_spec.name,
            delay=scaled(step_spec.delay, fast),
            channel=step_spec.channel,
            min_cart_value=step_spec.min_cart_value,
            transactional=step_spec.transactional,
            **offer_fields(step_spec.offer, fast),
        )
        StepContent.objects.bulk_create(
            StepContent(step=step, channel=channel, locale=locale, **localised)
            for channel, locale, localised in step_contents(step_spec)
        )
    if activate:
        lifecycle.activate([flow])
    return flow, True


def install_defaults(*, activate=False, fast=False):
    """Install every shipped flow that is missing; returns ``[(flow, created), ...]``."""
    return [install_flow(spec, activate=activate, fast=fast) for spec in DEFAULT_FLOWS]

"""Ready-made flows a shop installs and then edits in the admin.

They are plain data (a flow, its steps, their content per channel) turned into ordinary
rows by ``install_defaults``, so everything stays editable: copy, delays, offer, channels.
Installing is idempotent by slug: a flow that exists is left exactly as staff made it.
New flows start as drafts; staff read them, put their own words in, and activate them.

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
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import transaction

from ..models import Flow, Step, StepContent
from ..models.channels import Channel
from ..models.flows import BEST_CHANNEL, ExitGoal, FlowKind, FlowStatus, OfferKind, Trigger
from . import lifecycle

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
    contents: dict  # channel -> StepContent fields
    offer: Offer | None = None
    min_cart_value: Decimal | None = None


@dataclass(frozen=True)
class FlowSpec:
    slug: str
    name: str
    kind: str
    trigger: str
    steps: list
    exit_goals: list = field(default_factory=list)
    also_triggered_by: list = field(default_factory=list)


# --- the welcome series' content ------------------------------------------------------------

GREETING = '{{ contact.first_name|default:"there" }}'
PERCENT = "{{ discount.value|floatformat }} %"
# The code's expiry is stored as an ISO timestamp: its first ten characters are the date.
EXPIRY_DATE = '{{ discount.expires_at|slice:":10" }}'

TEXT_FOOTER = """
--
You receive this email because you created an account at {{ shop.name }}.
Unsubscribe: {{ unsubscribe_url }}
Choose what we send and how often: {{ preferences_url }}
{{ shop.address }}
"""


def email_html(body):
    """``body`` (HTML) in a simple centred table with the footer: inline styles only, no
    images or fonts to fetch, so it reads the same in every mail client."""
    return (
        '<!doctype html><html><body style="margin:0;padding:0;background:#f4f1ec;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="background:#f4f1ec;"><tr><td align="center" style="padding:24px 12px;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="max-width:560px;background:#ffffff;border-radius:6px;">'
        '<tr><td style="padding:28px 32px 8px;font:bold 20px Georgia,serif;color:#2b2118;">'
        "{{ shop.name }}</td></tr>"
        '<tr><td style="padding:8px 32px 24px;font:16px/1.55 Arial,sans-serif;color:#2b2118;">'
        f"{body}</td></tr></table>"
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="max-width:560px;"><tr><td style="padding:16px 32px;'
        'font:12px/1.5 Arial,sans-serif;color:#6b625a;text-align:center;">'
        "You receive this email because you created an account at {{ shop.name }}.<br>"
        '<a href="{{ unsubscribe_url }}" style="color:#6b625a;">Unsubscribe</a> &middot; '
        '<a href="{{ preferences_url }}" style="color:#6b625a;">Choose what we send</a><br>'
        "{{ shop.address }}</td></tr></table>"
        "</td></tr></table></body></html>"
    )


def code_box(note):
    return (
        '<table role="presentation" cellpadding="0" cellspacing="0" style="margin:20px 0;">'
        '<tr><td style="padding:14px 22px;border:2px dashed #b5651d;border-radius:6px;'
        'font:bold 20px/1.2 Courier,monospace;color:#b5651d;letter-spacing:2px;">'
        "{{ discount.code }}</td></tr></table>"
        f'<p style="margin:0 0 16px;font-size:14px;color:#6b625a;">{note}</p>'
    )


def button(label):
    return (
        '<table role="presentation" cellpadding="0" cellspacing="0" style="margin:8px 0 20px;">'
        '<tr><td style="background:#2b2118;border-radius:4px;">'
        '<a href="{{ shop.url }}" style="display:inline-block;padding:12px 24px;'
        f'font:bold 15px Arial,sans-serif;color:#ffffff;text-decoration:none;">{label}</a>'
        "</td></tr></table>"
    )


RECOMMENDATIONS_HTML = (
    "{% if recommendations %}"
    '<p style="margin:16px 0 8px;">A few things people come back for:</p>'
    '<table role="presentation" cellpadding="0" cellspacing="0" width="100%">'
    "{% for product in recommendations %}"
    '<tr><td style="padding:6px 0;border-top:1px solid #eee6dc;">'
    '<a href="{{ product.url }}" style="color:#2b2118;">{{ product.name }}</a></td>'
    '<td align="right" style="padding:6px 0;border-top:1px solid #eee6dc;color:#6b625a;">'
    "{{ product.price }}</td></tr>"
    "{% endfor %}</table>"
    "{% endif %}"
)
RECOMMENDATIONS_TEXT = (
    "{% if recommendations %}A few things people come back for:\n"
    "{% for product in recommendations %}- {{ product.name }} ({{ product.price }})\n"
    "{% endfor %}\n{% endif %}"
)

INTRODUCTION = {
    "subject": f"Welcome to {{{{ shop.name }}}}, {GREETING}",
    "preheader": "A little about us, and a small welcome gift.",
    "text": (
        f"Hi {GREETING},\n\n"
        "Thank you for joining {{ shop.name }}. We are a small team, and we would like to "
        "tell you who we are before we tell you about anything else.\n\n"
        "We choose every product ourselves and use it before we sell it. We work with "
        "makers we know by name, we pack your order with care, and if something is not "
        "right we will make it right. We would rather you buy one thing you love than "
        "three you don't.\n\n"
        f"To say welcome, here is {PERCENT} off your first order:\n\n"
        "    {{ discount.code }}\n\n"
        f"It is yours until {EXPIRY_DATE}. No rush, and no need to reply: we are glad "
        "you are here.\n\n"
        f"{RECOMMENDATIONS_TEXT}"
        "Visit us: {{ shop.url }}\n\n"
        "Warmly,\nThe {{ shop.name }} team\n"
        f"{TEXT_FOOTER}"
    ),
    "html": email_html(
        f'<p style="margin:0 0 16px;">Hi {GREETING},</p>'
        '<p style="margin:0 0 16px;">Thank you for joining {{ shop.name }}. We are a small '
        "team, and we would like to tell you who we are before we tell you about anything "
        "else.</p>"
        '<p style="margin:0 0 16px;">We choose every product ourselves and use it before we '
        "sell it. We work with makers we know by name, we pack your order with care, and if "
        "something is not right we will make it right. We would rather you buy one thing "
        "you love than three you don't.</p>"
        f'<p style="margin:0;">To say welcome, here is {PERCENT} off your first order:</p>'
        + code_box(f"Yours until {EXPIRY_DATE}. No rush: we are glad you are here.")
        + RECOMMENDATIONS_HTML
        + button("Visit the shop")
        + '<p style="margin:0;">Warmly,<br>The {{ shop.name }} team</p>'
    ),
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
    "subject": f"Your welcome code ends on {EXPIRY_DATE}",
    "preheader": f"{PERCENT} off your first order, one last time.",
    "text": (
        f"Hi {GREETING},\n\n"
        f"A quick note before it goes: your welcome code {{{{ discount.code }}}} ({PERCENT} "
        f"off your first order) ends on {EXPIRY_DATE}.\n\n"
        "If now is not the time, that is fine: we will still be here.\n\n"
        "{{ shop.url }}\n\n"
        "The {{ shop.name }} team\n"
        f"{TEXT_FOOTER}"
    ),
    "html": email_html(
        f'<p style="margin:0 0 16px;">Hi {GREETING},</p>'
        '<p style="margin:0;">A quick note before it goes: your welcome code, '
        f"{PERCENT} off your first order, ends on {EXPIRY_DATE}.</p>"
        + code_box("If now is not the time, that is fine: we will still be here.")
        + button("Use my code")
        + '<p style="margin:0;">The {{ shop.name }} team</p>'
    ),
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

CART_LINES_HTML = (
    '<table role="presentation" cellpadding="0" cellspacing="0" width="100%" '
    'style="margin:8px 0 16px;">'
    "{% for line in cart.lines %}"
    '<tr><td style="padding:6px 0;border-top:1px solid #eee6dc;">{{ line.name }}</td>'
    '<td align="right" style="padding:6px 0;border-top:1px solid #eee6dc;color:#6b625a;">'
    "&times; {{ line.quantity }}</td></tr>"
    "{% endfor %}"
    '<tr><td style="padding:8px 0;border-top:1px solid #eee6dc;font-weight:bold;">Total</td>'
    '<td align="right" style="padding:8px 0;border-top:1px solid #eee6dc;font-weight:bold;">'
    "{{ cart.value }} {{ cart.currency }}</td></tr></table>"
)
CART_LINES_TEXT = (
    "{% for line in cart.lines %}- {{ line.name }} x {{ line.quantity }}\n{% endfor %}"
    "Total: {{ cart.value }} {{ cart.currency }}\n"
)


def restore_button(label):
    return (
        '<table role="presentation" cellpadding="0" cellspacing="0" style="margin:8px 0 20px;">'
        '<tr><td style="background:#2b2118;border-radius:4px;">'
        '<a href="{{ cart.restore_url }}" style="display:inline-block;padding:12px 24px;'
        f'font:bold 15px Arial,sans-serif;color:#ffffff;text-decoration:none;">{label}</a>'
        "</td></tr></table>"
    )


CART_TEXT_FOOTER = TEXT_FOOTER.replace(
    "because you created an account at", "about the cart you left at"
)


def cart_email_html(body):
    return email_html(body).replace(
        "because you created an account at", "about the cart you left at"
    )


CART_REMINDER_EMAIL = {
    "subject": "You left something in your cart",
    "preheader": "Your cart is saved: pick up where you left off.",
    "text": (
        f"Hi {GREETING},\n\n"
        "You left these in your cart at {{ shop.name }}. We kept them for you:\n\n"
        f"{CART_LINES_TEXT}\n"
        "Pick up where you left off, on any device: {{ cart.restore_url }}\n\n"
        "If something made you hesitate (a question about size, delivery or returns), "
        "just reply: a person will answer.\n\n"
        f"{RECOMMENDATIONS_TEXT}"
        "The {{ shop.name }} team\n"
        f"{CART_TEXT_FOOTER}"
    ),
    "html": cart_email_html(
        f'<p style="margin:0 0 16px;">Hi {GREETING},</p>'
        '<p style="margin:0;">You left these in your cart. We kept them for you:</p>'
        + CART_LINES_HTML
        + restore_button("Back to my cart")
        + '<p style="margin:0 0 16px;">If something made you hesitate (a question about size, '
        "delivery or returns), just reply: a person will answer.</p>"
        + RECOMMENDATIONS_HTML
        + '<p style="margin:0;">The {{ shop.name }} team</p>'
    ),
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
    "subject": f"{PERCENT} off the cart you left",
    "preheader": "A code for you alone, valid a few days.",
    "text": (
        f"Hi {GREETING},\n\n"
        f"Your cart is still here, and here is {PERCENT} off it:\n\n"
        "    {{ discount.code }}\n\n"
        f"The code is for you alone and works until {EXPIRY_DATE}. It is already applied "
        "when you open your cart with this link: {{ cart.restore_url }}\n\n"
        f"{CART_LINES_TEXT}\n"
        "The {{ shop.name }} team\n"
        f"{CART_TEXT_FOOTER}"
    ),
    "html": cart_email_html(
        f'<p style="margin:0 0 16px;">Hi {GREETING},</p>'
        f'<p style="margin:0;">Your cart is still here, and here is {PERCENT} off it:</p>'
        + code_box(f"For you alone, until {EXPIRY_DATE}. Already applied with the button.")
        + CART_LINES_HTML
        + restore_button("Complete my order")
        + '<p style="margin:0;">The {{ shop.name }} team</p>'
    ),
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
    "subject": f"Your {PERCENT} code ends on {EXPIRY_DATE}",
    "preheader": "The last note about your cart.",
    "text": (
        f"Hi {GREETING},\n\n"
        f"The last note from us about your cart: your code {{{{ discount.code }}}} ends on "
        f"{EXPIRY_DATE}. Your cart: {{{{ cart.restore_url }}}}\n\n"
        "The {{ shop.name }} team\n"
        f"{CART_TEXT_FOOTER}"
    ),
    "html": cart_email_html(
        f'<p style="margin:0 0 16px;">Hi {GREETING},</p>'
        '<p style="margin:0;">The last note from us about your cart: your code ends on '
        f"{EXPIRY_DATE}.</p>"
        + code_box("After that, your cart stays saved, without the discount.")
        + restore_button("Open my cart")
        + '<p style="margin:0;">The {{ shop.name }} team</p>'
    ),
}

CART_OFFER = Offer(kind=OfferKind.PERCENT, value=Decimal("10"), prefix="BACK", valid_for=3 * DAY)

CART_RECOVERY = FlowSpec(
    slug="cart-recovery",
    name="Cart recovery",
    kind=FlowKind.CART_RECOVERY,
    trigger=Trigger.CART_ABANDONED,
    exit_goals=[ExitGoal.ORDERED, ExitGoal.CART_EMPTIED],
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

DEFAULT_FLOWS = [WELCOME_SERIES, CART_RECOVERY]


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
            **offer_fields(step_spec.offer, fast),
        )
        StepContent.objects.bulk_create(
            StepContent(step=step, channel=channel, **parts)
            for channel, parts in step_spec.contents.items()
        )
    if activate:
        lifecycle.activate([flow])
    return flow, True


def install_defaults(*, activate=False, fast=False):
    """Install every shipped flow that is missing; returns ``[(flow, created), ...]``."""
    return [install_flow(spec, activate=activate, fast=fast) for spec in DEFAULT_FLOWS]

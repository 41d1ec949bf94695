"""What a step's templates can use: the variables (merge tags) it provides.

The one table of them, read by validation (a variable the step cannot provide blocks
activation), by the preview (which highlights it, and builds its stand-in context from
the same groups) and by the step page's merge-tag picker. It mirrors what
``engine.message_context`` and ``rendering.base_context`` put in a real message:

* every step: the contact's profile, the shop, the signed links, the flow and step;
* the event that started the flow, by trigger (a popup's name, a first order's key and
  total, the products a browsing contact viewed; a custom event's properties are the
  shop's own, known only at send time);
* the cart: flows started by an abandoned cart (no other trigger has one);
* the order: flows started by an order (placed, delivered), its lines with review links;
* the discount: steps with an offer;
* recommendations: every step (the shop's adapter fills them in when the content uses them).
"""

from dataclasses import dataclass

from django.template import TemplateSyntaxError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..integrations.adapter import get_adapter
from ..models.flows import ORDER_TRIGGERS, Trigger
from ..outbox.rendering import HTML_PARTS, SHOP_KEYS, TOKEN_LINKS, uses_of


@dataclass(frozen=True)
class MergeTag:
    name: str  # "discount.code"
    group: str  # a key of GROUPS
    label: str = ""
    open: bool = False  # names below it are the data's own (profile attributes, event)
    sample: object = ""  # what the preview shows for it, where the preview has no value

    @property
    def path(self):
        return tuple(self.name.split("."))

    @property
    def tag(self):
        return f"{{{{ {self.name} }}}}"

    def covers(self, path):
        """Whether ``path`` is this variable, one below it (open), or a dict above it."""
        size = len(self.path)
        if path[:size] == self.path:
            return len(path) == size or self.open
        return self.path[: len(path)] == path


GROUPS = {
    "contact": gettext_lazy("Contact"),
    "shop": gettext_lazy("Shop"),
    "links": gettext_lazy("Links"),
    "flow": gettext_lazy("Flow"),
    "trigger": gettext_lazy("What started the flow"),
    "cart": gettext_lazy("Cart"),
    "order": gettext_lazy("Order"),
    "offer": gettext_lazy("Offer"),
    "products": gettext_lazy("Recommended products"),
}

EVERY_STEP = [
    MergeTag("contact.first_name", "contact", gettext_lazy("first name")),
    MergeTag("contact.last_name", "contact", gettext_lazy("last name")),
    MergeTag("contact.full_name", "contact", gettext_lazy("full name")),
    MergeTag("contact.email", "contact", gettext_lazy("email address")),
    MergeTag("contact.phone", "contact", gettext_lazy("phone number")),
    MergeTag("contact.locale", "contact", gettext_lazy("language")),
    MergeTag("contact.country", "contact", gettext_lazy("country")),
    MergeTag("contact.time_zone", "contact", gettext_lazy("time zone")),
    MergeTag(
        "contact.attributes",
        "contact",
        gettext_lazy("profile attributes (signup and popup fields), e.g. .birth_year"),
        open=True,
    ),
    *[MergeTag(f"shop.{key}", "shop") for key in SHOP_KEYS],
    *[MergeTag(name, "links") for name in TOKEN_LINKS],
    MergeTag("flow.name", "flow", gettext_lazy("the flow's name")),
    MergeTag("flow.slug", "flow"),
    MergeTag("step.name", "flow", gettext_lazy("the step's name")),
    MergeTag("step.position", "flow", gettext_lazy("the step's number, from 1")),
    MergeTag("variant", "flow", gettext_lazy("the A/B variant's name")),
    MergeTag("trigger", "trigger", gettext_lazy("the event's properties")),
    MergeTag(
        "recommendations",
        "products",
        gettext_lazy("a list: {% for product in recommendations %}, with .name .url .price"),
        open=True,
    ),
]
# What the preview shows for a product the trigger carries.
SAMPLE_PRODUCT = {
    "product_id": "sample-1",
    "name": "Linen shirt",
    "url": "/",
    "image_url": "",
    "price": "49.00",
}
TRIGGER_TAGS = {
    Trigger.POPUP_SUBSCRIBED: [
        MergeTag("trigger.popup", "trigger", gettext_lazy("the popup's name"), sample="Welcome")
    ],
    Trigger.FIRST_ORDER: [
        MergeTag("trigger.order", "trigger", gettext_lazy("the order's number"), sample="1001"),
        MergeTag("trigger.total", "trigger", gettext_lazy("the order's total"), sample="79.00"),
    ],
    Trigger.LAPSED: [
        MergeTag(
            "trigger.last_order", "trigger", gettext_lazy("the last order's number"), sample="1001"
        )
    ],
    # The products the contact looked at last, newest first (omnichannel.browsing).
    Trigger.BROWSE_ABANDONED: [
        MergeTag(
            "trigger.products",
            "trigger",
            gettext_lazy(
                "the products viewed: {% for product in trigger.products %}, with .name .url "
                ".price .image_url"
            ),
            open=True,
            sample=[SAMPLE_PRODUCT, {**SAMPLE_PRODUCT, "name": "Canvas tote", "price": "15.00"}],
        )
    ],
    # The product that is back or cheaper (omnichannel.browsing.news).
    **{
        trigger: [
            # The whole product, for the preview's stand-in; its parts, for the picker.
            MergeTag("trigger.product", "trigger", open=True, sample=SAMPLE_PRODUCT),
            MergeTag("trigger.product.name", "trigger", gettext_lazy("the product's name")),
            MergeTag("trigger.product.url", "trigger", gettext_lazy("the product's page")),
            MergeTag("trigger.product.price", "trigger", gettext_lazy("its price")),
            MergeTag("trigger.product.image_url", "trigger", gettext_lazy("its image")),
            *(
                [
                    MergeTag(
                        "trigger.old_price",
                        "trigger",
                        gettext_lazy("the price before"),
                        sample="59.00",
                    ),
                    MergeTag(
                        "trigger.new_price",
                        "trigger",
                        gettext_lazy("the price now"),
                        sample="49.00",
                    ),
                ]
                if trigger == Trigger.PRICE_DROP
                else []
            ),
        ]
        for trigger in (Trigger.BACK_IN_STOCK, Trigger.PRICE_DROP)
    },
    # The properties the shop passes to track_event(): its own, known at send time only.
    Trigger.CUSTOM_EVENT: [
        MergeTag(
            "trigger", "trigger", gettext_lazy("the event's properties, e.g. .product"), open=True
        )
    ],
}
CART_TAGS = [
    MergeTag(
        "cart.lines",
        "cart",
        gettext_lazy("a list: {% for line in cart.lines %}, with .name .quantity .unit_price"),
        open=True,
    ),
    MergeTag("cart.item_count", "cart", gettext_lazy("number of items")),
    MergeTag("cart.value", "cart", gettext_lazy("the total: {{ cart.value|money:cart.currency }}")),
    MergeTag("cart.currency", "cart"),
    MergeTag("cart.restore_url", "cart", gettext_lazy("link that puts the cart back")),
]
ORDER_TAGS = [
    MergeTag("order.number", "order", gettext_lazy("the order's number")),
    MergeTag(
        "order.total", "order", gettext_lazy("the total: {{ order.total|money:order.currency }}")
    ),
    MergeTag("order.currency", "order"),
    MergeTag("order.status", "order", gettext_lazy("the shop's status of the order")),
    MergeTag(
        "order.lines",
        "order",
        gettext_lazy(
            "a list: {% for line in order.lines %}, with .name .quantity .url and, once "
            "delivered, .review_url"
        ),
        open=True,
    ),
]
OFFER_TAGS = [
    MergeTag("discount.code", "offer", gettext_lazy("the recipient's own code")),
    MergeTag("discount.kind", "offer"),
    MergeTag("discount.value", "offer", gettext_lazy("the amount or percentage")),
    MergeTag(
        "discount.expires_at", "offer", gettext_lazy("{{ discount.expires_at|isodate }}: a date")
    ),
]


def provides_cart(flow):
    """Only the abandoned-cart trigger enrols a contact with a cart."""
    return flow.trigger == Trigger.CART_ABANDONED


def provides_order(flow):
    return flow.trigger in ORDER_TRIGGERS


def step_tags(step):
    """Every variable ``step``'s templates can use, grouped as ``GROUPS`` orders them."""
    tags = EVERY_STEP + TRIGGER_TAGS.get(step.flow.trigger, []) + _shop_own_tags()
    if provides_cart(step.flow):
        tags += CART_TAGS
    if provides_order(step.flow):
        tags += ORDER_TAGS
    if step.has_offer:
        tags += OFFER_TAGS
    order = list(GROUPS)
    return sorted(tags, key=lambda tag: order.index(tag.group))


def grouped_tags(step):
    """``[(group label, [MergeTag, ...]), ...]`` of ``step``, for the picker."""
    groups = {}
    for tag in step_tags(step):
        groups.setdefault(tag.group, []).append(tag)
    return [(GROUPS[group], tags) for group, tags in groups.items()]


def any_step_tags():
    """Every variable some step can provide: what a guarded or tested name may be."""
    return (
        EVERY_STEP
        + [t for ts in TRIGGER_TAGS.values() for t in ts]
        + _shop_own_tags()
        + (CART_TAGS + ORDER_TAGS + OFFER_TAGS)
    )


def _shop_own_tags():
    """The keys the shop's adapter adds to ``get_shop_context()`` besides the usual ones."""
    keys = get_adapter().get_shop_context() or {}
    return [MergeTag(f"shop.{key}", "shop") for key in keys if key not in SHOP_KEYS]


@dataclass(frozen=True)
class Unprovided:
    """A variable a template uses that its step cannot fill."""

    tag: str  # "{{ discount.code }}"
    reason: str
    # False: a name below an open variable (a profile attribute, an event property) that
    # some messages have and others not: a warning, as the message without it fails.
    blocking: bool = True

    def describe(self):
        return _("%(tag)s: %(reason)s") % {"tag": self.tag, "reason": self.reason}


def unprovided(step, source, html=False, tags=None):
    """The variables of one template ``source`` that ``step`` cannot fill (none for a
    template that does not compile: its error is reported as such).

    A variable the template requires must be one the step provides. One it guards
    (``{% if discount %}...{% endif %}``, ``|default``) or tests in an ``{% if %}`` may be
    absent, but must still be one some step can provide: a misspelt name is never right.
    A required name below an open variable (``contact.attributes.birth_year``) is one
    that some contacts lack: reported, not blocking.
    """
    tags = step_tags(step) if tags is None else tags
    try:
        uses = uses_of(source, html)
    except TemplateSyntaxError:
        return []
    every = any_step_tags()
    found = {}
    for use in uses:
        if use.tag in found:
            continue
        lenient = use.optional or use.condition
        covering = [tag for tag in (every if lenient else tags) if tag.covers(use.path)]
        if not covering:
            found[use.tag] = Unprovided(use.tag, _why(use.path, every))
        elif not lenient and all(_below(tag, use.path) for tag in covering):
            found[use.tag] = Unprovided(use.tag, str(SOMETIMES_ABSENT), blocking=False)
    return list(found.values())


SOMETIMES_ABSENT = gettext_lazy(
    "not every message has it, and one without it is not sent (it fails, saying why): "
    "show it inside {% if %}...{% endif %}, or give it a |default"
)


def _below(tag, path):
    return tag.open and len(path) > len(tag.path)


def content_unprovided(step, content, tags=None):
    """``{part name: [Unprovided, ...]}`` for the parts of a ``StepContent`` that use a
    variable ``step`` cannot fill (WhatsApp's variables count as one part)."""
    tags = step_tags(step) if tags is None else tags
    found = {}
    for name, value in content.as_message_content().items():
        sources = value.values() if isinstance(value, dict) else [value]
        missing = {
            u.tag: u
            for source in sources
            if isinstance(source, str) and "{" in source
            for u in unprovided(step, source, name in HTML_PARTS, tags)
        }
        if missing:
            found[name] = list(missing.values())
    return found


def _why(path, every):
    group = next((tag.group for tag in every if tag.covers(path)), None)
    if group == "offer":
        return _(
            "this step has no offer: set one under Offer, or show it only "
            "inside {% if discount %}...{% endif %}"
        )
    if group == "cart":
        return _("only flows started by an abandoned cart have a cart")
    if group == "order":
        return _("only flows started by an order (placed or delivered) have an order")
    if group == "trigger":
        return _("the event that starts this flow does not carry it")
    return _("there is no such variable: check the spelling (the step page lists them)")

"""The emails of the shipped flows after a purchase, built from blocks.

The flows themselves are in ``defaults`` (installed with the others, as drafts staff
edit in the block editor). Their words are translated in the app's catalogs: each email
is installed in English (the default language) and in French, Russian, Bulgarian and
Slovak; a contact gets the one of their language, else the default.

Thank you and cross-sell (started by every purchase; priority 15):

1. at once, by email, as part of the order (transactional: it goes without marketing
   consent, so it carries no offer and no products): thanks, the order's lines and total;
2. a week later, by email, marketing (consent needed): products that go with the order,
   from the shop's recommendations for its lines.

Review request (started when an order reaches a ``REVIEW_ORDER_STATUSES`` status; 15):

1. three days later, by email, marketing: each line of the order with its review link
   (``ShopAdapter.get_review_url``).

Win-back (started when a buyer lapses, ``omnichannel.carts.winback``; ends when they order;
priority 10, under cart recovery's 30, so a running recovery holds it back):

1. at once, by email: hello, and a few products;
2. a week later, by email: a unique 15 % code valid two weeks;
3. ten days later, by email: a last note before the code ends.
"""

from django.utils.translation import gettext_lazy as _

from .shipped_blocks import HELLO, LOGO, SIGNATURE, button, discount, footer, heading, text

ORDER_LINES = {"type": "order"}
RECOMMENDATIONS = {"type": "recommendations"}
# The thank-you belongs to the order; the others are marketing to a buyer.
ORDER_FOOTER = footer(_("You receive this email about your order at {{ shop.name }}."))
BUYER_FOOTER = footer(_("You receive this email because you bought at {{ shop.name }}."))


def email(subject, preheader, blocks):
    """An email whose heading repeats its ``subject``, after the logo."""
    return {"subject": subject, "preheader": preheader, "blocks": [LOGO, heading(subject), *blocks]}


# --- thank you and cross-sell ----------------------------------------------------------------

THANK_YOU = email(
    _("Thank you for your order {{ order.number }}"),
    _("We have your order and are getting it ready."),
    [
        HELLO,
        text(_("Thank you for your order at {{ shop.name }}. Here is what you bought:")),
        ORDER_LINES,
        text(_("If anything is not right, just reply to this email: a person will answer.")),
        SIGNATURE,
        ORDER_FOOTER,
    ],
)

CROSS_SELL = email(
    _("Something to go with your order"),
    _("A few picks chosen around what you bought."),
    [
        HELLO,
        text(_("We hope you are enjoying your order. A few things that go well with it:")),
        RECOMMENDATIONS,
        button(_("See more in the shop")),
        SIGNATURE,
        BUYER_FOOTER,
    ],
)

# --- review request --------------------------------------------------------------------------

# The order's block links each line to its review page (``line.review_url``).
REVIEW_REQUEST = email(
    _("How do you like your order?"),
    _("Your review helps other customers choose."),
    [
        HELLO,
        text(
            _(
                "Your order {{ order.number }} has arrived. Now that you have had a little time "
                "with it, would you tell others what you think? It takes a minute."
            )
        ),
        ORDER_LINES,
        text(_("Thank you: our team reads every review.")),
        SIGNATURE,
        BUYER_FOOTER,
    ],
)

# --- win-back --------------------------------------------------------------------------------

MISS_YOU = email(
    _("It has been a while: here is what is new at {{ shop.name }}"),
    _("A few new things we think you will like."),
    [
        HELLO,
        text(
            _(
                "It has been a while since your last order, and we wanted to say hello. Much "
                "has arrived since; a few things we think you will like:"
            )
        ),
        RECOMMENDATIONS,
        button(_("See what is new")),
        SIGNATURE,
        BUYER_FOOTER,
    ],
)

# The code's expiry is written as a date in the contact's language
# (``{{ discount.expires_at|isodate|date }}``).
COME_BACK_GIFT = email(
    _("{{ discount.value|floatformat }} % off your next order"),
    _("A code for you alone, valid two weeks."),
    [
        HELLO,
        text(
            _(
                "We would love to see you again. Here is {{ discount.value|floatformat }} % off "
                "your next order:"
            )
        ),
        discount(
            _("The code is for you alone and works until {{ discount.expires_at|isodate|date }}.")
        ),
        button(_("Shop now")),
        SIGNATURE,
        BUYER_FOOTER,
    ],
)

LAST_CALL = email(
    _(
        "Your {{ discount.value|floatformat }} % code ends on "
        "{{ discount.expires_at|isodate|date }}"
    ),
    _("The last note about your code."),
    [
        HELLO,
        text(
            _(
                "A last note: your code ({{ discount.value|floatformat }} % off your next order) "
                "ends on {{ discount.expires_at|isodate|date }}. After that we will not write "
                "about it again."
            )
        ),
        discount(),
        button(_("Use my code")),
        SIGNATURE,
        BUYER_FOOTER,
    ],
)

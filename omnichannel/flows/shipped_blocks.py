"""The blocks the shipped flows' emails share (``defaults``, ``order_flows``).

Their words are ``gettext_lazy`` strings: ``defaults.install_flow`` writes each email once
per shipped language, reading them in that language (``defaults.in_language``), so a
sentence is translated once, in the catalogs, wherever it is used.
"""

from django.utils.translation import gettext_lazy as _

LOGO = {"type": "logo"}
HELLO = {"type": "text", "text": _('Hi {{ contact.first_name|default:"there" }},')}
SIGNATURE = {"type": "text", "text": _("The {{ shop.name }} team")}


def heading(words):
    return {"type": "heading", "text": words}


def text(words):
    return {"type": "text", "text": words}


def button(label, url="{{ shop.url }}"):
    return {"type": "button", "label": label, "url": url}


def discount(note=""):
    return {"type": "discount", "note": note} if note else {"type": "discount"}


def footer(reason):
    """The footer with ``reason``, why the recipient gets the email (the unsubscribe and
    preferences links and the shop's address are always added: ``outbox.blocks``)."""
    return {"type": "footer", "text": reason}

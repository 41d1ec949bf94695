"""The integration's own settings, read from Django settings with these defaults.

``OMNICHANNEL_OSCAR_ORDER_STATUSES``  Oscar order status -> the status omnichannel records
    (compared with ``OMNICHANNEL["PURCHASE_ORDER_STATUSES"]``); unlisted statuses pass
    through unchanged. Oscar's statuses are the shop's own (``OSCAR_ORDER_STATUS_PIPELINE``),
    so there is no universal mapping: e.g. ``{"Pending": "placed", "Cancelled": "cancelled"}``
    with ``PURCHASE_ORDER_STATUSES = ["placed", "paid", "shipped"]``.
``OMNICHANNEL_OSCAR_PRICES``  ``"incl_tax"`` (default) or ``"excl_tax"``: which of the
    stock strategy's prices messages show (excl. tax when the tax is not known).
``OMNICHANNEL_OSCAR_CONSENT_WORDING``  the label of the marketing consent box; what the
    customer saw is recorded with their consent in the ledger.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

CONSENT_FIELD = "omnichannel_marketing_consent"

DEFAULT_CONSENT_WORDING = _(
    "Email me news, offers and reminders about my basket. I can unsubscribe at any time."
)


def order_status(status):
    return getattr(settings, "OMNICHANNEL_OSCAR_ORDER_STATUSES", {}).get(status, status)


def prices_include_tax():
    return getattr(settings, "OMNICHANNEL_OSCAR_PRICES", "incl_tax") != "excl_tax"


def consent_wording():
    return str(getattr(settings, "OMNICHANNEL_OSCAR_CONSENT_WORDING", DEFAULT_CONSENT_WORDING))

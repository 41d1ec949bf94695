"""The admin is the product's UI for shop staff; one module per concept."""

from . import (  # noqa: F401  (registers the model admins)
    browsing,
    carts,
    consent,
    contacts,
    flows,
    messages,
    orders,
    popups,
    recovery,
    segments,
    webhooks,
)

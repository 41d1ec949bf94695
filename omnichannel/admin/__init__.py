"""The admin is the product's UI for shop staff; one module per concept."""

from . import (  # noqa: F401  (registers the model admins)
    brand,
    browsing,
    carts,
    consent,
    contacts,
    flows,
    messages,
    orders,
    popups,
    recovery,
    results,
    segments,
    webhooks,
)

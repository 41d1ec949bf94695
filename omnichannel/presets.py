"""Ready sets of settings, merged into ``OMNICHANNEL``.

    from omnichannel.presets import EU_STRICT

    OMNICHANNEL = {**EU_STRICT, "SHOP_ADAPTER": "myshop.omnichannel.Adapter"}

Keys you set after the preset win. A preset is a starting point a lawyer can read, not
legal advice.
"""

from .conf import EEA_COUNTRIES

#: Message only people who said yes, keep less for less long.
EU_STRICT = {
    # Cart reminders only to contacts with marketing consent: no transactional mode.
    "CART_RECOVERY_TRANSACTIONAL": False,
    # Popups set to "automatic" ask for double opt-in in every EEA country.
    "DOUBLE_OPT_IN_COUNTRIES": EEA_COUNTRIES,
    # Data minimisation: history goes sooner than the defaults.
    "RETENTION_DAYS": {
        "cart_snapshots": 90,
        "delivery_events": 365,
        "popup_events": 180,
        "inbound_messages": 365,
        "messages": 730,
    },
}

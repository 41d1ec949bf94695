"""Exit-intent popups: which popup a page gets, what a subscription does, what it gives.

config.py        the active popups, cached, with their markup rendered once
targeting.py     which of them match the visitor of a request (no query)
markup.py        the popup's HTML, for pages and for the admin preview
loader.py        what ``{% omnichannel_popup %}`` writes into the page
subscribe.py     a submitted popup form: contact, consents, double opt-in, gift
confirmation.py  the double opt-in email and its link
gift.py          the discount code or message a subscription earns
stats.py         the figures of each variant
views.py         the confirmation page and the push service worker
"""

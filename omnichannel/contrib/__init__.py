"""Ready integrations for shop frameworks: add one app and omnichannel knows the shop.

``omnichannel.contrib.oscar`` integrates django-oscar (install the ``oscar`` extra).
"""

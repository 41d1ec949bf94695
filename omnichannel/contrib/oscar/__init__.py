"""omnichannel for django-oscar: ``INSTALLED_APPS += ["omnichannel.contrib.oscar"]``.

It brings the shop adapter (baskets, orders, vouchers, products), the receivers for
Oscar's signals and model hooks, the marketing consent box for Oscar's registration and
checkout, template overrides that put the popup, the inbox and the preference centre
into Oscar's pages, and a dashboard navigation entry. See the README, "django-oscar".
"""

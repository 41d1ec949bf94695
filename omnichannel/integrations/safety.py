"""Keeping the shop's request safe from the app's failures.

A broken adapter or a database hiccup in the app must never turn a shopper's add-to-cart
or checkout into an error page: the failure is logged with its traceback and the shop's
request goes on.
"""

import functools
import logging

from django.db import transaction

logger = logging.getLogger("omnichannel.integrations")


def never_raises(func):
    """Decorate a shop-facing function: log any exception and return None instead."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception:
            logger.exception("omnichannel: %s failed; the shop's request goes on.", func.__name__)
            return None

    return wrapper


def after_commit(func, *args, **kwargs):
    """Run ``func`` once the shop's transaction commits (at once outside one), safely.

    If the shop's transaction rolls back, the work never happens: no cart is tracked for
    an add-to-cart that did not stick.
    """
    transaction.on_commit(functools.partial(never_raises(func), *args, **kwargs))

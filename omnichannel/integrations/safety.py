"""Keeping the shop's request safe from the app's failures.

A broken adapter or a database hiccup in the app must never turn a shopper's add-to-cart
or checkout into an error page: the failure is logged with its traceback and the shop's
request goes on.

Catching the exception is not enough on PostgreSQL. A failed query aborts the whole
transaction it ran in, so inside the shop's own transaction (``ATOMIC_REQUESTS = True``,
or a view under ``transaction.atomic``) every later query of the shop would fail, and its
commit would silently roll back the order it just saved. So inside a transaction each
call runs in a savepoint of its own, which an error rolls back alone (our part, nothing of
the shop's). Outside one (autocommit) a failed query aborts nothing, so no savepoint is
spent there: add-to-cart keeps its query budget.
"""

import contextlib
import functools
import logging

from django.db import transaction

logger = logging.getLogger("omnichannel.integrations")


def never_raises(func):
    """Decorate a shop-facing function: run it in a savepoint of its own (inside a
    transaction); on any exception roll that savepoint back, log, and return None."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            with own_savepoint():
                return func(*args, **kwargs)
        except Exception:
            logger.exception("omnichannel: %s failed; the shop's request goes on.", func.__name__)
            return None

    return wrapper


def own_savepoint():
    """A savepoint when a transaction is open (the shop's, or ``ATOMIC_REQUESTS``)."""
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return contextlib.nullcontext()


def after_commit(func, *args, **kwargs):
    """Run ``func`` once the shop's transaction commits (at once outside one), safely.

    If the shop's transaction rolls back, the work never happens: no cart is tracked for
    an add-to-cart that did not stick. The work runs once the shop's transaction has
    committed, so it cannot break it.
    """
    transaction.on_commit(functools.partial(never_raises(func), *args, **kwargs))

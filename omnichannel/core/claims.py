"""Claiming due rows for one worker, and keeping them while it works.

Every sweep takes its rows the same way: select due rows ``FOR UPDATE SKIP LOCKED`` in one
short transaction and mark them as this worker's, so two sweepers never take the same row.
Rows held under a lease (messages, enrollments) come back to the queue when their worker
dies; rows claimed inside a longer transaction (the cart detection) are held by their row
locks until it commits, and a crash rolls the claim back with everything else.

A lease is renewed while its owner works (``Lease.renew_if_due``), because a slow provider
or a loaded machine can make a batch outlive it. Every later write of the owner is fenced
by ``locked_by``: a worker whose lease ran out and was taken over finds its rows gone and
stops, instead of writing over the new owner's work.
"""

import time
from datetime import timedelta

from django.db import connections, router, transaction
from django.db.models.functions import Greatest
from django.db.models.sql import UpdateQuery
from django.utils import timezone


def claim(queryset, *, limit, order_by, mark):
    """Mark up to ``limit`` rows of ``queryset`` with ``mark`` (field -> value).

    Returns the primary keys claimed, in ``order_by`` order. Rows another transaction
    holds are skipped, not waited for.
    """
    # No savepoint inside a caller's transaction: an error here ends that one anyway, and
    # a sweep that claims a batch per transaction saves two round trips per batch.
    with transaction.atomic(savepoint=False):
        ids = list(
            queryset.select_for_update(skip_locked=True, of=("self",))
            .order_by(*order_by)
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            queryset.model._default_manager.filter(pk__in=ids).update(**mark)
    return ids


def claim_returning(queryset, *, limit, order_by, mark, fields):
    """``claim``, returning the claimed rows (``fields`` loaded) instead of their keys.

    One statement where the database has ``UPDATE ... RETURNING`` (PostgreSQL, SQLite
    3.35+): ``UPDATE ... WHERE pk IN (SELECT ... FOR UPDATE SKIP LOCKED LIMIT n) RETURNING``
    claims, marks and reads back at once, where ``claim`` and a re-read of what it marked
    take three. The rows come with the values ``mark`` gave them, in ``order_by`` order
    (plain field names, ``-`` for descending).
    """
    model = queryset.model
    db = router.db_for_write(model)
    connection = connections[db]
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields if name != meta.pk.name)]
    if not _updates_returning(connection):
        ids = claim(queryset, limit=limit, order_by=order_by, mark=mark)
        rows = list(model._default_manager.filter(pk__in=ids).only(*fields))
        return _ordered(rows, order_by)
    claimed = (
        queryset.select_for_update(skip_locked=True, of=("self",))
        .order_by(*order_by)
        .values("pk")[:limit]
    )
    update = model._default_manager.filter(pk__in=claimed).query.chain(UpdateQuery)
    update.add_update_values(mark)
    statement, params = update.get_compiler(db).as_sql()
    returned = ", ".join(connection.ops.quote_name(column.column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"{statement} RETURNING {returned}", params)
        values = cursor.fetchall()
    # The values as the database driver gives them: converted as a query's would be.
    converters = []
    for position, column in enumerate(columns):
        expression = column.get_col(meta.db_table)
        found = connection.ops.get_db_converters(expression)
        found += expression.get_db_converters(connection)
        converters += [(position, converter, expression) for converter in found]
    names = [column.attname for column in columns]
    rows = []
    for row in values:
        row = list(row)
        for position, converter, expression in converters:
            row[position] = converter(row[position], expression, connection)
        rows.append(model.from_db(db, names, row))
    return _ordered(rows, order_by)


def _updates_returning(connection):
    if connection.vendor == "sqlite":
        return connection.Database.sqlite_version_info >= (3, 35)
    return connection.vendor == "postgresql"


def _ordered(rows, order_by):
    # Stable sorts from the last key to the first: the first decides, the next break ties.
    for key in reversed(order_by):
        name = key.lstrip("-")
        rows.sort(key=lambda row: getattr(row, name), reverse=key.startswith("-"))
    return rows


class Lease:
    """The rows of ``held`` (a queryset) that ``owner`` holds for ``seconds`` at a time.

    ``renew_if_due`` costs one UPDATE once a third of the lease has passed, and nothing
    otherwise, so it can be called before every row the owner works on. Renewal only ever
    moves ``locked_until`` forward: a row handed to a provider keeps the longer lease its
    hand-over gave it.
    """

    def __init__(self, held, owner, seconds):
        self.held, self.owner = held, owner
        self.duration = timedelta(seconds=seconds)
        self._renewed = time.monotonic()

    def expiry(self, now=None):
        return (now or timezone.now()) + self.duration

    def renew_if_due(self):
        """Renew when a third of the lease has passed; returns whether it did."""
        if time.monotonic() - self._renewed < self.duration.total_seconds() / 3:
            return False
        self.renew()
        return True

    def renew(self):
        """Extend the lease of every row still ours; returns how many are."""
        self._renewed = time.monotonic()
        return self.held.filter(locked_by=self.owner).update(
            locked_until=Greatest("locked_until", self.expiry())
        )

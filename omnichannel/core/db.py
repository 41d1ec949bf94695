"""Writing many rows in one round trip, with SQL whose text does not grow with the rows.

Django's ``bulk_update`` builds a ``CASE WHEN pk = ... THEN ...`` expression for every
field and row; past a few dozen rows that Python work costs more than the database's
(FACTS: super-linear). ``bulk_create`` is linear but prepares every field of every row
through the model layer, and its ``VALUES (...), (...)`` text grows with the batch.

On PostgreSQL both helpers here pass one array per column and read them back with
``unnest()``: the statement is the same text for 1 row or 500, so psycopg's cache of
parsed statements (which skips queries longer than 4 KB) keeps it, and the server
plans it the same way each time. Elsewhere one parameterised statement per row through
``executemany``. Either way: one call, plain SQL.
"""

from django.db import connections, router
from django.db.models.constants import OnConflict


def update_rows(objects, fields, *, where="", where_params=(), templates=None):
    """``UPDATE`` each object's ``fields`` by primary key, in one statement or call.

    ``where`` adds a guard to every row (e.g. ``locked_by = %s``); a row it excludes is
    left untouched. ``templates`` maps a field to SQL wrapping the new value, ``{col}``
    standing for the column and ``%s`` for the value, e.g. ``"COALESCE({col}, %s)"`` to
    keep a value someone else already wrote.
    """
    if not objects:
        return
    model = type(objects[0])
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    columns = [meta.pk] + [meta.get_field(name) for name in fields]
    rows = [
        [_prepared(column, getattr(obj, column.attname), connection) for column in columns]
        for obj in objects
    ]
    write = _update_from_arrays if connection.vendor == "postgresql" else _update_each
    with connection.cursor() as cursor:
        write(cursor, connection, meta, columns, rows, where, list(where_params), templates or {})


def insert_rows(objects):
    """``INSERT`` new model instances in one statement, skipping rows that conflict.

    Like ``bulk_create(objects, ignore_conflicts=True)``: field defaults and
    ``auto_now(_add)`` are applied, primary keys are left unset (a conflicting row is not
    inserted, so which pk would be whose is not known).
    """
    if not objects:
        return
    model = type(objects[0])
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    columns = [f for f in meta.concrete_fields if not f.generated and f is not meta.auto_field]
    rows = [
        [column.get_db_prep_save(column.pre_save(obj, add=True), connection) for column in columns]
        for obj in objects
    ]
    write = _insert_from_arrays if connection.vendor == "postgresql" else _insert_each
    with connection.cursor() as cursor:
        write(cursor, connection, meta, columns, rows)


def _prepared(column, value, connection):
    # Django's fields write None as NULL; skipping their preparation for it saves a third
    # of a batch's Python time (most of a message's timestamps are still empty).
    return None if value is None else column.get_db_prep_save(value, connection)


def _arrays(connection, columns, rows):
    """One typed ``unnest`` argument per column, and the column arrays as parameters.

    The casts give each array its type: psycopg cannot tell an array of NULLs' type.
    """
    unnest = ", ".join(f"%s::{column.db_type(connection)}[]" for column in columns)
    return f"unnest({unnest})", [list(values) for values in zip(*rows, strict=True)]


def _assignments(connection, columns, templates, value_of):
    quote = connection.ops.quote_name
    return ", ".join(
        f"{quote(column.column)} = "
        + templates.get(column.name, "%s")
        .replace("%s", value_of(column))
        .format(col=quote(column.column))
        for column in columns
    )


def _update_from_arrays(cursor, connection, meta, columns, rows, where, where_params, templates):
    """PostgreSQL: one ``UPDATE ... FROM unnest(...)``; the planner does the rest."""
    quote = connection.ops.quote_name
    source, params = _arrays(connection, columns, rows)
    names = ", ".join(["_pk", *(f"_new_{column.column}" for column in columns[1:])])
    assignments = _assignments(
        connection, columns[1:], templates, lambda column: f"_v._new_{column.column}"
    )
    guard = f" AND ({where})" if where else ""
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} "
        f"FROM {source} AS _v({names}) "
        f"WHERE {quote(meta.db_table)}.{quote(meta.pk.column)} = _v._pk{guard}"
    )
    cursor.execute(sql, params + where_params)


def _update_each(cursor, connection, meta, columns, rows, where, where_params, templates):
    """Other databases: one parameterised ``UPDATE`` per row through ``executemany``."""
    quote = connection.ops.quote_name
    assignments = _assignments(connection, columns[1:], templates, lambda column: "%s")
    guard = f" AND ({where})" if where else ""
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s{guard}"
    )
    cursor.executemany(sql, [row[1:] + row[:1] + where_params for row in rows])


def _insert_from_arrays(cursor, connection, meta, columns, rows):
    """PostgreSQL: one ``INSERT ... SELECT * FROM unnest(...) ON CONFLICT DO NOTHING``."""
    quote = connection.ops.quote_name
    source, params = _arrays(connection, columns, rows)
    names = ", ".join(quote(column.column) for column in columns)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({names}) SELECT * FROM {source} "
        "ON CONFLICT DO NOTHING"
    )
    cursor.execute(sql, params)


def _insert_each(cursor, connection, meta, columns, rows):
    """Other databases: one parameterised ``INSERT`` per row, conflicts ignored."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(column.column) for column in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    insert = connection.ops.insert_statement(on_conflict=OnConflict.IGNORE)
    suffix = connection.ops.on_conflict_suffix_sql(columns, OnConflict.IGNORE, None, None)
    sql = f"{insert} {quote(meta.db_table)} ({names}) VALUES ({placeholders}) {suffix}"
    cursor.executemany(sql, rows)


def execute_prepared(connection, sql, params):
    """Run ``sql`` (``%(name)s`` parameters) and return its rows; on PostgreSQL as a
    prepared statement of the connection, so a statement run for every row of a batch is
    parsed and planned once, not each time.

    Django's psycopg cursors bind parameters on the client (the SQL text changes with every
    value); this goes to psycopg directly with server-side binding. Poolers in transaction
    mode need protocol-level prepared statements (PgBouncer 1.21 and later).
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall() if cursor.description else []

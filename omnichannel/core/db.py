"""Writing many rows' differing values in one round trip.

Django's ``bulk_update`` builds a ``CASE WHEN pk = ... THEN ...`` expression for every
field and row; past a few dozen rows that Python work costs more than the database's
(FACTS: super-linear). On PostgreSQL this writes all rows with one
``UPDATE ... FROM (VALUES ...)``; elsewhere one parameterised ``UPDATE`` per row through
``executemany``. Either way: one call, plain SQL.
"""

from django.db import connections, router


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
    columns = [meta.get_field(name) for name in fields]
    rows = [
        [meta.pk.get_db_prep_save(obj.pk, connection)]
        + [column.get_db_prep_save(getattr(obj, column.attname), connection) for column in columns]
        for obj in objects
    ]
    write = _update_from_values if connection.vendor == "postgresql" else _update_each
    with connection.cursor() as cursor:
        write(cursor, connection, meta, columns, rows, where, list(where_params), templates or {})


def _assignments(connection, columns, templates, value_of):
    quote = connection.ops.quote_name
    return ", ".join(
        f"{quote(column.column)} = "
        + templates.get(column.name, "%s")
        .replace("%s", value_of(column))
        .format(col=quote(column.column))
        for column in columns
    )


def _update_from_values(cursor, connection, meta, columns, rows, where, where_params, templates):
    """PostgreSQL: one ``UPDATE ... FROM (VALUES ...)``; the planner does the rest."""
    quote = connection.ops.quote_name
    # Typed placeholders: a VALUES list of NULLs has no type otherwise.
    types = [meta.pk.db_type(connection)] + [column.db_type(connection) for column in columns]
    row_sql = "(" + ", ".join(f"%s::{kind}" for kind in types) + ")"
    names = ", ".join(["_pk", *(f"_new_{column.column}" for column in columns)])
    assignments = _assignments(
        connection, columns, templates, lambda column: f"_v._new_{column.column}"
    )
    guard = f" AND ({where})" if where else ""
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} "
        f"FROM (VALUES {', '.join([row_sql] * len(rows))}) AS _v({names}) "
        f"WHERE {quote(meta.db_table)}.{quote(meta.pk.column)} = _v._pk{guard}"
    )
    cursor.execute(sql, [value for row in rows for value in row] + where_params)


def _update_each(cursor, connection, meta, columns, rows, where, where_params, templates):
    """Other databases: one parameterised ``UPDATE`` per row through ``executemany``."""
    quote = connection.ops.quote_name
    assignments = _assignments(connection, columns, templates, lambda column: "%s")
    guard = f" AND ({where})" if where else ""
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s{guard}"
    )
    cursor.executemany(sql, [row[1:] + row[:1] + where_params for row in rows])


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

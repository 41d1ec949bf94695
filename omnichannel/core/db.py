"""Writing many rows' differing values in one round trip.

``insert_rows`` writes new rows without model instances: building an instance and
``bulk_create``'s per-field preparation cost more than the database's work once a batch
holds thousands of rows (the cart sweep measured them at two thirds of its time).

Django's ``bulk_update`` builds a ``CASE WHEN pk = ... THEN ...`` expression for every
field and row; past a few dozen rows that Python work costs more than the database's
(FACTS: super-linear). On PostgreSQL this writes all rows with one
``UPDATE ... FROM (VALUES ...)``; elsewhere one parameterised ``UPDATE`` per row through
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


def insert_rows(model, fields, rows, *, common=None, returning):
    """``INSERT`` ``rows`` (tuples of ``fields`` values), skipping rows that conflict.

    Returns the ``returning`` field's value of each row actually inserted (in no given
    order), so the caller learns which were new without reading them back. ``common``
    holds values every row shares (prepared once); any other column gets its field's
    default. On PostgreSQL one ``INSERT ... SELECT FROM unnest(arrays)``: a column's
    values travel as one array, so neither side parses a placeholder per value.
    Elsewhere a multi-row ``INSERT ... VALUES`` per ``bulk_batch_size`` rows.
    Conflicts are skipped with ``ON CONFLICT DO NOTHING RETURNING`` either way.
    """
    if not rows:
        return []
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    common = common or {}
    varying = [meta.get_field(name) for name in fields]
    given = {field.name for field in varying} | set(common)
    shared = [meta.get_field(name) for name in common] + [
        field
        for field in meta.concrete_fields
        if field.name not in given and field is not meta.auto_field
    ]
    if unrowed := [field.name for field in shared if field.unique and field.name not in common]:
        # One default (a uuid4, say) for every row: all but the first would conflict away.
        raise ValueError(f"insert_rows needs a value per row for {', '.join(unrowed)}")
    shared_values = [
        field.get_db_prep_save(
            common[field.name] if field.name in common else field.get_default(), connection
        )
        for field in shared
    ]
    prepare = [field.get_db_prep_save for field in varying]
    prepared = [
        [prep(value, connection) for prep, value in zip(prepare, row, strict=True)] for row in rows
    ]
    key = meta.get_field(returning)
    write = _insert_from_arrays if connection.vendor == "postgresql" else _insert_values
    with connection.cursor() as cursor:
        returned = write(cursor, connection, meta, varying, shared, prepared, shared_values, key)
    return [key.to_python(value) for value in returned]


def _insert_start(connection, meta, varying, shared):
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in varying + shared)
    insert = connection.ops.insert_statement(on_conflict=OnConflict.IGNORE)
    return f"{insert} {quote(meta.db_table)} ({columns})"


def _insert_end(connection, varying, key):
    ignore = connection.ops.on_conflict_suffix_sql(varying, OnConflict.IGNORE, None, None)
    return f"{ignore} RETURNING {connection.ops.quote_name(key.column)}"


def _insert_from_arrays(cursor, connection, meta, varying, shared, rows, shared_values, key):
    """PostgreSQL: one statement, one typed array per varying column."""
    names = [f"_c{position}" for position in range(len(varying))]
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in varying)
    constants = [f"%s::{field.db_type(connection)}" for field in shared]
    cursor.execute(
        f"{_insert_start(connection, meta, varying, shared)} "
        f"SELECT {', '.join(names + constants)} FROM unnest({arrays}) AS _r({', '.join(names)}) "
        f"{_insert_end(connection, varying, key)}",
        shared_values + [list(column) for column in zip(*rows, strict=True)],
    )
    return [value for (value,) in cursor.fetchall()]


def _insert_values(cursor, connection, meta, varying, shared, rows, shared_values, key):
    """Other databases: a multi-row ``VALUES`` per batch their parameter limit allows."""
    row_sql = "(" + ", ".join(["%s"] * (len(varying) + len(shared))) + ")"
    size = max(connection.ops.bulk_batch_size(varying + shared, rows), 1)
    returned = []
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        cursor.execute(
            f"{_insert_start(connection, meta, varying, shared)} "
            f"VALUES {', '.join([row_sql] * len(chunk))} {_insert_end(connection, varying, key)}",
            [value for row in chunk for value in row + shared_values],
        )
        returned += [value for (value,) in cursor.fetchall()]
    return returned

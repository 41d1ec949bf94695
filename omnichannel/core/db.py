"""Writing many rows in one round trip, with SQL whose text does not grow with the rows.

Django's ``bulk_update`` builds a ``CASE WHEN pk = ... THEN ...`` expression for every
field and row; past a few dozen rows that Python work costs more than the database's
(FACTS: super-linear). ``bulk_create`` is linear but prepares every field of every row
through the model layer, and its ``VALUES (...), (...)`` text grows with the batch.

On PostgreSQL both helpers here pass one array per column and read them back with
``unnest()``: the statement is the same text for 1 row or 500, so psycopg's cache of
parsed statements (which skips queries longer than 4 KB) keeps it, and the server
plans it the same way each time. The arrays go as parameters of the server, in binary
(``array_cursor``). Elsewhere one parameterised statement per row through
``executemany``. Either way: one call, plain SQL.
"""

import contextlib
import datetime
import functools
import uuid

from django.db import connections, models, router
from django.db.models.constants import OnConflict


@contextlib.contextmanager
def array_cursor(connection):
    """A cursor of ``connection`` for statements whose parameters are whole columns.

    Django's psycopg cursors bind parameters on the client: psycopg writes every array
    into the SQL text as a quoted literal, in Python, value by value (a fifth of a cart
    detection batch's time, for 1,000 rows). This cursor binds on the server and sends
    the ``%b`` parameters in binary, packed by psycopg's C dumpers: a 1,000-row insert of
    seven columns takes 11 ms instead of 32. It is still Django's cursor wrapper, so
    ``execute_wrapper``, query logging and error translation see its statements. Other
    databases and psycopg 2 get the usual cursor (``%s`` placeholders).
    """
    if not _binds_binary(connection):
        with connection.cursor() as cursor:
            yield cursor
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = ServerBindingCursor(connection.connection)
    wrap = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
    with wrap(raw) as cursor:
        yield cursor


def _binds_binary(connection):
    """Whether ``array_cursor`` binds on the server, in binary: PostgreSQL through psycopg 3."""
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3


def _placeholder(connection):
    """An ``array_cursor`` parameter's placeholder: ``%b`` (binary) where it binds so."""
    return "%b" if _binds_binary(connection) else "%s"


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
    rows = _prepared_rows(
        columns,
        ([getattr(obj, column.attname) for column in columns] for obj in objects),
        connection,
    )
    write = _update_from_arrays if connection.vendor == "postgresql" else _update_each
    with array_cursor(connection) as cursor:
        write(cursor, connection, meta, columns, rows, where, list(where_params), templates or {})


def _prepared_rows(columns, rows, connection):
    """Each row's values (in ``columns`` order) as ``_prepared`` makes them."""
    # Each column's native types looked up once, not per value: the cache's key, the
    # field, hashes slowly (a tenth of a thousand-row insert's Python time).
    natives = [_native_types(column, connection.vendor) for column in columns]
    return [
        [
            _prepared(column, value, connection, native)
            for column, native, value in zip(columns, natives, row, strict=True)
        ]
        for row in rows
    ]


def _prepared(column, value, connection, native):
    # Django's fields write None as NULL; skipping their preparation for it saves a third
    # of a batch's Python time (most of a message's timestamps are still empty). A value
    # already of the type psycopg sends as the column's own is passed as it is, too: the
    # field would return it unchanged, after a few calls per value (a tenth of a flow
    # batch's time went to preparing timestamps).
    if value is None:
        return None
    if type(value) in native and (type(value) is not datetime.datetime or value.tzinfo is not None):
        return value
    return column.get_db_prep_save(value, connection)


# Django's own field classes (exactly: a subclass may prepare its values its own way) and
# the Python types PostgreSQL's driver sends as their columns' type, as Django would.
_AS_IS = {
    models.CharField: (str,),
    models.TextField: (str,),
    models.SlugField: (str,),
    models.IntegerField: (int,),
    models.BigIntegerField: (int,),
    models.PositiveIntegerField: (int,),
    models.PositiveSmallIntegerField: (int,),
    models.SmallIntegerField: (int,),
    models.AutoField: (int,),
    models.BigAutoField: (int,),
    models.BooleanField: (bool,),
    models.UUIDField: (uuid.UUID,),
    # Aware ones only (checked above): Django makes a naive one aware, with a warning.
    models.DateTimeField: (datetime.datetime,),
}


@functools.cache
def _native_types(column, vendor):
    if vendor != "postgresql":
        return ()
    if isinstance(column, models.ForeignKey):
        column = column.target_field
    return _AS_IS.get(type(column), ())


def _arrays(connection, columns, rows):
    """One typed ``unnest`` argument per column, and the column arrays as parameters.

    The casts give each array its type: psycopg cannot tell an array of NULLs' type.
    """
    array = _placeholder(connection)
    unnest = ", ".join(f"{array}::{column.db_type(connection)}[]" for column in columns)
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
    # The planner cannot see into the unnest. Keyed on its primary keys again (``= ANY``),
    # it looks the batch's rows up by key rather than reading every row a guard's index
    # holds (all 30,000 active enrollments to write 200). And the guard's values as
    # sub-selects: a value the statistics cannot know (``locked_by = 'this worker'``)
    # would be taken for one row, and the unnest scanned again for each row found.
    guard = f" AND ({where.replace('%s', '(SELECT %s)')})" if where else ""
    table, pk, keys = quote(meta.db_table), quote(meta.pk.column), _placeholder(connection)
    sql = (
        f"UPDATE {table} SET {assignments} FROM {source} AS _v({names}) "
        f"WHERE {table}.{pk} = _v._pk "
        f"AND {table}.{pk} = ANY({keys}::{meta.pk.db_type(connection)}[]){guard}"
    )
    cursor.execute(sql, [*params, params[0], *where_params])


def _update_each(cursor, connection, meta, columns, rows, where, where_params, templates):
    """Other databases: one parameterised ``UPDATE`` per row through ``executemany``."""
    quote = connection.ops.quote_name
    assignments = _assignments(connection, columns[1:], templates, lambda column: "%s")
    guard = f" AND ({where})" if where else ""
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s{guard}"
    )
    cursor.executemany(sql, [row[1:] + row[:1] + where_params for row in rows])


def insert_rows(model, fields, rows, *, common=None, returning=None):
    """``INSERT`` ``rows`` (tuples of ``fields`` values), skipping rows that conflict.

    Returns the ``returning`` field's value of each row actually inserted (in no given
    order), so the caller learns which were new without reading them back; nothing when
    ``returning`` is None. ``common``
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
    prepared = _prepared_rows(varying, rows, connection)
    key = meta.get_field(returning) if returning else None
    write = _insert_from_arrays if connection.vendor == "postgresql" else _insert_values
    with array_cursor(connection) as cursor:
        returned = write(cursor, connection, meta, varying, shared, prepared, shared_values, key)
    return [key.to_python(value) for value in returned] if key else []


def insert_objects(objects):
    """``insert_rows`` for unsaved model instances: like ``bulk_create(objects,
    ignore_conflicts=True)``, field defaults and ``auto_now(_add)`` applied, primary keys
    left unset (a conflicting row is not inserted, so which pk would be whose is unknown).
    """
    if not objects:
        return
    meta = type(objects[0])._meta
    fields = [f for f in meta.concrete_fields if not f.generated and f is not meta.auto_field]
    insert_rows(
        type(objects[0]),
        [field.name for field in fields],
        [tuple(field.pre_save(obj, add=True) for field in fields) for obj in objects],
    )


def _insert_start(connection, meta, varying, shared):
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in varying + shared)
    insert = connection.ops.insert_statement(on_conflict=OnConflict.IGNORE)
    return f"{insert} {quote(meta.db_table)} ({columns})"


def _insert_end(connection, varying, key):
    ignore = connection.ops.on_conflict_suffix_sql(varying, OnConflict.IGNORE, None, None)
    return f"{ignore} RETURNING {connection.ops.quote_name(key.column)}" if key else ignore


def _insert_from_arrays(cursor, connection, meta, varying, shared, rows, shared_values, key):
    """PostgreSQL: one statement, one typed array per varying column."""
    names = [f"_c{position}" for position in range(len(varying))]
    source, arrays = _arrays(connection, varying, rows)
    value = _placeholder(connection)
    constants = [f"{value}::{field.db_type(connection)}" for field in shared]
    cursor.execute(
        f"{_insert_start(connection, meta, varying, shared)} "
        f"SELECT {', '.join(names + constants)} FROM {source} AS _r({', '.join(names)}) "
        f"{_insert_end(connection, varying, key)}",
        shared_values + arrays,
    )
    return [value for (value,) in cursor.fetchall()] if key else []


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
        if key:
            returned += [value for (value,) in cursor.fetchall()]
    return returned


def execute_prepared(connection, sql, params):
    """Run ``sql`` (``%(name)s`` parameters) and return its rows; on PostgreSQL as a
    prepared statement of the connection, so a statement run for every row of a batch is
    parsed once, not each time (the server then plans it per execution or once, as its
    ``plan_cache_mode`` decides).

    Django's psycopg cursors bind parameters on the client (the SQL text changes with every
    value); this goes to psycopg directly with server-side binding. Django also turns
    psycopg's statement cache off (``prepare_threshold`` None, unless the shop's
    ``OPTIONS`` set it), which makes psycopg ignore ``prepare=True``: the cache is switched
    on for this one call and left as the shop had it, so only these statements are
    prepared. Poolers in transaction mode need protocol-level prepared statements
    (PgBouncer 1.21 and later).
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    threshold = raw.prepare_threshold
    if threshold is None:
        raw.prepare_threshold = 0
    try:
        with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
            cursor.execute(sql, params, prepare=True)
            return cursor.fetchall() if cursor.description else []
    finally:
        raw.prepare_threshold = threshold

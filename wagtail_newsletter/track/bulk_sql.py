"""Bulk SQL for the aggregation: multi-row upserts and reads through a binary cursor on PostgreSQL."""

from datetime import datetime

from django.db import connection


def upsert(model, columns, keys, rows, add=False):
    """INSERT ``rows`` (tuples in ``columns`` order) or, where ``keys`` exist, set the columns to the new values
    (``add``: add the new values to the stored ones). One statement on PostgreSQL (arrays), batches on SQLite."""
    if not rows:
        return
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in columns]
    table = quote(model._meta.db_table)
    names = ", ".join(quote(field.column) for field in fields)
    key_columns = {model._meta.get_field(name).column for name in keys}
    updates = ", ".join(
        f"{quote(field.column)} = {table}.{quote(field.column)} + EXCLUDED.{quote(field.column)}"
        if add
        else f"{quote(field.column)} = EXCLUDED.{quote(field.column)}"
        for field in fields
        if field.column not in key_columns
    )
    conflict = f"ON CONFLICT ({', '.join(quote(column) for column in key_columns)}) DO UPDATE SET {updates}"
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%b::{field.db_type(connection)}[]" for field in fields)
        sql = f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) {conflict}"
        with binary_cursor() as cursor:
            cursor.execute(sql, [list(column) for column in zip(*rows, strict=True)])
        return
    with connection.cursor() as cursor:
        adapt = connection.ops.adapt_datetimefield_value
        rows = [[adapt(value) if isinstance(value, datetime) else value for value in row] for row in rows]
        per_statement = max(1, (connection.features.max_query_params or 999) // len(fields))
        placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
        for start in range(0, len(rows), per_statement):
            part = rows[start : start + per_statement]
            sql = f"INSERT INTO {table} ({names}) VALUES {', '.join([placeholder] * len(part))} {conflict}"
            cursor.execute(sql, [value for row in part for value in row])


def fetch(queryset):
    """The rows of a ``values_list`` queryset. On PostgreSQL through a binary cursor: Django's text cursor parses
    each timestamp in Python, which was most of a chunk's time."""
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with binary_cursor() as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()


def binary_cursor():
    """A psycopg cursor binding its parameters on the server (arrays sent in binary, not quoted in Python), on
    Django's connection and so in its transaction."""
    import psycopg  # only on PostgreSQL: the driver is optional

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)

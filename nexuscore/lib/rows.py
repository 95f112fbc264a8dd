"""Model instances from a hand-written join: for the queries every signed-in request makes.

The ORM compiles a query's SQL afresh on every call. For the two queries that every signed-in
page makes (the session with its user, the person's memberships with their organisations) that
compiling and the instances' building cost twice what PostgreSQL took to answer: about 1.2 of the
signed-in floor's 2.7 ms (docs/benchmarks.md). Their SQL is therefore written out once per
process from the models' own tables and columns, and each row becomes instances through
`Model.from_db()`, as the ORM makes them, with each field's `from_db_value()` applied (JSON).

    sql = f"SELECT {select_list(Session, 's')}, {select_list(User, 'u')} FROM ..."
    session, user = instances(row, (Session, User))

Anything less frequent uses the ORM.
"""

from functools import cache

from django.db import connection


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def select_list(model, alias: str) -> str:
    """Every concrete column of `model`, in field order, as `alias`."column"."""
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields)


def table(model) -> str:
    return quote(model._meta.db_table)


@cache
def _shape(model):
    fields = model._meta.concrete_fields
    converters = [
        (index, field.from_db_value)
        for index, field in enumerate(fields)
        if hasattr(field, "from_db_value")
    ]
    return [field.attname for field in fields], fields.index(model._meta.pk), converters


def instances(row, models) -> list:
    """Split a row of select_list() columns (one model after another) into an instance of each;
    None for a model whose primary key is NULL (nothing matched a LEFT JOIN)."""
    made, start = [], 0
    for model in models:
        attnames, pk_index, converters = _shape(model)
        values = list(row[start : start + len(attnames)])
        start += len(attnames)
        if values[pk_index] is None:
            made.append(None)
            continue
        for index, convert in converters:
            values[index] = convert(values[index], None, connection)
        made.append(model.from_db(connection.alias, attnames, values))
    return made

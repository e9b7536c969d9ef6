"""Statements sent together: the INSERT of unsaved objects as SQL text and parameters, for a
caller that sends several statements in one round trip (see capacity.Guard.commit_locked).

Django compiles the INSERT exactly as `bulk_create` does (defaults, `pre_save`, adaptation of
each value for the database); only the execution is left to the caller. No RETURNING: the
objects' primary keys stay unset, so only rows nobody refers to by id afterwards go this way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Model
from django.db.models.sql.subqueries import InsertQuery


def insert_statement(objs: Sequence[Model]) -> tuple[str, list[Any]]:
    """One INSERT of `objs` (unsaved, all of one model), as (SQL, parameters)."""
    model = type(objs[0])
    opts = model._meta
    fields = [f for f in opts.concrete_fields if f is not opts.auto_field and not f.generated]
    query = InsertQuery(model)
    query.insert_values(fields, list(objs))
    statements = query.get_compiler(connection=connection).as_sql()
    if len(statements) != 1:  # a database that cannot insert several rows at once
        raise ValueError("insert_statement: one statement expected")
    sql, params = statements[0]
    return sql, list(params)

"""A PostgreSQL function that raises a known error, so that one SQL statement may refuse:
`SELECT CASE WHEN <fits> THEN 1 ELSE conciergerie_refuse() END` aborts the transaction when
an order does not fit (see core/capacity.py, `Guard.commit_locked`). A plain `1/0` would not
do: PostgreSQL may fold constants while planning and raise even when the branch is not
taken. Nothing on SQLite. Reversible."""

from django.db import migrations

CREATE = """CREATE OR REPLACE FUNCTION conciergerie_refuse() RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'conciergerie: refused by the capacity check' USING ERRCODE = 'CR001';
END $$"""
DROP = "DROP FUNCTION IF EXISTS conciergerie_refuse()"


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("events", "0002_room_series_cancel")]

    operations = [migrations.RunPython(forward, backward)]

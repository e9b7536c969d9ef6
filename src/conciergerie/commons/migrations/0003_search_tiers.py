"""Bounded search over large catalogues (bench/commons.py: 100,000 commons).

SQLite: an index on (id, place_id, status, kind, actions), so that checking the place, the
state and the filters of each full-text match reads a small index rather than the row (a
commons' row holds its description: about a page each).
PostgreSQL: a second, small tsvector of the name (A), summary and keywords (B) with its own
GIN index: the first tier of the search ranks on it without unpacking whole descriptions.
Reversible.
"""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE INDEX commons_search_filter ON commons_commons (id, place_id, status, kind, actions)"
]
SQLITE_BACKWARD = ["DROP INDEX IF EXISTS commons_search_filter"]
PG_FORWARD = [
    """ALTER TABLE commons_commons ADD COLUMN search_head tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('conciergerie_fr'::regconfig, coalesce(name, '')), 'A')
        || setweight(to_tsvector('conciergerie_fr'::regconfig,
                coalesce(summary, '') || ' ' || coalesce(keywords, '')), 'B')
    ) STORED""",
    "CREATE INDEX commons_search_head_idx ON commons_commons USING GIN (search_head)",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS commons_search_head_idx",
    "ALTER TABLE commons_commons DROP COLUMN IF EXISTS search_head",
]


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    for sql in {"sqlite": SQLITE_FORWARD, "postgresql": PG_FORWARD}.get(vendor, []):
        schema_editor.execute(sql)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    for sql in {"sqlite": SQLITE_BACKWARD, "postgresql": PG_BACKWARD}.get(vendor, []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("commons", "0002_search")]

    operations = [migrations.RunPython(forward, backward)]

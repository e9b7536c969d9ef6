"""PostgreSQL only: the database itself refuses two overlapping bookings of a capacity-1 resource.

An exclusion constraint over (resource, [start, end)) for the bookings that hold the
resource (pending or confirmed) and are `exclusive` (capacity 1). SQLite has no such
constraint: there the capacity guard serialises writers instead (core/capacity.py).
Reversible: the reverse drops the constraint (btree_gist stays, other code may use it).
"""

from django.db import migrations


class PostgresOnly(migrations.RunSQL):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("spaces", "0001_initial")]

    operations = [
        PostgresOnly(
            sql=[
                "CREATE EXTENSION IF NOT EXISTS btree_gist",
                """
                ALTER TABLE spaces_booking ADD CONSTRAINT booking_no_overlap
                EXCLUDE USING gist (
                    resource_id WITH =,
                    tstzrange(start_at, end_at, '[)') WITH &&
                ) WHERE (exclusive AND status IN ('en_attente', 'confirmee'))
                """,
            ],
            reverse_sql=["ALTER TABLE spaces_booking DROP CONSTRAINT booking_no_overlap"],
        )
    ]

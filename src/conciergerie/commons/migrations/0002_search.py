"""Full-text search over the catalogue, one index per database engine.

SQLite: an FTS5 table over the folded, stemmed columns that commons/search.py fills, kept in
step by triggers (FTS5 has no French stemmer, so Python stems with Snowball, as PostgreSQL does).
PostgreSQL: a `conciergerie_fr` text search configuration (French Snowball + unaccent) and a
generated, GIN-indexed tsvector column weighted name > summary and keywords > description.
Reversible: the reverse drops what is created here.
"""

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE commons_fts USING fts5(
        search_title, search_keywords, search_body,
        content='commons_commons', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER commons_fts_ai AFTER INSERT ON commons_commons BEGIN
        INSERT INTO commons_fts(rowid, search_title, search_keywords, search_body)
        VALUES (new.id, new.search_title, new.search_keywords, new.search_body);
    END""",
    """CREATE TRIGGER commons_fts_ad AFTER DELETE ON commons_commons BEGIN
        INSERT INTO commons_fts(commons_fts, rowid, search_title, search_keywords, search_body)
        VALUES ('delete', old.id, old.search_title, old.search_keywords, old.search_body);
    END""",
    """CREATE TRIGGER commons_fts_au AFTER UPDATE OF search_title, search_keywords, search_body
        ON commons_commons BEGIN
        INSERT INTO commons_fts(commons_fts, rowid, search_title, search_keywords, search_body)
        VALUES ('delete', old.id, old.search_title, old.search_keywords, old.search_body);
        INSERT INTO commons_fts(rowid, search_title, search_keywords, search_body)
        VALUES (new.id, new.search_title, new.search_keywords, new.search_body);
    END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS commons_fts_au",
    "DROP TRIGGER IF EXISTS commons_fts_ad",
    "DROP TRIGGER IF EXISTS commons_fts_ai",
    "DROP TABLE IF EXISTS commons_fts",
]

PG_FORWARD = [
    # unaccent is a trusted extension (PostgreSQL 13+): the database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    """DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'conciergerie_fr') THEN
            CREATE TEXT SEARCH CONFIGURATION conciergerie_fr (COPY = french);
            ALTER TEXT SEARCH CONFIGURATION conciergerie_fr
                ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
        END IF;
    END $$""",
    """ALTER TABLE commons_commons ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('conciergerie_fr'::regconfig, coalesce(name, '')), 'A')
        || setweight(to_tsvector('conciergerie_fr'::regconfig,
                coalesce(summary, '') || ' ' || coalesce(keywords, '')), 'B')
        || setweight(to_tsvector('conciergerie_fr'::regconfig, coalesce(description, '')), 'C')
    ) STORED""",
    "CREATE INDEX commons_search_vector_idx ON commons_commons USING GIN (search_vector)",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS commons_search_vector_idx",
    "ALTER TABLE commons_commons DROP COLUMN IF EXISTS search_vector",
    # The configuration and the extension may serve other tables: they stay.
]


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    statements = {"sqlite": SQLITE_FORWARD, "postgresql": PG_FORWARD}.get(
        schema_editor.connection.vendor, []
    )
    for sql in statements:
        schema_editor.execute(sql)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    statements = {"sqlite": SQLITE_BACKWARD, "postgresql": PG_BACKWARD}.get(
        schema_editor.connection.vendor, []
    )
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("commons", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]

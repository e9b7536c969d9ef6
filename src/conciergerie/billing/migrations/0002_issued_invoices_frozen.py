"""The database itself refuses to change an issued invoice or its lines (a guard below the
services: a script, the shell or a bug cannot rewrite an issued invoice either). Deleting is
left to the services (drafts only): a place's own deletion and test flushes delete rows.
Reversible: the reverse drops the triggers."""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER billing_invoice_frozen BEFORE UPDATE ON billing_invoice
    WHEN OLD.status = 'emise'
    BEGIN SELECT RAISE(ABORT, 'billing: an issued invoice never changes'); END""",
    """CREATE TRIGGER billing_invoiceline_frozen BEFORE UPDATE ON billing_invoiceline
    WHEN (SELECT status FROM billing_invoice WHERE id = OLD.invoice_id) = 'emise'
    BEGIN SELECT RAISE(ABORT, 'billing: an issued invoice never changes'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS billing_invoice_frozen",
    "DROP TRIGGER IF EXISTS billing_invoiceline_frozen",
]
POSTGRESQL = [
    """CREATE FUNCTION billing_refuse_issued_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'billing: an issued invoice never changes'
            USING ERRCODE = 'restrict_violation';
    END $$""",
    """CREATE FUNCTION billing_refuse_issued_line_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM billing_invoice WHERE id = OLD.invoice_id AND status = 'emise')
        THEN
            RAISE EXCEPTION 'billing: an issued invoice never changes'
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER billing_invoice_frozen BEFORE UPDATE ON billing_invoice
    FOR EACH ROW WHEN (OLD.status = 'emise') EXECUTE FUNCTION billing_refuse_issued_change()""",
    """CREATE TRIGGER billing_invoiceline_frozen BEFORE UPDATE ON billing_invoiceline
    FOR EACH ROW EXECUTE FUNCTION billing_refuse_issued_line_change()""",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS billing_invoiceline_frozen ON billing_invoiceline",
    "DROP TRIGGER IF EXISTS billing_invoice_frozen ON billing_invoice",
    "DROP FUNCTION IF EXISTS billing_refuse_issued_line_change()",
    "DROP FUNCTION IF EXISTS billing_refuse_issued_change()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}),
        )
    ]

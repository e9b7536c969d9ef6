"""Billing writes, one module per concern; import them from here."""

from conciergerie.billing.services.invoices import (  # noqa: F401
    credit_note_create,
    invoice_draft_create,
    invoice_draft_delete,
    invoice_draft_update,
    invoice_issue,
    invoice_line_add,
    invoice_line_remove,
    invoices_issue,
    settings_for,
    today,
)

"""The hash chain of issued documents: each one's hash covers its content and the previous
document's hash, so changing, removing or inserting an issued invoice anywhere breaks every
hash after it. `conciergerie billing verify` walks the chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from conciergerie.billing.models import Invoice, InvoiceLine


def _content(invoice: Invoice, lines: Iterable[InvoiceLine]) -> dict[str, Any]:
    return {
        "number": invoice.number,
        "kind": invoice.kind,
        "issue_date": invoice.issue_date.isoformat() if invoice.issue_date else None,
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
        "period": [
            invoice.period_start.isoformat() if invoice.period_start else None,
            invoice.period_end.isoformat() if invoice.period_end else None,
        ],
        "corrects": invoice.corrects.number if invoice.corrects else None,
        "seller": invoice.seller,
        "buyer": invoice.buyer,
        "note": invoice.note,
        "lines": [
            [
                line.label,
                str(line.quantity),
                line.unit,
                str(line.unit_price),
                line.vat,
                str(line.net_amount),
            ]
            for line in sorted(lines, key=lambda x: (x.position, x.pk or 0))
        ],
        "totals": [str(invoice.total_net), str(invoice.total_vat), str(invoice.total_gross)],
    }


def document_hash(invoice: Invoice, lines: Sequence[InvoiceLine], previous: str) -> str:
    payload = json.dumps(_content(invoice, lines), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256((previous + "\n" + payload).encode()).hexdigest()


@dataclass(frozen=True)
class Break:
    position: int
    number: str
    reason: str


def chain_verify(place_id: int) -> tuple[int, list[Break]]:
    """How many issued documents were checked, and where the chain breaks."""
    breaks: list[Break] = []
    previous = ""
    expected = 1
    count = 0
    invoices = (
        Invoice.objects.filter(place_id=place_id, status=Invoice.Status.ISSUED)
        .select_related("corrects")
        .prefetch_related("lines")
        .order_by("chain_position")
    )
    for invoice in invoices.iterator(chunk_size=500):
        count += 1
        if invoice.chain_position != expected:
            breaks.append(Break(expected, invoice.number, "missing"))
            expected = invoice.chain_position or expected
        if invoice.previous_hash != previous:
            breaks.append(Break(expected, invoice.number, "previous"))
        if document_hash(invoice, list(invoice.lines.all()), invoice.previous_hash) != (
            invoice.chain_hash
        ):
            breaks.append(Break(expected, invoice.number, "content"))
        previous = invoice.chain_hash
        expected += 1
    return count, breaks

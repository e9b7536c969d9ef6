"""The PDF of an invoice: a Factur-X PDF/A-3 for issued invoices, a marked preview for drafts.

An issued invoice's PDF is rendered once, stored with its SHA-256 (`InvoiceDocument`) and
served as stored from then on: the legal document does not change when the template, the
software or the place's settings do. The Factur-X XML (profile EN 16931) is embedded as
`factur-x.xml`; WeasyPrint writes the PDF/A-3b base (fonts embedded, sRGB output intent) and
factur-x adds the attachment and the XMP metadata that declare it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from conciergerie.billing.amounts import totals, vat_terms
from conciergerie.billing.facturx import LEVEL, invoice_xml, payment_terms_text
from conciergerie.billing.models import Invoice, InvoiceDocument, InvoiceLine, Product, Vat
from conciergerie.billing.services.invoices import seller_of, settings_for
from conciergerie.core.errors import Conflict
from conciergerie.core.money import format_amount

TEMPLATE = "billing/invoice_pdf.html"
NARROW_NBSP = "\u202f"


def invoice_pdf(invoice: Invoice) -> bytes:
    """The Factur-X PDF of an issued invoice or credit note, as first rendered."""
    invoice = Invoice.objects.select_related("place", "corrects").get(pk=invoice.pk)
    if not invoice.is_issued:
        raise Conflict(
            _(
                "Un brouillon n'a pas encore de facture PDF : émettez-le d'abord "
                "(l'aperçu du brouillon reste disponible)."
            )
        )
    stored = (
        InvoiceDocument.objects.filter(invoice_id=invoice.pk).values_list("pdf", flat=True).first()
    )
    if stored is not None:
        return bytes(stored)
    return _store(invoice, _facturx_pdf(invoice))


def draft_preview_pdf(invoice: Invoice) -> bytes:
    """A draft as it would print, marked "BROUILLON — sans valeur": no XML, never stored."""
    invoice = Invoice.objects.select_related("place", "corrects").get(pk=invoice.pk)
    if invoice.is_issued:
        raise Conflict(_("Cette facture est émise : téléchargez sa facture PDF."))
    seller = seller_of(invoice.place, settings_for(invoice.place))
    with translation.override("fr"):
        html = render_to_string(TEMPLATE, _context(invoice, seller=seller, draft=True))
    return _weasyprint(html, variant=None)


def _store(invoice: Invoice, pdf: bytes) -> bytes:
    """Keep the first rendering. When two requests render at once, the second one to store
    finds the first one's row (get_or_create catches the unique violation) and serves it."""
    document, _created = InvoiceDocument.objects.get_or_create(
        invoice=invoice, defaults={"pdf": pdf, "sha256": hashlib.sha256(pdf).hexdigest()}
    )
    return bytes(document.pdf)


def _facturx_pdf(invoice: Invoice) -> bytes:
    from facturx import generate_from_binary

    seller_name = invoice.seller.get("name") or invoice.place.name
    with translation.override("fr"):
        html = render_to_string(TEMPLATE, _context(invoice, seller=invoice.seller, draft=False))
        title = _document_title(invoice)
    base = _weasyprint(html, variant="pdf/a-3b")
    pdf: bytes = generate_from_binary(
        base,
        invoice_xml(invoice),
        flavor="factur-x",
        level=LEVEL,
        check_xsd=True,  # an XML the official schema refuses never gets into a legal PDF
        check_schematron=False,  # factur-x would call an HTTP Saxon server; the tests run it
        pdf_metadata={
            "author": seller_name,
            "keywords": "Factur-X, facture",
            "title": f"{seller_name} : {title}",
            "subject": f"{title} du {invoice.issue_date:%d/%m/%Y}",
        },
        lang="fr-FR",
    )
    return pdf


def _weasyprint(html: str, *, variant: str | None) -> bytes:
    from weasyprint import HTML  # imported here: loading pango is only worth it for a PDF

    pdf: bytes = HTML(string=html).write_pdf(pdf_variant=variant)
    return pdf


# What the template shows: every figure formatted here, in French, from the stored data.


def _document_title(invoice: Invoice) -> str:
    if not invoice.number:
        return _("Avoir (brouillon)") if invoice.is_credit_note else _("Facture (brouillon)")
    if invoice.is_credit_note:
        return _("Avoir n° %(number)s") % {"number": invoice.number}
    return _("Facture n° %(number)s") % {"number": invoice.number}


def _date(value: dt.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _period(start: dt.date | None, end: dt.date | None) -> str:
    if start and end:
        return _("du %(start)s au %(end)s") % {"start": _date(start), "end": _date(end)}
    if start:
        return _("à partir du %(start)s") % {"start": _date(start)}
    if end:
        return _("jusqu'au %(end)s") % {"end": _date(end)}
    return ""


def _money(value: Decimal) -> str:
    # A zero VAT on a credit note is computed as -0.00: print it 0,00 €.
    return format_amount(value if value else abs(value))


def _number(value: Decimal) -> str:
    """Decimal('1.500') -> '1,5'; Decimal('-2.000') -> '-2'."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def _rate(vat: str) -> str:
    if vat == Vat.FRANCHISE:
        return "—"
    return f"{_number(vat_terms(vat).rate)}{NARROW_NBSP}%"


def _vat_label(vat: str) -> str:
    terms = vat_terms(vat)
    if terms.exemption_reason:
        return terms.exemption_reason
    return _("TVA %(rate)s") % {"rate": _rate(vat)}


def _iban(iban: str) -> str:
    iban = iban.replace(" ", "").upper()
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def _address(data: dict[str, Any]) -> list[str]:
    lines = [data.get("street") or ""]
    lines.append(" ".join(p for p in (data.get("postal_code"), data.get("city")) if p))
    country = (data.get("country") or "FR").upper()
    if country != "FR":
        lines.append(country)
    return [line for line in lines if line]


def _line_row(line: InvoiceLine) -> dict[str, str]:
    try:
        unit = str(Product.Unit(line.unit).label)
    except ValueError:
        unit = line.unit
    return {
        "label": line.label,
        "period": _period(line.period_start, line.period_end),
        "quantity": _number(line.quantity),
        "unit": unit,
        "unit_price": _money(line.unit_price),
        "vat": _rate(line.vat),
        "net": _money(line.net_amount),
    }


def _context(invoice: Invoice, *, seller: dict[str, Any], draft: bool) -> dict[str, Any]:
    lines = list(invoice.lines.all())
    figures = totals(lines)
    franchise = bool(seller.get("vat_franchise")) or any(
        line.vat == Vat.FRANCHISE for line in lines
    )
    corrects = invoice.corrects
    iban = seller.get("iban") or ""
    return {
        "draft": draft,
        "title": _document_title(invoice),
        "number": invoice.number,
        "is_credit_note": invoice.is_credit_note,
        "corrects": (
            {"number": corrects.number, "date": _date(corrects.issue_date)} if corrects else None
        ),
        "issue_date": _date(invoice.issue_date),
        "due_date": _date(invoice.due_date),
        "period": _period(invoice.period_start, invoice.period_end),
        "payment_terms": payment_terms_text(invoice),
        "seller": {
            "name": seller.get("name") or invoice.place.name,
            "address": _address(seller),
            "siret": seller.get("siret") or "",
            "vat_number": seller.get("vat_number") or "",
            "email": seller.get("email") or "",
            "phone": seller.get("phone") or "",
        },
        "buyer": {
            "name": invoice.buyer.get("name") or "",
            "address": _address(invoice.buyer),
            "siret": invoice.buyer.get("siret") or "",
            "vat_number": invoice.buyer.get("vat_number") or "",
            "email": invoice.buyer.get("email") or "",
        },
        "lines": [_line_row(line) for line in lines],
        "vat_groups": [
            {
                "label": _vat_label(group.vat),
                "base": _money(group.base),
                "amount": _money(group.amount),
            }
            for group in figures.groups
        ],
        # The stored totals: the same figures as the XML, the JSON and the FEC.
        "total_net": _money(invoice.total_net),
        "total_vat": _money(invoice.total_vat),
        "total_gross": _money(invoice.total_gross),
        "franchise": franchise,
        "franchise_text": vat_terms(Vat.FRANCHISE).exemption_reason,
        "iban": _iban(iban) if iban and not invoice.is_credit_note else "",
        "bic": (seller.get("bic") or "") if iban and not invoice.is_credit_note else "",
        "legal_mentions": (seller.get("legal_mentions") or "").strip(),
        "note": invoice.note.strip(),
    }

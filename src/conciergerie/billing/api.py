"""Billing endpoints: invoices and credit notes (JSON and Factur-X PDF), the FEC export.

The team of a place sees every invoice of the place, drafts included; a member sees only
their own issued invoices. Anything else is "not found", so an invoice's existence never
leaks to someone who may not read it. Amounts are strings with two decimals ("12.50"), the
figures stored at issue; the VAT breakdown comes from `billing.amounts.totals`, the rule the
invoice was issued with.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from conciergerie.api.auth import Unauthorized, api_caller
from conciergerie.api.places import choose_place
from conciergerie.billing.amounts import CENT, totals, vat_terms
from conciergerie.billing.models import Invoice, InvoiceLine
from conciergerie.billing.selectors import invoices as invoices_selectors
from conciergerie.billing.services.invoices import today
from conciergerie.core import permissions
from conciergerie.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from conciergerie.core.models import User

router = Router(tags=["billing"])

MONEY = "Montant en euros, texte à deux décimales (« 12.50 ») ; négatif sur un avoir"
FIRST_YEAR = 2000
PDF = "application/pdf"


# --- Schemas -------------------------------------------------------------------------------------


class PartyOut(Schema):
    name: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""
    siret: str = ""
    vat_number: str = ""
    email: str = ""


class LineOut(Schema):
    position: int
    label: str
    quantity: str = Field(..., description="Négative sur un avoir")
    unit: str = Field(..., description="Code d'unité UN/ECE (C62, HUR, DAY, MON)")
    unit_price: str = Field(..., description="Prix unitaire HT")
    vat: str = Field(..., description="Traitement TVA : 20, 10, 5.5, 0 ou franchise")
    vat_category: str = Field(..., description="Catégorie EN 16931 (S, E)")
    vat_rate: str
    net: str = Field(..., description="Montant HT de la ligne, arrondi au centime")
    period_start: dt.date | None
    period_end: dt.date | None


class VatGroupOut(Schema):
    category: str = Field(..., description="Catégorie EN 16931 (S, E)")
    rate: str
    base: str = Field(..., description="Base HT")
    amount: str = Field(..., description="TVA")
    exemption_reason: str


class TotalsOut(Schema):
    net: str = Field(..., description="Total HT")
    vat: str = Field(..., description="Total TVA")
    gross: str = Field(..., description="Total TTC")


class InvoiceSummaryOut(Schema):
    id: UUID
    place: str
    number: str = Field(..., description="Vide pour un brouillon")
    kind: str = Field(..., description="facture ou avoir")
    status: str = Field(..., description="brouillon ou emise")
    issue_date: dt.date | None
    due_date: dt.date | None
    period_start: dt.date | None
    period_end: dt.date | None
    buyer_name: str
    currency: str = "EUR"
    totals: TotalsOut
    amount_paid: str = Field(..., description=MONEY)
    amount_credited: str = Field(
        ..., description="Total TTC des avoirs émis sur cette facture (négatif ou nul)"
    )
    amount_due: str = Field(..., description="Reste à payer (TTC − avoirs − paiements)")
    overdue: bool = Field(..., description="Émise, échue et pas soldée")
    corrects: str | None = Field(..., description="Avoir : le numéro de la facture corrigée")
    url: str = Field(..., description="La page de la facture")
    pdf: str = Field(..., description="Le PDF Factur-X (factures émises)")


class InvoiceOut(InvoiceSummaryOut):
    seller: PartyOut
    buyer: PartyOut
    note: str
    corrects_id: UUID | None
    credit_notes: list[str] = Field(..., description="Les numéros des avoirs émis sur elle")
    lines: list[LineOut]
    vat_breakdown: list[VatGroupOut]


class InvoicePage(Schema):
    count: int
    items: list[InvoiceSummaryOut]


# --- Helpers -------------------------------------------------------------------------------------


def _money(value: Decimal | None) -> str:
    value = (value or Decimal("0")).quantize(CENT)
    return str(value if value != 0 else abs(value))  # never "-0.00"


def _quantity(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _party(data: dict[str, Any]) -> PartyOut:
    return PartyOut(**{name: str(data.get(name) or "") for name in PartyOut.model_fields})


def _page_url(invoice: Invoice, *, team: bool) -> str:
    """The team's page of the invoice; a member's list of their own invoices."""
    if team:
        return invoice.get_canonical_url()
    return settings.BASE_URL + reverse(
        "billing:my_invoices", kwargs={"place_slug": invoice.place.slug}
    )


def _pdf_url(invoice: Invoice) -> str:
    return settings.BASE_URL + reverse("api:invoice_pdf", kwargs={"invoice_id": invoice.uuid})


def _due(invoice: Invoice) -> Decimal:
    """What the customer still owes: nothing on a draft or a credit note (a credit note
    lowers what is due on the invoice it corrects)."""
    if not invoice.is_issued or invoice.is_credit_note:
        return Decimal("0.00")
    return invoice.left  # type: ignore[attr-defined,no-any-return]


def _summary_fields(invoice: Invoice, *, team: bool) -> dict[str, Any]:
    due = _due(invoice)
    return {
        "id": invoice.uuid,
        "place": invoice.place.slug,
        "number": invoice.number,
        "kind": invoice.kind,
        "status": invoice.status,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "period_start": invoice.period_start,
        "period_end": invoice.period_end,
        "buyer_name": str(invoice.buyer.get("name") or ""),
        "totals": TotalsOut(
            net=_money(invoice.total_net),
            vat=_money(invoice.total_vat),
            gross=_money(invoice.total_gross),
        ),
        "amount_paid": _money(invoice.paid),  # type: ignore[attr-defined]
        "amount_credited": _money(invoice.credited),  # type: ignore[attr-defined]
        "amount_due": _money(due),
        "overdue": bool(
            due > 0 and invoice.due_date is not None and invoice.due_date < today(invoice.place)
        ),
        "corrects": invoice.corrects.number if invoice.corrects is not None else None,
        "url": _page_url(invoice, team=team),
        "pdf": _pdf_url(invoice),
    }


def _line_out(line: InvoiceLine) -> LineOut:
    terms = vat_terms(line.vat)
    return LineOut(
        position=line.position,
        label=line.label,
        quantity=_quantity(line.quantity),
        unit=line.unit,
        unit_price=_money(line.unit_price),
        vat=line.vat,
        vat_category=terms.category,
        vat_rate=_money(terms.rate),
        net=_money(line.net_amount),
        period_start=line.period_start,
        period_end=line.period_end,
    )


def _invoice_out(invoice: Invoice, *, team: bool) -> InvoiceOut:
    lines = list(invoice.lines.all())
    figures = totals(lines)
    return InvoiceOut(
        **_summary_fields(invoice, team=team),
        seller=_party(invoice.seller),
        buyer=_party(invoice.buyer),
        note=invoice.note,
        corrects_id=invoice.corrects.uuid if invoice.corrects is not None else None,
        credit_notes=[c.number for c in invoice.credit_notes.all()],
        lines=[_line_out(line) for line in lines],
        vat_breakdown=[
            VatGroupOut(
                category=g.terms.category,
                rate=_money(g.terms.rate),
                base=_money(g.base),
                amount=_money(g.amount),
                exemption_reason=g.terms.exemption_reason,
            )
            for g in figures.groups
        ],
    )


def _require_caller(request: HttpRequest) -> User:
    viewer = api_caller(request)
    if viewer is None:
        raise Unauthorized(_("Authentification requise."))
    return viewer


def _readable_invoice(viewer: User, invoice_id: UUID) -> tuple[Invoice, bool]:
    """The invoice and whether the caller reads it as the place's team; 404 for anyone
    who may not read it, whether it exists or not."""
    place = invoices_selectors.place_of_invoice(uuid=invoice_id)
    if place is None or not permissions.can(viewer, "invoice.view_own", place):
        raise NotFound(_("Facture introuvable."))
    team = permissions.can(viewer, "billing.manage", place)
    invoice = invoices_selectors.invoice_readable(
        place=place, user=viewer, team=team, uuid=invoice_id
    )
    if invoice is None:
        raise NotFound(_("Facture introuvable."))
    return invoice, team


# --- Invoices ------------------------------------------------------------------------------------


@router.get(
    "/invoices",
    response=InvoicePage,
    summary="Les factures et avoirs d'un lieu (équipe) ou les vôtres (membres)",
    description=(
        "L'équipe du lieu voit toutes ses factures, brouillons compris ; un membre, ses "
        "factures émises. Filtres : `status` (brouillon, emise), `kind` (facture, avoir), "
        "`year` (année d'émission). Les plus récentes d'abord, brouillons en tête."
    ),
)
def list_invoices(
    request: HttpRequest,
    place: str | None = Query(
        None, description="Slug du lieu ; facultatif si vous n'en avez qu'un"
    ),  # type: ignore[type-arg]
    status: str = "",
    kind: str = "",
    year: int | None = None,
    limit: int = Query(50, ge=1, le=200),  # type: ignore[type-arg]
    offset: int = Query(0, ge=0, le=1_000_000_000),  # type: ignore[type-arg]
) -> InvoicePage:
    viewer = _require_caller(request)
    errors: dict[str, list[str]] = {}
    if status and status not in Invoice.Status.values:
        errors["status"] = [
            _("État inconnu. Valeurs possibles : %(known)s.")
            % {"known": ", ".join(Invoice.Status.values)}
        ]
    if kind and kind not in Invoice.Kind.values:
        errors["kind"] = [
            _("Type inconnu. Valeurs possibles : %(known)s.")
            % {"known": ", ".join(Invoice.Kind.values)}
        ]
    if year is not None and not FIRST_YEAR <= year <= 2999:
        errors["year"] = [
            _("Année sur quatre chiffres, à partir de %(first)s.") % {"first": FIRST_YEAR}
        ]
    if errors:
        raise InvalidInput(errors)
    place_obj = choose_place(viewer, place)
    if not permissions.can(viewer, "invoice.view_own", place_obj):
        raise PermissionDenied(_("Réservé aux membres et à l'équipe du lieu."))
    team = permissions.can(viewer, "billing.manage", place_obj)
    qs = invoices_selectors.invoices_readable(place=place_obj, user=viewer, team=team)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if year is not None:
        qs = qs.filter(year=year)
    page = invoices_selectors.with_amounts_for_api(qs).order_by(
        F("issue_date").desc(nulls_first=True), F("chain_position").desc(nulls_first=True), "-id"
    )[offset : offset + limit]
    return InvoicePage(
        count=qs.count(), items=[InvoiceSummaryOut(**_summary_fields(i, team=team)) for i in page]
    )


@router.get(
    "/invoices/{invoice_id}",
    response=InvoiceOut,
    summary="Une facture ou un avoir : lignes, ventilation de la TVA, totaux, paiements",
)
def get_invoice(request: HttpRequest, invoice_id: UUID) -> InvoiceOut:
    viewer = _require_caller(request)
    invoice, team = _readable_invoice(viewer, invoice_id)
    return _invoice_out(invoice, team=team)


@router.get(
    "/invoices/{invoice_id}/pdf",
    url_name="invoice_pdf",
    summary="Le PDF Factur-X (PDF/A-3 avec le XML EN 16931 joint) d'une facture émise",
    description="409 pour un brouillon : il n'a pas encore de numéro.",
    openapi_extra={
        "responses": {
            200: {
                "description": "Le PDF",
                "content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def get_invoice_pdf(request: HttpRequest, invoice_id: UUID) -> HttpResponse:
    viewer = _require_caller(request)
    invoice, _team = _readable_invoice(viewer, invoice_id)
    if not invoice.is_issued:
        raise Conflict(
            _("Un brouillon n'a pas de PDF : émettez la facture pour lui donner son numéro.")
        )
    from conciergerie.billing.documents import invoice_pdf  # noqa: PLC0415

    response = HttpResponse(invoice_pdf(invoice), content_type=PDF)
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    response["Cache-Control"] = "private, no-store"  # personal and legal data
    return response


# --- Exports -------------------------------------------------------------------------------------


@router.get(
    "/exports/fec",
    summary="Le fichier des écritures comptables (FEC) d'une année (équipe du lieu)",
    description=(
        "Les 18 colonnes de l'article A.47 A-1 du Livre des procédures fiscales, séparées par "
        "des tabulations. `year` : l'exercice (année civile)."
    ),
    openapi_extra={
        "responses": {
            200: {
                "description": "Le FEC",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        }
    },
)
def export_fec(
    request: HttpRequest,
    year: int,
    place: str | None = Query(
        None, description="Slug du lieu ; facultatif si vous n'en avez qu'un"
    ),  # type: ignore[type-arg]
) -> HttpResponse:
    viewer = _require_caller(request)
    place_obj = choose_place(viewer, place)
    if not permissions.can(viewer, "billing.manage", place_obj):
        raise PermissionDenied(_("Réservé à l'équipe du lieu."))
    last = today(place_obj).year
    if not FIRST_YEAR <= year <= last:
        raise InvalidInput(
            {
                "year": [
                    _("Indiquez une année entre %(first)s et %(last)s.")
                    % {"first": FIRST_YEAR, "last": last}
                ]
            }
        )
    from conciergerie.billing.fec import fec_export, fec_filename  # noqa: PLC0415

    content = fec_export(place=place_obj, year=year)
    body = content.encode() if isinstance(content, str) else content
    response = HttpResponse(body, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{fec_filename(place_obj, year)}"'
    response["Cache-Control"] = "private, no-store"
    return response

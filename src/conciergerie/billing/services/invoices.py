"""Drafts, issue (gapless numbers, hash chain), credit notes.

Issuing is serialised per place by the capacity guard (namespace `billing.issue`): the next
number of a series is the highest issued one plus one, read under the lock, so numbers are
contiguous however many concurrent issuers there are, and a deleted draft never burns one
(drafts have no number). The same lock orders the hash chain.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db.models import Max
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from conciergerie.billing import chain
from conciergerie.billing.amounts import line_net, totals, vat_terms
from conciergerie.billing.models import (
    BillingSettings,
    Invoice,
    InvoiceLine,
    Product,
    Stream,
    Subscription,
    Vat,
)
from conciergerie.community.models import Organisation, Person
from conciergerie.core import capacity
from conciergerie.core.audit import audit_record
from conciergerie.core.errors import Conflict, InvalidInput
from conciergerie.core.models import Place, User
from conciergerie.core.money import parse_amount

ISSUE_NAMESPACE = "billing.issue"
MAX_QUANTITY = Decimal("1000000")
# Amounts are numeric(12, 2): a line or an invoice of a billion euros is a typing mistake.
MAX_AMOUNT = Decimal("1000000000")


def settings_for(place: Place) -> BillingSettings:
    found, _created = BillingSettings.objects.get_or_create(place=place)
    return found


def today(place: Place) -> dt.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(place.timezone)).date()


def seller_of(place: Place, billing: BillingSettings) -> dict[str, Any]:
    return {
        "name": billing.legal_name or place.name,
        "street": place.street,
        "postal_code": place.postal_code,
        "city": place.city,
        "country": place.country or "FR",
        "siret": place.siret,
        "vat_number": billing.vat_number,
        "email": place.email,
        "phone": place.phone,
        "vat_franchise": billing.vat_franchise,
        "legal_mentions": billing.legal_mentions,
        "iban": billing.iban,
        "bic": billing.bic,
    }


def buyer_of(*, person: Person | None, organisation: Organisation | None) -> dict[str, Any]:
    if organisation is not None:
        return {
            "name": organisation.name,
            "email": organisation.email,
            "siret": organisation.siret,
            "vat_number": "",
            "street": "",
            "postal_code": "",
            "city": "",
            "country": "FR",
            "is_organisation": True,
        }
    if person is not None:
        return {
            "name": person.full_name,
            "email": person.email,
            "siret": "",
            "vat_number": "",
            "street": "",
            "postal_code": "",
            "city": "",
            "country": "FR",
            "is_organisation": False,
        }
    return {}


def seller_check(place: Place, billing: BillingSettings) -> None:
    """What the law (and EN 16931) needs to know of the seller before a first invoice."""
    errors: dict[str, list[str]] = {}
    if not place.siret:
        errors["seller.siret"] = [
            _("Indiquez le SIRET du lieu (fiche du lieu) avant d'émettre une facture.")
        ]
    if not billing.vat_franchise and not billing.vat_number:
        errors["seller.vat_number"] = [
            _(
                "Indiquez le numéro de TVA intracommunautaire du lieu, ou la franchise en base "
                "de TVA, dans les réglages de facturation."
            )
        ]
    if errors:
        raise InvalidInput(errors, next(iter(errors.values()))[0])


BUYER_FIELDS = ("name", "email", "street", "postal_code", "city", "country", "siret", "vat_number")


def _draft(invoice: Invoice) -> None:
    if invoice.status != Invoice.Status.DRAFT:
        raise Conflict(
            _(
                "La facture %(number)s est émise : elle ne peut plus changer. "
                "Pour la corriger, faites un avoir."
            )
            % {"number": invoice.number}
        )


def invoice_draft_create(
    *,
    place: Place,
    by: User | None,
    person: Person | None = None,
    organisation: Organisation | None = None,
    note: str = "",
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
) -> Invoice:
    if person is None and organisation is None:
        raise InvalidInput({"customer": [_("Choisissez la personne ou l'organisation facturée.")]})
    if person is not None and organisation is not None:
        raise InvalidInput({"customer": [_("Une facture a un seul destinataire.")]})
    for who in (person, organisation):
        if who is not None and who.place_id != place.pk:
            raise InvalidInput({"customer": [_("Ce destinataire n'est pas de ce lieu.")]})
    if period_start and period_end and period_end < period_start:
        raise InvalidInput({"period_end": [_("La fin de période précède son début.")]})
    invoice = Invoice.objects.create(
        place=place,
        person=person,
        organisation=organisation,
        note=note,
        period_start=period_start,
        period_end=period_end,
        buyer=buyer_of(person=person, organisation=organisation),
        created_by=by if by is not None and by.pk else None,
    )
    audit_record(place=place, actor=by, action="invoice.draft", target=invoice)
    return invoice


def invoice_draft_update(
    *,
    invoice: Invoice,
    by: User | None,
    buyer: dict[str, str] | None = None,
    note: str | None = None,
) -> Invoice:
    """Edit a draft's billing address, identifiers and note (refused once issued)."""
    with capacity.guarded(ISSUE_NAMESPACE, [invoice.place_id]):
        invoice = Invoice.objects.get(pk=invoice.pk)
        _draft(invoice)
        if buyer is not None:
            errors: dict[str, list[str]] = {}
            merged = dict(invoice.buyer)
            for key in BUYER_FIELDS:
                if key in buyer:
                    merged[key] = (buyer[key] or "").strip()[:200]
            if not merged.get("name"):
                errors["buyer.name"] = [_("Indiquez le nom du destinataire.")]
            country = merged.get("country") or "FR"
            if len(country) != 2 or not country.isalpha():
                errors["buyer.country"] = [_("Code pays à deux lettres, par exemple FR.")]
            merged["country"] = country.upper()
            siret = merged.get("siret", "")
            if siret:
                from stdnum.fr import siret as stdnum_siret

                if not stdnum_siret.is_valid(siret):
                    errors["buyer.siret"] = [_("Ce numéro SIRET n'est pas valide.")]
            vat_number = merged.get("vat_number", "").replace(" ", "").upper()
            if vat_number:
                from stdnum.eu import vat as stdnum_vat

                if not stdnum_vat.is_valid(vat_number):
                    errors["buyer.vat_number"] = [_("Ce numéro de TVA n'est pas valide.")]
            merged["vat_number"] = vat_number
            if errors:
                raise InvalidInput(errors)
            invoice.buyer = merged
        if note is not None:
            invoice.note = note
        invoice.save(update_fields=["buyer", "note"])
        audit_record(place=invoice.place, actor=by, action="invoice.update", target=invoice)
    return invoice


def _quantity(value: Any, *, credit_note: bool) -> Decimal:
    try:
        quantity = Decimal(str(value).replace(",", ".").strip())
    except Exception:
        quantity = Decimal("NaN")
    if not quantity.is_finite():
        raise InvalidInput({"quantity": [_("La quantité doit être un nombre.")]})
    if abs(quantity) >= MAX_QUANTITY:  # before quantize(), which fails on huge exponents
        raise InvalidInput({"quantity": [_("Quantité trop élevée.")]})
    if quantity != quantity.quantize(Decimal("0.001")):
        raise InvalidInput({"quantity": [_("Pas plus de trois chiffres après la virgule.")]})
    if quantity == 0:
        raise InvalidInput({"quantity": [_("La quantité ne peut pas être nulle.")]})
    if quantity < 0 and not credit_note:
        raise InvalidInput(
            {"quantity": [_("Quantité négative : seulement sur un avoir. Faites un avoir.")]}
        )
    if abs(quantity) >= MAX_QUANTITY:
        raise InvalidInput({"quantity": [_("Quantité trop élevée.")]})
    return quantity


def invoice_line_add(
    *,
    invoice: Invoice,
    by: User | None,
    product: Product | None = None,
    label: str = "",
    quantity: Any = 1,
    unit_price: Any = None,
    vat: str | None = None,
    unit: str | None = None,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
    charge_key: str = "",
    stream: str | None = None,
    subscription: Subscription | None = None,
) -> InvoiceLine:
    """Add a line to a draft: a product (its price, VAT and unit unless given) or free text."""
    with capacity.guarded(ISSUE_NAMESPACE, [invoice.place_id]):
        invoice = Invoice.objects.select_related("place").get(pk=invoice.pk)
        _draft(invoice)
        if invoice.is_credit_note:
            raise Conflict(
                _(
                    "Un avoir reprend des lignes de la facture qu'il corrige : faites-le depuis "
                    "la facture (« Faire un avoir »)."
                )
            )
        line = _line_build(
            invoice=invoice,
            product=product,
            label=label,
            quantity=quantity,
            unit_price=unit_price,
            vat=vat,
            unit=unit,
            period_start=period_start,
            period_end=period_end,
            charge_key=charge_key,
            stream=stream,
        )
        if subscription is not None:
            if subscription.place_id != invoice.place_id:
                raise InvalidInput({"subscription": [_("Cet abonnement n'est pas de ce lieu.")]})
            line.subscription = subscription
        line.position = (invoice.lines.aggregate(m=Max("position"))["m"] or 0) + 1
        if charge_key and InvoiceLine.objects.filter(charge_key=charge_key).exists():
            raise Conflict(_("Cela a déjà été facturé."))
        if abs(invoice.total_gross) + abs(line.net_amount) * 2 >= MAX_AMOUNT:
            raise InvalidInput({"quantity": [_("Montant total de la facture trop élevé.")]})
        line.save()
        _totals_save(invoice)
        audit_record(
            place=invoice.place,
            actor=by,
            action="invoice.line_add",
            target=invoice,
            changes={"line": [None, f"{line.quantity} × {line.label}"]},
        )
    return line


def _line_build(
    *,
    invoice: Invoice,
    product: Product | None,
    label: str,
    quantity: Any,
    unit_price: Any,
    vat: str | None,
    unit: str | None,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
    charge_key: str = "",
    stream: str | None = None,
    billing: BillingSettings | None = None,
) -> InvoiceLine:
    """A validated, unsaved line (shared by the billing run, which saves lines in bulk)."""
    errors: dict[str, list[str]] = {}
    if product is not None and product.place_id != invoice.place_id:
        raise InvalidInput({"product": [_("Ce produit n'est pas de ce lieu.")]})
    label = (label or (product.name if product else "")).strip()
    if not label:
        errors["label"] = [_("Indiquez ce qui est facturé.")]
    if unit_price is None or unit_price == "":
        if product is None:
            errors["unit_price"] = [_("Indiquez le prix unitaire HT.")]
            price = Decimal("0")
        else:
            price = product.unit_price
    else:
        try:
            price = parse_amount(unit_price, field="unit_price")
        except InvalidInput as exc:
            errors.update(exc.as_errors())
            price = Decimal("0")
    vat = vat or (product.vat if product else None) or Vat.STANDARD
    try:
        vat_terms(vat)
    except InvalidInput as exc:
        errors.update(exc.as_errors())
    billing = billing or settings_for(invoice.place)
    if billing.vat_franchise:
        vat = Vat.FRANCHISE
    elif vat == Vat.FRANCHISE:
        errors["vat"] = [
            _(
                "Le lieu n'est pas en franchise de TVA : choisissez un taux (réglages de facturation)."
            )
        ]
    try:
        qty = _quantity(quantity, credit_note=invoice.kind == Invoice.Kind.CREDIT_NOTE)
    except InvalidInput as exc:
        errors.update(exc.as_errors())
        qty = Decimal("1")
    if period_start and period_end and period_end < period_start:
        errors["period_end"] = [_("La fin de période précède son début.")]
    if not errors and abs(line_net(qty, price)) >= MAX_AMOUNT:
        errors["quantity"] = [_("Montant de la ligne trop élevé.")]
    if errors:
        raise InvalidInput(errors)
    return InvoiceLine(
        invoice=invoice,
        product=product,
        label=label[:300],
        quantity=qty,
        unit=unit or (product.unit if product else Product.Unit.PIECE),
        unit_price=price,
        vat=vat,
        net_amount=line_net(qty, price),
        stream=stream or (product.stream if product else "autre"),
        period_start=period_start,
        period_end=period_end,
        charge_key=charge_key,
    )


def _totals_save(invoice: Invoice) -> None:
    figures = totals(invoice.lines.all())
    invoice.total_net, invoice.total_vat, invoice.total_gross = (
        figures.net,
        figures.vat,
        figures.gross,
    )
    invoice.save(update_fields=["total_net", "total_vat", "total_gross"])


def invoice_line_remove(*, line: InvoiceLine, by: User | None) -> None:
    with capacity.guarded(ISSUE_NAMESPACE, [line.invoice.place_id]):
        invoice = Invoice.objects.select_related("place").get(pk=line.invoice_id)
        _draft(invoice)
        InvoiceLine.objects.filter(pk=line.pk, invoice=invoice).delete()
        _totals_save(invoice)
        audit_record(
            place=invoice.place,
            actor=by,
            action="invoice.line_remove",
            target=invoice,
            changes={"line": [line.label, None]},
        )


def invoice_draft_delete(*, invoice: Invoice, by: User | None) -> None:
    """Delete a draft (its charges may then be billed again); an issued invoice stays."""
    with capacity.guarded(ISSUE_NAMESPACE, [invoice.place_id]):
        invoice = Invoice.objects.select_related("place").get(pk=invoice.pk)
        _draft(invoice)
        audit_record(place=invoice.place, actor=by, action="invoice.draft_delete", target=invoice)
        invoice.delete()


def _check_issuable(invoice: Invoice, lines: Sequence[InvoiceLine], on: dt.date) -> None:
    _draft(invoice)
    if not lines:
        raise InvalidInput({"lines": [_("Une facture sans ligne ne peut pas être émise.")]})
    if not invoice.buyer.get("name"):
        raise InvalidInput({"buyer.name": [_("Indiquez le nom du destinataire.")]})
    billing = settings_for(invoice.place)
    if billing.closed_until and on <= billing.closed_until:
        raise Conflict(
            _("La période est close jusqu'au %(date)s : impossible d'émettre à cette date.")
            % {"date": formats.date_format(billing.closed_until, "SHORT_DATE_FORMAT")}
        )
    if any((line.vat == Vat.FRANCHISE) != billing.vat_franchise for line in lines):
        raise Conflict(
            _(
                "Le régime de TVA du lieu a changé depuis que ce brouillon a été préparé : "
                "retirez ses lignes et ajoutez-les à nouveau."
            )
        )
    if invoice.is_credit_note:
        if invoice.total_gross > 0:
            raise InvalidInput({"lines": [_("Le total d'un avoir est négatif ou nul.")]})
        _check_credited(invoice, lines)
    elif invoice.total_gross < 0:
        raise InvalidInput({"lines": [_("Le total d'une facture ne peut pas être négatif.")]})


def _check_credited(credit: Invoice, lines: Sequence[InvoiceLine]) -> None:
    """Every line of a credit note corrects a line of its invoice, and never credits more
    than was invoiced, counting the credit notes already issued."""
    if credit.corrects_id is None:
        raise InvalidInput({"lines": [_("Un avoir corrige une facture émise.")]})
    invoiced = dict(
        InvoiceLine.objects.filter(invoice_id=credit.corrects_id).values_list("pk", "quantity")
    )
    credited: dict[int, Decimal] = {}
    for corrects_id, quantity in InvoiceLine.objects.filter(
        corrects_id__in=list(invoiced),
        invoice__kind=Invoice.Kind.CREDIT_NOTE,
        invoice__status=Invoice.Status.ISSUED,
    ).values_list("corrects_id", "quantity"):
        credited[corrects_id] = credited.get(corrects_id, Decimal(0)) - quantity
    for line in lines:
        if line.corrects_id not in invoiced or line.quantity >= 0:
            raise InvalidInput(
                {"lines": [_("Chaque ligne d'un avoir corrige une ligne de la facture.")]}
            )
        credited[line.corrects_id] = credited.get(line.corrects_id, Decimal(0)) - line.quantity
        if credited[line.corrects_id] > invoiced[line.corrects_id]:
            raise InvalidInput(
                {"lines": [_("Cet avoir créditerait plus que ce qui a été facturé.")]}
            )


def invoice_issue(*, invoice: Invoice, by: User | None, on: dt.date | None = None) -> Invoice:
    """Give the draft its number, freeze it and chain it. Refused for an issued invoice."""
    issued = invoices_issue(place=invoice.place, invoices=[invoice], by=by, on=on)
    return issued[0]


def invoices_issue(
    *, place: Place, invoices: Sequence[Invoice], by: User | None, on: dt.date | None = None
) -> list[Invoice]:
    """Issue several drafts at once, in the given order, under one lock (the billing run)."""
    on = on or today(place)
    with capacity.guarded(ISSUE_NAMESPACE, [place.pk]):
        billing = settings_for(place)
        seller_check(place, billing)
        seller = seller_of(place, billing)
        fresh = {
            i.pk: i
            for i in Invoice.objects.filter(pk__in=[i.pk for i in invoices], place=place)
            .select_related("corrects")
            .prefetch_related("lines")
        }
        if len(fresh) != len({i.pk for i in invoices}):
            raise InvalidInput({"invoice": [_("Facture introuvable dans ce lieu.")]})
        last = (
            Invoice.objects.filter(place=place, chain_position__isnull=False)
            .order_by("-chain_position")
            .values_list("chain_position", "chain_hash")
            .first()
        )
        position, previous = (last[0] or 0, last[1]) if last else (0, "")
        next_sequence: dict[str, int] = {}
        for kind in {fresh[i.pk].kind for i in invoices}:
            latest = (
                Invoice.objects.filter(place=place, kind=kind, year=on.year)
                .exclude(sequence=None)
                .aggregate(m=Max("sequence"), d=Max("issue_date"))
            )
            if latest["d"] and latest["d"] > on:
                raise Conflict(
                    _(
                        "Une facture de cette série est déjà datée du %(date)s : les numéros "
                        "suivent l'ordre des dates."
                    )
                    % {"date": formats.date_format(latest["d"], "SHORT_DATE_FORMAT")}
                )
            next_sequence[kind] = (latest["m"] or 0) + 1
        capacity.race_window()
        result = []
        for wanted in invoices:
            invoice = fresh[wanted.pk]
            lines = list(invoice.lines.all())
            _check_issuable(invoice, lines, on)
            sequence = next_sequence[invoice.kind]
            next_sequence[invoice.kind] += 1
            position += 1
            invoice.status = Invoice.Status.ISSUED
            invoice.year = on.year
            invoice.sequence = sequence
            invoice.number = f"{Invoice.PREFIX[Invoice.Kind(invoice.kind)]}{on.year}-{sequence:05d}"
            invoice.issue_date = on
            invoice.due_date = (
                on if invoice.is_credit_note else on + dt.timedelta(days=billing.payment_days)
            )
            invoice.seller = seller
            invoice.buyer = {**invoice.buyer, "country": invoice.buyer.get("country") or "FR"}
            figures = totals(lines)
            invoice.total_net, invoice.total_vat, invoice.total_gross = (
                figures.net,
                figures.vat,
                figures.gross,
            )
            invoice.issued_at = timezone.now()
            invoice.issued_by = by if by is not None and by.pk else None
            invoice.chain_position = position
            invoice.previous_hash = previous
            invoice.chain_hash = chain.document_hash(invoice, lines, previous)
            previous = invoice.chain_hash
            invoice.save()
            audit_record(
                place=place,
                actor=by,
                action="invoice.issue",
                target=invoice,
                changes={"total_gross": [None, invoice.total_gross]},
            )
            result.append(invoice)
        from conciergerie.billing.services.credits import pack_lots_grant

        for invoice in result:
            # Packs are sold under the subscriptions stream: only those invoices are read again.
            if any(
                line.product_id and line.stream == Stream.SUBSCRIPTIONS and line.quantity > 0
                for line in invoice.lines.all()
            ):
                pack_lots_grant(invoice=invoice, by=by)
    return result


def credit_note_create(
    *,
    invoice: Invoice,
    by: User | None,
    quantities: dict[int, Any] | None = None,
    reason: str = "",
) -> Invoice:
    """A draft credit note for an issued invoice: all of it (`quantities` None) or, for a
    partial one, {line id: quantity to credit}. Never more than what is left to credit."""
    with capacity.guarded(ISSUE_NAMESPACE, [invoice.place_id]):
        invoice = Invoice.objects.select_related("place").get(pk=invoice.pk)
        if invoice.is_credit_note:
            raise InvalidInput({"invoice": [_("On ne fait pas d'avoir sur un avoir.")]})
        if not invoice.is_issued:
            raise InvalidInput(
                {"invoice": [_("Un brouillon se modifie ou se supprime : pas besoin d'avoir.")]}
            )
        lines = list(invoice.lines.all())
        credited: dict[int, Decimal] = {}
        for row in InvoiceLine.objects.filter(
            corrects__invoice=invoice, invoice__kind=Invoice.Kind.CREDIT_NOTE
        ).values("corrects_id", "quantity"):
            credited[row["corrects_id"]] = (
                credited.get(row["corrects_id"], Decimal(0)) - row["quantity"]
            )
        wanted: dict[int, Decimal] = {}
        errors: dict[str, list[str]] = {}
        known = {line.pk: line for line in lines}
        for line_id, raw in (quantities or {}).items():
            if int(line_id) not in known:
                errors[f"lines.{line_id}"] = [_("Cette ligne n'est pas sur la facture.")]
                continue
            if raw in (None, "", 0, "0"):
                continue
            try:
                qty = _quantity(raw, credit_note=False)
            except InvalidInput as exc:
                errors[f"lines.{line_id}"] = exc.as_errors()["quantity"]
                continue
            wanted[int(line_id)] = qty
        if quantities is None:
            wanted = {
                line.pk: line.quantity - credited.get(line.pk, Decimal(0))
                for line in lines
                if line.quantity - credited.get(line.pk, Decimal(0)) > 0
            }
        for line_id, qty in wanted.items():
            left = known[line_id].quantity - credited.get(line_id, Decimal(0))
            if qty > left:
                errors[f"lines.{line_id}"] = [
                    _("Au plus %(left)s à créditer sur cette ligne.")
                    % {"left": formats.number_format(left.normalize())}
                ]
        if errors:
            raise InvalidInput(errors)
        if not wanted:
            raise InvalidInput(
                {"lines": [_("Rien à créditer : la facture est déjà soldée par avoir.")]}
            )
        note = _("Avoir sur la facture %(number)s du %(date)s.") % {
            "number": invoice.number,
            "date": formats.date_format(
                invoice.issue_date or today(invoice.place), "SHORT_DATE_FORMAT"
            ),
        }
        credit = Invoice.objects.create(
            place=invoice.place,
            kind=Invoice.Kind.CREDIT_NOTE,
            person=invoice.person,
            organisation=invoice.organisation,
            corrects=invoice,
            note=f"{note} {reason}".strip(),
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            buyer=dict(invoice.buyer),
            created_by=by if by is not None and by.pk else None,
        )
        new_lines = []
        for position, (line_id, qty) in enumerate(wanted.items(), start=1):
            source = known[line_id]
            new_lines.append(
                InvoiceLine(
                    invoice=credit,
                    position=position,
                    product=source.product,
                    label=source.label,
                    quantity=-qty,
                    unit=source.unit,
                    unit_price=source.unit_price,
                    vat=source.vat,
                    net_amount=line_net(-qty, source.unit_price),
                    stream=source.stream,
                    period_start=source.period_start,
                    period_end=source.period_end,
                    subscription=source.subscription,
                    corrects=source,
                )
            )
        InvoiceLine.objects.bulk_create(new_lines)
        _totals_save(credit)
        audit_record(
            place=invoice.place,
            actor=by,
            action="invoice.credit_note_draft",
            target=credit,
            changes={"corrects": [None, invoice.number]},
        )
    return credit

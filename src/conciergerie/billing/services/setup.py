"""What a place sets up before it bills: its products and its billing settings.

Changing a product or the settings never touches an issued invoice: invoices keep their own
copy of prices, VAT and the seller's data from the day they were issued.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from conciergerie.billing.amounts import vat_terms
from conciergerie.billing.models import BillingSettings, Product
from conciergerie.billing.services.invoices import settings_for
from conciergerie.core.audit import audit_record, diff, snapshot
from conciergerie.core.errors import InvalidInput
from conciergerie.core.models import Place, User
from conciergerie.core.money import parse_amount

PRODUCT_FIELDS = [
    "name",
    "kind",
    "description",
    "unit_price",
    "vat",
    "unit",
    "desk_days",
    "room_hours",
    "machine_hours",
    "pack_kind",
    "pack_quantity",
    "pack_valid_days",
    "active",
]
SETTINGS_FIELDS = [
    "legal_name",
    "vat_number",
    "vat_franchise",
    "payment_days",
    "iban",
    "bic",
    "legal_mentions",
    "reminder_days",
]


def _clean(obj: Any, exclude: list[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=exclude, validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error(exc)


def _product_check(product: Product) -> None:
    errors: dict[str, list[str]] = {}
    try:
        product.unit_price = parse_amount(product.unit_price, field="unit_price")
    except InvalidInput as exc:
        errors.update(exc.as_errors())
    try:
        vat_terms(product.vat)
    except InvalidInput as exc:
        errors.update(exc.as_errors())
    if product.kind == Product.Kind.PACK and (not product.pack_kind or product.pack_quantity <= 0):
        errors["pack_quantity"] = [_("Un carnet crédite une quantité de jours ou d'heures.")]
    for name in ("room_hours", "machine_hours", "pack_quantity"):
        if getattr(product, name) is not None and getattr(product, name) < 0:
            errors[name] = [_("Pas de quantité négative.")]
    if product.desk_days is not None and product.desk_days < 0:
        errors["desk_days"] = [_("Pas de quantité négative.")]
    if errors:
        raise InvalidInput(errors)
    _clean(product, exclude=["place", "uuid"])


@transaction.atomic
def product_create(*, place: Place, by: User | None, **fields: Any) -> Product:
    unknown = set(fields) - set(PRODUCT_FIELDS)
    if unknown:
        raise InvalidInput({f: [_("Champ inconnu.")] for f in unknown})
    product = Product(place=place, **fields)
    _product_check(product)
    product.save()
    audit_record(
        place=place,
        actor=by,
        action="product.create",
        target=product,
        changes=diff({}, snapshot(product, PRODUCT_FIELDS)),
    )
    return product


@transaction.atomic
def product_update(*, product: Product, by: User | None, **fields: Any) -> Product:
    product = Product.objects.select_for_update().get(pk=product.pk)
    before = snapshot(product, PRODUCT_FIELDS)
    for name, value in fields.items():
        if name not in PRODUCT_FIELDS:
            raise InvalidInput({name: [_("Champ inconnu.")]})
        setattr(product, name, value)
    _product_check(product)
    product.save()
    changes = diff(before, snapshot(product, PRODUCT_FIELDS))
    if changes:
        audit_record(
            place=product.place,
            actor=by,
            action="product.update",
            target=product,
            changes=changes,
        )
    return product


@transaction.atomic
def billing_settings_update(*, place: Place, by: User | None, **fields: Any) -> BillingSettings:
    """The place's legal name, VAT number or franchise, bank details, payment terms, legal
    mentions and reminder rhythm (closing a period is `accounting`'s business)."""
    billing = BillingSettings.objects.select_for_update().get(pk=settings_for(place).pk)
    before = snapshot(billing, SETTINGS_FIELDS)
    for name, value in fields.items():
        if name not in SETTINGS_FIELDS:
            raise InvalidInput({name: [_("Champ inconnu.")]})
        if isinstance(value, str):
            value = value.strip()
        setattr(billing, name, value)
    errors: dict[str, list[str]] = {}
    billing.vat_number = billing.vat_number.replace(" ", "").upper()
    if billing.vat_number:
        from stdnum.eu import vat as stdnum_vat

        if not stdnum_vat.is_valid(billing.vat_number):
            errors["vat_number"] = [_("Ce numéro de TVA n'est pas valide.")]
    billing.iban = billing.iban.replace(" ", "").upper()
    if billing.iban:
        from stdnum import iban as stdnum_iban

        if not stdnum_iban.is_valid(billing.iban):
            errors["iban"] = [_("Cet IBAN n'est pas valide.")]
    billing.bic = billing.bic.replace(" ", "").upper()
    if billing.bic:
        from stdnum import bic as stdnum_bic

        if not stdnum_bic.is_valid(billing.bic):
            errors["bic"] = [_("Ce BIC n'est pas valide.")]
    if errors:
        raise InvalidInput(errors)
    _clean(billing, exclude=["place", "closed_until"])
    billing.save()
    changes = diff(before, snapshot(billing, SETTINGS_FIELDS))
    if changes:
        audit_record(
            place=place,
            actor=by,
            action="billing.settings",
            target=place,
            changes=changes,
        )
    return billing

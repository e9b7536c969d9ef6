"""Forms for the billing pages: they parse what was typed; every rule stays in services.

Amounts and quantities are typed the French way ("12,50 €", "1,5"): amounts are read by
`core.money.parse_amount`, quantities by the invoice services themselves.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from conciergerie.billing.models import BillingSettings, Funding, Payment, Product, Vat
from conciergerie.billing.selectors.invoices import KIND_FILTERS, STATUS_FILTERS, CreditableLine
from conciergerie.billing.templatetags.billing_tags import quantity
from conciergerie.community.models import Organisation
from conciergerie.community.person_pick import PersonPickField
from conciergerie.core.forms import MoneyField
from conciergerie.core.models import Place
from conciergerie.core.money import format_amount
from conciergerie.spaces.forms import DateInput

DECIMAL_INPUT = {"inputmode": "decimal", "autocomplete": "off"}


def _vat_field(*, required: bool, blank_label: Any = None) -> forms.ChoiceField:
    choices = list(Vat.choices)
    if blank_label is not None:
        choices.insert(0, ("", blank_label))
    return forms.ChoiceField(
        label=_("TVA"),
        choices=choices,
        required=required,
        error_messages={
            "invalid_choice": _("Taux de TVA inconnu : « %(value)s ». Choisissez dans la liste.")
        },
    )


# --- Invoices ------------------------------------------------------------------------------------


class InvoiceFilterForm(forms.Form):
    q = forms.CharField(label=_("Client ou numéro"), required=False, max_length=100)
    etat = forms.ChoiceField(label=_("État"), choices=STATUS_FILTERS, required=False)
    type = forms.ChoiceField(label=_("Type"), choices=KIND_FILTERS, required=False)
    du = forms.DateField(label=_("Émises du"), required=False, widget=DateInput())
    au = forms.DateField(label=_("au"), required=False, widget=DateInput())

    def criteria(self) -> dict[str, Any]:
        """The selector's filters; what does not parse is ignored (a list always shows)."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "q": data.get("q", ""),
            "status": data.get("etat", ""),
            "kind": data.get("type", ""),
            "start": data.get("du"),
            "end": data.get("au"),
        }


class CustomerForm(forms.Form):
    """Who a new invoice is made out to: a person of the place or one of its organisations."""

    organisation = forms.ModelChoiceField(
        label=_("Ou une organisation"),
        queryset=Organisation.objects.none(),
        required=False,
        empty_label=_("— aucune —"),
    )
    period_start = forms.DateField(
        label=_("Période facturée : du"), required=False, widget=DateInput()
    )
    period_end = forms.DateField(label=_("au"), required=False, widget=DateInput())
    note = forms.CharField(
        label=_("Note sur la facture"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, place: Place, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"] = PersonPickField(
            place=place, label=_("Personne facturée"), required=False
        )
        self.order_fields(["person", "organisation"])
        self.fields["organisation"].queryset = Organisation.objects.filter(place=place)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "person" in data and "organisation" in data:
            if not data["person"] and not data["organisation"]:
                self.add_error("person", _("Choisissez la personne ou l'organisation facturée."))
            elif data["person"] and data["organisation"]:
                self.add_error(
                    "organisation", _("Une facture a un seul destinataire : l'un ou l'autre.")
                )
        return data


class LineForm(forms.Form):
    """A line for a draft: a product (its price and VAT unless changed) or free text."""

    product = forms.ModelChoiceField(
        label=_("Produit"),
        queryset=Product.objects.none(),
        required=False,
        empty_label=_("— texte libre —"),
    )
    label = forms.CharField(
        label=_("Désignation"),
        required=False,
        max_length=300,
        help_text=_("Vide : le nom du produit."),
    )
    quantity = forms.CharField(
        label=_("Quantité"),
        initial="1",
        max_length=20,
        widget=forms.TextInput(attrs=DECIMAL_INPUT),
        help_text=_("Par exemple 1 ou 1,5."),
    )
    unit_price = MoneyField(
        label=_("Prix unitaire HT (€)"), required=False, help_text=_("Vide : le prix du produit.")
    )
    vat = _vat_field(required=False, blank_label=_("— celle du produit —"))

    def __init__(self, *args: Any, place: Place, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(place=place, active=True)

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "product": data.get("product"),
            "label": data.get("label", ""),
            "quantity": data.get("quantity", ""),
            "unit_price": data.get("unit_price"),
            "vat": data.get("vat") or None,
        }


class BuyerForm(forms.Form):
    """The draft's copy of the buyer: what the invoice will print."""

    name = forms.CharField(label=_("Nom ou raison sociale"), max_length=200)
    email = forms.EmailField(label=_("E-mail"), required=False)
    street = forms.CharField(label=_("Adresse"), required=False, max_length=200)
    postal_code = forms.CharField(label=_("Code postal"), required=False, max_length=20)
    city = forms.CharField(label=_("Ville"), required=False, max_length=100)
    country = forms.CharField(
        label=_("Pays (code à deux lettres)"), required=False, max_length=2, initial="FR"
    )
    siret = forms.CharField(label=_("SIRET"), required=False, max_length=20)
    vat_number = forms.CharField(
        label=_("Numéro de TVA intracommunautaire"), required=False, max_length=20
    )
    note = forms.CharField(
        label=_("Note sur la facture"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    BUYER = ("name", "email", "street", "postal_code", "city", "country", "siret", "vat_number")

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        buyer = {k: data.get(k, "") or "" for k in self.BUYER}
        buyer["siret"] = buyer["siret"].replace(" ", "")
        return {"buyer": buyer, "note": data.get("note", "")}


class PaymentForm(forms.Form):
    amount = MoneyField(label=_("Montant reçu (€)"))
    method = forms.ChoiceField(label=_("Moyen de paiement"), choices=Payment.Method.choices)
    received_on = forms.DateField(label=_("Reçu le"), widget=DateInput())
    reference = forms.CharField(
        label=_("Référence"),
        required=False,
        max_length=100,
        help_text=_("Numéro de chèque, libellé du virement…"),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=255)

    def __init__(self, *args: Any, left: Decimal | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if left is not None and left > 0:
            self.fields["amount"].help_text = _("Reste à payer : %(left)s.") % {
                "left": format_amount(left)
            }


class CreditNoteForm(forms.Form):
    """All of the invoice, or part of it: a quantity per line."""

    TOTAL, PARTIAL = "total", "partiel"
    mode = forms.ChoiceField(
        label=_("Avoir"),
        choices=[(TOTAL, _("Sur toute la facture")), (PARTIAL, _("Sur une partie"))],
        initial=TOTAL,
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Motif"),
        required=False,
        max_length=500,
        help_text=_("Par exemple : erreur de quantité, geste commercial."),
    )

    def __init__(self, *args: Any, lines: list[CreditableLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for item in lines:
            self.fields[self.line_field(item.line.pk)] = forms.CharField(
                label=item.line.label,
                required=False,
                max_length=20,
                widget=forms.TextInput(attrs=DECIMAL_INPUT),
                help_text=_("Facturé : %(qty)s × %(price)s HT. Au plus %(left)s.")
                % {
                    "qty": quantity(item.line.quantity),
                    "price": format_amount(item.line.unit_price),
                    "left": quantity(item.left),
                },
                disabled=item.left <= 0,
            )

    @staticmethod
    def line_field(line_id: int) -> str:
        return f"ligne_{line_id}"

    def field_of_error(self, key: str) -> str | None:
        """The service names a line's error "lines.<line id>"."""
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit():
            return self.line_field(int(parts[1]))
        return None

    def line_fields(self) -> list[forms.BoundField]:
        return [self[self.line_field(item.line.pk)] for item in self.lines]

    def quantities(self) -> dict[int, Any] | None:
        """The service's `quantities`: None for all of the invoice."""
        if self.cleaned_data.get("mode") != self.PARTIAL:
            return None
        return {
            item.line.pk: self.cleaned_data.get(self.line_field(item.line.pk)) or None
            for item in self.lines
            if item.left > 0
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("mode") == self.PARTIAL and not any(
            data.get(self.line_field(item.line.pk)) for item in self.lines
        ):
            self.add_error(None, _("Indiquez la quantité à créditer sur au moins une ligne."))
        return data


# --- Subscriptions -----------------------------------------------------------------------------


def _plans(place: Place) -> Any:
    return Product.objects.filter(place=place, kind=Product.Kind.PLAN, active=True)


class SubscriptionForm(CustomerForm):
    """A person or an organisation subscribes to a monthly plan."""

    plan = forms.ModelChoiceField(label=_("Forfait"), queryset=Product.objects.none())
    start = forms.DateField(label=_("Début"), widget=DateInput())
    end = forms.DateField(
        label=_("Fin"), required=False, widget=DateInput(), help_text=_("Vide : sans fin.")
    )

    def __init__(self, *args: Any, place: Place, **kwargs: Any) -> None:
        super().__init__(*args, place=place, **kwargs)
        for name in ("period_start", "period_end", "note"):
            del self.fields[name]
        self.fields["person"].label = _("Personne abonnée")
        self.fields["plan"].queryset = _plans(place)

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {k: data.get(k) for k in ("person", "organisation", "plan", "start", "end")}


class PauseForm(forms.Form):
    start = forms.DateField(label=_("En pause à partir du"), widget=DateInput())
    end = forms.DateField(
        label=_("Jusqu'au"),
        required=False,
        widget=DateInput(),
        help_text=_("Vide : jusqu'à la reprise."),
    )


class ResumeForm(forms.Form):
    on = forms.DateField(label=_("Reprise le"), widget=DateInput())


class CancelForm(forms.Form):
    end = forms.DateField(
        label=_("Dernier jour"),
        required=False,
        widget=DateInput(),
        help_text=_("Vide : la fin du mois en cours."),
    )


class ChangePlanForm(forms.Form):
    plan = forms.ModelChoiceField(label=_("Nouveau forfait"), queryset=Product.objects.none())
    on = forms.DateField(label=_("À partir du"), widget=DateInput())

    def __init__(self, *args: Any, place: Place, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = _plans(place)


# --- Products, grants, settings --------------------------------------------------------------------


class ProductForm(forms.ModelForm):
    unit_price = MoneyField(label=_("Prix unitaire HT (€)"))
    vat = _vat_field(required=True)

    class Meta:
        model = Product
        fields = [
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
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "desk_days": _("Forfaits : vide = illimité, 0 = aucun."),
            "pack_kind": _("Carnets seulement."),
        }

    def service_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class FundingForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=Funding.Kind.choices)
    funder = forms.CharField(label=_("Financeur ou donateur"), max_length=200)
    amount = MoneyField(label=_("Montant (€)"))
    received_on = forms.DateField(label=_("Reçu le"), widget=DateInput())
    purpose = forms.CharField(label=_("Objet"), required=False, max_length=255)


class SettingsForm(forms.ModelForm):
    class Meta:
        model = BillingSettings
        fields = [
            "legal_name",
            "vat_franchise",
            "vat_number",
            "payment_days",
            "iban",
            "bic",
            "legal_mentions",
            "reminder_days",
        ]
        widgets = {"legal_mentions": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "legal_name": _("Vide : le nom du lieu."),
            "vat_number": _("Exemple : FR40303265045. Inutile en franchise de TVA."),
            "reminder_days": _("Après l'échéance ; 0 : pas de relance automatique."),
        }

    def service_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}

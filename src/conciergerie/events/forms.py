"""Forms for the events pages: they parse input; every rule stays in services and selectors.

Date-times are typed on the place's clock: the pages activate the place's time zone, so
Django reads a `datetime-local` value in it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from conciergerie.core.money import format_amount
from conciergerie.events.models import Event, TicketTier
from conciergerie.spaces.forms import DateTimeInput
from conciergerie.spaces.models import Resource

MAX_OTHER_NAMES = 50


class RegistrationForm(forms.Form):
    """One order: the person registering, a tier, an amount when the price is free, and the
    names of the other people coming (one per line)."""

    name = forms.CharField(label=_("Votre nom"), max_length=200, required=False)
    email = forms.EmailField(label=_("Votre e-mail"), required=False)
    tier = forms.ChoiceField(label=_("Tarif"), widget=forms.RadioSelect)
    amount = forms.CharField(
        label=_("Montant que vous choisissez (par personne)"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    others = forms.CharField(
        label=_("Autres personnes qui viennent avec vous"),
        help_text=_("Un nom par ligne ; laissez vide si vous venez seul·e."),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self, *args: Any, event: Event, tiers: list[TicketTier], visitor: bool, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.event = event
        self.tiers = tiers
        self.fields["tier"].choices = [(str(t.uuid), tier_label(event, t)) for t in tiers]
        if len(tiers) == 1:
            self.fields["tier"].initial = str(tiers[0].uuid)
            self.fields["tier"].required = False
        if visitor:
            self.fields["name"].required = True
            self.fields["email"].required = True
        else:
            del self.fields["email"]
            self.fields["name"].label = _("Nom sur le billet")
        if not any(t.pay_what_you_can for t in tiers):
            del self.fields["amount"]
        if event.max_per_order == 1:
            del self.fields["others"]

    def clean_others(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data.get("others", "").splitlines()]
        names = [line[:200] for line in lines if line]
        if len(names) > MAX_OTHER_NAMES:
            raise forms.ValidationError(_("Trop de noms."))
        return names

    def attendees(self) -> list[dict[str, Any]]:
        """The service's `attendees`: the person registering first, then the others."""
        data = self.cleaned_data
        spec: dict[str, Any] = {"tier": data.get("tier") or None}
        if data.get("amount"):
            spec["amount"] = data["amount"]
        first = {**spec, "name": data.get("name", "")}
        return [first] + [{**spec, "name": n} for n in data.get("others", [])]


def tier_label(event: Event, tier: TicketTier) -> str:
    """ "Solidaire — 5,00 €", "Prix libre — à partir de 8,00 € (suggéré : 15,00 €)", "Gratuit"."""
    from conciergerie.events.services import tier_amount

    if tier.pay_what_you_can:
        from conciergerie.events.services import _scaled, _units

        units = _units(event, tier)
        price = _("à partir de %(floor)s (suggéré : %(suggested)s)") % {
            "floor": format_amount(_scaled(tier.floor, units)),
            "suggested": format_amount(_scaled(tier.suggested, units)),
        }
    else:
        amount = tier_amount(event=event, tier=tier)
        price = format_amount(amount) if amount else str(_("gratuit"))
    label = f"{tier.name} — {price}"
    if tier.members_only:
        label += " · " + str(_("membres à jour"))
    return label


class EventForm(forms.Form):
    """The event's own fields; the tiers are in TierFormSet."""

    title = forms.CharField(label=_("Titre"), max_length=200)
    category = forms.ChoiceField(label=_("Catégorie"), choices=Event.Category.choices)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Mise en forme simple : **gras**, listes avec des tirets, liens."),
    )
    audience = forms.CharField(label=_("Public visé"), max_length=200, required=False)
    start_at = forms.DateTimeField(label=_("Début"), widget=DateTimeInput())
    end_at = forms.DateTimeField(label=_("Fin"), widget=DateTimeInput())
    is_stay = forms.BooleanField(
        label=_("Séjour sur plusieurs nuits (prix par nuit ou par semaine possibles)"),
        required=False,
    )
    resource = forms.ModelChoiceField(
        label=_("Salle du lieu"),
        queryset=Resource.objects.none(),
        required=False,
        empty_label=_("— aucune (adresse ci-dessous ou en ligne) —"),
        help_text=_("La salle est réservée pour toute la durée de l'évènement."),
    )
    address = forms.CharField(label=_("Adresse (hors du lieu)"), max_length=255, required=False)
    online_url = forms.URLField(label=_("Lien en ligne"), required=False)
    capacity = forms.IntegerField(label=_("Nombre de places"), min_value=1, initial=20)
    max_per_order = forms.IntegerField(
        label=_("Places par inscription (au plus)"), min_value=1, initial=6
    )
    registration_opens_at = forms.DateTimeField(
        label=_("Ouverture des inscriptions"),
        required=False,
        widget=DateTimeInput(),
        help_text=_("Vide : dès maintenant."),
    )
    registration_closes_at = forms.DateTimeField(
        label=_("Clôture des inscriptions"),
        required=False,
        widget=DateTimeInput(),
        help_text=_("Vide : au début de l'évènement."),
    )
    visibility = forms.ChoiceField(label=_("Visible par"), choices=Event.Visibility.choices)
    accessibility = forms.CharField(
        label=_("Accessibilité"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Accès en fauteuil, boucle magnétique, langue des signes…"),
    )
    waitlist_enabled = forms.BooleanField(
        label=_("Liste d'attente quand c'est complet"), required=False, initial=True
    )
    offer_hours = forms.IntegerField(
        label=_("Délai pour accepter une place libérée (heures)"), min_value=1, initial=24
    )
    cancel_hours = forms.IntegerField(
        label=_("Annulation en ligne jusqu'à (heures avant le début)"), min_value=0, initial=24
    )

    def __init__(self, *args: Any, place: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fields["resource"].queryset = Resource.objects.filter(place=place, active=True)

    @staticmethod
    def initial_for(event: Event) -> dict[str, Any]:
        return {name: getattr(event, name) for name in EventForm.base_fields}

    def service_fields(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


REPEAT_CHOICES = [
    (0, _("Une seule date")),
    (7, _("Chaque semaine")),
    (14, _("Toutes les deux semaines")),
    (28, _("Toutes les quatre semaines")),
]


class RepeatForm(forms.Form):
    every_days = forms.TypedChoiceField(
        label=_("Répéter"), choices=REPEAT_CHOICES, coerce=int, initial=0, required=False
    )
    count = forms.IntegerField(
        label=_("Nombre de dates"), min_value=2, max_value=52, required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("every_days") and not data.get("count"):
            self.add_error("count", _("Combien de dates en tout ?"))
        return data


class TierForm(forms.Form):
    name = forms.CharField(label=_("Nom du tarif"), max_length=80, required=False)
    price = forms.DecimalField(
        label=_("Prix (€)"), min_value=0, max_digits=9, decimal_places=2, required=False
    )
    pay_what_you_can = forms.BooleanField(label=_("Prix libre"), required=False)
    floor = forms.DecimalField(
        label=_("Minimum (€)"), min_value=0, max_digits=9, decimal_places=2, required=False
    )
    suggested = forms.DecimalField(
        label=_("Suggéré (€)"), min_value=0, max_digits=9, decimal_places=2, required=False
    )
    members_only = forms.BooleanField(label=_("Membres à jour seulement"), required=False)
    quota = forms.IntegerField(label=_("Places à ce tarif (max)"), min_value=1, required=False)
    price_unit = forms.ChoiceField(
        label=_("Unité (séjours)"), choices=TicketTier.Unit.choices, required=False
    )

    def spec(self) -> dict[str, Any] | None:
        """The service's tier dict, or None for an empty row."""
        data = self.cleaned_data
        if not data.get("name"):
            return None
        spec = {k: v for k, v in data.items() if v not in (None, "")}
        return spec


TierFormSet = forms.formset_factory(TierForm, extra=0, min_num=1, max_num=8, absolute_max=8)


def tier_initial(event: Event | None) -> list[dict[str, Any]]:
    if event is None:
        return [{"name": _("Entrée"), "price": 0}, {}, {}]
    rows = [
        {
            "name": t.name,
            "price": t.price,
            "pay_what_you_can": t.pay_what_you_can,
            "floor": t.floor,
            "suggested": t.suggested,
            "members_only": t.members_only,
            "quota": t.quota,
            "price_unit": t.price_unit,
        }
        for t in event.tiers.all()
    ]
    return rows + [{}]

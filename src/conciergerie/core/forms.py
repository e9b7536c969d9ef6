from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from conciergerie.core import services
from conciergerie.core.errors import DomainError, InvalidInput
from conciergerie.core.models import Place, Role
from conciergerie.core.money import MAX_AMOUNT, parse_amount
from conciergerie.core.validators import WEEKDAYS, format_day_hours, parse_day_hours

DAY_LABELS = dict(
    zip(
        WEEKDAYS,
        [
            _("Lundi"),
            _("Mardi"),
            _("Mercredi"),
            _("Jeudi"),
            _("Vendredi"),
            _("Samedi"),
            _("Dimanche"),
        ],
        strict=True,
    )
)


class LoginForm(AuthenticationForm):
    """Django's login form, with a limit on failed attempts per e-mail and per address."""

    username = forms.EmailField(
        label=_("E-mail"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        "invalid_login": _("E-mail ou mot de passe incorrect."),
        "inactive": _("Ce compte est désactivé."),
        "rate_limited": _(
            "Trop de tentatives de connexion. Réessayez dans un quart d'heure "
            "ou réinitialisez votre mot de passe."
        ),
    }

    def clean(self) -> dict[str, Any]:
        email = (self.data.get("username") or "").strip().lower()
        ip = self.request.META.get("REMOTE_ADDR") if self.request else None
        if not services.login_allowed(email=email, ip=ip):
            raise ValidationError(self.error_messages["rate_limited"], code="rate_limited")
        try:
            cleaned = super().clean()
        except ValidationError:
            services.login_failure_record(email=email, ip=ip)
            raise
        services.login_success_clear(email=email)
        return cleaned


class PlaceForm(forms.ModelForm):
    class Meta:
        model = Place
        fields = [
            "name",
            "description",
            "typology",
            "legal_form",
            "siret",
            "street",
            "postal_code",
            "city",
            "latitude",
            "longitude",
            "email",
            "phone",
            "website",
            "logo",
            "timezone",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 6})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hours = self.instance.opening_hours or {}
        for day in WEEKDAYS:
            self.fields[f"hours_{day}"] = forms.CharField(
                label=DAY_LABELS[day],
                required=False,
                initial=format_day_hours(hours.get(day, [])),
                help_text=_("ex. 09:00-12:30, 14:00-18:00 ; vide si fermé"),
            )

    def hour_fields(self) -> list[forms.BoundField]:
        return [self[f"hours_{day}"] for day in WEEKDAYS]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        hours: dict[str, list[list[str]]] = {}
        for day in WEEKDAYS:
            try:
                ranges = parse_day_hours(cleaned.get(f"hours_{day}", ""))
            except ValidationError as exc:
                self.add_error(f"hours_{day}", exc)
                continue
            if ranges:
                hours[day] = ranges
        cleaned["opening_hours"] = hours
        return cleaned

    def changed_data_for_service(self) -> dict[str, Any]:
        data = {f: self.cleaned_data[f] for f in self.Meta.fields}
        data["opening_hours"] = self.cleaned_data["opening_hours"]
        return data


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail de la personne invitée"))
    role = forms.ChoiceField(label=_("Rôle"), choices=Role.choices, initial=Role.MEMBER)


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(label=_("Votre nom"), max_length=200)
    password1 = forms.CharField(
        label=_("Mot de passe"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("Mot de passe (encore)"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("Les deux mots de passe ne sont pas identiques."))
        elif p1:
            try:
                password_validation.validate_password(p1)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Rôle"), choices=[("", _("Aucun accès")), *Role.choices], required=False
    )


def add_domain_errors(
    form: forms.BaseForm, exc: DomainError, field_of: Callable[[str], str | None] | None = None
) -> None:
    """A service's refusal as form messages, each on its field when the form has one.

    A key names a field directly ("email"), or by a dotted path ("buyer.siret",
    "attendees.0"): its first, then its last part is tried. `field_of` maps the keys a
    form names differently."""
    for key, errs in exc.as_errors().items():
        name = field_of(key) if field_of is not None else None
        if name is None:
            parts = key.split(".")
            name = next((n for n in (key, parts[0], parts[-1]) if n in form.fields), None)
        for err in errs:
            form.add_error(name if name in form.fields else None, err)


def posted(request: HttpRequest) -> Any:
    """The POST data for a form, bound even when empty (an empty form is refused, not shown)."""
    return request.POST if request.method == "POST" else None


class MoneyField(forms.CharField):
    """Euros as typed in French: "12,50", "12,50 €", "1 234,5" (`core.money.parse_amount`).

    `maximum`: amounts from it up are refused here; None leaves the range to the service."""

    def __init__(self, *, maximum: Decimal | None = MAX_AMOUNT, **kwargs: Any) -> None:
        self.maximum = maximum
        attrs = {"inputmode": "decimal", "autocomplete": "off", "maxlength": "30"}
        kwargs.setdefault("widget", forms.TextInput(attrs=attrs))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"{value:.2f}".replace(".", ",")
        return value

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            return parse_amount(text, maximum=self.maximum)
        except InvalidInput as exc:
            raise forms.ValidationError(exc.message) from None

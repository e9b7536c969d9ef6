"""A person picker for the team's forms that stays light in a place of 10,000 people.

A text box with suggestions (a `<datalist>` filled by htmx as the concierge types) instead
of a `<select>` listing everybody. What is typed is resolved to one person of the place: an
identifier or an e-mail taken from a suggestion, or else a name that only one person has.
"""

from __future__ import annotations

import re
import uuid as uuid_module
from typing import Any

from django import forms
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from conciergerie.community.models import Person
from conciergerie.community.selectors import people_suggest
from conciergerie.core.models import Place

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
EMAIL_RE = re.compile(r"[^\s<>()@]+@[^\s<>()@]+\.[^\s<>()@]+")


def suggestion_label(person: Person) -> str:
    """What a suggestion puts in the box: readable, and enough to find the person again."""
    name = f"{person.first_name} {person.last_name}".strip()
    return f"{name} — {person.email or person.uuid}"


class PersonPickWidget(forms.TextInput):
    template_name = "community/widgets/person_pick.html"

    def __init__(self, suggest_url: str = "", attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"autocomplete": "off", **(attrs or {})})
        self.suggest_url = suggest_url

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        list_id = f"{widget['attrs'].get('id') or name}-suggestions"
        widget["attrs"].update(
            {
                "list": list_id,
                "hx-get": self.suggest_url,
                "hx-trigger": "input changed delay:250ms",
                "hx-target": f"#{list_id}",
                "hx-swap": "innerHTML",
            }
        )
        widget["list_id"] = list_id
        return context


class PersonPickField(forms.CharField):
    default_error_messages = {
        "unknown": gettext_lazy("Personne introuvable dans ce lieu : vérifiez le nom ou l'e-mail."),
        "ambiguous": gettext_lazy(
            "Plusieurs personnes correspondent : choisissez dans la liste des suggestions."
        ),
    }

    def __init__(self, *, place: Place, **kwargs: Any) -> None:
        self.place = place
        url = reverse("community:person_suggest", kwargs={"place_slug": place.slug})
        kwargs.setdefault("help_text", _("Tapez un nom ou un e-mail, puis choisissez."))
        super().__init__(
            widget=PersonPickWidget(suggest_url=url, attrs={"maxlength": "300"}), **kwargs
        )

    def prepare_value(self, value: Any) -> Any:
        return suggestion_label(value) if isinstance(value, Person) else value

    def to_python(self, value: Any) -> Person | None:  # type: ignore[override]
        text = str(super().to_python(value) or "").strip()
        if not text:
            return None
        people = Person.objects.filter(place=self.place)
        by_id, by_email = UUID_RE.search(text), EMAIL_RE.search(text)
        if by_id:
            matches = list(people.filter(uuid=uuid_module.UUID(by_id.group())))
        elif by_email:
            matches = list(people.filter(email__iexact=by_email.group())[:2])
        else:
            matches = people_suggest(place=self.place, q=text, limit=20)
            exact = [p for p in matches if _words(f"{p.first_name} {p.last_name}") == _words(text)]
            matches = exact if len(exact) == 1 else matches
        if len(matches) > 1:
            raise forms.ValidationError(self.error_messages["ambiguous"], code="ambiguous")
        if not matches:
            raise forms.ValidationError(self.error_messages["unknown"], code="unknown")
        return matches[0]


def _words(text: str) -> list[str]:
    return text.casefold().split()

"""Forms of contributions and moderation: a commons in plain words, votes, decisions,
reports and thresholds. The commons form turns what people type into the import format and
lets `services.catalogue.commons_clean` judge it (one validation for every door)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from conciergerie.commons import grid
from conciergerie.commons.models import Action, Kind, Report
from conciergerie.commons.selectors.catalogue import grid_questions
from conciergerie.commons.services.catalogue import commons_clean
from conciergerie.core.errors import InvalidInput
from conciergerie.core.forms import add_domain_errors
from conciergerie.core.models import Place

GRID_PREFIX = "grid_"
NEUTRAL_SLUG = "commun"
SCALE_CHOICES = [("", "—"), *[(str(n), str(n)) for n in range(1, 6)]]


def _split_line(line: str) -> list[str]:
    return [part.strip() for part in line.split("|")]


def _is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://", "www."))


def _with_scheme(url: str) -> str:
    return "https://" + url if url.lower().startswith("www.") else url


def parse_links(text: str) -> list[dict[str, str]]:
    """One link a line: "libellé | https://…" (a bare address is accepted too)."""
    links = []
    for line in (text or "").splitlines():
        parts = [p for p in _split_line(line) if p]
        if not parts:
            continue
        at = next((i for i, p in enumerate(parts) if _is_url(p)), len(parts) - 1)
        label = " ".join(parts[:at] + parts[at + 1 :])
        links.append({"label": label, "url": _with_scheme(parts[at])})
    return links


def parse_contacts(text: str) -> list[dict[str, str]]:
    """One contact a line: "nom | rôle | https://… | e-mail"; the address and the e-mail are
    recognised wherever they are, so "nom | e-mail" works as well."""
    contacts = []
    for line in (text or "").splitlines():
        parts = [p for p in _split_line(line) if p]
        if not parts:
            continue
        record = {"name": "", "role": "", "url": "", "email": ""}
        for part in parts:
            if _is_url(part) and not record["url"]:
                record["url"] = _with_scheme(part)
            elif "@" in part and not record["email"]:
                record["email"] = part
            elif not record["name"]:
                record["name"] = part
            elif not record["role"]:
                record["role"] = part
            else:
                record["role"] += f", {part}"
        contacts.append(record)
    return contacts


def links_text(links: list[dict[str, str]]) -> str:
    return "\n".join(
        " | ".join(p for p in (item.get("label", ""), item.get("url", "")) if p) for item in links
    )


def contacts_text(contacts: list[dict[str, str]]) -> str:
    keys = ("name", "role", "url", "email")
    return "\n".join(" | ".join(item[k] for k in keys if item.get(k)) for item in contacts)


def _kinds_note(q: grid.Question) -> str:
    if not q.kinds:
        return ""
    labels = dict(Kind.choices)
    names = ", ".join(str(labels.get(k, k)).lower() for k in q.kinds)
    return _("Selon le type : seulement pour %(kinds)s (ignoré sinon).") % {"kinds": names}


def _grid_field(q: grid.Question) -> forms.Field:
    help_text = " ".join(t for t in (q.help_text, _kinds_note(q)) if t)
    common: dict[str, Any] = {"label": q.label, "required": False, "help_text": help_text}
    if q.type == grid.T.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *[(c[0], c[1]) for c in q.choices]], **common)
    if q.type == grid.T.SCALE:
        return forms.ChoiceField(choices=SCALE_CHOICES, **common)
    if q.type == grid.T.INTEGER:
        return forms.CharField(
            max_length=12, widget=forms.TextInput(attrs={"inputmode": "numeric"}), **common
        )
    if q.type == grid.T.MONTH:
        return forms.CharField(
            max_length=7, widget=forms.TextInput(attrs={"placeholder": "AAAA-MM"}), **common
        )
    return forms.CharField(max_length=300, **common)


class CommonsForm(forms.Form):
    """Every field of a commons; `commons_data` is the import-format dict once valid."""

    name = forms.CharField(label=gettext_lazy("Nom"), max_length=120)
    summary = forms.CharField(
        label=gettext_lazy("Résumé"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Une ou deux phrases simples : à quoi il sert, pour qui."),
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=gettext_lazy(
            "Mise en forme possible : **gras**, listes avec « - », liens [texte](https://…)."
        ),
    )
    url = forms.CharField(
        label=gettext_lazy("Adresse du site"),
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://…"}),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Type de commun"), choices=[("", "—"), *Kind.choices]
    )
    actions = forms.MultipleChoiceField(
        label=gettext_lazy("Ce qu'il aide à faire"),
        choices=Action.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    domains = forms.CharField(
        label=gettext_lazy("Domaines"),
        required=False,
        help_text=gettext_lazy(
            "Séparés par des virgules, ex. : gestion associative, comptabilité."
        ),
    )
    tags = forms.CharField(
        label=gettext_lazy("Mots-clés"),
        required=False,
        help_text=gettext_lazy(
            "Séparés par des virgules ; ajoutez les mots que les gens taperaient "
            "(ex. : adhésions, compta, réunion à distance)."
        ),
    )
    license = forms.CharField(
        label=gettext_lazy("Licence"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Ex. : AGPL-3.0-or-later, CC-BY-SA-4.0, ou quelques mots."),
    )
    links = forms.CharField(
        label=gettext_lazy("Liens utiles"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Un par ligne : libellé | https://…"),
    )
    contacts = forms.CharField(
        label=gettext_lazy("Contacts"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Un par ligne : nom | rôle | https://… | e-mail"),
    )
    message = forms.CharField(
        label=gettext_lazy("Pourquoi ce changement ?"),
        required=False,
        max_length=255,
        help_text=gettext_lazy("Quelques mots pour les personnes qui vont relire."),
    )
    base_revision = forms.IntegerField(required=False, widget=forms.HiddenInput)

    MAIN_FIELDS = ("name", "summary", "description", "url", "kind", "actions")
    MORE_FIELDS = ("domains", "tags", "license", "links", "contacts")

    def __init__(
        self,
        *args: Any,
        place: Place,
        slug: str = "",
        questions: list[grid.Question] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.place = place
        self.slug = slug
        self.questions = questions if questions is not None else grid_questions(place=place)
        for q in self.questions:
            self.fields[GRID_PREFIX + q.key] = _grid_field(q)
        self.commons_data: dict[str, Any] = {}

    @classmethod
    def initial_from(cls, data: dict[str, Any], *, revision: int = 0) -> dict[str, Any]:
        """Form values for a commons in the import format (`snapshot_of`)."""
        initial: dict[str, Any] = {
            key: data.get(key, "") for key in ("name", "summary", "description", "url", "kind")
        }
        initial["license"] = data.get("license", "")
        initial["actions"] = list(data.get("actions") or [])
        initial["domains"] = ", ".join(data.get("domains") or [])
        initial["tags"] = ", ".join(data.get("tags") or [])
        initial["links"] = links_text(data.get("links") or [])
        initial["contacts"] = contacts_text(data.get("contacts") or [])
        for key, value in (data.get("grid") or {}).items():
            initial[GRID_PREFIX + key] = str(value)
        initial["base_revision"] = revision
        return initial

    def main_fields(self) -> list[forms.BoundField]:
        return [self[f] for f in self.MAIN_FIELDS]

    def more_fields(self) -> list[forms.BoundField]:
        return [self[f] for f in self.MORE_FIELDS]

    def grid_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        groups: dict[str, list[forms.BoundField]] = {}
        for q in self.questions:
            groups.setdefault(q.group or _("Qualification"), []).append(self[GRID_PREFIX + q.key])
        return list(groups.items())

    def to_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        kind = cleaned.get("kind", "")
        answers = {}
        for q in self.questions:
            value = cleaned.get(GRID_PREFIX + q.key)
            # A question of another kind of commons is ignored, as the form says.
            if value not in (None, "") and q.applies_to(kind):
                answers[q.key] = value
        data: dict[str, Any] = {
            "name": cleaned.get("name", ""),
            "summary": cleaned.get("summary", ""),
            "description": cleaned.get("description", ""),
            "url": cleaned.get("url", ""),
            "kind": kind,
            "actions": list(cleaned.get("actions") or []),
            "domains": [d for d in (cleaned.get("domains") or "").split(",") if d.strip()],
            "tags": [t for t in (cleaned.get("tags") or "").split(",") if t.strip()],
            "license": cleaned.get("license", ""),
            "links": parse_links(cleaned.get("links", "")),
            "contacts": parse_contacts(cleaned.get("contacts", "")),
            "grid": answers,
        }
        if self.slug:
            data["slug"] = self.slug
        return data

    def field_of(self, key: str) -> str | None:
        """Where an error of the import format goes on this form."""
        if key.startswith("grid."):
            name = GRID_PREFIX + key.split(".", 1)[1]
            return name if name in self.fields else None
        if key.startswith(("links.", "contacts.")):
            return key.split(".", 1)[0]
        if key == "slug":
            return "name"
        return None

    def add_errors(self, exc: Exception, *, skip_fields_in_error: bool = False) -> None:
        """A service's refusal, on the fields (list errors name their line). With
        `skip_fields_in_error`, a field the form itself already refused gets nothing more."""
        if isinstance(exc, InvalidInput):
            errors: dict[str, list[str]] = {}
            for key, messages in exc.errors.items():
                name = self.field_of(key) or key.split(".")[0]
                if skip_fields_in_error and name in self.errors:
                    continue
                parts = key.split(".")
                if parts[0] in ("links", "contacts") and len(parts) > 1 and parts[1].isdigit():
                    line = _("Ligne %(n)s : ") % {"n": int(parts[1]) + 1}
                    messages = [line + m for m in messages]
                errors.setdefault(key, []).extend(messages)
            exc = InvalidInput(errors, exc.message)
        add_domain_errors(self, exc, field_of=self.field_of)  # type: ignore[arg-type]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # Checked even when a field was refused above: every problem is shown at once.
        data = self.to_data(cleaned)
        if not self.slug:
            # A new commons' address is chosen by the service from its name (a free one, even
            # when another commons or a page of the site has it): a neutral one meanwhile.
            data["slug"] = NEUTRAL_SLUG
        try:
            self.commons_data = commons_clean(place=self.place, data=data)
        except InvalidInput as exc:
            self.add_errors(exc, skip_fields_in_error=True)
        if not self.slug:
            self.commons_data.pop("slug", None)
        return cleaned


class VoteForm(forms.Form):
    value = forms.ChoiceField(choices=[("pour", "pour"), ("contre", "contre")])
    back = forms.ChoiceField(
        choices=[("liste", "liste"), ("proposition", "proposition")], required=False
    )

    def vote(self) -> int:
        return 1 if self.cleaned_data["value"] == "pour" else -1


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Décision"),
        choices=[
            ("accepter", gettext_lazy("Accepter")),
            ("refuser", gettext_lazy("Refuser")),
            ("mettre_a_jour", gettext_lazy("Mettre à jour")),
        ],
    )
    note = forms.CharField(
        label=gettext_lazy("Motif (envoyé à la personne)"), max_length=255, required=False
    )
    seen_revision = forms.IntegerField(required=False, widget=forms.HiddenInput)
    back = forms.ChoiceField(
        choices=[("liste", "liste"), ("proposition", "proposition")], required=False
    )


class ReportForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Qu'est-ce qui n'est plus à jour ou qui est faux ?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("Soyez précis : l'équipe vérifiera et corrigera la fiche."),
    )


class ReportHandleForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (Report.Status.RESOLVED, gettext_lazy("Traité")),
            (Report.Status.DISMISSED, gettext_lazy("Écarté")),
        ]
    )


class ModerationSettingsForm(forms.Form):
    votes_to_accept = forms.IntegerField(
        label=gettext_lazy("Votes « pour » qui valident une proposition"),
        min_value=1,
        max_value=50,
    )
    votes_to_reject = forms.IntegerField(
        label=gettext_lazy("Votes « contre » qui refusent une proposition"),
        min_value=1,
        max_value=50,
    )

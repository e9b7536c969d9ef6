"""Commons catalogue: qualified commons, grids, FAQ, documentation pages, aiguillage, campaigns.

Every row belongs to a place: each place keeps its own catalogue (federation shares them later).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from conciergerie.community.models import Person
from conciergerie.core.models import Place, PublicObject


class Kind(models.TextChoices):
    LOGICIEL = "logiciel", _("Logiciel")
    METHODE = "methode", _("Méthode")
    MODELE = "modele", _("Modèle de document")
    COMMUNAUTE = "communaute", _("Communauté d'entraide")
    SERVICE = "service", _("Service")
    MATERIEL = "materiel", _("Ressource matérielle")
    FORMATION = "formation", _("Formation")


class Action(models.TextChoices):
    GERER = "gerer", _("Gérer")
    DEVELOPPER = "developper", _("Développer")
    TRAVAILLER = "travailler", _("Travailler")
    ANIMER = "animer", _("Animer")
    DOCUMENTER = "documenter", _("Documenter")


class CommonsSettings(models.Model):
    """How the community moderates its catalogue (GoGoCarto-style vote thresholds)."""

    place = models.OneToOneField(Place, on_delete=models.CASCADE, related_name="commons_settings")
    votes_to_accept = models.PositiveSmallIntegerField(
        _("votes « pour » qui valident une proposition"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text=_("Un·e modérateur·rice peut aussi valider directement."),
    )
    votes_to_reject = models.PositiveSmallIntegerField(
        _("votes « contre » qui refusent une proposition"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
    )

    def __str__(self) -> str:
        return str(self.place)


class GridField(models.Model):
    """One question of the qualification grid; which kinds of commons it applies to."""

    class Type(models.TextChoices):
        CHOICE = "choice", _("Choix dans une liste")
        SCALE = "scale", _("Note de 1 à 5")
        INTEGER = "integer", _("Nombre entier")
        TEXT = "text", _("Texte court")
        MONTH = "month", _("Année ou mois (AAAA ou AAAA-MM)")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="commons_grid")
    key = models.SlugField(_("code"), max_length=40)
    label = models.CharField(_("question"), max_length=120)
    help_text = models.CharField(_("aide"), max_length=255, blank=True)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices, default=Type.TEXT)
    # [[value, label], …] for CHOICE fields.
    choices = models.JSONField(_("choix"), default=list, blank=True)
    # Kinds of commons it applies to; empty means every kind.
    kinds = models.JSONField(_("types de communs concernés"), default=list, blank=True)
    group = models.CharField(_("rubrique"), max_length=60, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["place", "key"], name="commons_grid_key_unique")
        ]

    def __str__(self) -> str:
        return self.label

    def applies_to(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


class Domain(models.Model):
    """A field of practice ("gestion associative", "cartographie"…): filters and FAQ."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="commons_domains")
    name = models.CharField(_("nom"), max_length=80)
    slug = models.SlugField(_("identifiant court"), max_length=90)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["place", "slug"], name="commons_domain_slug_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Commons(PublicObject):
    class Status(models.TextChoices):
        PENDING = "pending", _("En attente de validation")
        VALIDATED = "validated", _("Validé")
        REJECTED = "rejected", _("Refusé")
        ARCHIVED = "archived", _("Archivé")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="commons")
    slug = models.SlugField(_("identifiant court"), max_length=120)
    name = models.CharField(_("nom"), max_length=120)
    summary = models.CharField(_("résumé"), max_length=300)
    description = models.TextField(_("description (Markdown)"), max_length=20000)
    url = models.URLField(_("adresse du site"), max_length=500)
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices)
    # ",gerer,animer," so that one LIKE finds an action on SQLite and PostgreSQL alike.
    actions = models.CharField(_("actions"), max_length=80)
    domains = models.ManyToManyField(Domain, related_name="commons", blank=True)
    tags = models.JSONField(_("mots-clés"), default=list, blank=True)
    license = models.CharField(_("licence"), max_length=100, blank=True)
    links = models.JSONField(_("liens"), default=list, blank=True)
    contacts = models.JSONField(_("contacts"), default=list, blank=True)
    grid = models.JSONField(_("grille de qualification"), default=dict, blank=True)
    status = models.CharField(
        _("état"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    revision = models.PositiveIntegerField(default=0, editable=False)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    # Tags and domain names as plain text, for PostgreSQL's tsvector (a generated column).
    keywords = models.TextField(default="", editable=False)
    # Folded, stemmed words (see commons/search.py): the columns SQLite's FTS5 indexes.
    search_title = models.TextField(default="", editable=False)
    search_keywords = models.TextField(default="", editable=False)
    search_body = models.TextField(default="", editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("commun")
        verbose_name_plural = _("communs")
        constraints = [
            models.UniqueConstraint(fields=["place", "slug"], name="commons_slug_unique"),
        ]
        indexes = [
            models.Index(fields=["place", "status", "name"]),
            models.Index(fields=["place", "url"]),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("commons:detail", kwargs={"place_slug": self.place.slug, "slug": self.slug})

    @property
    def action_list(self) -> list[str]:
        return [a for a in self.actions.split(",") if a]


class CommonsRevision(models.Model):
    """A full copy of a commons after each accepted change: history, authors and diffs."""

    commons = models.ForeignKey(Commons, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    data = models.JSONField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    author_label = models.CharField(max_length=200, blank=True)
    message = models.CharField(_("résumé de la modification"), max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["commons", "number"], name="commons_revision_number_unique"
            )
        ]


class Proposal(PublicObject):
    """A new commons or an edit, proposed by a member, waiting for moderation or votes."""

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente")
        ACCEPTED = "accepted", _("Acceptée")
        REJECTED = "rejected", _("Refusée")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="commons_proposals")
    # Null: the proposal creates a new commons (kept PENDING until accepted).
    commons = models.ForeignKey(
        Commons, on_delete=models.CASCADE, related_name="proposals", null=True, blank=True
    )
    # The revision the edit was made from, to tell a moderator when it went stale.
    base_revision = models.PositiveIntegerField(default=0)
    data = models.JSONField()
    message = models.CharField(_("pourquoi ce changement"), max_length=255, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("motif"), max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["place", "status", "created_at"])]

    def __str__(self) -> str:
        return str(self.data.get("name", "")) if isinstance(self.data, dict) else ""


class Vote(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    value = models.SmallIntegerField(
        choices=[(1, pgettext_lazy("vote", "Pour")), (-1, pgettext_lazy("vote", "Contre"))]
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["proposal", "voter"], name="commons_vote_unique")
        ]


class Report(PublicObject):
    """Someone says a commons' information is outdated or wrong."""

    class Status(models.TextChoices):
        OPEN = "open", _("À traiter")
        RESOLVED = "resolved", _("Traité")
        DISMISSED = "dismissed", _("Écarté")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="commons_reports")
    commons = models.ForeignKey(Commons, on_delete=models.CASCADE, related_name="reports")
    reason = models.TextField(_("qu'est-ce qui n'est plus à jour ?"), max_length=2000)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]


class FaqEntry(models.Model):
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="commons_faq")
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="faq")
    question = models.CharField(_("question"), max_length=255)
    answer = models.TextField(_("réponse (Markdown)"), max_length=10000)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["domain__name", "position", "id"]

    def __str__(self) -> str:
        return self.question


class Page(PublicObject):
    """Open documentation: a recipe, the place's code social… attached to a commons or not."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="doc_pages")
    commons = models.ForeignKey(
        Commons, on_delete=models.SET_NULL, null=True, blank=True, related_name="pages"
    )
    slug = models.SlugField(_("identifiant court"), max_length=120)
    title = models.CharField(_("titre"), max_length=200)
    body = models.TextField(_("contenu (Markdown)"), max_length=100000)
    license = models.CharField(_("licence"), max_length=100, default="CC-BY-SA-4.0")
    revision = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.UniqueConstraint(fields=["place", "slug"], name="doc_page_slug_unique")
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("commons:page", kwargs={"place_slug": self.place.slug, "slug": self.slug})


class PageRevision(models.Model):
    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    license = models.CharField(max_length=100)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    author_label = models.CharField(max_length=200, blank=True)
    message = models.CharField(_("résumé de la modification"), max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["page", "number"], name="page_revision_number_unique")
        ]


class Aiguilleur(models.Model):
    """Someone who knows the ecosystem and routes people: domains, availability, a queue."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="aiguilleurs")
    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="aiguilleur")
    domains = models.ManyToManyField(Domain, related_name="aiguilleurs", blank=True)
    availability = models.CharField(
        _("disponibilités"), max_length=255, blank=True, help_text=_("Ex. : le mardi après-midi")
    )
    active = models.BooleanField(_("disponible pour de nouvelles orientations"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["person__last_name", "person__first_name", "id"]

    def __str__(self) -> str:
        return str(self.person)


class Orientation(PublicObject):
    """A need routed to commons and people, then followed up: did it lead to action?"""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("En attente de nouvelles")
        CONTACTED = "contacted", _("Contact pris")
        ADOPTED = "adopted", _("Adopté / mis en œuvre")
        DROPPED = "dropped", _("Abandonné")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="orientations")
    need = models.TextField(_("besoin"), max_length=5000)
    answers = models.JSONField(default=dict, blank=True)
    # Who has the need: someone of the directory, or a visitor's name and e-mail.
    person = models.ForeignKey(
        Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="orientations"
    )
    contact_name = models.CharField(_("nom"), max_length=200, blank=True)
    contact_email = models.EmailField(_("e-mail"), blank=True)
    aiguilleur = models.ForeignKey(
        Aiguilleur,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orientations",
    )
    # What the ranking proposed at the time, with reasons: kept as it was shown.
    suggestions = models.JSONField(default=list, blank=True)
    commons = models.ManyToManyField(Commons, related_name="orientations", blank=True)
    people = models.ManyToManyField(Person, related_name="oriented_to", blank=True)
    note = models.TextField(_("note de l'aiguilleur·euse"), max_length=5000, blank=True)
    oriented_at = models.DateTimeField(null=True, blank=True)
    follow_up_on = models.DateField(_("relancer le"), null=True, blank=True)
    outcome = models.CharField(
        _("suite"), max_length=10, choices=Outcome.choices, default=Outcome.PENDING
    )
    outcome_reason = models.TextField(_("pourquoi"), max_length=2000, blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["place", "outcome", "created_at"])]

    def __str__(self) -> str:
        return self.need[:60]

    def get_absolute_url(self) -> str:
        return reverse(
            "commons:orientation", kwargs={"place_slug": self.place.slug, "uuid": self.uuid}
        )


class Campaign(PublicObject):
    """Co-financing a commons: a goal, pledges from places and people, an end date."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="commons_campaigns")
    commons = models.ForeignKey(Commons, on_delete=models.CASCADE, related_name="campaigns")
    title = models.CharField(_("titre"), max_length=200)
    description = models.TextField(_("description (Markdown)"), max_length=10000, blank=True)
    goal = models.DecimalField(
        _("objectif (€)"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("1.00"))],
    )
    ends_on = models.DateField(_("date de fin"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["ends_on", "id"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse(
            "commons:campaign", kwargs={"place_slug": self.place.slug, "uuid": self.uuid}
        )


class Pledge(models.Model):
    """A promise to give; no money moves here yet."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="pledges")
    # A pledge comes from a place of the network or from a person (by name).
    pledger_place = models.ForeignKey(
        Place, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pledger_name = models.CharField(_("nom"), max_length=200)
    pledger_email = models.EmailField(_("e-mail"), blank=True)
    amount = models.DecimalField(
        _("montant (€)"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("1.00"))],
    )
    public = models.BooleanField(_("afficher mon nom"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]


class SearchTerm(models.Model):
    """The folded words of a place's catalogue, to correct a typo in a search."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="+")
    word = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["place", "word"], name="commons_term_unique")
        ]

"""The demo's commons: L'Établi's catalogue (the starter catalogue), two aiguilleurs, a few
orientations at every stage, its code social as an open documentation page, and a
co-financing campaign — all written through commons' services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from conciergerie.commons.models import Commons, Orientation
from conciergerie.commons.selectors.aiguillage import suggest
from conciergerie.commons.services.aiguillage import (
    aiguilleur_set,
    orientation_outcome,
    orientation_record,
    orientation_request,
)
from conciergerie.commons.services.campaigns import campaign_create, pledge_create
from conciergerie.commons.services.pages import page_create
from conciergerie.commons.starter import starter_load
from conciergerie.community.models import Person
from conciergerie.core.models import Place, User
from conciergerie.demo.data import ADMIN_EMAIL, CONCIERGE_EMAIL, MAIN_SLUG, SECOND_SLUG

CODE_SOCIAL = """L'Établi est un lieu **ouvert** : on y vient pour travailler, fabriquer, apprendre
et se rencontrer. Ce code social dit comment on vit ensemble ; il change quand la communauté
le décide, en assemblée, par consentement.

## Accueil
- Chaque personne qui passe la porte est accueillie, présentée et orientée.
- On demande avant d'utiliser une machine : une personne formée montre la première fois.

## Contribution
- Adhérer, c'est participer : une permanence par trimestre, ou un atelier partagé.
- Ce qu'on apprend ici, on le documente ici (recettes, fiches machines).

## Décisions
- Les décisions courantes se prennent par l'équipe ; les autres en assemblée mensuelle,
  par consentement (voir la fiche « Gestion par consentement » du catalogue).

*Texte sous licence CC BY-SA 4.0 : reprenez-le, adaptez-le à votre lieu.*
"""


def _commons(place: Place, slug: str) -> Commons:
    return Commons.objects.get(place=place, slug=slug)


def load(place: Place | None = None) -> dict[str, int]:
    place = place or Place.objects.get(slug=MAIN_SLUG)
    by = User.objects.get(email=CONCIERGE_EMAIL)
    report = starter_load(place, by)
    helene = Person.objects.get(place=place, email=ADMIN_EMAIL)
    julien = Person.objects.get(place=place, first_name="Julien", last_name="Lefèvre")
    aiguilleur_set(
        place=place,
        person=helene,
        by=by,
        domains=["gestion associative", "comptabilité", "gouvernance"],
        availability="le mardi après-midi",
    )
    guide = aiguilleur_set(
        place=place,
        person=julien,
        by=by,
        domains=["fabrication", "documentation"],
        availability="le jeudi soir, à l'atelier",
    )

    # A visitor's request, waiting for an aiguilleur.
    need = "On veut gérer les adhésions et la compta de notre asso"
    orientation_request(
        place=place,
        need=need,
        answers={"action": "gerer", "skills": "aucune"},
        suggestions=suggest(place=place, need=need, answers={"skills": "aucune"}),
        contact_name="Léa Dumas",
        contact_email="lea.dumas@example.org",
    )
    # Two orientations made at the counter, followed up: one adopted, one dropped.
    today = timezone.localdate()
    done = orientation_record(
        place=place,
        by=by,
        need="Imprimer des pièces de rechange en 3D pour le repair café",
        contact_name="Paul Girard",
        contact_email="paul.girard@example.org",
        commons=[_commons(place, "prusaslicer"), _commons(place, "freecad")],
        people=[julien],
        note="Vient le jeudi soir avec une pièce cassée à modéliser.",
        follow_up_on=today + dt.timedelta(days=7),
        aiguilleur=guide,
    )
    orientation_outcome(
        orientation=done,
        by=by,
        outcome=Orientation.Outcome.ADOPTED,
        reason="Première pièce imprimée.",
    )
    dropped = orientation_record(
        place=place,
        by=by,
        need="Un outil pour prendre les décisions de l'association à distance",
        contact_name="Nadia Ben Saïd",
        contact_email="nadia@example.org",
        commons=[_commons(place, "loomio")],
        people=[helene],
        follow_up_on=today + dt.timedelta(days=14),
    )
    orientation_outcome(
        orientation=dropped,
        by=by,
        outcome=Orientation.Outcome.DROPPED,
        reason="Le bureau préfère se réunir en visio : orientée ensuite vers Jitsi Meet.",
    )

    page_create(
        place=place,
        by=by,
        title="Le code social de L'Établi",
        body=CODE_SOCIAL,
        commons=_commons(place, "code-social"),
        message="Adopté en assemblée",
    )
    campaign = campaign_create(
        place=place,
        by=by,
        commons=_commons(place, "dokos"),
        title="Financer la réservation de machines dans Dokos",
        description=(
            "Les tiers-lieux du réseau co-financent le développement du **module de "
            "réservation de machines** de Dokos : chacun en profitera."
        ),
        goal=Decimal("6000"),
        ends_on=today + dt.timedelta(days=45),
    )
    pledge_create(
        campaign=campaign,
        by=by,
        amount=Decimal("500"),
        pledger_name="L'Établi",
        pledger_email="",
        public=True,
        pledger_place=place,
    )
    second = Place.objects.filter(slug=SECOND_SLUG).first()
    pledge_create(
        campaign=campaign,
        by=by,
        amount=Decimal("150"),
        pledger_name=second.name if second else "Les Ateliers du Moulin",
        pledger_email="",
        public=True,
    )
    return {"commons": report.commons.count("created"), "orientations": 3}

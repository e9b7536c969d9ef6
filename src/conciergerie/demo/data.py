"""Demo data: a fablab + coworking in a mid-size French town, and a small second place.

Everything is written through the services, like a real concierge would, so the demo
exercises the same validation, search indexing and audit log as the real thing. The
content is deterministic (fixed seed); dates are relative to today so that the
"renouvellements à faire" list is never empty, whatever the day the demo is loaded.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from conciergerie.community import services as community
from conciergerie.community.models import Introduction, Membership, Organisation, Person
from conciergerie.core import services as core
from conciergerie.core.models import Place, Role, User
from conciergerie.core.text import fold

DEMO_PASSWORD = "demo-conciergerie"
SEED = 2024
MAIN_SLUG = "etabli-chatellerault"
SECOND_SLUG = "ateliers-du-moulin"
DEMO_SLUGS = (MAIN_SLUG, SECOND_SLUG)

ADMIN_EMAIL = "admin@letabli.example"
CONCIERGE_EMAIL = "concierge@letabli.example"
MEMBER_EMAIL = "membre@letabli.example"
SECOND_CONCIERGE_EMAIL = "concierge@ateliers-du-moulin.example"

LOGINS: list[tuple[str, str]] = [
    (ADMIN_EMAIL, "administratrice de L'Établi (Châtellerault) : tout, dont le lieu et l'équipe"),
    (CONCIERGE_EMAIL, "concierge de L'Établi : annuaire complet, adhésions, mises en relation"),
    (MEMBER_EMAIL, "membre de L'Établi (Camille Rousseau) : annuaire et son profil"),
    (SECOND_CONCIERGE_EMAIL, "concierge des Ateliers du Moulin (Saint-Savin), l'autre lieu"),
]


# --- SIRET ------------------------------------------------------------------------------------


def _luhn_valid(number: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(number)):
        n = int(char) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def luhn_complete(digits: str) -> str:
    """`digits` followed by the Luhn check digit that makes the whole number valid."""
    return next(digits + d for d in "0123456789" if _luhn_valid(digits + d))


def siret(siren8: str, nic4: str) -> str:
    """A SIRET whose SIREN (first 9 digits) and whole 14 digits both pass Luhn."""
    return luhn_complete(luhn_complete(siren8) + nic4)


# --- The places -------------------------------------------------------------------------------

MAIN_PLACE: dict[str, Any] = {
    "slug": MAIN_SLUG,
    "name": "L'Établi",
    "typology": Place.Typology.FABLAB,
    "legal_form": Place.LegalForm.ASSOCIATION,
    "siret": siret("84291736", "0001"),
    "street": "14 allée de la Manufacture",
    "postal_code": "86100",
    "city": "Châtellerault",
    "latitude": Decimal("46.817800"),
    "longitude": Decimal("0.546100"),
    "opening_hours": {
        "mon": [["09:00", "18:30"]],
        "tue": [["09:00", "18:30"]],
        "wed": [["09:00", "12:30"], ["14:00", "21:00"]],
        "thu": [["09:00", "18:30"]],
        "fri": [["09:00", "21:00"]],
        "sat": [["10:00", "17:00"]],
    },
    "email": "bonjour@letabli.example",
    "phone": "05 36 49 12 34",  # ARCEP range reserved for fiction
    "website": "https://letabli.example",
    "description": """\
**L'Établi** est le tiers-lieu de Châtellerault : un fablab, un espace de coworking et un
atelier partagé installés depuis 2019 dans une ancienne halle de la Manufacture, au bord de
la Vienne.

## Ce qu'on y trouve
- un **fablab** : imprimantes 3D, découpeuse laser, fraiseuse numérique, postes de soudure,
  électronique (Arduino, Raspberry Pi) ;
- un **coworking** de 14 postes, une salle de réunion et une cabine pour les visios ;
- un **atelier bois et couture** ouvert aux adhérent·es après une formation à la sécurité ;
- le **Repair Café** le premier samedi du mois et l'atelier vélo de Vélo-Cité le mercredi soir.

## Comment participer
L'adhésion à l'association (10 à 60 €, prix libre au-delà) ouvre l'accès aux machines et à
l'annuaire des membres. Passez nous voir aux **portes ouvertes du vendredi soir**, ou écrivez
à la conciergerie : on vous met en relation avec la personne qui sait faire.
""",
}

SECOND_PLACE: dict[str, Any] = {
    "slug": SECOND_SLUG,
    "name": "Les Ateliers du Moulin",
    "typology": Place.Typology.ATELIERS,
    "legal_form": Place.LegalForm.INFORMAL,
    "street": "2 chemin du Moulin",
    "postal_code": "86310",
    "city": "Saint-Savin",
    "latitude": Decimal("46.564700"),
    "longitude": Decimal("0.865300"),
    "opening_hours": {
        "wed": [["14:00", "18:00"]],
        "sat": [["09:30", "12:30"], ["14:00", "17:00"]],
    },
    "email": "contact@ateliers-du-moulin.example",
    "description": """\
Un ancien moulin au bord de la Gartempe, retapé par un collectif d'habitant·es :
un **atelier bois**, un **coin couture** et un **établi de mécanique** partagés.

On s'y retrouve le mercredi après-midi et le samedi. Adhésion : 10 € par année civile.
""",
}


# --- Vocabulary (labels as the place writes them) --------------------------------------------


@dataclass
class Spec:
    """One person of the demo, before it goes through person_create."""

    first: str
    last: str
    skills: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    interests: list[str] = field(default_factory=list)
    lendables: list[str] = field(default_factory=list)
    bio: str = ""
    skills_text: str = ""
    needs_text: str = ""
    kind: str = Person.Kind.MEMBER
    visibility: str = "members"  # a key of VISIBILITY_PROFILES
    membership: str = "paid"  # a key of the scenarios in _memberships
    orgs: list[str] = field(default_factory=list)
    email: str | None = None  # None: made from the name; "": no e-mail
    phone: bool = False
    key: str = ""


_ALL = (
    "name",
    "email",
    "phone",
    "bio",
    "organisations",
    "skills",
    "needs",
    "interests",
    "lendables",
)

VISIBILITY_PROFILES: dict[str, dict[str, str]] = {
    # A public profile: shown on the place's public page, contact details for members only.
    "public": {
        "name": "public",
        "email": "members",
        "phone": "private",
        "bio": "public",
        "organisations": "public",
        "skills": "public",
        "needs": "members",
        "interests": "public",
        "lendables": "members",
    },
    # The usual case: members of the place see the profile, the public does not.
    "members": dict.fromkeys(_ALL, "members") | {"phone": "private"},
    "members_no_email": dict.fromkeys(_ALL, "members") | {"phone": "private", "email": "private"},
    # Listed for members with their skills, the rest kept for the team.
    "discreet": dict.fromkeys(_ALL, "private") | {"name": "members", "skills": "members"},
    # Only the team sees them (e.g. people who came once to the Repair Café).
    "private": dict.fromkeys(_ALL, "private"),
}

ORGANISATIONS: dict[str, dict[str, Any]] = {
    "velo": {
        "name": "Vélo-Cité Châtellerault",
        "kind": Organisation.Kind.ASSOCIATION,
        "siret": siret("53817402", "0002"),
        "email": "atelier@velo-cite.example",
        "description": "Atelier vélo participatif : on apprend à réparer son vélo soi-même, "
        "le mercredi soir à L'Établi. Bourse aux vélos chaque printemps.",
    },
    "repair": {
        "name": "Repair Café du Châtelleraudais",
        "kind": Organisation.Kind.ASSOCIATION,
        "email": "repair@letabli.example",
        "description": "Le premier samedi du mois, des bénévoles réparent avec vous petit "
        "électroménager, lampes, vêtements et jouets plutôt que de les jeter.",
    },
    "bois": {
        "name": "Atelier Bois & Cie",
        "kind": Organisation.Kind.COMPANY,
        "siret": siret("90127354", "0001"),
        "email": "contact@boisetcie.example",
        "website": "https://boisetcie.example",
        "description": "SARL de menuiserie et d'agencement (3 salariés), partenaire de "
        "l'atelier bois : elle prête sa fraiseuse numérique et forme les bénévoles.",
    },
    "ville": {
        "name": "Ville de Châtellerault — Vie associative",
        "kind": Organisation.Kind.COLLECTIVITE,
        "description": "Le service Vie associative de la ville : subventions, prêt de "
        "salles et de matériel, accompagnement des associations.",
    },
    "coop": {
        "name": "Les Ruches Vives",
        "kind": Organisation.Kind.COOPERATIVE,
        "siret": siret("79364518", "0003"),
        "email": "bonjour@ruches-vives.example",
        "website": "https://ruches-vives.example",
        "description": "Coopérative d'activité et d'emploi (SCOP) : graphistes, "
        "développeur·euses, formateur·rices et traducteur·rices y sont entrepreneur·es-"
        "salarié·es, plusieurs travaillent depuis le coworking.",
    },
}

# The hand-written people: the team, the three demo accounts and the people the
# introductions are about, so that each mise en relation makes sense.
HANDWRITTEN: list[Spec] = [
    Spec(
        key="admin",
        first="Hélène",
        last="Marchand",
        email=ADMIN_EMAIL,
        kind=Person.Kind.VOLUNTEER,
        visibility="public",
        skills=["comptabilité associative", "montage de projets européens", "gestion de projet"],
        needs=["facilitation"],
        interests=["éducation populaire", "économie sociale et solidaire"],
        bio="Présidente de l'association depuis 2021. Vingt ans dans l'éducation populaire "
        "avant de poser mes valises à Châtellerault. Je m'occupe des partenariats et des "
        "dossiers de financement.",
        needs_text="Quelqu'un pour animer notre prochaine assemblée générale autrement "
        "qu'en tour de table.",
        orgs=["ville"],
        membership="calendar",
    ),
    Spec(
        key="concierge",
        first="Karim",
        last="Benali",
        email=CONCIERGE_EMAIL,
        visibility="public",
        skills=["accueil", "animation d'ateliers", "facilitation"],
        interests=["jeux de société", "musique"],
        lendables=["vidéoprojecteur"],
        bio="Concierge et animateur de L'Établi : c'est moi qui vous accueille, qui vous "
        "présente aux bonnes personnes et qui tiens l'agenda des ateliers.",
        membership="paid",
    ),
    Spec(
        key="member",
        first="Camille",
        last="Rousseau",
        email=MEMBER_EMAIL,
        visibility="members",
        skills=["graphisme", "illustration", "mise en page"],
        needs=["comptabilité", "développement web"],
        interests=["bande dessinée", "sérigraphie"],
        lendables=["tablette graphique"],
        bio="Graphiste indépendante, au coworking trois jours par semaine. Affiches, "
        "identités visuelles, un peu de BD quand j'ai le temps.",
        skills_text="Inkscape, Affinity, Scribus ; je connais bien les contraintes d'impression.",
        orgs=["coop"],
        membership="ending",
    ),
    Spec(
        key="fabmanager",
        first="Julien",
        last="Lefèvre",
        visibility="public",
        skills=["impression 3D", "découpe laser", "modélisation 3D", "Arduino"],
        interests=["robotique", "low-tech"],
        lendables=["imprimante 3D", "multimètre"],
        bio="Fabmanager à mi-temps. Je fais les formations machines du samedi matin : "
        "découpe laser, impression 3D, fraiseuse.",
        skills_text="FreeCAD, Fusion 360, Inkscape, PrusaSlicer, LightBurn.",
        orgs=["repair"],
        membership="renewed",
    ),
    Spec(
        key="soudeur",
        first="Marc",
        last="Dubois",
        kind=Person.Kind.VOLUNTEER,
        visibility="public",
        skills=["soudure", "métallerie", "chaudronnerie"],
        interests=["vieilles motos"],
        lendables=["poste à souder", "meuleuse"],
        bio="Soudeur pendant 35 ans dans l'industrie, maintenant à la retraite. Je tiens "
        "l'atelier métal le mardi après-midi et je forme volontiers au MIG et à l'arc.",
        skills_text="Soudure MIG, TIG, à l'arc ; lecture de plans.",
        membership="calendar",
    ),
    Spec(
        key="couturiere",
        first="Nadia",
        last="Haddad",
        visibility="members",
        skills=["couture", "patronage", "retouches"],
        needs=["montage de projets européens"],
        lendables=["machine à coudre", "surjeteuse"],
        bio="Costumière pour la compagnie Fil Rouge et les écoles du coin. J'aimerais monter "
        "un échange de costumières avec une troupe en Espagne.",
        membership="ending",
    ),
    Spec(
        key="menuisier",
        first="Thomas",
        last="Girard",
        visibility="public",
        skills=["menuiserie", "ébénisterie", "fraisage numérique"],
        needs=["Arduino"],
        lendables=["scie plongeante", "serre-joints"],
        bio="Gérant d'Atelier Bois & Cie. Je passe à l'atelier bois le jeudi pour les "
        "questions d'affûtage et de sécurité.",
        needs_text="Automatiser l'aspiration de l'atelier quand une machine démarre.",
        orgs=["bois"],
        membership="org",
    ),
    Spec(
        key="devweb",
        first="Élodie",
        last="Perrin",
        visibility="members",
        skills=["développement web", "Python", "WordPress"],
        needs=["découpe laser"],
        interests=["logiciel libre", "escalade"],
        bio="Développeuse web en coopérative, au coworking depuis son ouverture.",
        skills_text="Django, sites vitrines, accessibilité (RGAA).",
        orgs=["coop"],
        membership="renewed",
    ),
    Spec(
        key="electricien",
        first="Antoine",
        last="Faure",
        kind=Person.Kind.VOLUNTEER,
        visibility="members",
        skills=["électricité", "réparation électroménager", "domotique"],
        lendables=["multimètre", "testeur de prise"],
        bio="Électricien, bénévole au Repair Café depuis le début.",
        orgs=["repair"],
        membership="paid",
        phone=True,
    ),
    Spec(
        key="photographe",
        first="Sarah",
        last="Nguyen",
        visibility="public",
        skills=["photographie", "vidéo", "retouche photo"],
        interests=["cinéma", "randonnée"],
        lendables=["appareil photo reflex", "éclairages de studio"],
        bio="Photographe : portraits, reportages associatifs, photos de produits pour les "
        "artisan·es du coin.",
        membership="pending",
    ),
    Spec(
        key="velo",
        first="Bernard",
        last="Michaud",
        kind=Person.Kind.VOLUNTEER,
        visibility="public",
        skills=["réparation vélo", "mécanique"],
        needs=["graphisme"],
        lendables=["pied d'atelier vélo", "démonte-pneus"],
        bio="Président de Vélo-Cité. Le mercredi soir, on répare ensemble : venez avec votre "
        "vélo, on vous montre.",
        needs_text="Une affiche pour la bourse aux vélos du printemps.",
        orgs=["velo"],
        membership="org",
    ),
    Spec(
        key="ville",
        first="Isabelle",
        last="Roux",
        visibility="discreet",
        skills=["recherche de financements", "politiques publiques"],
        bio="Chargée de mission vie associative à la Ville.",
        orgs=["ville"],
        membership="none",
        kind=Person.Kind.VISITOR,
    ),
    Spec(
        key="etudiant",
        first="Lucas",
        last="Bertrand",
        visibility="members",
        skills=["Arduino", "électronique", "Raspberry Pi"],
        needs=["soudure", "stage"],
        interests=["robotique", "jeux vidéo"],
        bio="Étudiant en BUT GEII à l'IUT. Je cherche un stage et j'ai envie d'apprendre "
        "à souder pour de vrai.",
        membership="pending",
    ),
    Spec(
        key="mediatrice",
        first="Fatou",
        last="Diallo",
        visibility="members",
        skills=["médiation numérique", "démarches en ligne"],
        needs=["local pour des permanences"],
        interests=["cuisine du monde"],
        bio="Médiatrice numérique : j'accompagne les habitant·es dans leurs démarches en "
        "ligne. Je cherche un lieu pour des permanences le samedi.",
        membership="expired_recent",
    ),
    Spec(
        key="comptable",
        first="Pierre-Yves",
        last="Le Gall",
        kind=Person.Kind.VOLUNTEER,
        visibility="members_no_email",
        skills=["comptabilité associative", "comptabilité", "fiscalité"],
        interests=["échecs", "histoire locale"],
        bio="Expert-comptable à la retraite. Je donne un coup de main aux associations et "
        "aux indépendant·es qui démarrent.",
        membership="calendar",
    ),
    Spec(
        key="facilitatrice",
        first="Manon",
        last="Chevalier",
        visibility="members",
        skills=["facilitation", "intelligence collective", "design de service"],
        needs=["photographie"],
        bio="Facilitatrice et designer de services, entrepreneure-salariée aux Ruches Vives.",
        orgs=["coop"],
        membership="ending",
    ),
    Spec(
        key="apiculteur",
        first="Yannick",
        last="Morel",
        visibility="members",
        skills=["apiculture", "jardinage", "permaculture"],
        needs=["développement web"],
        lendables=["extracteur de miel"],
        bio="Apiculteur et maraîcher à Naintré. Je voudrais vendre mon miel en ligne.",
        needs_text="Une petite boutique en ligne pour le miel, simple à tenir à jour.",
        membership="paid",
    ),
    Spec(
        key="ceramiste",
        first="Chloé",
        last="Fontaine",
        visibility="members",
        skills=["céramique", "tournage"],
        needs=["photographie", "graphisme"],
        interests=["marchés de créateurs"],
        bio="Céramiste, je partage un four avec deux autres potières.",
        needs_text="Des photos de mes pièces pour ma boutique et les marchés.",
        membership="expired_old",
    ),
    Spec(
        key="mecano",
        first="Rachid",
        last="Amrani",
        visibility="discreet",
        skills=["mécanique", "soudure"],
        needs=["comptabilité"],
        lendables=["compresseur"],
        membership="ending",
        phone=True,
    ),
    Spec(
        key="traductrice",
        first="Gaëlle",
        last="Le Floch",
        visibility="members",
        skills=["traduction", "montage de projets européens", "anglais"],
        interests=["théâtre", "voyages"],
        bio="Traductrice anglais-espagnol. J'ai monté plusieurs projets Erasmus+ pour des "
        "associations : je peux relire vos dossiers.",
        orgs=["coop"],
        membership="paid",
    ),
]

# (need, requester key or None, helper key, reason, outcome, outcome note)
INTRODUCTIONS: list[tuple[str, str | None, str, str, str, str]] = [
    (
        "Mettre en place la comptabilité de sa micro-entreprise",
        "member",
        "comptable",
        "compétence « comptabilité »",
        Introduction.Outcome.SUCCESS,
        "Deux rendez-vous au coworking, tableau de suivi en place.",
    ),
    (
        "Une petite boutique en ligne pour vendre du miel",
        "apiculteur",
        "devweb",
        "compétence « développement web »",
        Introduction.Outcome.CONTACTED,
        "Devis envoyé, Yannick réfléchit.",
    ),
    (
        "Photos de céramiques pour une boutique en ligne",
        "ceramiste",
        "photographe",
        "compétence « photographie »",
        Introduction.Outcome.SUCCESS,
        "Séance photo faite à l'atelier, échangée contre un service de bols.",
    ),
    (
        "Apprendre à souder au poste MIG",
        "etudiant",
        "soudeur",
        "compétence « soudure »",
        Introduction.Outcome.SUCCESS,
        "Marc l'a formé deux samedis ; Lucas a passé l'habilitation de l'atelier métal.",
    ),
    (
        "Une salle pour des permanences numériques le samedi",
        "mediatrice",
        "ville",
        "connaît les salles municipales",
        Introduction.Outcome.NO_FOLLOW_UP,
        "Pas de salle disponible avant la rentrée.",
    ),
    (
        "Graver des tampons en bois à la découpe laser",
        "devweb",
        "fabmanager",
        "compétence « découpe laser »",
        Introduction.Outcome.SUCCESS,
        "",
    ),
    (
        "Monter un échange Erasmus+ avec une troupe espagnole",
        "couturiere",
        "traductrice",
        "compétence « montage de projets européens »",
        Introduction.Outcome.CONTACTED,
        "Premier appel fait, dépôt visé pour l'appel de printemps.",
    ),
    (
        "Un habitant passé à l'accueil veut réparer une lampe ancienne",
        None,
        "electricien",
        "compétence « électricité », bénévole au Repair Café",
        Introduction.Outcome.PENDING,
        "",
    ),
    (
        "Affiche pour la bourse aux vélos",
        "velo",
        "member",
        "compétence « graphisme »",
        Introduction.Outcome.SUCCESS,
        "Affiche imprimée à 200 exemplaires.",
    ),
    (
        "Déclencher l'aspiration de l'atelier bois au démarrage des machines",
        "menuisier",
        "etudiant",
        "compétence « Arduino »",
        Introduction.Outcome.PENDING,
        "",
    ),
    (
        "Animer l'assemblée générale en intelligence collective",
        "admin",
        "facilitatrice",
        "compétence « facilitation »",
        Introduction.Outcome.CONTACTED,
        "",
    ),
    (
        "Faire sa première déclaration de TVA",
        "mecano",
        "comptable",
        "compétence « comptabilité »",
        Introduction.Outcome.NO_FOLLOW_UP,
        "Rachid a finalement pris un cabinet comptable.",
    ),
]

# The generated people: names, and archetypes that keep skills, needs and bios coherent.
FIRST_NAMES = [
    "Léa", "Hugo", "Inès", "Mathis", "Jade", "Nathan", "Louise", "Théo", "Zoé", "Enzo",
    "Clara", "Maxime", "Anaïs", "Quentin", "Margaux", "Romain", "Pauline", "Kévin", "Sophie",
    "Nicolas", "Aurélie", "Sébastien", "Céline", "Jérôme", "Sandrine", "Olivier", "Valérie",
    "Laurent", "Nathalie", "Franck", "Mireille", "Gérard", "Josiane", "Alain", "Yasmine",
    "Mehdi", "Aïcha", "Samir", "Ophélie", "Baptiste", "Lina", "Noé", "Agathe", "Malik",
    "Solène", "Dylan", "Marine", "Killian", "Bérénice", "Jules",
]  # fmt: skip
LAST_NAMES = [
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertin", "Vincent", "Masson",
    "Guérin", "Boyer", "Garnier", "Chauvin", "Lambert", "Bonnet", "François", "Martinez",
    "Legrand", "Gauthier", "Barbier", "Brun", "Blanchard", "Renaud", "Mercier", "Arnaud",
    "Picard", "Roy", "Collet", "Baudry", "Tessier", "Rivière", "Caillaud", "Pineau",
    "Bouchet", "Ferreira", "Da Silva", "Kone", "Benoît", "Jacquet", "Poupard", "Texier",
]  # fmt: skip

ARCHETYPES: dict[str, dict[str, list[str]]] = {
    "maker": {
        "skills": [
            "impression 3D",
            "découpe laser",
            "Arduino",
            "électronique",
            "modélisation 3D",
            "Raspberry Pi",
            "soudure",
        ],
        "needs": ["découpe laser", "fraisage numérique", "soudure", "modélisation 3D"],
        "interests": ["robotique", "low-tech", "astronomie", "jeux vidéo", "musique électronique"],
        "lendables": ["fer à souder", "oscilloscope", "imprimante 3D", "multimètre"],
        "bios": [
            "Je travaille dans la maintenance industrielle et je viens au fablab le jeudi soir.",
            "Prof de technologie au collège, j'utilise le fablab pour préparer mes cours.",
            "Je bricole des montages Arduino pour la maison et le jardin.",
            "J'imprime des pièces de rechange introuvables plutôt que de tout racheter.",
        ],
    },
    "artisan": {
        "skills": [
            "menuiserie",
            "couture",
            "céramique",
            "tapisserie d'ameublement",
            "maroquinerie",
            "vannerie",
            "ébénisterie",
        ],
        "needs": ["photographie", "graphisme", "comptabilité", "développement web"],
        "interests": ["marchés de créateurs", "patrimoine", "upcycling"],
        "lendables": ["machine à coudre", "serre-joints", "scie sauteuse", "rabot électrique"],
        "bios": [
            "Artisan·e installé·e depuis peu, je cherche à mutualiser outils et clients.",
            "Je restaure des meubles chinés et je leur donne une seconde vie.",
            "Je travaille le cuir et je vends sur les marchés de créateurs de la région.",
            "Reconversion en cours : CAP en poche, je me lance à mon compte.",
        ],
    },
    "freelance": {
        "skills": [
            "graphisme",
            "développement web",
            "rédaction",
            "traduction",
            "communication",
            "photographie",
            "vidéo",
            "UX design",
        ],
        "needs": ["comptabilité", "conseils juridiques", "impression 3D", "découpe laser"],
        "interests": ["logiciel libre", "podcasts", "course à pied", "cuisine"],
        "lendables": ["appareil photo reflex", "micro enregistreur", "vidéoprojecteur"],
        "bios": [
            "Indépendant·e au coworking, je viens surtout pour ne pas travailler seul·e.",
            "Je travaille à distance pour une agence parisienne, deux jours ici par semaine.",
            "Entrepreneur·e-salarié·e en coopérative, je cherche des projets locaux.",
            "Je rédige et je mets en page les journaux de plusieurs associations.",
        ],
    },
    "associatif": {
        "skills": [
            "comptabilité associative",
            "montage de projets européens",
            "facilitation",
            "animation d'ateliers",
            "recherche de financements",
            "gestion de projet",
            "éducation populaire",
        ],
        "needs": ["graphisme", "développement web", "local de stockage", "photographie"],
        "interests": ["économie sociale et solidaire", "jardins partagés", "théâtre"],
        "lendables": ["vidéoprojecteur", "sono portable", "barnum"],
        "bios": [
            "Salarié·e d'une association d'éducation populaire du bassin châtelleraudais.",
            "Trésorier·e de deux associations, je connais bien les subventions de la Région.",
            "Je coordonne des projets jeunesse et je cherche des lieux pour des ateliers.",
        ],
    },
    "bricoleur": {
        "skills": [
            "réparation vélo",
            "électricité",
            "plomberie",
            "réparation électroménager",
            "mécanique",
            "jardinage",
            "permaculture",
        ],
        "needs": ["soudure", "électricité", "menuiserie", "covoiturage"],
        "interests": ["vélo", "randonnée", "pêche", "histoire locale"],
        "lendables": ["perceuse", "échelle", "remorque vélo", "nettoyeur haute pression"],
        "bios": [
            "À la retraite, je donne des coups de main au Repair Café.",
            "Je retape une longère à côté de Dangé-Saint-Romain, j'apprends sur le tas.",
            "Je répare les vélos de tout le quartier depuis des années.",
        ],
    },
}
ARCHETYPE_ORGS = {
    "maker": "repair",
    "artisan": "bois",
    "freelance": "coop",
    "associatif": "ville",
    "bricoleur": "velo",
}
GENERATED_SKILL_TEXTS = [
    "Je peux montrer les bases en une heure.",
    "Disponible surtout le samedi.",
    "Je préfère transmettre en petit groupe.",
]
GENERATED_NEED_TEXTS = [
    "Quelqu'un qui pourrait me montrer une fois, je me débrouille ensuite.",
    "Pour un projet à finir avant l'été.",
]
EMAIL_DOMAINS = ["courriel.example", "messagerie.example", "mail.example"]
MEMBERSHIP_SCENARIOS = [
    ("paid", 34),
    ("calendar", 14),
    ("ending", 10),
    ("pending", 8),
    ("expired_recent", 8),
    ("expired_old", 8),
    ("renewed", 10),
    ("none", 8),
]
FEES = [Decimal(v) for v in ("10", "20", "20", "25", "25", "25", "30", "40")]
ORG_FEE = Decimal("60")
NOTES = ["", "", "", "HelloAsso", "chèque", "espèces à l'accueil", "virement", "tarif réduit"]

SECOND_PEOPLE: list[Spec] = [
    Spec(
        key="concierge2",
        first="Martine",
        last="Giraud",
        email=SECOND_CONCIERGE_EMAIL,
        kind=Person.Kind.VOLUNTEER,
        skills=["couture", "accueil"],
        bio="Je tiens les clés du moulin et le cahier des adhésions.",
        membership="calendar",
    ),
    Spec(
        first="Gérard",
        last="Pichon",
        skills=["soudure", "forge"],
        lendables=["poste à souder"],
        bio="Ancien forgeron, je montre la soudure à l'arc le samedi matin.",
        membership="calendar",
    ),
    Spec(first="Louis", last="Brisset", skills=["menuiserie"], membership="calendar"),
    Spec(
        first="Anne",
        last="Vasseur",
        skills=["vannerie"],
        needs=["réparation vélo"],
        membership="pending",
    ),
    Spec(first="Jean-Paul", last="Cottereau", skills=["mécanique", "réparation vélo"]),
    Spec(
        first="Sylvie",
        last="Morin",
        skills=["jardinage"],
        visibility="private",
        membership="expired_recent",
    ),
    Spec(first="Éric", last="Delage", skills=["électricité"], needs=["soudure"]),
    Spec(
        first="Maëlle",
        last="Guillon",
        skills=["poterie"],
        needs=["menuiserie"],
        kind=Person.Kind.VISITOR,
        membership="none",
    ),
]


# --- Building ---------------------------------------------------------------------------------


def _email_for(spec: Spec, rng: random.Random) -> str:
    if spec.email is not None:
        return spec.email
    local = ".".join(fold(n).replace(" ", "").replace("'", "") for n in (spec.first, spec.last))
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


def _generated_people(rng: random.Random, count: int, taken: set[str]) -> list[Spec]:
    specs: list[Spec] = []
    archetypes = list(ARCHETYPES)
    scenarios = [s for s, _w in MEMBERSHIP_SCENARIOS]
    weights = [w for _s, w in MEMBERSHIP_SCENARIOS]
    profiles = ["public", "members", "members_no_email", "discreet", "private"]
    while len(specs) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if f"{first} {last}" in taken:
            continue
        taken.add(f"{first} {last}")
        arch = archetypes[len(specs) % len(archetypes)]
        pool = ARCHETYPES[arch]
        skills = rng.sample(pool["skills"], rng.randint(1, 3))
        needs = [n for n in rng.sample(pool["needs"], rng.randint(0, 2)) if n not in skills]
        membership = rng.choices(scenarios, weights)[0]
        spec = Spec(
            first=first,
            last=last,
            skills=skills,
            needs=needs,
            interests=rng.sample(pool["interests"], rng.randint(0, 2)),
            lendables=rng.sample(pool["lendables"], rng.randint(0, 1)),
            bio=rng.choice(pool["bios"]) if rng.random() < 0.5 else "",
            skills_text=rng.choice(GENERATED_SKILL_TEXTS) if rng.random() < 0.2 else "",
            needs_text=rng.choice(GENERATED_NEED_TEXTS) if needs and rng.random() < 0.3 else "",
            kind=(
                Person.Kind.VISITOR
                if membership == "none"
                else rng.choices([Person.Kind.MEMBER, Person.Kind.VOLUNTEER], [5, 1])[0]
            ),
            visibility=rng.choices(profiles, [12, 45, 20, 12, 11])[0],
            membership=membership,
            orgs=[ARCHETYPE_ORGS[arch]] if rng.random() < 0.3 else [],
            phone=rng.random() < 0.3,
        )
        spec.email = "" if rng.random() < 0.1 else _email_for(spec, rng)
        specs.append(spec)
    return specs


def _year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _membership_calls(
    spec: Spec, rng: random.Random, today: dt.date, orgs: dict[str, Organisation]
) -> list[dict[str, Any]]:
    """The membership_create arguments (oldest first) for a person's scenario."""
    fee = rng.choice(FEES)
    note = rng.choice(NOTES)
    paid = Membership.Status.PAID
    yearly = Membership.Period.YEARLY
    scenario = spec.membership
    if scenario == "none":
        return []
    if scenario == "calendar":
        return [
            {
                "start": dt.date(today.year, 1, 1),
                "period": Membership.Period.CALENDAR,
                "fee": fee,
                "status": paid,
                "note": note,
            }
        ]
    if scenario == "org":
        org = orgs[spec.orgs[0]]
        start = today - dt.timedelta(days=rng.randint(30, 200))
        return [
            {
                "start": start,
                "period": yearly,
                "fee": ORG_FEE,
                "status": paid,
                "organisation": org,
                "note": "adhésion de structure",
            }
        ]
    if scenario == "ending":  # ends in the next 2–28 days: a renewal to do
        end = today + dt.timedelta(days=rng.randint(2, 28))
        start = _year_before(end + dt.timedelta(days=1))
        return [{"start": start, "period": yearly, "fee": fee, "status": paid, "note": note}]
    if scenario == "pending":
        start = today - dt.timedelta(days=rng.randint(0, 20))
        return [
            {
                "start": start,
                "period": yearly,
                "fee": fee,
                "status": Membership.Status.PENDING,
                "note": "",
            }
        ]
    if scenario == "expired_recent":  # ended 5–50 days ago, not renewed yet
        end = today - dt.timedelta(days=rng.randint(5, 50))
        start = _year_before(end + dt.timedelta(days=1))
        return [{"start": start, "period": yearly, "fee": fee, "status": paid, "note": note}]
    if scenario == "expired_old":
        end = today - dt.timedelta(days=rng.randint(150, 400))
        start = _year_before(end + dt.timedelta(days=1))
        return [{"start": start, "period": yearly, "fee": fee, "status": paid, "note": note}]
    if scenario == "renewed":  # last year's, then this year's
        start = today - dt.timedelta(days=rng.randint(10, 250))
        previous = _year_before(start)
        return [
            {"start": previous, "period": yearly, "fee": fee, "status": paid, "note": ""},
            {"start": start, "period": yearly, "fee": fee, "status": paid, "note": note},
        ]
    # "paid": a current yearly membership that is not ending soon
    start = today - dt.timedelta(days=rng.randint(0, 320))
    return [{"start": start, "period": yearly, "fee": fee, "status": paid, "note": note}]


def _person_fields(spec: Spec, rng: random.Random) -> dict[str, Any]:
    visibility = VISIBILITY_PROFILES[spec.visibility]
    phone = f"06 39 98 {rng.randint(0, 99):02d} {rng.randint(0, 99):02d}" if spec.phone else ""
    return {
        "first_name": spec.first,
        "last_name": spec.last,
        "email": _email_for(spec, rng),
        "phone": phone,  # ARCEP range reserved for fiction
        "kind": spec.kind,
        "bio": spec.bio,
        "skills_text": spec.skills_text,
        "needs_text": spec.needs_text,
        **{f"{name}_visibility": level for name, level in visibility.items()},
    }


def _tags(spec: Spec) -> dict[str, list[str]]:
    return {
        "skill": spec.skills,
        "need": spec.needs,
        "interest": spec.interests,
        "lendable": spec.lendables,
    }


class _Loader:
    def __init__(self, *, progress: bool) -> None:
        self.rng = random.Random(SEED)
        self.today = timezone.localdate()
        taken = {f"{s.first} {s.last}" for s in HANDWRITTEN + SECOND_PEOPLE}
        self.main_specs = HANDWRITTEN + _generated_people(self.rng, 40, taken)
        steps = 2 + len(self.main_specs) + len(INTRODUCTIONS) + 1 + len(SECOND_PEOPLE) + 1
        self.bar = tqdm(total=steps, desc="Démo", unit="étape", disable=not progress, leave=False)

    def step(self, n: int = 1) -> None:
        self.bar.update(n)

    def people(
        self,
        place: Place,
        specs: list[Spec],
        by: User,
        orgs: dict[str, Organisation],
    ) -> dict[str, Person]:
        keyed: dict[str, Person] = {}
        for spec in specs:
            person = community.person_create(
                place=place,
                by=by,
                tags=_tags(spec),
                organisations=[orgs[k] for k in spec.orgs],
                **_person_fields(spec, self.rng),
            )
            for call in _membership_calls(spec, self.rng, self.today, orgs):
                community.membership_create(person=person, by=by, **call)
            if spec.key:
                keyed[spec.key] = person
            self.step()
        return keyed

    def run(self) -> dict[str, Any]:
        main = core.place_create(by=None, **MAIN_PLACE)
        admin = core.user_create(
            email=ADMIN_EMAIL,
            password=DEMO_PASSWORD,
            full_name="Hélène Marchand",
            place=main,
            role=Role.ADMIN,
        )
        concierge = core.user_create(
            email=CONCIERGE_EMAIL,
            password=DEMO_PASSWORD,
            full_name="Karim Benali",
            place=main,
            role=Role.CONCIERGE,
        )
        member = core.user_create(
            email=MEMBER_EMAIL,
            password=DEMO_PASSWORD,
            full_name="Camille Rousseau",
            place=main,
            role=Role.MEMBER,
        )
        self.step()
        orgs = {
            key: community.organisation_create(place=main, by=admin, **fields)
            for key, fields in ORGANISATIONS.items()
        }
        self.step()
        keyed = self.people(main, self.main_specs, concierge, orgs)
        for user in (admin, concierge, member):
            community.person_link_account(place=main, user=user)
        for need, requester, helper, reason, outcome, note in INTRODUCTIONS:
            intro = community.introduction_create(
                place=main,
                by=concierge,
                need=need,
                requester=keyed[requester] if requester else None,
                helper=keyed[helper],
                reason=reason,
            )
            if outcome != Introduction.Outcome.PENDING:
                community.introduction_set_outcome(
                    introduction=intro, by=concierge, outcome=outcome, note=note
                )
            self.step()

        second = core.place_create(by=None, **SECOND_PLACE)
        concierge2 = core.user_create(
            email=SECOND_CONCIERGE_EMAIL,
            password=DEMO_PASSWORD,
            full_name="Martine Giraud",
            place=second,
            role=Role.CONCIERGE,
        )
        self.step()
        self.people(second, SECOND_PEOPLE, concierge2, {})
        community.person_link_account(place=second, user=concierge2)
        self.step()
        self.bar.close()
        return {
            "places": [main, second],
            "people": {main.slug: len(self.main_specs), second.slug: len(SECOND_PEOPLE)},
            "organisations": len(orgs),
            "introductions": len(INTRODUCTIONS),
        }


def existing_demo_slug() -> str | None:
    """The slug of a demo place already in the database, if any."""
    return Place.objects.filter(slug__in=DEMO_SLUGS).values_list("slug", flat=True).first()


def load_demo(*, progress: bool = True) -> dict[str, Any]:
    """Create both demo places in one transaction: all of it, or nothing."""
    with transaction.atomic():
        # Both import this module.
        from conciergerie.demo import (  # noqa: PLC0415
            billing_data,
            commons_data,
            events_data,
            spaces_data,
        )

        result = spaces_data.load(_Loader(progress=progress).run())
        result["events"] = events_data.load()
        result["billing"] = billing_data.load()
        result["commons"] = commons_data.load()
        return result

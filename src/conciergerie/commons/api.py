"""Commons endpoints: search the catalogue, read one commons, import, and the aiguillage.

Everyone may search a place's validated commons and ask the aiguillage; the place's
moderators also see the commons awaiting validation, and they alone may import. The import
takes the same JSON array as the file import (docs/commons-format.md) and answers with a
report line per item: 200 even when some items failed (they are left out entirely), 400
when the body as a whole is not an array of at most 5,000 items and 10 MB.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from conciergerie.api.auth import Unauthorized, api_caller
from conciergerie.api.places import choose_place
from conciergerie.commons import exchange
from conciergerie.commons.models import Action, Commons, Kind
from conciergerie.commons.selectors import aiguillage
from conciergerie.commons.selectors.catalogue import (
    commons_by_slug,
    commons_search,
    visible_statuses,
)
from conciergerie.commons.services.catalogue import snapshot_of
from conciergerie.commons.services.imports import commons_import
from conciergerie.core import permissions
from conciergerie.core.errors import InvalidInput, NotFound, PermissionDenied
from conciergerie.core.models import Place, User

router = Router(tags=["commons"])

PLACE = "Slug du lieu ; facultatif si vous n'en avez qu'un"


# --- Schemas -------------------------------------------------------------------------------------


class CommonsOut(Schema):
    uuid: UUID
    slug: str
    name: str
    summary: str
    url: str = Field(..., description="Le site du commun lui-même")
    page: str = Field(..., description="Sa page sur cette instance")
    kind: str = Field(..., description=", ".join(Kind.values))
    actions: list[str] = Field(..., description=", ".join(Action.values))
    domains: list[str]
    tags: list[str]
    license: str
    grid: dict[str, Any] = Field(..., description="La grille de qualification")
    updated_at: dt.datetime


class CorrectionOut(Schema):
    typed: str = Field(..., description="Le mot cherché (sans accents)")
    corrected: str = Field(..., description="Le mot du catalogue cherché à sa place")


class CommonsPage(Schema):
    count: int
    items: list[CommonsOut]
    corrections: list[CorrectionOut] = Field(..., description="Fautes de frappe corrigées")


class LinkOut(Schema):
    label: str
    url: str


class ContactOut(Schema):
    name: str = ""
    role: str = ""
    url: str = ""
    email: str = ""


class CommonsDetailOut(Schema):
    uuid: UUID
    slug: str
    name: str
    summary: str
    description: str = Field(..., description="Markdown")
    url: str
    page: str
    kind: str
    actions: list[str]
    domains: list[str]
    tags: list[str]
    license: str
    links: list[LinkOut]
    contacts: list[ContactOut]
    grid: dict[str, Any]
    status: str = Field(..., description="validated, ou pending pour les modérateurs")
    revision: int = Field(..., description="Numéro de la version courante")
    updated_at: dt.datetime


class ImportItemOut(Schema):
    index: int = Field(..., description="Position dans le tableau envoyé, à partir de 1")
    name: str
    slug: str
    outcome: str = Field(..., description="created, updated, unchanged ou error")
    outcome_label: str
    uuid: UUID | None
    errors: dict[str, list[str]] = Field(..., description="Par champ, pour un élément refusé")


class ImportReportOut(Schema):
    total: int
    created: int
    updated: int
    unchanged: int
    error: int = Field(..., description="Éléments refusés : rien n'en a été enregistré")
    items: list[ImportItemOut]


class AiguillageIn(Schema):
    need: str = Field("", description="Le besoin, en quelques mots (2 000 caractères au plus)")
    answers: dict[str, Any] = Field(
        {},
        description="Réponses facultatives aux questions guidées : "
        + " ; ".join(
            f"{key} ({', '.join(code for code, _label in choices)})"
            for key, (_question, choices) in aiguillage.QUESTIONS.items()
        ),
    )


class SuggestionOut(Schema):
    type: str = Field(..., description="commons ou person")
    id: str = Field(..., description="UUID")
    name: str
    url: str
    reason: str = Field(..., description="Pourquoi cette suggestion")


class AiguillageOut(Schema):
    suggestions: list[SuggestionOut] = Field(..., description="Les meilleures d'abord")


# The request body of the import, for the OpenAPI document (the endpoint reads it itself, to
# refuse an oversized body before parsing it).
_TEXT = {"type": "string"}
_IMPORT_ITEM = {
    "type": "object",
    "required": ["name", "summary", "description", "url", "kind", "actions"],
    "properties": {
        "slug": {**_TEXT, "description": "Lettres minuscules, chiffres et tirets"},
        "name": {**_TEXT, "maxLength": 120},
        "summary": {**_TEXT, "maxLength": 300},
        "description": {**_TEXT, "maxLength": 20000, "description": "Markdown"},
        "url": {**_TEXT, "format": "uri"},
        "kind": {"type": "string", "enum": list(Kind.values)},
        "actions": {"type": "array", "items": {"type": "string", "enum": list(Action.values)}},
        "domains": {"type": "array", "items": _TEXT},
        "tags": {"type": "array", "items": _TEXT},
        "license": {**_TEXT, "maxLength": 100},
        "links": {
            "type": "array",
            "items": {"type": "object", "properties": {"label": _TEXT, "url": _TEXT}},
        },
        "contacts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": _TEXT, "role": _TEXT, "url": _TEXT, "email": _TEXT},
            },
        },
        "grid": {"type": "object", "description": "La grille de qualification (facultative)"},
    },
}


# --- Helpers -------------------------------------------------------------------------------------


def _page(commons: Commons) -> str:
    return settings.BASE_URL + commons.get_absolute_url()


def _out(commons: Commons) -> CommonsOut:
    return CommonsOut(
        uuid=commons.uuid,
        slug=commons.slug,
        name=commons.name,
        summary=commons.summary,
        url=commons.url,
        page=_page(commons),
        kind=commons.kind,
        actions=commons.action_list,
        domains=[d.name for d in commons.domains.all()],
        tags=list(commons.tags or []),
        license=commons.license,
        grid=dict(commons.grid or {}),
        updated_at=commons.updated_at,
    )


def _statuses(viewer: User | None, place: Place) -> tuple[str, ...]:
    return visible_statuses(can_moderate=permissions.can(viewer, "commons.moderate", place))


# --- Endpoints -----------------------------------------------------------------------------------


@router.get(
    "/commons",
    response=CommonsPage,
    summary="Chercher dans le catalogue des communs d'un lieu",
    description=(
        "Recherche plein texte en français (accents, pluriels et fautes de frappe tolérés), "
        "les plus pertinents d'abord ; sans `q`, par ordre alphabétique. Filtres : `kind`, "
        "`action`, `domain` (identifiant court du domaine). Les visiteurs voient les communs "
        "validés ; les modérateurs du lieu, aussi ceux en attente."
    ),
)
def search_commons(
    request: HttpRequest,
    q: str = Query("", max_length=500),  # type: ignore[type-arg]
    place: str | None = Query(None, description=PLACE),  # type: ignore[type-arg]
    kind: str = "",
    action: str = "",
    domain: str = "",
    limit: int = Query(20, ge=1, le=100),  # type: ignore[type-arg]
) -> CommonsPage:
    viewer = api_caller(request)
    errors: dict[str, list[str]] = {}
    if kind and kind not in Kind.values:
        errors["kind"] = [_("Choisissez parmi : %(list)s.") % {"list": ", ".join(Kind.values)}]
    if action and action not in Action.values:
        errors["action"] = [_("Choisissez parmi : %(list)s.") % {"list": ", ".join(Action.values)}]
    if errors:
        raise InvalidInput(errors)
    place_obj = choose_place(viewer, place)
    results = commons_search(
        place=place_obj,
        q=q,
        kind=kind,
        action=action,
        domain=domain,
        statuses=_statuses(viewer, place_obj),
        limit=limit,
    )
    return CommonsPage(
        count=results.total,
        items=[_out(c) for c in results.commons],
        corrections=[CorrectionOut(typed=a, corrected=b) for a, b in results.fixes],
    )


@router.post(
    "/commons/import",
    response=ImportReportOut,
    summary="Importer des communs (modérateurs du lieu) : un compte rendu par élément",
    description=(
        "Le corps est un tableau JSON de communs au format d'import (au plus 5 000 éléments "
        "et 10 Mo). Chaque commun est reconnu par son `slug`, sinon par son adresse `url`, "
        "puis créé ou mis à jour ; réimporter le même tableau ne change rien. Un élément "
        "refusé n'est pas enregistré du tout, les autres le sont : la réponse est 200 avec "
        "le détail des erreurs par élément."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "array", "items": _IMPORT_ITEM}}},
        }
    },
)
def import_commons(
    request: HttpRequest,
    place: str | None = Query(None, description=PLACE),  # type: ignore[type-arg]
) -> ImportReportOut:
    viewer = api_caller(request)
    if viewer is None:
        raise Unauthorized(_("Authentification requise."))
    place_obj = choose_place(viewer, place)
    if not permissions.can(viewer, "commons.moderate", place_obj):
        raise PermissionDenied(_("Réservé aux modérateurs du catalogue de ce lieu."))
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    exchange.check_size(length, "body")  # before reading the body at all
    items = exchange.read_json(request.body, "body")
    report = commons_import(place=place_obj, items=items, by=viewer)
    return ImportReportOut(**report.as_dict())


@router.get(
    "/commons/{slug}",
    response=CommonsDetailOut,
    summary="Un commun : le format d'import, plus son UUID, sa page et sa version",
)
def get_commons(
    request: HttpRequest,
    slug: str,
    place: str | None = Query(None, description=PLACE),  # type: ignore[type-arg]
) -> CommonsDetailOut:
    viewer = api_caller(request)
    place_obj = choose_place(viewer, place)
    commons = commons_by_slug(place=place_obj, slug=slug, statuses=_statuses(viewer, place_obj))
    if commons is None:
        raise NotFound(_("Commun introuvable."))
    data = snapshot_of(commons, [d.name for d in commons.domains.all()])
    return CommonsDetailOut(
        **data,
        uuid=commons.uuid,
        page=_page(commons),
        status=commons.status,
        revision=commons.revision,
        updated_at=commons.updated_at,
    )


@router.post(
    "/aiguillage",
    response=AiguillageOut,
    summary="Aiguillage : un besoin → des communs et des personnes à appeler, avec pourquoi",
    description=(
        "Ouvert à tous. Les personnes proposées (aiguilleur·euses, membres dont les "
        "compétences répondent au besoin) le sont selon ce que l'appelant a le droit de voir."
    ),
)
def ask_aiguillage(
    request: HttpRequest,
    payload: AiguillageIn,
    place: str | None = Query(None, description=PLACE),  # type: ignore[type-arg]
) -> AiguillageOut:
    viewer = api_caller(request)
    place_obj = choose_place(viewer, place)
    if not permissions.can(viewer, "aiguillage.ask", place_obj):
        raise PermissionDenied(_("Accès refusé."))
    need, answers = aiguillage.clean_request(payload.need, payload.answers)
    suggestions = aiguillage.suggest(
        place=place_obj,
        need=need,
        answers=answers,
        level=permissions.level(viewer, place_obj),
    )
    return AiguillageOut(
        suggestions=[
            SuggestionOut(**s) for s in aiguillage.as_public(suggestions, settings.BASE_URL)
        ]
    )

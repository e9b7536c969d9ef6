"""Community endpoints: people (with per-field visibility) and organisations."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from conciergerie.api.auth import api_caller
from conciergerie.api.places import place_or_404
from conciergerie.community import selectors, services
from conciergerie.community.models import PROFILE_FIELDS, Facet, Person
from conciergerie.core import permissions
from conciergerie.core.errors import InvalidInput, NotFound, PermissionDenied
from conciergerie.core.models import Place, PlaceRole, User

router = Router(tags=["people"])


class OrganisationRef(Schema):
    id: UUID
    name: str


class PersonOut(Schema):
    id: UUID
    place: str
    url: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    bio: str | None = None
    organisations: list[OrganisationRef] | None = None
    skills: list[str] | None = None
    skills_text: str | None = None
    needs: list[str] | None = None
    needs_text: str | None = None
    interests: list[str] | None = None
    interests_text: str | None = None
    lendables: list[str] | None = None
    lendables_text: str | None = None
    membership_status: str | None = None
    visibility: dict[str, str] | None = None


class PersonPage(Schema):
    count: int
    items: list[PersonOut]


class PersonIn(Schema):
    place: str | None = Field(
        None, description="Slug du lieu ; facultatif si vous n'en gérez qu'un"
    )
    first_name: str = Field(..., max_length=100)
    last_name: str = Field("", max_length=100)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=30)
    kind: str = Person.Kind.MEMBER
    bio: str = ""
    skills: list[str] = []
    needs: list[str] = []
    interests: list[str] = []
    lendables: list[str] = []
    skills_text: str = ""
    needs_text: str = ""
    interests_text: str = ""
    lendables_text: str = ""
    organisations: list[str] = Field([], description="Noms d'organisations (créées si besoin)")
    visibility: dict[str, str] = Field(
        {}, description=f"Par champ ({', '.join(PROFILE_FIELDS)}) : private, members ou public"
    )


def _out(card: selectors.Card, show_visibility: bool) -> PersonOut:
    f = card.fields
    person = card.person
    data: dict = {
        "id": person.uuid,
        "place": person.place.slug,
        "url": person.get_canonical_url(),
        "name": f.get("name"),
        "email": f.get("email"),
        "phone": f.get("phone"),
        "bio": f.get("bio"),
        "organisations": (
            [OrganisationRef(id=o.uuid, name=o.name) for o in f["organisations"]]
            if "organisations" in f
            else None
        ),
        "membership_status": card.membership_status or None,
    }
    for name in ("skills", "needs", "interests", "lendables"):
        if name in f:
            data[name] = [t.label for t in f[name]["tags"]]
            data[f"{name}_text"] = f[name]["text"]
    if show_visibility:
        data["visibility"] = {n: getattr(person, f"{n}_visibility") for n in PROFILE_FIELDS}
    return PersonOut(**data)


@router.get(
    "/people",
    response=PersonPage,
    exclude_none=True,
    summary="Chercher des personnes (selon vos droits et la visibilité de chaque champ)",
)
def list_people(
    request: HttpRequest,
    q: str = "",
    place: str | None = Query(None, description="Slug d'un lieu"),  # type: ignore[type-arg]
    limit: int = Query(50, ge=1, le=200),  # type: ignore[type-arg]
    offset: int = Query(0, ge=0),  # type: ignore[type-arg]
) -> PersonPage:
    viewer = api_caller(request)
    place_obj = place_or_404(place) if place else None
    qs, default, levels = selectors.people_search(viewer=viewer, q=q, place=place_obj)
    items = []
    for person in qs[offset : offset + limit]:
        level = levels.get(person.place_id, default)
        card = selectors.card(person, level=level, viewer=viewer)
        items.append(
            _out(card, show_visibility=card.is_self or level >= permissions.Level.CONCIERGE)
        )
    return PersonPage(count=qs.count(), items=items)


@router.get(
    "/people/{person_id}",
    response=PersonOut,
    exclude_none=True,
    summary="Une personne (les champs que vous pouvez voir)",
)
def get_person(request: HttpRequest, person_id: UUID) -> PersonOut:
    viewer = api_caller(request)
    person = Person.objects.filter(uuid=person_id).select_related("place").first()
    if person is None:
        raise NotFound(_("Personne introuvable."))
    level = permissions.level(viewer, person.place)
    card = selectors.person_detail(place=person.place, uuid=person_id, level=level, viewer=viewer)
    if card is None:
        raise NotFound(_("Personne introuvable."))
    return _out(card, show_visibility=card.is_self or level >= permissions.Level.CONCIERGE)


def _target_place(viewer: User, slug: str | None) -> Place:
    if slug:
        place = place_or_404(slug)
    else:
        managed = [
            r.place
            for r in PlaceRole.objects.filter(
                user=viewer, role__in=["concierge", "admin"]
            ).select_related("place")
        ]
        if not managed:
            raise PermissionDenied(_("Seule l'équipe du lieu peut ajouter des personnes."))
        if len(managed) > 1:
            raise InvalidInput({"place": [_("Indiquez le lieu (slug).")]})
        place = managed[0]
    if not permissions.can(viewer, "person.manage", place):
        raise PermissionDenied(_("Seule l'équipe du lieu peut ajouter des personnes."))
    return place


@router.post(
    "/people",
    response={201: PersonOut},
    exclude_none=True,
    summary="Ajouter une personne (équipe du lieu)",
)
def create_person(request: HttpRequest, payload: PersonIn) -> Status:
    viewer = api_caller(request)
    if viewer is None:
        raise PermissionDenied(_("Authentification requise."))
    place = _target_place(viewer, payload.place)
    data = payload.dict()
    tags: dict[str, list[str]] = {
        str(facet): data.pop(name)
        for facet, name in (
            (Facet.SKILL, "skills"),
            (Facet.NEED, "needs"),
            (Facet.INTEREST, "interests"),
            (Facet.LENDABLE, "lendables"),
        )
    }
    org_names = data.pop("organisations")
    visibility = data.pop("visibility")
    data.pop("place")
    errors = {
        k: [
            _("Visibilité inconnue (private, members ou public).")
            if k in PROFILE_FIELDS
            else _("Champ inconnu.")
        ]
        for k, v in visibility.items()
        if k not in PROFILE_FIELDS or v not in ("private", "members", "public")
    }
    if errors:
        raise InvalidInput({f"visibility.{k}": v for k, v in errors.items()})
    data.update({f"{k}_visibility": v for k, v in visibility.items()})
    from django.db import transaction

    with transaction.atomic():
        orgs = [
            services.organisation_ensure(place=place, name=n, by=viewer)
            for n in org_names
            if n.strip()
        ]
        person = services.person_create(
            place=place, by=viewer, tags=tags, organisations=orgs, **data
        )
    card = selectors.person_detail(
        place=place, uuid=person.uuid, level=permissions.Level.CONCIERGE, viewer=viewer
    )
    assert card is not None
    return Status(201, _out(card, show_visibility=True))

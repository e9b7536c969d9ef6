"""Reads of the community domain, one per screen or endpoint, query counts flat."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_module
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from conciergerie.community.models import (
    FACET_FIELD,
    PROFILE_FIELDS,
    Facet,
    Introduction,
    Membership,
    Organisation,
    Person,
    PersonTag,
    Tag,
    Visibility,
)
from conciergerie.core.models import Place, User
from conciergerie.core.permissions import Level, visible_levels
from conciergerie.core.text import keyword_words, keywords, related, search_keys

RENEWAL_AHEAD_DAYS = 30
RENEWAL_BEHIND_DAYS = 60

MEMBERSHIP_FILTERS = {
    "a_jour": _("À jour"),
    "en_attente": _("En attente de paiement"),
    "expiree": _("Expirée"),
    "aucune": _("Aucune adhésion"),
}


def _today() -> dt.date:
    return timezone.localdate()


def _with_membership_state(qs: QuerySet[Person]) -> QuerySet[Any]:
    today = _today()
    current = (
        Membership.objects.filter(person=OuterRef("pk"), start__lte=today, end__gte=today)
        .exclude(status=Membership.Status.CANCELLED)
        .order_by("-end")
    )
    last = (
        Membership.objects.filter(person=OuterRef("pk"))
        .exclude(status=Membership.Status.CANCELLED)
        .order_by("-end")
    )
    return qs.annotate(
        current_membership_status=Subquery(current.values("status")[:1]),
        last_membership_end=Subquery(last.values("end")[:1]),
    )


def _tag_prefetch() -> Prefetch:
    return Prefetch(
        "person_tags", queryset=PersonTag.objects.select_related("tag").order_by("tag__label")
    )


def directory(
    *,
    place: Place,
    viewer: User | None,
    level: Level,
    q: str = "",
    skill: str = "",
    need: str = "",
    organisation: str = "",
    membership: str = "",
) -> QuerySet[Person]:
    """The people a viewer may list, filtered; each filter only looks at readable fields."""
    allowed = visible_levels(level)
    qs = Person.objects.filter(place=place)
    own = Q(user=viewer) if viewer is not None and viewer.is_authenticated else Q(pk__in=[])
    search_field = "search_all"
    if level < Level.CONCIERGE:
        qs = qs.filter(Q(name_visibility__in=allowed) | own)
        search_field = "search_members" if level >= Level.MEMBER else "search_public"
    for word in q.split():
        qs = qs.filter(_any_contains(search_field, search_keys(word)))
    for facet, tag_id in ((Facet.SKILL, skill), (Facet.NEED, need)):
        if tag_id:
            visible = {f"{FACET_FIELD[facet]}_visibility__in": allowed}
            qs = qs.filter(
                Exists(
                    PersonTag.objects.filter(
                        person=OuterRef("pk"), facet=facet, tag_id=_int(tag_id)
                    )
                ),
            )
            if level < Level.CONCIERGE:
                qs = qs.filter(Q(**visible) | own)
    if organisation:
        org_uuid = _uuid_or_none(organisation)
        qs = qs.filter(affiliations__organisation__uuid=org_uuid) if org_uuid else qs.none()
        if level < Level.CONCIERGE:
            qs = qs.filter(Q(organisations_visibility__in=allowed) | own)
    if membership and level >= Level.CONCIERGE:
        qs = qs.filter(_membership_filter(membership))
    qs = _with_membership_state(qs)
    return (
        qs.select_related("place")
        .prefetch_related(
            _tag_prefetch(),
            Prefetch("organisations", queryset=Organisation.objects.order_by("name")),
        )
        .order_by("last_name", "first_name", "id")
    )


def _any_contains(field: str, keys: set[str]) -> Q:
    condition = Q()
    for key in sorted(keys):
        condition |= Q(**{f"{field}__contains": key})
    return condition


def _membership_filter(state: str) -> Q:
    """The directory's adhésion filter, as subqueries (no annotation needed to filter)."""
    today = _today()
    live = Membership.objects.filter(person=OuterRef("pk")).exclude(
        status=Membership.Status.CANCELLED
    )
    current = live.filter(start__lte=today, end__gte=today)
    if state == "a_jour":
        return Q(Exists(current.filter(status=Membership.Status.PAID)))
    if state == "en_attente":
        return Q(Exists(current.filter(status=Membership.Status.PENDING))) & ~Q(
            Exists(current.filter(status=Membership.Status.PAID))
        )
    if state == "expiree":
        return (
            Q(Exists(live.filter(end__lt=today)))
            & ~Q(Exists(current))
            & ~Q(Exists(live.filter(start__gt=today)))
        )
    if state == "aucune":
        return ~Q(Exists(live))
    return Q()


def _int(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _uuid_or_none(value: str) -> str | None:
    try:
        return str(uuid_module.UUID(str(value)))
    except ValueError:
        return None


@dataclass
class Card:
    """A person as one viewer may see them: hidden fields are simply absent."""

    person: Person
    fields: dict[str, Any] = field(default_factory=dict)
    is_self: bool = False
    membership_status: str = ""

    @property
    def uuid(self) -> Any:
        return self.person.uuid

    @property
    def name(self) -> str:
        return self.fields.get("name") or _("(nom masqué)")

    def get_absolute_url(self) -> str:
        return self.person.get_absolute_url()


def card(person: Person, *, level: Level, viewer: User | None) -> Card:
    """Apply field visibility. The person and the place's team see everything."""
    is_self = viewer is not None and viewer.is_authenticated and person.user_id == viewer.pk
    allowed = visible_levels(Level.CONCIERGE if is_self else level)
    tags: dict[str, list[Tag]] = {f: [] for f in Facet.values}
    for link in person.person_tags.all():
        tags[link.facet].append(link.tag)
    values: dict[str, Any] = {
        "name": person.full_name,
        "email": person.email,
        "phone": person.phone,
        "bio": person.bio,
        "organisations": list(person.organisations.all()),
    }
    for facet, name in FACET_FIELD.items():
        values[name] = {"tags": tags[facet], "text": getattr(person, f"{name}_text")}
    shown = {
        name: value
        for name, value in values.items()
        if getattr(person, f"{name}_visibility") in allowed and _filled(value)
    }
    status = ""
    if level >= Level.CONCIERGE or is_self:
        status = _membership_label(person)
    return Card(person=person, fields=shown, is_self=is_self, membership_status=status)


def _filled(value: Any) -> bool:
    if isinstance(value, dict):
        return bool(value["tags"] or value["text"])
    return bool(value)


def _membership_label(person: Person) -> str:
    current = getattr(person, "current_membership_status", None)
    last_end = getattr(person, "last_membership_end", None)
    if current == Membership.Status.PAID:
        return str(MEMBERSHIP_FILTERS["a_jour"])
    if current == Membership.Status.PENDING:
        return str(MEMBERSHIP_FILTERS["en_attente"])
    if last_end is not None:
        return str(MEMBERSHIP_FILTERS["expiree"])
    return str(MEMBERSHIP_FILTERS["aucune"])


def person_detail(*, place: Place, uuid: Any, level: Level, viewer: User | None) -> Card | None:
    """One person's page, or None when this viewer may not see them at all."""
    person = (
        _with_membership_state(Person.objects.filter(place=place, uuid=uuid))
        .select_related("place", "user")
        .prefetch_related(_tag_prefetch(), "organisations")
        .first()
    )
    if person is None:
        return None
    result = card(person, level=level, viewer=viewer)
    if not result.is_self and person.name_visibility not in visible_levels(level):
        return None
    return result


def person_history(*, person: Person) -> dict[str, Any]:
    """Memberships and introductions of one person, for the team's view of their page."""
    intro_qs = Introduction.objects.select_related("place", "helper", "requester")
    return {
        "memberships": list(person.memberships.select_related("organisation")),
        "introductions": list(
            intro_qs.filter(Q(helper=person) | Q(requester=person)).order_by("-created_at")
        ),
    }


def public_profiles(*, place: Place) -> QuerySet[Person]:
    return Person.objects.filter(place=place, name_visibility=Visibility.PUBLIC).order_by(
        "last_name", "first_name"
    )


def people_of_user(*, user: User) -> QuerySet[Person]:
    return Person.objects.filter(user=user).select_related("place")


def person_for_edit(*, place: Place, uuid: Any) -> Person | None:
    return (
        Person.objects.filter(place=place, uuid=uuid)
        .select_related("place")
        .prefetch_related(_tag_prefetch(), "organisations")
        .first()
    )


def tag_labels(person: Person) -> dict[str, str]:
    """Per facet, the tags as the comma-separated text the edit form shows."""
    labels: dict[str, list[str]] = {f: [] for f in Facet.values}
    for link in person.person_tags.all():
        labels[link.facet].append(link.tag.label)
    return {facet: ", ".join(sorted(v)) for facet, v in labels.items()}


def vocabulary(*, place: Place) -> QuerySet[Tag]:
    return (
        Tag.objects.filter(place=place)
        .annotate(
            uses=Count("person_tags", distinct=True),
            skill_uses=Count(
                "person_tags", filter=Q(person_tags__facet=Facet.SKILL), distinct=True
            ),
            need_uses=Count("person_tags", filter=Q(person_tags__facet=Facet.NEED), distinct=True),
        )
        .order_by("label")
    )


def tags_for_filter(*, place: Place, facet: str, level: Level) -> QuerySet[Tag]:
    """The words offered as filters: only those someone shows to this viewer."""
    links = PersonTag.objects.filter(tag=OuterRef("pk"), facet=facet)
    if level < Level.CONCIERGE:
        allowed = visible_levels(level)
        links = links.filter(
            **{
                f"person__{FACET_FIELD[Facet(facet)]}_visibility__in": allowed,
                "person__name_visibility__in": allowed,
            }
        )
    return Tag.objects.filter(Exists(links), place=place).order_by("label")


def organisations(*, place: Place) -> QuerySet[Organisation]:
    return (
        Organisation.objects.filter(place=place)
        .select_related("place")
        .annotate(member_count=Count("affiliations", distinct=True))
        .order_by("name")
    )


def organisation_detail(
    *, place: Place, uuid: Any, level: Level
) -> tuple[Organisation, list[Person]] | None:
    org = Organisation.objects.filter(place=place, uuid=uuid).first()
    if org is None:
        return None
    allowed = visible_levels(level)
    people = (
        Person.objects.filter(affiliations__organisation=org)
        .select_related("place")
        .order_by("last_name")
    )
    if level < Level.CONCIERGE:
        people = people.filter(name_visibility__in=allowed, organisations_visibility__in=allowed)
    return org, list(people)


def memberships(*, place: Place, state: str = "") -> QuerySet[Membership]:
    qs = Membership.objects.filter(place=place).select_related("person__place", "organisation")
    today = _today()
    if state == "en_cours":
        qs = qs.filter(start__lte=today, end__gte=today).exclude(status=Membership.Status.CANCELLED)
    elif state == "en_attente":
        qs = qs.filter(status=Membership.Status.PENDING)
    return qs.order_by("-end", "person__last_name")


def renewals_due(*, place: Place) -> QuerySet[Membership]:
    """Memberships ending soon or recently ended that nobody has renewed yet."""
    today = _today()
    later = Membership.objects.filter(person=OuterRef("person"), start__gt=OuterRef("end")).exclude(
        status=Membership.Status.CANCELLED
    )
    return (
        Membership.objects.filter(
            place=place,
            end__gte=today - dt.timedelta(days=RENEWAL_BEHIND_DAYS),
            end__lte=today + dt.timedelta(days=RENEWAL_AHEAD_DAYS),
        )
        .exclude(status=Membership.Status.CANCELLED)
        .exclude(Exists(later))
        .select_related("person__place", "organisation")
        .order_by("end")
    )


# --- Mise en relation -------------------------------------------------------------------------


@dataclass
class Suggestion:
    person: Person
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)

    @property
    def reason_text(self) -> str:
        return " ; ".join(self.reasons)


def match_people(
    *,
    place: Place,
    need: str,
    tag_ids: list[int] | None = None,
    exclude: Person | None = None,
    limit: int = 10,
) -> list[Suggestion]:
    """People whose skills or lendables answer a need, best first, each with why."""
    words = keyword_words(need)
    stems = list(words)
    all_tags = list(Tag.objects.filter(place=place).only("id", "label", "folded"))
    wanted: dict[int, Tag] = {t.id: t for t in all_tags if tag_ids and t.id in tag_ids}
    for tag in all_tags:
        tag_stems = keywords(tag.label)
        if tag_stems and all(any(related(t, s) for s in stems) for t in tag_stems):
            wanted[tag.id] = tag
    found: dict[int, Suggestion] = {}

    def bump(person: Person, points: float, reason: str) -> None:
        entry = found.setdefault(person.pk, Suggestion(person=person))
        entry.score += points
        if reason not in entry.reasons:
            entry.reasons.append(reason)

    base = Person.objects.filter(place=place).select_related("place")
    if exclude is not None:
        base = base.exclude(pk=exclude.pk)
    if wanted:
        links = PersonTag.objects.filter(
            tag_id__in=wanted, facet__in=[Facet.SKILL, Facet.LENDABLE], person__in=base
        ).select_related("person__place", "tag")
        for link in links:
            if link.facet == Facet.SKILL:
                bump(link.person, 3, _("compétence « %(tag)s »") % {"tag": link.tag.label})
            else:
                bump(link.person, 2, _("peut prêter « %(tag)s »") % {"tag": link.tag.label})
    if stems:
        # The database narrows on the first letters; Python then compares whole stems.
        text_filter = Q()
        for s in stems:
            text_filter |= Q(search_offers__contains=s[:4])
        for person in base.filter(text_filter)[:300]:
            offered = person.search_offers.split()
            hits = [s for s in stems if any(related(s, o) for o in offered)]
            if not hits:
                continue
            quoted = ", ".join(words[s] for s in hits)
            bump(person, len(hits), _("mentionne « %(words)s »") % {"words": quoted})
    if not found:
        return []
    successes = dict(
        Introduction.objects.filter(helper_id__in=found, outcome=Introduction.Outcome.SUCCESS)
        .values("helper_id")
        .annotate(n=Count("id"))
        .values_list("helper_id", "n")
    )
    for pk, n in successes.items():
        bump(found[pk].person, 0.5 * n, _("%(n)s mise(s) en relation déjà abouties") % {"n": n})
    ranked = sorted(found.values(), key=lambda s: (-s.score, s.person.last_name))
    return ranked[:limit]


def introductions(*, place: Place, outcome: str = "") -> QuerySet[Introduction]:
    qs = Introduction.objects.filter(place=place).select_related(
        "place", "helper__place", "requester__place", "made_by"
    )
    if outcome:
        qs = qs.filter(outcome=outcome)
    return qs


def introduction_stats(*, place: Place) -> dict[str, Any]:
    counts = Introduction.objects.filter(place=place).aggregate(
        total=Count("id"),
        success=Count("id", filter=Q(outcome=Introduction.Outcome.SUCCESS)),
        contacted=Count("id", filter=Q(outcome=Introduction.Outcome.CONTACTED)),
        no_follow_up=Count("id", filter=Q(outcome=Introduction.Outcome.NO_FOLLOW_UP)),
        pending=Count("id", filter=Q(outcome=Introduction.Outcome.PENDING)),
    )
    led = counts["success"] + counts["contacted"]
    counts["led_somewhere"] = led
    counts["rate"] = round(100 * led / counts["total"]) if counts["total"] else 0
    return counts


def place_dashboard(*, place: Place) -> dict[str, Any]:
    today = _today()
    return {
        "people": Person.objects.filter(place=place).count(),
        "organisations": Organisation.objects.filter(place=place).count(),
        "current_memberships": Membership.objects.filter(
            place=place, start__lte=today, end__gte=today
        )
        .exclude(status=Membership.Status.CANCELLED)
        .count(),
        "renewals_due": renewals_due(place=place).count(),
        "introductions": introduction_stats(place=place),
    }


def export_rows(*, place: Place) -> QuerySet[Any]:
    return (
        _with_membership_state(Person.objects.filter(place=place))
        .prefetch_related(
            _tag_prefetch(),
            "organisations",
            Prefetch("memberships", queryset=Membership.objects.order_by("-end")),
        )
        .order_by("last_name", "first_name", "id")
    )


__all__ = ["PROFILE_FIELDS"]


def levels_by_place(*, viewer: User | None) -> tuple[Level, dict[int, Level]]:
    """The viewer's level in each place where it differs from its default level."""
    from conciergerie.core.permissions import ROLE_LEVEL

    if viewer is None or not viewer.is_authenticated:
        return Level.ANONYMOUS, {}
    if viewer.is_superuser:
        return Level.ADMIN, {}
    roles = viewer.place_roles.values_list("place_id", "role")
    return Level.AUTHENTICATED, {pid: ROLE_LEVEL[role] for pid, role in roles}


def people_search(
    *, viewer: User | None, q: str = "", place: Place | None = None
) -> tuple[QuerySet[Any], Level, dict[int, Level]]:
    """People across places, each place searched at the viewer's level there."""
    default, levels = levels_by_place(viewer=viewer)
    words = [search_keys(w) for w in q.split()]
    own = Q(user=viewer) if viewer is not None and viewer.is_authenticated else Q(pk__in=[])

    def scope(level: Level) -> Q:
        field = {
            Level.CONCIERGE: "search_all",
            Level.ADMIN: "search_all",
            Level.MEMBER: "search_members",
        }.get(level, "search_public")
        cond = Q()
        for keys in words:
            cond &= _any_contains(field, keys)
        if level < Level.CONCIERGE:
            cond &= Q(name_visibility__in=visible_levels(level)) | own
        return cond

    by_level: dict[Level, list[int]] = {}
    for pid, lvl in levels.items():
        by_level.setdefault(lvl, []).append(pid)
    condition = scope(default) & ~Q(place_id__in=list(levels))
    for lvl, pids in by_level.items():
        condition |= Q(place_id__in=pids) & scope(lvl)
    qs = Person.objects.filter(condition)
    if place is not None:
        qs = qs.filter(place=place)
    qs = (
        _with_membership_state(qs)
        .select_related("place")
        .prefetch_related(_tag_prefetch(), "organisations")
        .order_by("last_name", "first_name", "id")
    )
    return qs, default, levels


SUGGESTIONS = 10


def people_suggest(*, place: Place, q: str, limit: int = SUGGESTIONS) -> list[Person]:
    """The team's person picker: the first people of the place whose name, e-mail or any
    other searchable field holds every word typed (one query, whatever the place's size)."""
    words = [search_keys(w) for w in q.split()][:5]
    if not words:
        return []
    cond = Q(place=place)
    for keys in words:
        cond &= _any_contains("search_all", keys)
    return list(
        Person.objects.filter(cond)
        .only("uuid", "first_name", "last_name", "email", "place_id")
        .order_by("last_name", "first_name", "id")[:limit]
    )


def member_on(*, person: Person, day: dt.date) -> bool:
    """Whether the person holds a paid membership covering that day."""
    return Membership.objects.filter(
        person=person, status=Membership.Status.PAID, start__lte=day, end__gte=day
    ).exists()

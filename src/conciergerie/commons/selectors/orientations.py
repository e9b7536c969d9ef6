"""Reads for the aiguilleurs' pages: their queue, every orientation, the figures.

Query counts are flat: one query per list, whatever its length; the figures are three.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from conciergerie.commons.models import Aiguilleur, Commons, Domain, Orientation
from conciergerie.community.models import Person
from conciergerie.core.models import Place, User
from conciergerie.core.permissions import Level, visible_levels

Outcome = Orientation.Outcome
OPEN = (Outcome.PENDING, Outcome.CONTACTED)
LED = (Outcome.CONTACTED, Outcome.ADOPTED)


def place_today(place: Place) -> dt.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(place.timezone)).date()


def _base(place: Place) -> QuerySet[Orientation]:
    return Orientation.objects.filter(place=place).select_related(
        "place", "person__place", "aiguilleur__person__place"
    )


def aiguilleur_of(*, place: Place, user: User | Any) -> Aiguilleur | None:
    """The viewer's own aiguilleur record in this place, if they are one."""
    if user is None or not user.is_authenticated:
        return None
    return (
        Aiguilleur.objects.filter(place=place, person__user=user)
        .select_related("person__place")
        .first()
    )


def _scope(aiguilleur: Aiguilleur | None) -> Q:
    """An aiguilleur's share: what is theirs and what nobody took yet."""
    if aiguilleur is None:
        return Q(aiguilleur__isnull=True)
    return Q(aiguilleur__isnull=True) | Q(aiguilleur=aiguilleur)


@dataclass
class QueueRow:
    orientation: Orientation
    due: bool  # follow-up today
    late: bool  # follow-up day passed

    @property
    def waiting(self) -> bool:
        """Asked, not yet oriented."""
        return self.orientation.oriented_at is None


def orientation_queue(
    *, place: Place, aiguilleur: Aiguilleur | None, today: dt.date | None = None, limit: int = 100
) -> list[QueueRow]:
    """What an aiguilleur has to do: their open orientations and the unassigned ones.

    Waiting for news first (late or due follow-ups at the top, new requests next), then the
    ones where contact was made; oldest first inside each group.
    """
    today = today or place_today(place)
    qs = (
        _base(place)
        .filter(_scope(aiguilleur), outcome__in=OPEN)
        .annotate(
            contacted_rank=Case(
                When(outcome=Outcome.CONTACTED, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
            due_rank=Case(
                When(follow_up_on__lte=today, then=Value(0)),
                When(oriented_at__isnull=True, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            ),
        )
        .order_by("contacted_rank", "due_rank", "follow_up_on", "created_at", "id")
    )
    return [
        QueueRow(
            orientation=o,
            due=o.follow_up_on == today,
            late=o.follow_up_on is not None and o.follow_up_on < today,
        )
        for o in qs[:limit]
    ]


def orientation_list(
    *,
    place: Place,
    outcome: str = "",
    aiguilleur: str = "",
    scope: Aiguilleur | None = None,
    restricted: bool = False,
) -> QuerySet[Orientation]:
    """Every orientation, newest first; `aiguilleur` is an aiguilleur's id or "aucun".
    `restricted` (an aiguilleur who is not of the team): only theirs and unassigned ones."""
    qs = _base(place)
    if restricted:
        qs = qs.filter(_scope(scope))
    if outcome in Outcome.values:
        qs = qs.filter(outcome=outcome)
    if aiguilleur == "aucun":
        qs = qs.filter(aiguilleur__isnull=True)
    elif aiguilleur.isdecimal():  # not isdigit: "²" is a digit that int() refuses
        # An id too big for the database is nobody's.
        qs = qs.filter(aiguilleur_id=int(aiguilleur)) if len(aiguilleur) <= 18 else qs.none()
    return qs.order_by("-created_at", "-id")


def orientation_detail(
    *, place: Place, uuid: Any, scope: Aiguilleur | None = None, restricted: bool = False
) -> Orientation | None:
    """One orientation with what was chosen; None when this viewer may not see it."""
    qs = _base(place).prefetch_related(
        Prefetch("commons", queryset=Commons.objects.select_related("place").order_by("name")),
        Prefetch(
            "people",
            queryset=Person.objects.select_related("place").order_by("last_name", "first_name"),
        ),
    )
    if restricted:
        qs = qs.filter(_scope(scope))
    return qs.filter(uuid=uuid).first()


def aiguilleurs(*, place: Place, active_only: bool = False) -> list[Aiguilleur]:
    """The place's aiguilleurs with their domains and how many orientations they hold open."""
    qs = (
        Aiguilleur.objects.filter(place=place)
        .select_related("person__place")
        .prefetch_related(Prefetch("domains", queryset=Domain.objects.order_by("name")))
        .annotate(
            open_count=Count("orientations", filter=Q(orientations__outcome__in=OPEN)),
        )
        .order_by("person__last_name", "person__first_name", "id")
    )
    if active_only:
        qs = qs.filter(active=True)
    return list(qs)


def aiguilleur_by_person(*, place: Place, person_uuid: Any) -> Aiguilleur | None:
    return (
        Aiguilleur.objects.filter(place=place, person__uuid=person_uuid)
        .select_related("place", "person__place")
        .first()
    )


def commons_choices(*, place: Place) -> QuerySet[Commons]:
    """Validated commons an aiguilleur may point to."""
    return Commons.objects.filter(place=place, status=Commons.Status.VALIDATED).order_by(
        "name", "id"
    )


def people_choices(*, place: Place, level: Level) -> QuerySet[Person]:
    """People an aiguilleur may point to: those whose name this viewer may read."""
    qs = Person.objects.filter(place=place)
    if level < Level.CONCIERGE:
        qs = qs.filter(name_visibility__in=visible_levels(level))
    return qs.order_by("last_name", "first_name", "id")


def commons_by_uuids(*, place: Place, uuids: list[str]) -> list[Commons]:
    if not uuids:
        return []
    return list(commons_choices(place=place).filter(uuid__in=uuids))


def people_by_uuids(*, place: Place, uuids: list[str], level: Level) -> list[Person]:
    if not uuids:
        return []
    return list(people_choices(place=place, level=level).filter(uuid__in=uuids))


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def orientation_figures(*, place: Place, today: dt.date | None = None) -> dict[str, Any]:
    """Orientations made (recorded by an aiguilleur) and what came of them. Three queries."""
    today = today or place_today(place)
    zone = zoneinfo.ZoneInfo(place.timezone)
    year_start = dt.datetime(today.year, 1, 1, tzinfo=zone)
    month_ago = timezone.now() - dt.timedelta(days=30)
    made = Q(oriented_at__isnull=False)
    counts = Orientation.objects.filter(place=place).aggregate(
        total=Count("id", filter=made),
        last_30_days=Count("id", filter=made & Q(oriented_at__gte=month_ago)),
        this_year=Count("id", filter=made & Q(oriented_at__gte=year_start)),
        contacted=Count("id", filter=made & Q(outcome=Outcome.CONTACTED)),
        adopted=Count("id", filter=made & Q(outcome=Outcome.ADOPTED)),
        dropped=Count("id", filter=made & Q(outcome=Outcome.DROPPED)),
        pending=Count("id", filter=made & Q(outcome=Outcome.PENDING)),
        late=Count("id", filter=made & Q(outcome__in=OPEN, follow_up_on__lt=today)),
        waiting=Count("id", filter=Q(oriented_at__isnull=True, outcome__in=OPEN)),
    )
    counts["led_to_action"] = counts["contacted"] + counts["adopted"]
    counts["share"] = _percent(counts["led_to_action"], counts["total"])
    counts["dropped_reasons"] = list(
        Orientation.objects.filter(place=place, outcome=Outcome.DROPPED)
        .filter(made)
        .exclude(outcome_reason="")
        .order_by("-outcome_at", "-id")
        .values_list("outcome_reason", flat=True)[:20]
    )
    rows = (
        Aiguilleur.objects.filter(place=place)
        .select_related("person")
        .annotate(
            made=Count("orientations", filter=Q(orientations__oriented_at__isnull=False)),
            led=Count(
                "orientations",
                filter=Q(orientations__oriented_at__isnull=False, orientations__outcome__in=LED),
            ),
            adopted=Count("orientations", filter=Q(orientations__outcome=Outcome.ADOPTED)),
            open_count=Count("orientations", filter=Q(orientations__outcome__in=OPEN)),
        )
        .order_by("person__last_name", "person__first_name", "id")
    )
    counts["per_aiguilleur"] = [
        {
            "aiguilleur": a,
            "made": a.made,
            "led": a.led,
            "adopted": a.adopted,
            "open": a.open_count,
            "share": _percent(a.led, a.made),
        }
        for a in rows
    ]
    return counts

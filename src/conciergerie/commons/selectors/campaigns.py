"""Reads of the co-financing campaigns: progress, contributors, campaigns of a commons."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_module
import zoneinfo
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from conciergerie.commons.models import Campaign, Commons, Pledge
from conciergerie.core.models import Place, Role, User

ZERO = Decimal("0.00")


def today_at(place: Place) -> dt.date:
    """Today in the place's time zone: a campaign ends at the end of its last day there."""
    return timezone.now().astimezone(zoneinfo.ZoneInfo(place.timezone)).date()


@dataclass(frozen=True)
class Progress:
    goal: Decimal
    total: Decimal
    contributors: int
    percent: int  # the real figure, may pass 100
    bar: int  # capped at 100, for the bar
    days_left: int  # 0 on the last day; negative once over
    is_open: bool


def progress_of(
    *, goal: Decimal, total: Decimal | None, contributors: int, ends_on: dt.date, today: dt.date
) -> Progress:
    total = total or ZERO
    percent = int((total * 100 / goal).to_integral_value(ROUND_DOWN)) if goal > 0 else 0
    days = (ends_on - today).days
    return Progress(
        goal=goal,
        total=total,
        contributors=contributors,
        percent=percent,
        bar=min(percent, 100),
        days_left=days,
        is_open=days >= 0,
    )


@dataclass
class CampaignCard:
    campaign: Campaign
    progress: Progress


def _with_totals(qs: QuerySet[Campaign]) -> QuerySet[Campaign]:
    return qs.annotate(pledged=Sum("pledges__amount"), pledge_count=Count("pledges"))


def _cards(campaigns: list[Any], today: dt.date) -> list[CampaignCard]:
    cards = [
        CampaignCard(
            c,
            progress_of(
                goal=c.goal,
                total=c.pledged,
                contributors=c.pledge_count,
                ends_on=c.ends_on,
                today=today,
            ),
        )
        for c in campaigns
    ]
    # Open campaigns first, the nearest end first; then the finished ones, latest first.
    return sorted(
        cards,
        key=lambda card: (
            not card.progress.is_open,
            card.progress.days_left if card.progress.is_open else -card.progress.days_left,
            card.campaign.pk,
        ),
    )


def campaign_list(*, place: Place, today: dt.date) -> list[CampaignCard]:
    """Every campaign of the place with its progress: one query."""
    qs = _with_totals(
        Campaign.objects.filter(place=place)
        .select_related("commons", "place")
        .defer("description", "commons__description")
    )
    return _cards(list(qs), today)


def campaigns_for_commons(commons: Commons, today: dt.date | None = None) -> list[CampaignCard]:
    """The campaigns for one commons (for the commons' own page), open ones first: one query.
    Each card has `.campaign` and `.progress` (see Progress)."""
    qs = _with_totals(
        Campaign.objects.filter(place_id=commons.place_id, commons=commons)
        .select_related("place")
        .defer("description")
    )
    campaigns = list(qs)
    if today is None:
        if not campaigns:
            return []
        today = today_at(campaigns[0].place)
    return _cards(campaigns, today)


def campaign_by_uuid(*, place: Place, uuid: Any) -> Campaign | None:
    try:
        key = uuid_module.UUID(str(uuid))
    except ValueError:
        return None
    return Campaign.objects.filter(place=place, uuid=key).select_related("commons", "place").first()


@dataclass
class Contributor:
    pledge: Pledge
    name: str  # the name shown to everyone: a place, a public name, or "anonyme"
    is_place: bool
    mine: bool  # the viewer made it: they may cancel it while the campaign is open


@dataclass
class CampaignDetail:
    campaign: Campaign
    progress: Progress
    contributors: list[Contributor]


def contributor_name(pledge: Pledge) -> str:
    if pledge.pledger_place_id and pledge.pledger_place is not None:
        return pledge.pledger_place.name
    if pledge.public and pledge.pledger_name:
        return pledge.pledger_name
    return _("anonyme")


def campaign_detail(*, campaign: Campaign, today: dt.date, viewer: User | None) -> CampaignDetail:
    """Progress and every contributor, newest first: one query for the pledges."""
    pledges = list(
        Pledge.objects.filter(campaign=campaign)
        .select_related("pledger_place")
        .order_by("-created_at", "-id")
    )
    viewer_id = viewer.pk if viewer is not None and viewer.is_authenticated else None
    contributors = [
        Contributor(
            pledge=p,
            name=contributor_name(p),
            is_place=bool(p.pledger_place_id),
            mine=viewer_id is not None and p.created_by_id == viewer_id,
        )
        for p in pledges
    ]
    total = sum((p.amount for p in pledges), ZERO)
    return CampaignDetail(
        campaign=campaign,
        progress=progress_of(
            goal=campaign.goal,
            total=total,
            contributors=len(pledges),
            ends_on=campaign.ends_on,
            today=today,
        ),
        contributors=contributors,
    )


def pledge_of(*, campaign: Campaign, pledge_id: Any) -> Pledge | None:
    try:
        pk = int(str(pledge_id))
    except ValueError:
        return None
    return Pledge.objects.filter(campaign=campaign, pk=pk).select_related("campaign").first()


def places_for_pledging(*, user: User | None) -> list[Place]:
    """The places a user may pledge on behalf of: where they are concierge or admin."""
    if user is None or not user.is_authenticated:
        return []
    return list(
        Place.objects.filter(
            roles__user=user, roles__role__in=[Role.CONCIERGE, Role.ADMIN]
        ).order_by("name", "id")
    )


def commons_for_campaign(*, place: Place) -> QuerySet[Commons]:
    """The commons a campaign may be for: the place's validated ones."""
    return Commons.objects.filter(place=place, status=Commons.Status.VALIDATED).order_by(
        "name", "id"
    )

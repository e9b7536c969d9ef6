"""Display helpers: they format, they never decide."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.formats import number_format

from conciergerie.core.forms import DAY_LABELS
from conciergerie.core.models import Place
from conciergerie.core.validators import WEEKDAYS, format_day_hours

register = template.Library()


@register.filter
def opening_hours_rows(place: Place) -> list[tuple[str, str]]:
    hours = place.opening_hours or {}
    return [(str(DAY_LABELS[d]), format_day_hours(hours.get(d, []))) for d in WEEKDAYS]


@register.filter
def euros(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)} €"

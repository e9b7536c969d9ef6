"""Field validators shared by forms, the API and imports."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siret as stdnum_siret

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def validate_siret(value: str) -> None:
    if not value:
        return
    try:
        stdnum_siret.validate(value)
    except StdnumError:
        raise ValidationError(
            _("« %(value)s » n'est pas un SIRET valide (14 chiffres, clé de contrôle)."),
            params={"value": value},
            code="invalid_siret",
        )


def validate_opening_hours(value: object) -> None:
    """{"mon": [["09:00", "12:30"], ["14:00", "18:00"]], ...}, ranges in order."""
    if not isinstance(value, dict):
        raise ValidationError(_("Horaires d'ouverture invalides."), code="invalid")
    for day, ranges in value.items():
        if day not in WEEKDAYS or not isinstance(ranges, list):
            raise ValidationError(_("Jour inconnu : %(day)s."), params={"day": day})
        previous_end = ""
        for pair in ranges:
            if not (isinstance(pair, list | tuple) and len(pair) == 2):
                raise ValidationError(_("Horaires d'ouverture invalides."), code="invalid")
            start, end = pair
            if not _RANGE.match(f"{start}-{end}") or start >= end or start < previous_end:
                raise ValidationError(
                    _("Plage horaire invalide : %(start)s-%(end)s."),
                    params={"start": start, "end": end},
                )
            previous_end = end


def parse_day_hours(text: str) -> list[list[str]]:
    """'09:00-12:30, 14h-18h' → [["09:00","12:30"],["14:00","18:00"]]; '' → closed."""
    ranges: list[list[str]] = []
    for chunk in re.split(r"[,;/]| et ", text or ""):
        chunk = chunk.strip().lower().replace(" ", "")
        if not chunk or chunk in {"fermé", "ferme", "closed"}:
            continue
        parts = chunk.replace("–", "-").split("-")
        if len(parts) != 2:
            raise ValidationError(
                _("« %(text)s » : écrivez par ex. 09:00-18:00."), params={"text": chunk}
            )
        ranges.append([_normalise_time(p, chunk) for p in parts])
    validate_opening_hours({"mon": ranges})
    return ranges


def _normalise_time(raw: str, chunk: str) -> str:
    match = re.fullmatch(r"(\d{1,2})(?:[:h](\d{2})?)?", raw)
    if not match:
        raise ValidationError(
            _("« %(text)s » : écrivez par ex. 09:00-18:00."), params={"text": chunk}
        )
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    return f"{hour:02d}:{minute:02d}"


def format_day_hours(ranges: list[list[str]]) -> str:
    return ", ".join(f"{a}-{b}" for a, b in ranges)

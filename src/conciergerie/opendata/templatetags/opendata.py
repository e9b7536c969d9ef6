"""`{% place_jsonld place %}`: the place's schema.org description, for the place page."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from conciergerie.core.models import Place
from conciergerie.opendata.jsonld import place_jsonld_script

register = template.Library()


@register.simple_tag
def place_jsonld(place: Place) -> SafeString:
    return place_jsonld_script(place)

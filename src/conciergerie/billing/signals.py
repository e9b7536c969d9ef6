"""Billing follows bookings through the spaces signals (spaces never imports billing):
a confirmed booking takes credits, a cancelled one gives them back (within policy)."""

from __future__ import annotations

from typing import Any

from conciergerie.spaces.models import Booking
from conciergerie.spaces.signals import booking_cancelled, booking_confirmed


def on_booking_confirmed(sender: Any, *, booking: Booking, **kwargs: Any) -> None:
    from conciergerie.billing.services.credits import credits_take

    credits_take(booking=booking)


def on_booking_cancelled(
    sender: Any, *, booking: Booking, by_place: bool = False, **kwargs: Any
) -> None:
    from conciergerie.billing.services.credits import credits_give_back

    credits_give_back(booking=booking, force=by_place)


def connect() -> None:
    booking_confirmed.connect(on_booking_confirmed, dispatch_uid="billing.credits_take")
    booking_cancelled.connect(on_booking_cancelled, dispatch_uid="billing.credits_give_back")

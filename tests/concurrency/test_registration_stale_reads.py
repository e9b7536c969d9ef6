"""A registration reads the event and its tiers, then waits for the event's lock. If the team
removes the tier it chose meanwhile, the visitor must get a clear refusal (409) — not a
server error from the database's foreign key at commit — and nothing of the registration
may remain."""

from __future__ import annotations

import datetime as dt
import threading
import time
import zoneinfo
from decimal import Decimal

import pytest
from django.db import connection

from conciergerie.core import capacity
from conciergerie.core.errors import Conflict
from conciergerie.core.permissions import Level
from conciergerie.events import services
from conciergerie.events.models import Registration, TicketTier
from tests.factories import make_place

pytestmark = pytest.mark.django_db(transaction=True)

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
DAY = (dt.datetime.now(PARIS) + dt.timedelta(days=10)).replace(
    hour=18, minute=0, second=0, microsecond=0
)


def test_registering_for_a_tier_removed_meanwhile_is_refused_cleanly(settings):
    settings.CAPACITY_LOCK_TIMEOUT = 10
    place = make_place(slug="retrait", name="Le Retrait")
    event = services.event_create(
        place=place,
        by=None,
        title="Atelier",
        start_at=DAY,
        end_at=DAY + dt.timedelta(hours=2),
        capacity=10,
        tiers=[{"name": "standard", "price": Decimal("10")}, {"name": "éphémère"}],
    )
    doomed = event.tiers.get(name="éphémère")
    holding = threading.Event()
    outcome: dict[str, object] = {}

    def remove_tier() -> None:  # what the team's tier editor does, under the same guard
        try:
            with capacity.guarded(services.GUARD_NAMESPACE, [event.pk]):
                holding.set()
                time.sleep(1)  # the registration reads the tiers, then waits for the lock
                TicketTier.objects.filter(pk=doomed.pk).delete()
            outcome["remove"] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome["remove"] = exc
        finally:
            connection.close()

    def register() -> None:
        holding.wait(timeout=10)
        try:  # `event.tiers` are read now, before the lock
            services.registration_create(
                event=event,
                by=None,
                level=Level.ANONYMOUS,
                visitor_name="Visiteur",
                visitor_email="v@example.org",
                attendees=[{"tier": str(doomed.uuid)}],
                notify=False,
            )
            outcome["register"] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome["register"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=remove_tier), threading.Thread(target=register)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert isinstance(outcome["register"], Conflict), outcome
    assert "plus proposé" in str(outcome["register"])
    assert outcome["remove"] == "ok", outcome
    assert not TicketTier.objects.filter(pk=doomed.pk).exists()
    assert not Registration.objects.exists()

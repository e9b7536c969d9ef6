import pytest
from django.core.management import call_command
from django.test import override_settings

from conciergerie.core.mail import deliver_email
from conciergerie.core.models import OutboxMessage


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
def test_worker_runs_queued_email_from_the_database(place):
    result = deliver_email.enqueue(
        place_slug=place.slug, to=["a@example.org"], subject="Bonjour", body="Corps"
    )
    assert OutboxMessage.objects.count() == 0  # queued, not sent
    call_command("worker", once=True, verbosity=0)
    message = OutboxMessage.objects.get()
    assert (message.place, message.subject, message.to) == (place, "Bonjour", "a@example.org")
    result.refresh()
    assert result.status == "SUCCESSFUL"


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
def test_worker_hands_an_expired_offer_to_the_next_person(place):
    import datetime as dt

    from conciergerie.core.permissions import Level
    from conciergerie.events import services
    from conciergerie.events.models import Registration
    from tests.events.conftest import make_event, visitor

    event = make_event(place, capacity=1, offer_hours=1)
    first = visitor(event, email="a@example.org", notify=False)
    second = visitor(event, email="b@example.org", notify=False)
    third = visitor(event, email="c@example.org", notify=False)
    services.registration_cancel(registration=first, by=None, level=Level.CONCIERGE)
    # The offer to the second person ran out an hour ago.
    Registration.objects.filter(pk=second.pk).update(
        offer_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    )
    call_command("worker", once=True, verbosity=0)
    second.refresh_from_db()
    third.refresh_from_db()
    assert second.status == Registration.Status.CANCELLED
    assert third.status == Registration.Status.OFFERED

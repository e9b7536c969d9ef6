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

"""Seats held per tier as a counter (events.models.SeatCount), filled from the tickets of the
registrations that hold seats today. Reversible: going back drops the table, which the
registrations still describe in full."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count

HOLDING = ("confirmee", "offre")


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    Ticket = apps.get_model("events", "Ticket")
    SeatCount = apps.get_model("events", "SeatCount")
    rows = (
        Ticket.objects.filter(registration__status__in=HOLDING)
        .values("tier_id", "event_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    SeatCount.objects.bulk_create(
        [SeatCount(tier_id=r["tier_id"], event_id=r["event_id"], held=r["n"]) for r in rows],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0003_refuse_function"),
    ]

    operations = [
        migrations.CreateModel(
            name="SeatCount",
            fields=[
                (
                    "tier",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="seat_count",
                        serialize=False,
                        to="events.tickettier",
                    ),
                ),
                ("held", models.IntegerField(default=0)),
                (
                    "event",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="seat_counts",
                        to="events.event",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("held__gte", 0)), name="seat_count_not_negative"
                    )
                ],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]

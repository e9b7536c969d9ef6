"""Several photos per resource, who did a maintenance job, a UUID for each qualification.

- ResourcePhoto: a resource's photos in order. Resource.photo stays, as the cover (the first
  photo's file): a cover set before this migration is copied in as the first photo. Going
  back, the table is dropped after putting the first photo back as the cover where none is.
- MaintenanceEntry: `performed_by` (free text: a volunteer, a repairer) and `remarks`.
- Qualification.uuid, so pages name a qualification without its integer key: added empty,
  filled row by row, then made unique (Django's recipe for a unique field on existing rows).

Every step is reversible.
"""

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def copy_covers(apps, schema_editor):
    Resource = apps.get_model("spaces", "Resource")
    ResourcePhoto = apps.get_model("spaces", "ResourcePhoto")
    for resource in Resource.objects.exclude(photo="").only("pk", "photo", "name"):
        # The same stored file: nothing is copied on disk.
        ResourcePhoto.objects.create(
            resource_id=resource.pk, image=resource.photo.name, alt=resource.name, position=0
        )


def restore_covers(apps, schema_editor):
    Resource = apps.get_model("spaces", "Resource")
    ResourcePhoto = apps.get_model("spaces", "ResourcePhoto")
    for resource in Resource.objects.filter(photo="").only("pk"):
        first = ResourcePhoto.objects.filter(resource_id=resource.pk).order_by("position", "id")
        name = first.values_list("image", flat=True).first()
        if name:
            Resource.objects.filter(pk=resource.pk).update(photo=name)


def fill_qualification_uuids(apps, schema_editor):
    Qualification = apps.get_model("spaces", "Qualification")
    for pk in Qualification.objects.filter(uuid__isnull=True).values_list("pk", flat=True):
        Qualification.objects.filter(pk=pk).update(uuid=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [("spaces", "0002_booking_no_overlap")]

    operations = [
        migrations.CreateModel(
            name="ResourcePhoto",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("uuid", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ("image", models.ImageField(upload_to="spaces/photos/", verbose_name="photo")),
                (
                    "alt",
                    models.CharField(
                        blank=True,
                        help_text="Ce que montre la photo, pour les personnes qui ne la voient pas.",
                        max_length=200,
                        verbose_name="description de la photo",
                    ),
                ),
                ("position", models.PositiveIntegerField(default=0, verbose_name="position")),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                (
                    "resource",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="photos",
                        to="spaces.resource",
                    ),
                ),
            ],
            options={
                "verbose_name": "photo",
                "verbose_name_plural": "photos",
                "ordering": ["position", "id"],
                "indexes": [
                    models.Index(
                        fields=["resource", "position"], name="spaces_reso_resourc_fe50c1_idx"
                    )
                ],
            },
        ),
        migrations.RunPython(copy_covers, restore_covers),
        migrations.AddField(
            model_name="maintenanceentry",
            name="performed_by",
            field=models.CharField(blank=True, max_length=120, verbose_name="fait par"),
        ),
        migrations.AddField(
            model_name="maintenanceentry",
            name="remarks",
            field=models.TextField(blank=True, verbose_name="remarques"),
        ),
        migrations.AddField(
            model_name="qualification",
            name="uuid",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(fill_qualification_uuids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="qualification",
            name="uuid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]

"""Upper bounds on day counts (payment terms, reminder rhythm, pack validity): a huge value
made issuing and reminders overflow the calendar. Validators only, no schema change:
reversible."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0002_issued_invoices_frozen'),
    ]

    operations = [
        migrations.AlterField(
            model_name='billingsettings',
            name='payment_days',
            field=models.PositiveIntegerField(default=30, validators=[django.core.validators.MaxValueValidator(365, 'Au plus 365 jours.')], verbose_name='délai de paiement (jours)'),
        ),
        migrations.AlterField(
            model_name='billingsettings',
            name='reminder_days',
            field=models.PositiveIntegerField(default=15, help_text="Après l'échéance.", validators=[django.core.validators.MaxValueValidator(365, 'Au plus 365 jours.')], verbose_name='relance tous les (jours)'),
        ),
        migrations.AlterField(
            model_name='product',
            name='pack_valid_days',
            field=models.PositiveIntegerField(default=365, validators=[django.core.validators.MaxValueValidator(3650, 'Au plus 3650 jours (dix ans).')], verbose_name='validité du carnet (jours)'),
        ),
    ]

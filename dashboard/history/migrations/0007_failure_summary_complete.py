"""FailureSummary.complete: False while a big result's failed rows are stored in the
background, so a store cut short is seen and done again (rows already stored are complete)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("history", "0006_purge_audit_columns"),
    ]

    operations = [
        migrations.AddField(
            model_name="failuresummary",
            name="complete",
            field=models.BooleanField(default=True),
        ),
    ]

"""Failed rows in the archive and the rollups: a DONE action with failed rows is "Done with
failures" on the overview, so the archive keeps the count its detail tells and the per-day
rollup keeps whether it has any."""

from django.db import migrations, models

BATCH = 2000


def count_failed_rows(apps, schema_editor):
    """Rows with a detail get their failed rows from the stored result; the rollups are then
    recounted from the archive."""
    from dashboard.history import archive, rollups
    from dashboard.voucherify.errors import VoucherifyError
    from dashboard.voucherify.models import Action

    archived = apps.get_model("history", "ArchivedAction")
    last = ""
    while True:
        batch = list(archived.objects.filter(has_detail=True, pk__gt=last).order_by("pk")
                     .only("raw", "user", "result")[:BATCH])
        if not batch:
            break
        for row in batch:
            # The id is the row's key: a stored body may lack it (or anything else), and a
            # body that cannot be read at all keeps "not known" rather than stop the upgrade.
            body = {**archive.joined_raw(row.raw, row.user, row.result), "id": row.pk}
            try:
                row.failed_rows = archive.detail_failed_rows(Action.from_json(body))
            except (VoucherifyError, ValueError, TypeError):
                row.failed_rows = None
        archived.objects.bulk_update(batch, ["failed_rows"])
        last = batch[-1].pk
    rollups.rebuild(
        archived, apps.get_model("history", "DayCount"), apps.get_model("history", "DurationCount")
    )


def empty_day_counts(apps, schema_editor):
    """Going back: the old key has no room for the split; the per-day counts are emptied
    (before the old key returns) and the older code's rebuild recounts them."""
    day_count = apps.get_model("history", "DayCount")
    day_count.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("history", "0004_failed_items"),
    ]

    operations = [
        migrations.AddField(
            model_name="archivedaction",
            name="failed_rows",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="daycount",
            name="with_failed_rows",
            field=models.BooleanField(default=False),
        ),
        migrations.RemoveConstraint(
            model_name="daycount",
            name="history_daycount_key",
        ),
        migrations.AddConstraint(
            model_name="daycount",
            constraint=models.UniqueConstraint(
                fields=("day", "type", "status", "failed", "with_failed_rows"),
                name="history_daycount_outcome_key",
            ),
        ),
        migrations.RunPython(count_failed_rows, empty_day_counts),
    ]

"""The purge audit's cells as columns (started_by, records_updated), worked out once when a
row is stored, so the audit's pages and CSV never parse `user` or `result`.

Named apart from other 0005 migrations on purpose: the lead re-chains it after the latest."""

from django.db import migrations, models

BATCH = 2000


def fill_columns(apps, schema_editor):
    """Rows that have a user or a purge's result: their cells, as archive.row_fields makes
    them (both functions are plain Python over the stored JSON)."""
    from dashboard.history.purge_cells import records_text, user_text

    archived = apps.get_model("history", "ArchivedAction")
    last = ""
    while True:
        batch = list(
            archived.objects.filter(pk__gt=last, has_detail=True)
            .order_by("pk").only("context", "user", "result")[:BATCH]
        )
        if not batch:
            break
        for row in batch:
            row.started_by = user_text(row.user) or ""
            row.records_updated = (records_text(row.result)
                                   if row.context == "METADATA_KEY_PURGE" else "")
        archived.objects.bulk_update(batch, ["started_by", "records_updated"])
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("history", "0005_failed_rows_outcome"),
    ]

    operations = [
        migrations.AddField(
            model_name="archivedaction",
            name="started_by",
            field=models.TextField(blank=True, default=""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="archivedaction",
            name="records_updated",
            field=models.TextField(blank=True, default=""),
            preserve_default=False,
        ),
        migrations.RunPython(fill_columns, migrations.RunPython.noop),
    ]

"""The archive at scale: per-day rollups for the overview, `detail_wanted` for the sync's
detail query, `result` and `user` stored once, no unused `_like` indexes on PostgreSQL."""

from django.db import migrations, models

BATCH = 2000


def carry_rows(apps, schema_editor):
    """Existing rows: result and user leave `raw` (their columns hold them), detail_wanted is
    set, and the rollups are counted from the archive."""
    from dashboard.history import rollups

    archived = apps.get_model("history", "ArchivedAction")
    without = archived.objects.filter(has_detail=False)
    without.filter(status="FAILED").update(detail_wanted=2)  # models.DetailWanted
    without.filter(context="METADATA_KEY_PURGE").update(detail_wanted=1)
    last = ""
    while True:
        batch = list(
            archived.objects.filter(has_detail=True, pk__gt=last)
            .order_by("pk")
            .only("raw", "user", "result")[:BATCH]
        )
        if not batch:
            break
        changed = []
        for row in batch:
            raw = dict(row.raw)
            for name in ("user", "result"):
                if raw.get(name) is not None:
                    setattr(row, name, raw.pop(name))
            if raw != row.raw:
                row.raw = raw
                changed.append(row)
        archived.objects.bulk_update(changed, ["raw", "user", "result"])
        last = batch[-1].pk
    rollups.rebuild(
        archived, apps.get_model("history", "DayCount"), apps.get_model("history", "DurationCount")
    )


def put_back_raw(apps, schema_editor):
    archived = apps.get_model("history", "ArchivedAction")
    for row in archived.objects.filter(has_detail=True).iterator(chunk_size=BATCH):
        extra = {k: v for k, v in (("result", row.result), ("user", row.user)) if v is not None}
        if extra:
            archived.objects.filter(pk=row.pk).update(raw={**row.raw, **extra})


def drop_like_indexes(apps, schema_editor):
    """PostgreSQL adds a varchar_pattern_ops copy of a CharField primary key's index for
    LIKE queries; the archive never runs one."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname LIKE %s",
            ["history_archivedaction", "%\\_like"],
        )
        for (name,) in cursor.fetchall():
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [
        ("history", "0002_purge_audit"),
    ]

    operations = [
        migrations.CreateModel(
            name="DayCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("type", models.CharField(max_length=200)),
                ("status", models.CharField(max_length=32)),
                ("failed", models.BooleanField()),
                ("count", models.BigIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="DurationCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("type", models.CharField(max_length=200)),
                ("bucket_ms", models.BigIntegerField()),
                ("count", models.BigIntegerField()),
            ],
        ),
        migrations.AlterModelOptions(
            name="archivedaction",
            options={},
        ),
        migrations.RemoveIndex(
            model_name="archivedaction",
            name="history_detail_idx",
        ),
        migrations.AddField(
            model_name="archivedaction",
            name="detail_wanted",
            field=models.PositiveSmallIntegerField(
                blank=True, choices=[(1, "purge"), (2, "failed")], null=True
            ),
        ),
        migrations.AlterField(
            model_name="archivedaction",
            name="request_id",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddIndex(
            model_name="archivedaction",
            index=models.Index(fields=["request_id"], name="history_request_idx"),
        ),
        migrations.AddIndex(
            model_name="archivedaction",
            index=models.Index(
                condition=models.Q(("detail_wanted__isnull", False)),
                fields=["detail_wanted", "-created_at", "-id"],
                name="history_detail_wanted_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="daycount",
            constraint=models.UniqueConstraint(
                fields=("day", "type", "status", "failed"), name="history_daycount_key"
            ),
        ),
        migrations.AddConstraint(
            model_name="durationcount",
            constraint=models.UniqueConstraint(
                fields=("day", "type", "bucket_ms"), name="history_durationcount_key"
            ),
        ),
        migrations.CreateModel(
            name="RollupWindow",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("start", models.DateField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name="WindowDuration",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("type", models.CharField(max_length=200)),
                ("bucket_ms", models.BigIntegerField()),
                ("count", models.BigIntegerField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("type", "bucket_ms"), name="history_window_key")
                ],
            },
        ),
        migrations.RunPython(carry_rows, put_back_raw),
        migrations.RunPython(drop_like_indexes, migrations.RunPython.noop),
    ]

"""The purge audit at a million archived actions on PostgreSQL: an object filter's page took
96-124 ms and the CSV ran at 31,000-40,000 rows a second, most of it spent in table rows.

- `history_purge_idx` carries every column the audit reads (purge_index.py): the CSV reads
  the index alone, in order (30 ms for 18,500 purges instead of 150-200 ms of scattered table
  blocks and a sort). Purges stored before have their two unbounded cells cut to the entry's
  size limit first, as new ones are. SQLite's copy has covered them since 0008.
- `history_purge_type_idx`, partial (purges only), keyed by (type, created_at) and carrying
  has_detail: the audit's counts, filtered or not, read it alone (1.9 ms for one type, 8 ms
  for all, instead of 18-26 ms). It replaces `history_ctx_detail_idx`, which only those counts
  read.
- PostgreSQL statistics on (context, type): its planner takes columns as independent and
  expected 76 purges of one type instead of 3,670, so it fetched and sorted all of them for a
  page of 100 (25 ms) instead of reading the newest 100 in index order (1.4 ms). A purge type
  determines its context; `dependencies` tells the planner so.
"""

from django.db import migrations, models
from django.db.models import Q
from django.db.models.functions import Length

from dashboard.history.purge_index import TEXT_BYTES, fit_purge_cells

CONTEXT = "METADATA_KEY_PURGE"
STATISTICS = "history_type_context_stats"
TABLE = "history_archivedaction"
INDEX = "history_purge_idx"
OLD_INDEX = models.Index(fields=["created_at", "id"], name=INDEX, condition=Q(context=CONTEXT),
                         include=["type", "status", "has_detail"])
NEW_INDEX = models.Index(fields=["created_at", "id"], name=INDEX, condition=Q(context=CONTEXT),
                         include=["type", "status", "has_detail", "updated_at", "duration_ms",
                                  "request_id", "log_id", "started_by", "records_updated"])
CELLS = ("type", "status", "request_id", "log_id", "started_by", "records_updated")


def fit_stored_purges(apps, schema_editor):
    """Purges whose cells could overflow an index entry (more characters than TEXT_BYTES / 4
    together), cut as archive.row_fields cuts new ones."""
    model = apps.get_model("history", "ArchivedAction")
    length = sum((Length(name) for name in CELLS), Length("id"))
    for row in (model.objects.filter(context=CONTEXT).alias(cells=length)
                .filter(cells__gt=TEXT_BYTES // 4).values("id", *CELLS).iterator()):
        fitted = fit_purge_cells(row["id"], row)
        if fitted is not row:
            model.objects.filter(pk=row["id"]).update(
                started_by=fitted["started_by"], records_updated=fitted["records_updated"])


def replace_purge_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        return  # 0008's index has every column in its key
    model = apps.get_model("history", "ArchivedAction")
    schema_editor.remove_index(model, OLD_INDEX)
    schema_editor.add_index(model, NEW_INDEX)


def restore_purge_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        return
    model = apps.get_model("history", "ArchivedAction")
    schema_editor.remove_index(model, NEW_INDEX)
    schema_editor.add_index(model, OLD_INDEX)


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    schema_editor.execute(f"CREATE STATISTICS IF NOT EXISTS {quote(STATISTICS)} (dependencies) "
                          f"ON {quote('context')}, {quote('type')} FROM {quote(TABLE)}")
    schema_editor.execute(f"ANALYZE {quote(TABLE)}")  # the statistics exist from now on


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {schema_editor.quote_name(STATISTICS)}")


class Migration(migrations.Migration):

    dependencies = [
        ("history", "0009_failures_count_index"),
    ]

    operations = [
        migrations.RunPython(fit_stored_purges, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveIndex(model_name="archivedaction", name=INDEX),
                              migrations.AddIndex(model_name="archivedaction", index=NEW_INDEX)],
            database_operations=[migrations.RunPython(replace_purge_index, restore_purge_index)],
        ),
        migrations.RemoveIndex(model_name="archivedaction", name="history_ctx_detail_idx"),
        migrations.AddIndex(
            model_name="archivedaction",
            index=models.Index(fields=["type", "created_at"], name="history_purge_type_idx",
                               condition=Q(context=CONTEXT), include=["has_detail"]),
        ),
        migrations.RunPython(create_statistics, drop_statistics),
    ]

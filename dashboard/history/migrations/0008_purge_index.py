"""A partial index of the purges alone, in the purge audit's order (created_at, id), so its
pages, counts and CSV read a few thousand index entries instead of the whole archive.

PostgreSQL: the model's index (type, status and has_detail included: the counts read the
index only). SQLite: the same name, but every column the audit reads is in the key, so the
CSV reads the index alone, in order, instead of one scattered table row per purge. (On
PostgreSQL an index entry must stay under ~2.7 KB, and started_by and records_updated are
unbounded text, so they are not in its index.)"""

from django.db import migrations, models
from django.db.models import Q

INDEX = "history_purge_idx"
CONTEXT = "METADATA_KEY_PURGE"
# `context` last: SQLite counts an index as covering only when it holds every column the
# query names, the partial index's own condition included.
SQLITE_COLUMNS = ("created_at", "id", "type", "status", "has_detail", "updated_at",
                  "duration_ms", "request_id", "log_id", "started_by", "records_updated",
                  "context")
MODEL_INDEX = models.Index(fields=["created_at", "id"], name=INDEX,
                           condition=Q(context=CONTEXT),
                           include=["type", "status", "has_detail"])


def create_index(apps, schema_editor):
    model = apps.get_model("history", "ArchivedAction")
    if schema_editor.connection.vendor != "sqlite":
        schema_editor.add_index(model, MODEL_INDEX)
        return
    quote = schema_editor.quote_name
    columns = ", ".join(quote(name) for name in SQLITE_COLUMNS)
    schema_editor.execute(
        f"CREATE INDEX {quote(INDEX)} ON {quote(model._meta.db_table)} ({columns}) "
        f"WHERE {quote('context')} = '{CONTEXT}'")


def drop_index(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(INDEX)}")


class Migration(migrations.Migration):
    dependencies = [("history", "0007_failure_summary_complete")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="archivedaction", index=MODEL_INDEX)],
            database_operations=[migrations.RunPython(create_index, drop_index)],
        ),
    ]

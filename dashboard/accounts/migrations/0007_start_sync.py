"""The start_sync permission (read missing history from the actions list): support and auditor."""

from django.db import migrations

CODENAME = "start_sync"
NAME = "Read missing history from Voucherify (spends the shared budget)"
ROLES = ("support", "auditor")


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="accounts", model="access")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename=CODENAME, defaults={"name": NAME}
    )
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.add(permission)


def revoke(apps, schema_editor):
    apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="accounts", codename=CODENAME
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_saved_views"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="access",
            options={
                "default_permissions": (),
                "managed": False,
                "permissions": [
                    ("view_actions", "See the async actions list and detail pages"),
                    ("view_failed_rows", "See failed-row tables (personal data)"),
                    ("export_failures", "Export failed rows as CSV (personal data)"),
                    ("view_purge_audit", "See and export the metadata key purge audit"),
                    ("view_status", "See the polling and call budget status page"),
                    ("view_export_log", "See the log of CSV exports"),
                    ("start_sync", NAME),
                ],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]

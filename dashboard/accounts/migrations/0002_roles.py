"""Create the operator, support and auditor groups with their permissions.

The permissions are created here too (post_migrate would create them only after every
migration has run), with the same codenames as Access.Meta.permissions.
"""

from django.db import migrations

PERMISSIONS = {
    "view_actions": "See the async actions list and detail pages",
    "view_failed_rows": "See failed-row tables (personal data)",
    "export_failures": "Export failed rows as CSV (personal data)",
    "view_purge_audit": "See and export the metadata key purge audit",
    "view_status": "See the polling and call budget status page",
    "view_export_log": "See the log of CSV exports",
}
OPERATOR = ["view_actions"]
SUPPORT = OPERATOR + ["view_failed_rows", "export_failures"]
AUDITOR = SUPPORT + ["view_purge_audit", "view_status", "view_export_log"]
ROLES = {"operator": OPERATOR, "support": SUPPORT, "auditor": AUDITOR}


def create_roles(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="accounts", model="access")
    permissions = {}
    for codename, name in PERMISSIONS.items():
        permissions[codename], _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*(permissions[codename] for codename in codenames))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]

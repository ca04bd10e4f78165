"""Create one demo user per role, plus an admin superuser, and print their logins."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from dashboard.accounts.roles import ROLES, ensure_role

# Known passwords, for local demos only: the command refuses to run with DEBUG off.
DEMO_USERS = {role: f"{role}-demo-password" for role in ROLES} | {"admin": "admin-demo-password"}


class Command(BaseCommand):
    help = "Create demo users (operator, support, auditor, admin) with known passwords."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off (never on a real deployment: the passwords are public).",
        )

    def handle(self, *args, force: bool = False, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to create demo users with DEBUG off: their passwords are public. "
                "Use --force only on a throwaway instance."
            )
        User = get_user_model()
        for username, password in DEMO_USERS.items():
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                if username == "admin":
                    user.is_staff = user.is_superuser = True
                user.save()
                if username in ROLES:
                    user.groups.add(ensure_role(username))
            if created:
                note = "created"
            elif user.check_password(password):
                note = "exists"
            else:  # changed on the password page: printing the demo one would mislead
                note = "exists; its password was changed, this one no longer works"
            self.stdout.write(f"{username:<10} {password:<26} ({note})")

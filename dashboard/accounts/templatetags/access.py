"""What the 403 page says: the role a page needs and what each role may open."""

from __future__ import annotations

from django import template

from dashboard.accounts.roles import ROLE_DUTIES, role_for_path

register = template.Library()

register.filter("role_for_path", role_for_path)


@register.simple_tag
def role_duties() -> list[tuple[str, str]]:
    return list(ROLE_DUTIES.items())

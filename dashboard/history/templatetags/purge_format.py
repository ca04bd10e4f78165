"""Template filters of the purge audit."""

from __future__ import annotations

from django import template

from dashboard.voucherify.cursor import is_valid_action_id

register = template.Library()


@register.filter
def is_action_id(value: object) -> bool:
    """Whether a detail link can be made for this id (an odd upstream id gets none)."""
    return isinstance(value, str) and is_valid_action_id(value)

"""The overview's links to the list a number counts (see history.list_links)."""

from __future__ import annotations

from datetime import date

from django import template

from dashboard.history.list_links import day_list_url

register = template.Library()


@register.simple_tag
def day_list(day: date, status: str, count: int = 0) -> str:
    return day_list_url(day, status, count)

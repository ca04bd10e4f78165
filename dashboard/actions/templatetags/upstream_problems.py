"""`problem|problem_info`: the page's words for an error (dashboard/polling/problems.py)."""

from __future__ import annotations

from django import template

from dashboard.polling.problems import Problem, describe

register = template.Library()


@register.filter
def problem_info(problem: BaseException | None) -> Problem | None:
    return describe(problem) if problem is not None else None

"""Upstream texts of any length on a page: cut, with the whole one click away, never a freeze.

A 1 MB single word laid out in full kept Chromium busy for minutes. The cut part is what the
page lays out; the whole text sits in a closed <details>, which browsers do not lay out until
it is opened (and then inside a scrolling box that wraps anywhere).
"""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString

from dashboard.formatting import CLIP_LIMIT, ELLIPSIS

register = template.Library()



@register.filter
def clip(value: object, limit: int = CLIP_LIMIT) -> SafeString:
    """Escaped text; past `limit` characters, the start and a <details> holding the whole."""
    text = "" if value is None else str(value)
    if len(text) <= limit:
        return conditional_escape(text)
    return format_html(
        '<span class="clipped">{}{}</span> <details class="full-text"><summary>Show all {} '
        'characters</summary><div class="full-text-body">{}</div></details>',
        text[:limit], ELLIPSIS, f"{len(text):,}", text,
    )

"""Saved views: a person's named filters of the actions list.

A saved view is only the list's canonical query string without a position (filters, rows
per page, sort, grouping), so opening or sharing one is opening the list at that address.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.urls import reverse

from dashboard.accounts.models import SavedView
from dashboard.actions.list_params import parse_list_params

MAX_NAME = SavedView._meta.get_field("name").max_length
MAX_QUERY = SavedView._meta.get_field("query").max_length
MAX_PER_PERSON = 50  # a list of names a person can still read at a glance


@dataclass(frozen=True)
class Shown:
    """A saved view as the list shows it."""

    id: int
    name: str
    url: str  # the list at this view's filters
    link: str  # the same, absolute: what "Copy link" shares
    current: bool


class SaveRefused(ValueError):
    """Why a view could not be saved, as one sentence for the person."""


def views_of(user, current_query: str, site: str) -> list[Shown]:
    """The person's saved views, marking the one the list shows now; `site` is the scheme and
    host the shared links start with."""
    base = reverse("actions:list")
    return [
        Shown(view.id, view.name, base + view.query, site + base + view.query,
              view.query == current_query)
        for view in SavedView.objects.filter(user=user).only("id", "name", "query")
    ]


def clean_name(raw: str) -> str:
    """The name as stored: trimmed, inner whitespace collapsed; SaveRefused if unusable."""
    name = " ".join((raw or "").split())
    if not name:
        raise SaveRefused("Give the view a name, for example “Failed imports”.")
    if len(name) > MAX_NAME:
        raise SaveRefused(f"The name is {len(name)} characters long; use at most {MAX_NAME}.")
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise SaveRefused("The name holds invisible control characters; type it again.")
    return name


def clean_query(raw: str) -> str:
    """The list's canonical query for `raw` (a query string, with or without "?"), without
    the page position; SaveRefused when the list could not use it."""
    state = parse_list_params(QueryDict((raw or "").lstrip("?")))
    if state.errors:
        raise SaveRefused("The current filters cannot be saved: " + state.errors[0][1])
    query = state.newest().query()
    if len(query) > MAX_QUERY:
        raise SaveRefused("These filters are too long to save.")
    return query


def save(user, raw_name: str, raw_query: str) -> SavedView:
    """Save the filters as a named view of `user`; SaveRefused says why not."""
    name = clean_name(raw_name)
    query = clean_query(raw_query)
    owned = SavedView.objects.filter(user=user)
    if owned.filter(name=name).exists():
        raise SaveRefused(f"You already have a view named “{name}”; choose another name "
                          "or delete that one first.")
    if owned.count() >= MAX_PER_PERSON:
        raise SaveRefused(f"You have {MAX_PER_PERSON} saved views, the most one person may "
                          "keep; delete one you no longer use first.")
    try:
        with transaction.atomic():
            return SavedView.objects.create(user=user, name=name, query=query)
    except IntegrityError:  # the same name saved at the same moment from another tab
        raise SaveRefused(f"You already have a view named “{name}”.") from None

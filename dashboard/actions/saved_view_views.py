"""Saving and deleting a person's saved views of the list (plain form posts, CSRF-checked)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from dashboard.accounts.models import SavedView
from dashboard.accounts.roles import VIEW_ACTIONS
from dashboard.actions import saved_views


@require_POST
@permission_required(VIEW_ACTIONS, raise_exception=True)
def save_view(request: HttpRequest) -> HttpResponse:
    """Save the list's current filters under a name, then show the list with them."""
    raw_query = request.POST.get("query", "")
    try:
        view = saved_views.save(request.user, request.POST.get("name", ""), raw_query)
    except saved_views.SaveRefused as refused:
        messages.error(request, str(refused))
        return redirect(reverse("actions:list") + _back_query(raw_query))
    messages.success(request, f"Saved the view “{view.name}”.")
    return redirect(reverse("actions:list") + view.query)


@require_POST
@permission_required(VIEW_ACTIONS, raise_exception=True)
def delete_view(request: HttpRequest, view_id: int) -> HttpResponse:
    """Delete one of the person's own views; anyone else's is a 404, as if it did not exist."""
    view = get_object_or_404(SavedView, pk=view_id, user=request.user)
    view.delete()
    messages.success(request, f"Deleted the view “{view.name}”.")
    return redirect(reverse("actions:list") + _back_query(request.POST.get("query", "")))


def _back_query(raw_query: str) -> str:
    """Where a refused save returns: the same filters when they are usable, else the list."""
    try:
        return saved_views.clean_query(raw_query)
    except saved_views.SaveRefused:
        return ""

"""/alerts/: subscribe, unsubscribe, and the history of what was sent. Thin: parse, ask, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from dashboard.accounts.roles import VIEW_ACTIONS

from . import rules
from .forms import ManagedSubscriptionForm, SubscriptionForm
from .models import Delivery
from .subscriptions import visible_to

HISTORY_PER_PAGE = 50


def _page(request: HttpRequest, *, own=None, managed=None, status: int = 200) -> HttpResponse:
    audience = rules.audience_of(request.user)
    if own is None:
        own = SubscriptionForm(audience=audience, initial={"email": request.user.email})
    if managed is None and audience == rules.ADMIN:
        managed = ManagedSubscriptionForm(audience=audience)
    return render(request, "alerts/index.html", {
        "audience": audience,
        "subscriptions": visible_to(request.user, audience),
        "own_form": own,
        "managed_form": managed,
        "rules": {rule: rules.RULES[rule] for rule in rules.rules_for(audience)},
    }, status=status)


@require_safe
@permission_required(VIEW_ACTIONS, raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@permission_required(VIEW_ACTIONS, raise_exception=True)
def subscribe(request: HttpRequest) -> HttpResponse:
    audience = rules.audience_of(request.user)
    managed = request.POST.get("form") == "managed" and audience == rules.ADMIN
    form_class = ManagedSubscriptionForm if managed else SubscriptionForm
    form = form_class(request.POST, audience=audience)
    subscription = form.save(request.user)
    if subscription is None:
        return _page(request, **{"managed" if managed else "own": form}, status=400)
    messages.success(request, f"Subscribed: {subscription.rule} alerts to "
                              f"{subscription.recipient}.")
    return redirect("alerts:index")


@require_POST
@permission_required(VIEW_ACTIONS, raise_exception=True)
def unsubscribe(request: HttpRequest, subscription_id: int) -> HttpResponse:
    audience = rules.audience_of(request.user)
    subscription = get_object_or_404(visible_to(request.user, audience), pk=subscription_id)
    subscription.delete()
    messages.success(request, f"Removed the {subscription.rule} alerts to "
                              f"{subscription.recipient}; what was sent stays in the history.")
    return redirect("alerts:index")


@require_safe
@permission_required(VIEW_ACTIONS, raise_exception=True)
def history(request: HttpRequest) -> HttpResponse:
    deliveries = Delivery.objects.all()
    if rules.audience_of(request.user) != rules.ADMIN:
        deliveries = deliveries.filter(owner=request.user)
    page = Paginator(deliveries, HISTORY_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "alerts/history.html", {"page": page})

"""The export log's filter: a GET form an auditor fills in, read with a Django form.

Lenient like every filter of the dashboard: a bad value is named in a sentence and left out;
the rest still filters."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.core.validators import RegexValidator
from django.db.models import QuerySet

from dashboard.accounts.models import ExportRecord

ANY, FILTERED, WHOLE = "", "filtered", "whole"
MIN_ACTION_SUFFIX = 6  # like the list's search: the end of an id shown as "…9d8a7c2c"


class ExportLogFilter(forms.Form):
    action = forms.CharField(
        required=False, max_length=100, min_length=MIN_ACTION_SUFFIX, label="Action id",
        help_text=f"The whole id or its last {MIN_ACTION_SUFFIX} characters or more.",
        validators=[RegexValidator(
            r"^[A-Za-z0-9_]*$",
            "An action id has only letters, digits and _, such as aa_0c5543f00797b6113f.")],
        error_messages={"min_length": "Give at least %(limit_value)d characters of the action "
                                      "id (you gave %(show_value)d)."},
    )
    what = forms.ChoiceField(required=False, label="Export", choices=[
        ("", "Any export"), ("failures.csv", "Failed rows (failures.csv)"),
        ("purges.csv", "Purge audit (purges.csv)"), ("purge note", "Purge notes"),
    ], error_messages={"invalid_choice": "There is no export called %(value)s; choose one "
                                         "from the list."})
    scope = forms.ChoiceField(required=False, label="Filtered", choices=[
        (ANY, "Filtered or whole"), (FILTERED, "Only filtered exports"),
        (WHOLE, "Only whole exports"),
    ], error_messages={"invalid_choice": "Choose filtered, whole, or neither (%(value)s is not "
                                         "one of them)."})
    filter = forms.CharField(
        required=False, max_length=200, strip=True, label="Filter contains",
        help_text="Words of the filter used, such as a reason or a search.",
        error_messages={"max_length": "A filter to look for is at most %(limit_value)d "
                                      "characters (you gave %(show_value)d)."},
    )


def parse(params: Mapping[str, str]) -> ExportLogFilter:
    form = ExportLogFilter(params)
    form.is_valid()  # fills cleaned_data with the valid fields and errors with the others
    return form


def apply(form: ExportLogFilter, records: QuerySet[ExportRecord]) -> QuerySet[ExportRecord]:
    """The records matching every valid field of the form."""
    chosen = form.cleaned_data
    if chosen.get("action"):
        records = records.filter(action_id__endswith=chosen["action"])
    if chosen.get("what"):
        records = records.filter(what=chosen["what"])
    if chosen.get("scope") == FILTERED:
        records = records.exclude(filter_text="")
    elif chosen.get("scope") == WHOLE:
        records = records.filter(filter_text="")
    if chosen.get("filter"):
        records = records.filter(filter_text__icontains=chosen["filter"])
    return records


def is_filtered(form: ExportLogFilter) -> bool:
    return any(form.cleaned_data.get(name) for name in form.fields)

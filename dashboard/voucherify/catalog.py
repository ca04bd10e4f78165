"""What Voucherify's async actions can be: their statuses and types, each with its one label.

Statuses: the lifecycle ENQUEUED → IN_PROGRESS → DONE | FAILED, with a label and whether it
still changes; `status_class` names the CSS class that colours it.

Types: taken from the type table in the description of `GET /v1/async-actions`
(shared/voucherify/async-actions.openapi.json). A type nobody knows yet still gets a context
from its prefix ("Other" when the prefix is unknown too) and a label made from its name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Status:
    key: str
    label: str
    live: bool  # still changes; the other statuses are final


ENQUEUED, IN_PROGRESS, DONE, FAILED = "ENQUEUED", "IN_PROGRESS", "DONE", "FAILED"
UNKNOWN_STATUS = "UNKNOWN"  # what a parsed action without a status gets
STATUSES: tuple[Status, ...] = (  # in lifecycle order
    Status(ENQUEUED, "Enqueued", live=True),
    Status(IN_PROGRESS, "In progress", live=True),
    Status(DONE, "Done", live=False),
    Status(FAILED, "Failed", live=False),
)
STATUS_KEYS = tuple(status.key for status in STATUSES)
LIVE_STATUSES = frozenset(status.key for status in STATUSES if status.live)
TERMINAL_STATUSES = tuple(status.key for status in STATUSES if not status.live)
_STATUS_BY_KEY = {status.key: status for status in STATUSES}
# Not an upstream status: the list's filter for DONE actions with failed rows.
DONE_WITH_FAILURES = "DONE_WITH_FAILURES"
FILTER_STATUS_KEYS = (*STATUS_KEYS, DONE_WITH_FAILURES)


# An unknown status is shown as received, cut: Voucherify could send anything.
STATUS_TEXT_LIMIT = 40


def status_label(status: str | None) -> str:
    """Human text for a status; unknown statuses are shown as received."""
    if not status:
        return "Unknown"
    if status == DONE_WITH_FAILURES:
        return "Done with failures"
    known = _STATUS_BY_KEY.get(status)
    if known:
        return known.label
    text = str(status)
    return text if len(text) <= STATUS_TEXT_LIMIT else text[:STATUS_TEXT_LIMIT] + "…"


def status_class(status: str | None) -> str:
    """The CSS class for the status colour; unknown statuses get a neutral one."""
    return f"status-{status if status in _STATUS_BY_KEY else UNKNOWN_STATUS}"


def status_rank(status: str) -> int:
    """Lifecycle position, for ordering; statuses nobody documented come last."""
    return STATUS_KEYS.index(status) if status in _STATUS_BY_KEY else len(STATUS_KEYS)


@dataclass(frozen=True)
class Context:
    key: str
    label: str


CONTEXTS: tuple[Context, ...] = (
    Context("CAMPAIGN", "Campaign"),
    Context("CUSTOMERS", "Customers"),
    Context("PRODUCTS", "Products"),
    Context("VOUCHERS", "Vouchers"),
    Context("ORDERS", "Orders"),
    Context("METADATA_KEY_PURGE", "Metadata key purge"),
    Context("OTHER", "Other"),
)
CONTEXT_KEYS = tuple(context.key for context in CONTEXTS)
CONTEXT_LABELS = {context.key: context.label for context in CONTEXTS}


@dataclass(frozen=True)
class ActionType:
    name: str
    context: str
    label: str
    endpoint: str


_PURGE_ENDPOINT = (
    "No API endpoint: started from Voucherify's dashboard (Project Settings > Metadata)"
)

KNOWN_TYPES: dict[str, ActionType] = {
    t.name: t
    for t in (
        ActionType("CAMPAIGN.VOUCHERS_IMPORT", "CAMPAIGN", "Voucher import into campaign",
                   "POST /campaigns/{campaignId}/import"),
        ActionType("CAMPAIGN.VOUCHERS_IMPORT_CSV", "CAMPAIGN", "Voucher CSV import into campaign",
                   "POST /campaigns/{campaignId}/importCSV"),
        ActionType("CAMPAIGN.VOUCHERS_UPDATE", "CAMPAIGN", "Campaign vouchers update",
                   "PUT /campaigns/{campaignId}"),
        ActionType("CAMPAIGN.VOUCHERS_DELETE", "CAMPAIGN", "Campaign vouchers delete",
                   "DELETE /campaigns/{campaignId}"),
        ActionType("CAMPAIGN.VOUCHERS_GENERATE", "CAMPAIGN", "Campaign voucher generation",
                   "POST /campaigns (more than 1 voucher) or "
                   "POST /campaigns/{campaignId}/vouchers"),
        ActionType("CUSTOMERS.IMPORT_CSV", "CUSTOMERS", "Customer CSV import",
                   "POST /customers/importCSV"),
        ActionType("CUSTOMERS.BULK_UPDATE", "CUSTOMERS", "Customer bulk update",
                   "POST /customers/bulk/async"),
        ActionType("CUSTOMERS.METADATA_UPDATE", "CUSTOMERS", "Customer metadata update",
                   "POST /customers/metadata/async"),
        ActionType("PRODUCTS.BULK_UPDATE", "PRODUCTS", "Product bulk update",
                   "POST /products/bulk/async"),
        ActionType("PRODUCTS.METADATA_UPDATE", "PRODUCTS", "Product metadata update",
                   "POST /products/metadata/async"),
        ActionType("PRODUCTS.IMPORT_CSV", "PRODUCTS", "Product CSV import",
                   "POST /products/importCSV"),
        ActionType("SKUS.IMPORT_CSV", "PRODUCTS", "SKU CSV import", "POST /skus/importCSV"),
        ActionType("VOUCHERS.IMPORT", "VOUCHERS", "Voucher import", "POST /vouchers/import"),
        ActionType("VOUCHERS.IMPORT_CSV", "VOUCHERS", "Voucher CSV import",
                   "POST /vouchers/importCSV"),
        ActionType("VOUCHERS.BULK_UPDATE", "VOUCHERS", "Voucher bulk update",
                   "POST /vouchers/bulk/async"),
        ActionType("VOUCHERS.METADATA_UPDATE", "VOUCHERS", "Voucher metadata update",
                   "POST /vouchers/metadata/async"),
        ActionType("ORDERS.IMPORT", "ORDERS", "Order import", "POST /orders/import"),
        ActionType("CAMPAIGNS.METADATA_KEY_PURGE", "METADATA_KEY_PURGE",
                   "Campaign metadata key purge", _PURGE_ENDPOINT),
        ActionType("CUSTOMERS.METADATA_KEY_PURGE", "METADATA_KEY_PURGE",
                   "Customer metadata key purge", _PURGE_ENDPOINT),
        ActionType("PRODUCTS.METADATA_KEY_PURGE", "METADATA_KEY_PURGE",
                   "Product metadata key purge", _PURGE_ENDPOINT),
        ActionType("VOUCHERS.METADATA_KEY_PURGE", "METADATA_KEY_PURGE",
                   "Voucher metadata key purge", _PURGE_ENDPOINT),
        ActionType("ORDERS.METADATA_KEY_PURGE", "METADATA_KEY_PURGE",
                   "Order metadata key purge", _PURGE_ENDPOINT),
    )
}

# Prefixes of types nobody documented yet that still belong to a known context.
_PREFIX_CONTEXTS = {
    "CAMPAIGN": "CAMPAIGN",
    "CAMPAIGNS": "CAMPAIGN",
    "CUSTOMERS": "CUSTOMERS",
    "PRODUCTS": "PRODUCTS",
    "SKUS": "PRODUCTS",
    "VOUCHERS": "VOUCHERS",
    "ORDERS": "ORDERS",
}
PURGE_SUFFIX = ".METADATA_KEY_PURGE"
# The object type each purge type works on, for the purge audit.
PURGE_OBJECT_TYPES = {
    "CAMPAIGNS.METADATA_KEY_PURGE": "campaigns",
    "CUSTOMERS.METADATA_KEY_PURGE": "customers",
    "PRODUCTS.METADATA_KEY_PURGE": "products",
    "VOUCHERS.METADATA_KEY_PURGE": "vouchers",
    "ORDERS.METADATA_KEY_PURGE": "orders",
}


LABEL_LIMIT = 80


def prefix_of(action_type: str) -> str:
    """The part before the first dot: Voucherify's own grouping of a type."""
    return action_type.split(".", 1)[0] if action_type else ""


def context_of(action_type: str) -> str:
    """The dashboard context key (one of CONTEXT_KEYS) of any type, known or not."""
    known = KNOWN_TYPES.get(action_type)
    if known:
        return known.context
    if action_type.endswith(PURGE_SUFFIX):
        return "METADATA_KEY_PURGE"
    return _PREFIX_CONTEXTS.get(prefix_of(action_type), "OTHER")


def label_of(action_type: str) -> str:
    """A human label; for unknown types one made from the raw name."""
    known = KNOWN_TYPES.get(action_type)
    if known:
        return known.label
    words = action_type.replace(".", " ").replace("_", " ").strip().lower()
    if len(words) > LABEL_LIMIT:  # a label names, it does not quote: the type is shown whole
        words = words[:LABEL_LIMIT] + "…"
    return words.capitalize() if words else "Unknown type"


def endpoint_of(action_type: str) -> str | None:
    """The API call that starts this type, or None when the documents do not say."""
    known = KNOWN_TYPES.get(action_type)
    return known.endpoint if known else None

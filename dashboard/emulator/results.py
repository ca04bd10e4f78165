"""The 22 documented async action types and results shaped like the documented examples."""

from __future__ import annotations

import random

from .timeutil import format_ms

IMPORT_ROWS = {  # type -> (noun in the message, fields of a failed row)
    "CAMPAIGN.VOUCHERS_IMPORT": ("voucher", ("code", "reason")),
    "CAMPAIGN.VOUCHERS_IMPORT_CSV": ("voucher", ("code", "row", "reason")),
    "CUSTOMERS.IMPORT_CSV": ("customer", ("source_id", "row", "reason")),
    "PRODUCTS.IMPORT_CSV": ("product", ("row", "source_id", "reason")),
    "SKUS.IMPORT_CSV": ("sku", ("row", "reason")),
    "VOUCHERS.IMPORT": ("voucher", ("code", "reason")),
    "VOUCHERS.IMPORT_CSV": ("voucher", ("code", "row", "reason")),
    "ORDERS.IMPORT": ("order", ("source_id", "reason")),
}
COUNTED = {  # type -> message template with the done count
    "CAMPAIGN.VOUCHERS_UPDATE": "Updated {n} vouchers.",
    "CAMPAIGN.VOUCHERS_DELETE": "Deleted {n} vouchers.",
    "CAMPAIGN.VOUCHERS_GENERATE": "Generated {n} vouchers.",
    "CAMPAIGNS.METADATA_KEY_PURGE": "Updated {n} campaigns.",
    "CUSTOMERS.METADATA_KEY_PURGE": "Updated {n} customers.",
    "PRODUCTS.METADATA_KEY_PURGE": "Updated {n} products.",
    "VOUCHERS.METADATA_KEY_PURGE": "Updated {n} vouchers.",
    "ORDERS.METADATA_KEY_PURGE": "Updated {n} orders.",
}
REPORTED = {  # bulk and metadata updates: type -> the field naming the failed object
    "CUSTOMERS.BULK_UPDATE": "source_id",
    "CUSTOMERS.METADATA_UPDATE": "source_id",
    "PRODUCTS.BULK_UPDATE": "source_id",
    "PRODUCTS.METADATA_UPDATE": "source_id",
    "VOUCHERS.BULK_UPDATE": "code",
    "VOUCHERS.METADATA_UPDATE": "code",
}
# In the order of the enum in the OpenAPI document. Kept apart from the dashboard's
# catalog on purpose: the emulator stands in for Voucherify, so its list answers to the
# documents (a contract test checks both lists), and this order drives the seeded shuffle.
KNOWN_TYPES: tuple[str, ...] = (
    "CAMPAIGN.VOUCHERS_IMPORT", "CAMPAIGN.VOUCHERS_IMPORT_CSV", "CAMPAIGN.VOUCHERS_UPDATE",
    "CAMPAIGN.VOUCHERS_DELETE", "CAMPAIGN.VOUCHERS_GENERATE", "CAMPAIGNS.METADATA_KEY_PURGE",
    "CUSTOMERS.IMPORT_CSV", "CUSTOMERS.BULK_UPDATE", "CUSTOMERS.METADATA_UPDATE",
    "CUSTOMERS.METADATA_KEY_PURGE", "PRODUCTS.BULK_UPDATE", "PRODUCTS.METADATA_UPDATE",
    "PRODUCTS.METADATA_KEY_PURGE", "PRODUCTS.IMPORT_CSV", "SKUS.IMPORT_CSV", "VOUCHERS.IMPORT",
    "VOUCHERS.IMPORT_CSV", "VOUCHERS.BULK_UPDATE", "VOUCHERS.METADATA_UPDATE",
    "VOUCHERS.METADATA_KEY_PURGE", "ORDERS.IMPORT", "ORDERS.METADATA_KEY_PURGE",
)
PURGE_TYPES = tuple(t for t in KNOWN_TYPES if t.endswith(".METADATA_KEY_PURGE"))
REPORT_DAYS = (1, 7, 30)  # how long report links stay available after the action ends

# Fixed reasons first: a big import limited to the first few has only a handful of them.
_REASONS = {
    "voucher": (
        "unit: must be a number, property is required (actual value is 'EUR')",
        "Voucher Type is required",
        "expiration_date: must be a valid ISO 8601 date (actual value is '31/02/2024')",
        "category: must be a string (actual value is '<img src=x onerror=alert(1)>')",
        "Duplicated voucher code {ident}",
    ),
    "customer": (
        "acquisition_channel: must be a string, property is required, must be equal to one of "
        "Facebook,Twitter,Website (actual value is 'snap')",
        "email: must be a valid email (actual value is 'jan.kowalski@')",
        "birthdate: must be a date (actual value is '1990-13-45')",
        "Customer with source_id {ident} already exists",
    ),
    "product": (
        "vendor: must be a string, property is required, must be equal to one of Vendor 1,"
        "Vendor 2 (actual value is 'Vendor 3')",
        "price: must be an integer (actual value is '9.99')",
        "categories: must be an array (actual value is 'shoes & \"boots\"')",
        "Product with source_id {ident} already exists",
    ),
    "sku": (
        "Resource sku with id size-small is in use by products with ids [prod_0b0e3441c2462eff2c]",
        "product_id: property is required",
        "price: must be an integer (actual value is 'free')",
    ),
    "order": (
        "Internal error",
        "customer: property is required",
        "amount: must be a number (actual value is 'twelve')",
        "Order with source_id {ident} already exists",
    ),
}
_UPDATE_ERRORS = (
    ("Resource not found", "Cannot find {noun} with {field} {ident}", "not_found"),
    ("Invalid payload", "Property metadata.tier must be equal to one of gold,silver,bronze",
     "invalid_payload"),
    ("Duplicate resource key", "{noun} {ident} was updated twice in one request",
     "duplicate_resource_key"),
)
_FAILURES = (
    "Internal error. The operation was interrupted, contact support.",
    "File could not be parsed: unexpected end of CSV input at row 1201",
    "Operation timed out after 3600 seconds",
)


def hex_id(rng: random.Random, prefix: str) -> str:
    """`aa_0c5543f00797b6113f`-like ids: a prefix and 18 lowercase hex digits."""
    return f"{prefix}{rng.getrandbits(72):018x}"


def has_operation_status(action_type: str) -> bool:
    return action_type in REPORTED


def done_result(
    action_type: str, rng: random.Random, *, action_id: str, finished_ms: int,
    total: int | None = None, failed_count: int | None = None, reasons: int | None = None,
) -> dict:
    """A DONE result for the type, with `failed_count` failed rows (random when None)."""
    total = rng.choice((1, 3, 12, 40, 250, 1200, 5000)) if total is None else total
    if failed_count is None:
        failed_count = rng.choice((0, 0, 0, 0, 1, 2, 3, 7)) if total > 1 else 0
    failed_count = min(failed_count, total)
    done = total - failed_count
    if action_type in IMPORT_ROWS:
        noun, fields = IMPORT_ROWS[action_type]
        rows = [_failed_row(noun, fields, rng, row, reasons) for row in _rows(rng, failed_count)]
        return {
            "message": f"{done} {noun}(s) imported successfully, {failed_count} failed.",
            "failed": rows, "done_count": done, "failed_count": failed_count,
        }
    if action_type in COUNTED:
        return {"message": COUNTED[action_type].format(n=done), "done_count": done}
    if action_type in REPORTED:
        return _reported(action_type, rng, action_id, finished_ms, done, failed_count)
    return {"message": f"Processed {done} record(s), {failed_count} failed.",
            "done_count": done, "failed_count": failed_count}


def failed_result(action_type: str, rng: random.Random, *, action_id: str,
                  finished_ms: int) -> dict | None:
    """Undocumented FAILED shapes: no result, a message alone, or a partial count."""
    variant = rng.randrange(3)
    if variant == 0:
        return None
    if variant == 1:
        return {"message": rng.choice(_FAILURES)}
    done = rng.randrange(0, 400)
    if action_type in REPORTED:
        partial = _reported(action_type, rng, action_id, finished_ms, done, rng.randrange(1, 4))
        partial["reports"] = []
        return partial
    return {"done_count": done, "failed_count": 0}


def operation_status(action_type: str, status: str, result: dict | None) -> str | None:
    """SUCCESS or FAILED for terminal bulk and metadata updates, UNKNOWN while they run."""
    if not has_operation_status(action_type):
        return None
    if status == "FAILED":
        return "FAILED"
    if status != "DONE":
        return "UNKNOWN"
    if result and result.get("failed_count") and not result.get("done_count"):
        return "FAILED"
    return "SUCCESS"


def _rows(rng: random.Random, count: int) -> list[int]:
    if not count:
        return []
    return sorted(rng.sample(range(1, max(count * 3, 10)), count))


def _failed_row(noun: str, fields: tuple[str, ...], rng: random.Random, row: int,
                reasons: int | None) -> dict:
    ident = {
        "voucher": f"PROMO-{rng.getrandbits(24):06X}",
        "customer": f"customer-{row}@example.com",
        "product": f"prod-{row:05d}",
        "sku": f"sku-{row:05d}",
        "order": f"ord_{rng.getrandbits(40):010x}",
    }[noun]
    choices = _REASONS[noun][: reasons or None]
    failed: dict = {}
    for field in fields:
        if field in ("code", "source_id"):
            failed[field] = None if noun == "order" and rng.random() < 0.2 else ident
            if field == "source_id" and noun == "customer" and rng.random() < 0.1:
                failed[field] = ""
        elif field == "row":
            failed[field] = row
        else:
            failed[field] = rng.choice(choices).format(ident=ident)
    return failed


def _reported(action_type: str, rng: random.Random, action_id: str, finished_ms: int,
              done: int, failed_count: int) -> dict:
    field = REPORTED[action_type]
    noun = action_type.split(".")[0].lower().rstrip("s")
    errors = []
    for _ in range(failed_count):
        ident = f"{noun}-{rng.getrandbits(24):06x}"
        message, details, key = rng.choice(_UPDATE_ERRORS)
        errors.append({"message": message, "key": key, field: ident,
                       "details": details.format(noun=noun, field=field, ident=ident)})
    till = finished_ms + rng.choice(REPORT_DAYS) * 86_400_000
    reports = [
        f"https://download.voucherify.io/v1/reports/{action_id}/report-{n}.csv"
        f"?signature={rng.getrandbits(64):016x}"
        for n in range(1, rng.choice((2, 2, 3)))
    ]
    return {"done_count": done, "failed_count": failed_count, "reports": reports,
            "reports_available_till": format_ms(till), "errors": errors}

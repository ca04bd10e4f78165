"""Upstream data whose every string is an attack: scripts, handlers, links, CSV formulas."""

from __future__ import annotations

from datetime import UTC, datetime

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
SVG = '"><svg onload=alert(1)>'
JS_LINK = "javascript:alert(1)"
HYPERLINK = '=HYPERLINK("http://evil","x")'
SAFE_REPORT = "https://download.voucherify.io/reports/r1.csv"
FORMULAS = [HYPERLINK, "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
IMPORT_ID = "aa_0c00000000000bad01"
UPDATE_ID = "aa_0c00000000000bad02"
ODD_TYPE_ID = "aa_0c00000000000bad03"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def insert_hostile(emulator) -> None:
    """Three actions whose every upstream string is an attack."""
    emulator.insert_action({
        "id": IMPORT_ID, "type": "VOUCHERS.IMPORT_CSV", "status": "DONE", "progress": 100,
        "created_at": now(), "request_id": "v-0c00000000000bad01",
        "user": {"name": SCRIPT, "email": IMG}, "log_id": SVG,
        "result": {
            "message": f"{SCRIPT} {IMG}", "done_count": 1, "failed_count": len(FORMULAS),
            "failed": [{"code": SCRIPT, "row": n, "reason": cell, "source_id": IMG}
                       for n, cell in enumerate(FORMULAS, 1)],
        },
    })
    emulator.insert_action({
        "id": UPDATE_ID, "type": "CUSTOMERS.METADATA_UPDATE", "status": "DONE", "progress": 100,
        "created_at": now(), "request_id": "v-0c00000000000bad02",
        "result": {
            "message": SVG, "failed_count": 1,
            "errors": [{"message": SCRIPT, "key": IMG, "details": SVG, "source_id": HYPERLINK}],
            "reports": [JS_LINK, "http://evil.example/r.csv", f"data:text/html,{SCRIPT}",
                        SAFE_REPORT],
            "reports_available_till": "2999-01-01T00:00:00Z",
        },
    })
    emulator.insert_action({
        "id": ODD_TYPE_ID, "type": f"EVIL.{SCRIPT}", "status": "FAILED", "progress": 0,
        "created_at": now(), "result": {"message": IMG},
    })

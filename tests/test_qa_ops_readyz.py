"""/readyz after the keys are corrected: the old keys' 401 must not keep replicas unready."""

from __future__ import annotations

import dataclasses

import pytest

LIST = "/actions/"


@pytest.mark.django_db
def test_corrected_credentials_are_not_judged_by_the_old_ones_401(
    emulator, operator_client, settings
):
    settings.VOUCHERIFY = dataclasses.replace(emulator.config, app_token="revoked-app-token")
    operator_client.get(LIST)
    assert emulator.count(status=401) >= 1
    assert operator_client.get("/readyz").status_code == 503

    # A redeploy with the right keys, sharing the same cache (Redis), before any call.
    settings.VOUCHERIFY = emulator.config
    emulator.clear_stats()
    response = operator_client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["upstream_credentials"]["status"] == "unknown"
    assert emulator.stats()["total"] == 0

    # And the old keys, were they put back, are still known to be rejected.
    settings.VOUCHERIFY = dataclasses.replace(emulator.config, app_token="revoked-app-token")
    assert operator_client.get("/readyz").status_code == 503

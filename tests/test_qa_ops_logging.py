"""A request with a Host not in ALLOWED_HOSTS logs one WARNING line, not an ERROR traceback."""

from __future__ import annotations

import pytest

from tests.test_observability_logging import json_log

__all__ = ["json_log"]  # fixture


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/actions/"])
def test_a_disallowed_host_is_one_warning_line_without_a_traceback(client, json_log, path):
    response = client.get(path, HTTP_HOST="10.0.0.7")  # a probe sent without the right Host
    assert response.status_code == 400
    [line] = [line for line in json_log() if line["logger"] == "django.security.DisallowedHost"]
    assert line["level"] == "WARNING"
    assert "10.0.0.7" in line["message"]
    assert "Traceback" not in json_log.text()

"""JSON log lines: one object per line, with request id and user, and never a secret; a
disallowed Host is one WARNING line without a traceback."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from dashboard.observability.logging import JsonFormatter


@pytest.mark.django_db
def test_a_request_logs_its_request_id_and_user(operator_client, json_log):
    response = operator_client.get("/no-such-page", HTTP_X_REQUEST_ID="lb-7f3a.9")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "lb-7f3a.9"
    [line] = [line for line in json_log() if line["logger"] == "django.request"]
    assert line["level"] == "WARNING"
    assert line["request_id"] == "lb-7f3a.9"
    assert line["user"] == "operator-user"
    assert line["status_code"] == 404
    assert {"time", "message"} <= line.keys()


@pytest.mark.parametrize("incoming", ["", "has space", "x" * 200, "new\nline", "<script>"])
def test_an_unusable_request_id_is_replaced(client, incoming):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)
    echoed = response["X-Request-ID"]
    assert echoed != incoming and len(echoed) == 32 and echoed.isalnum()


@pytest.mark.django_db
def test_an_upstream_error_logs_the_upstream_request_id_and_no_key(
    emulator, operator_client, settings, json_log
):
    settings.VOUCHERIFY = dataclasses.replace(emulator.config, app_token="revoked-app-token")
    operator_client.get("/actions/")
    [line] = [line for line in json_log() if "HTTP 401" in line["message"]]
    assert line["logger"] == "dashboard.voucherify.client"
    assert line["upstream_request_id"].startswith("v-")
    assert line["user"] == "operator-user" and line["request_id"]
    text = json_log.text()
    assert "revoked-app-token" not in text


def test_secrets_are_redacted_by_name_and_by_value(settings, json_log):
    settings.METRICS_TOKEN = "metrics-token-value-77"
    logging.getLogger("dashboard.test").warning(
        "configured with %s and %s", settings.SECRET_KEY, settings.METRICS_TOKEN,
        extra={"password": "pw-1", "api_key": "k-2", "context": {"Authorization": "Bearer t-3"},
               "attempt": 2},
    )
    [line] = json_log()
    assert line["message"] == "configured with [redacted] and [redacted]"
    assert line["password"] == line["api_key"] == "[redacted]"
    assert line["context"] == {"Authorization": "[redacted]"}
    assert line["attempt"] == 2
    text = json_log.text()
    assert not any(secret in text for secret in ("pw-1", "k-2", "t-3", settings.SECRET_KEY))


def test_gunicorn_access_lines_keep_the_request_and_drop_its_headers():
    atoms = {
        "m": "GET", "U": "/actions/", "q": "status=DONE", "s": "200", "B": 512, "D": 12500,
        "h": "10.0.0.7", "a": "kube-probe/1.30", "{x-request-id}o": "abc123",
        "{authorization}i": "Bearer scrape-secret", "{cookie}i": "sessionid=s3cr3t",
    }
    record = logging.LogRecord("gunicorn.access", logging.INFO, "", 0, "%(m)s", (atoms,), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "GET /actions/ 200"
    assert (line["status"], line["duration_ms"], line["request_id"]) == (200, 12.5, "abc123")
    assert line["query"] == "status=DONE" and line["remote_addr"] == "10.0.0.7"
    text = json.dumps(line)
    assert "scrape-secret" not in text and "s3cr3t" not in text


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/actions/"])
def test_a_disallowed_host_is_one_warning_line_without_a_traceback(client, json_log, path):
    response = client.get(path, HTTP_HOST="10.0.0.7")  # a probe sent without the right Host
    assert response.status_code == 400
    [line] = [line for line in json_log() if line["logger"] == "django.security.DisallowedHost"]
    assert line["level"] == "WARNING"
    assert "10.0.0.7" in line["message"]
    assert "Traceback" not in json_log.text()

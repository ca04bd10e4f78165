"""Voucherify settings from the environment: every mode, and one sentence for each mistake."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from dashboard import env
from dashboard.voucherify.config import (
    CLUSTERS,
    DEMO_APP_ID,
    EMULATOR_URL,
    ConfigurationError,
    VoucherifyConfig,
)
from tests.helpers.repo import ROOT

KEYS = {"VOUCHERIFY_APP_ID": "id-secret-1234", "VOUCHERIFY_APP_TOKEN": "token-secret-5678"}


@pytest.mark.parametrize("cluster", ["eu", "us1", "as1", "US1"])
def test_cluster_names_pick_the_base_url(cluster):
    config = VoucherifyConfig.from_env({"VOUCHERIFY_CLUSTER": cluster, **KEYS})
    assert config.base_url == CLUSTERS[cluster.lower()]
    assert config.auth == "keys"


def test_full_url_for_a_dedicated_cluster_or_the_emulator():
    config = VoucherifyConfig.from_env({"VOUCHERIFY_API_URL": "http://127.0.0.1:8001/", **KEYS})
    assert config.api_url == "http://127.0.0.1:8001"


def test_oauth_mode_keeps_the_keys_to_exchange():
    config = VoucherifyConfig.from_env(
        {"VOUCHERIFY_CLUSTER": "eu", "VOUCHERIFY_AUTH": "OAuth", **KEYS}
    )
    assert config.auth == "oauth"
    assert config.app_id == KEYS["VOUCHERIFY_APP_ID"]


def test_a_bearer_token_alone_selects_bearer_mode():
    config = VoucherifyConfig.from_env(
        {"VOUCHERIFY_CLUSTER": "as1", "VOUCHERIFY_BEARER_TOKEN": "bearer-secret-9999"}
    )
    assert (config.auth, config.bearer_token, config.app_id) == (
        "bearer", "bearer-secret-9999", None
    )


def test_secrets_can_come_from_files(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("token-from-file\n")
    config = VoucherifyConfig.from_env({
        "VOUCHERIFY_CLUSTER": "eu",
        "VOUCHERIFY_APP_ID": "id",
        "VOUCHERIFY_APP_TOKEN_FILE": str(token_file),
    })
    assert config.app_token == "token-from-file"


def test_django_secrets_follow_the_same_file_rules(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("key-from-file\n")
    # A blank NAME beside NAME_FILE is unset, as for the Voucherify settings.
    environ = {"DJANGO_SECRET_KEY": " ", "DJANGO_SECRET_KEY_FILE": str(key_file)}
    assert env.secret("DJANGO_SECRET_KEY", environ) == "key-from-file"
    assert env.secret("DJANGO_SECRET_KEY", {"DJANGO_SECRET_KEY": "  "}) is None


@pytest.mark.parametrize(
    "environ,fragment",
    [
        ({"METRICS_TOKEN": "t", "METRICS_TOKEN_FILE": "/etc/hosts"}, "not both"),
        ({"METRICS_TOKEN_FILE": "/nonexistent/x"}, "cannot be read"),
    ],
)
def test_django_secret_mistakes_are_django_configuration_errors(environ, fragment):
    with pytest.raises(ImproperlyConfigured, match=fragment):
        env.secret("METRICS_TOKEN", environ)


def test_timeouts_and_retries_are_configurable():
    config = VoucherifyConfig.from_env({
        "VOUCHERIFY_CLUSTER": "eu", **KEYS, "VOUCHERIFY_CONNECT_TIMEOUT": "1.5",
        "VOUCHERIFY_READ_TIMEOUT": "7", "VOUCHERIFY_RETRIES": "0",
    })
    assert (config.connect_timeout, config.read_timeout, config.retries) == (1.5, 7.0, 0)


def test_nothing_configured_means_the_emulator_only_when_allowed():
    config = VoucherifyConfig.from_env({}, allow_emulator_default=True)
    assert (config.base_url, config.app_id) == (EMULATOR_URL, DEMO_APP_ID)
    with pytest.raises(ConfigurationError, match="VOUCHERIFY_CLUSTER"):
        VoucherifyConfig.from_env({})


def test_secrets_stay_out_of_the_repr():
    config = VoucherifyConfig.from_env({"VOUCHERIFY_CLUSTER": "eu", **KEYS})
    assert "secret" not in repr(config)
    bearer = VoucherifyConfig(base_url=CLUSTERS["eu"], auth="bearer", bearer_token="bt-secret")
    assert "bt-secret" not in repr(bearer)


@pytest.mark.parametrize(
    ("environ", "names"),
    [
        ({"VOUCHERIFY_CLUSTER": "eu", "VOUCHERIFY_API_URL": "https://x.example", **KEYS},
         ["VOUCHERIFY_CLUSTER", "VOUCHERIFY_API_URL"]),
        ({"VOUCHERIFY_CLUSTER": "mars", **KEYS}, ["VOUCHERIFY_CLUSTER"]),
        ({**KEYS}, ["VOUCHERIFY_CLUSTER"]),
        ({"VOUCHERIFY_CLUSTER": "eu"}, ["VOUCHERIFY_APP_ID"]),
        ({"VOUCHERIFY_CLUSTER": "eu", "VOUCHERIFY_APP_ID": "id"}, ["VOUCHERIFY_APP_TOKEN"]),
        ({"VOUCHERIFY_CLUSTER": "eu", "VOUCHERIFY_AUTH": "oauth", "VOUCHERIFY_APP_TOKEN": "t"},
         ["VOUCHERIFY_APP_ID"]),
        ({"VOUCHERIFY_CLUSTER": "eu", "VOUCHERIFY_AUTH": "magic", **KEYS}, ["VOUCHERIFY_AUTH"]),
        ({"VOUCHERIFY_CLUSTER": "eu", "VOUCHERIFY_AUTH": "oauth",
          "VOUCHERIFY_BEARER_TOKEN": "b"}, ["VOUCHERIFY_BEARER_TOKEN", "oauth"]),
        ({"VOUCHERIFY_CLUSTER": "eu", "VOUCHERIFY_AUTH": "keys",
          "VOUCHERIFY_BEARER_TOKEN": "b"}, ["VOUCHERIFY_BEARER_TOKEN", "keys"]),
        ({"VOUCHERIFY_CLUSTER": "eu", "VOUCHERIFY_BEARER_TOKEN": "b", **KEYS},
         ["VOUCHERIFY_BEARER_TOKEN", "VOUCHERIFY_APP_ID"]),
        ({"VOUCHERIFY_CLUSTER": "eu", "VOUCHERIFY_AUTH": "bearer"}, ["VOUCHERIFY_BEARER_TOKEN"]),
        ({"VOUCHERIFY_API_URL": "api.voucherify.io", **KEYS}, ["VOUCHERIFY_API_URL"]),
        ({"VOUCHERIFY_API_URL": "https://api.voucherify.io/v1", **KEYS}, ["/v1"]),
        ({"VOUCHERIFY_CLUSTER": "eu", **KEYS, "VOUCHERIFY_READ_TIMEOUT": "soon"},
         ["VOUCHERIFY_READ_TIMEOUT"]),
        ({"VOUCHERIFY_CLUSTER": "eu", **KEYS, "VOUCHERIFY_CONNECT_TIMEOUT": "0"},
         ["VOUCHERIFY_CONNECT_TIMEOUT"]),
        ({"VOUCHERIFY_CLUSTER": "eu", **KEYS, "VOUCHERIFY_RETRIES": "2.5"},
         ["VOUCHERIFY_RETRIES"]),
        ({"VOUCHERIFY_CLUSTER": "eu", **KEYS, "VOUCHERIFY_APP_TOKEN_FILE": "/nonexistent/x"},
         ["VOUCHERIFY_APP_TOKEN", "_FILE"]),
    ],
)
def test_contradictory_or_missing_settings_stop_with_one_sentence(environ, names):
    with pytest.raises(ConfigurationError) as caught:
        VoucherifyConfig.from_env(environ)
    message = str(caught.value)
    for name in names:
        assert name in message
    assert "\n" not in message
    assert message.endswith(".")
    assert message.count(". ") == 0, "one sentence"
    for secret in ("id-secret-1234", "token-secret-5678"):
        assert secret not in message


def test_credentials_in_the_url_are_refused_without_echoing_them():
    with pytest.raises(ConfigurationError) as caught:
        VoucherifyConfig.from_env({"VOUCHERIFY_API_URL": "https://me:hunter2@api.example", **KEYS})
    assert "hunter2" not in str(caught.value)


def _manage(args, extra_env):
    environ = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("VOUCHERIFY_", "DJANGO_"))
    }
    environ.update({
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DJANGO_SECRET_KEY": "subprocess-test-secret-key-0123456789-abcdefghijklmnop",
        **extra_env,
    })
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environ,
        capture_output=True, text=True, timeout=120,
    )


def test_start_up_with_contradictory_settings_prints_one_line_without_a_traceback():
    result = _manage(["check"], {
        "VOUCHERIFY_CLUSTER": "eu", "VOUCHERIFY_API_URL": "https://x.example", **KEYS,
    })
    assert result.returncode != 0
    output = (result.stderr + result.stdout).strip()
    assert "Traceback" not in output
    assert output.splitlines() == [
        "Configuration error: Set VOUCHERIFY_CLUSTER or VOUCHERIFY_API_URL, not both."
    ]


def test_start_up_with_good_settings_passes_the_check():
    result = _manage(["check"], {"VOUCHERIFY_CLUSTER": "eu", **KEYS})
    assert result.returncode == 0, result.stderr

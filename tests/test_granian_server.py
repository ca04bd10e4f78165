"""`make serve SERVER=granian` (dashboard/granian_server.py): granian's settings come from the
environment with gunicorn's defaults; a bad value stops it with the variable's name. Serving
the dashboard under it is tested with real processes in tests/test_replicas.py."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from dashboard.granian_server import options


def test_granian_listens_on_loopback_with_two_workers_by_default():
    assert options({}) == {"address": "127.0.0.1", "port": 8000, "workers": 2,
                           "blocking_threads": 4, "backlog": 4096}


def test_a_platforms_port_and_concurrency_are_followed():
    found = options({"PORT": "9000", "WEB_CONCURRENCY": "3"})
    assert (found["address"], found["port"], found["workers"]) == ("0.0.0.0", 9000, 3)


def test_granians_own_variables_win():
    found = options({"PORT": "9000", "GRANIAN_HOST": "10.0.0.5", "GRANIAN_PORT": "8100",
                     "WEB_CONCURRENCY": "3", "GRANIAN_WORKERS": "5",
                     "GRANIAN_BLOCKING_THREADS": "8", "GRANIAN_BACKLOG": "256"})
    assert found == {"address": "10.0.0.5", "port": 8100, "workers": 5,
                     "blocking_threads": 8, "backlog": 256}


@pytest.mark.parametrize("name, value", [("GRANIAN_WORKERS", "0"), ("GRANIAN_PORT", "eighty"),
                                         ("GRANIAN_BACKLOG", "10"), ("PORT", "eighty")])
def test_a_bad_value_names_its_variable(name, value):
    with pytest.raises(ImproperlyConfigured, match=name):
        options({name: value})

"""Plain helpers the tests import: reading pages, driving the upstream, starting services.

Fixtures live in tests/fixtures/ (registered once, by tests/conftest.py); test modules import
only from here, never from each other.
"""

"""Shared fixtures live in tests/fixtures/, one module per area, loaded here."""

pytest_plugins = [
    "tests.fixtures.emulator",
    "tests.fixtures.users",
    "tests.fixtures.browser",
    "tests.fixtures.panels",
    "tests.fixtures.alerts",
]

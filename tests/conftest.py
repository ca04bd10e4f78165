"""Every shared fixture lives in tests/fixtures/, one module per area, registered here once.

Plain helpers (reading pages, driving the upstream, starting services) live in tests/helpers/.
Test modules import from those two packages only, never from each other.
"""

pytest_plugins = [
    "tests.fixtures.emulator",
    "tests.fixtures.users",
    "tests.fixtures.browser",
    "tests.fixtures.panels",
    "tests.fixtures.alerts",
    "tests.fixtures.polling",
    "tests.fixtures.history",
    "tests.fixtures.logs",
    "tests.fixtures.hostile",
]

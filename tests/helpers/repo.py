"""Where the project's files are, for tests that run `manage.py` or read its files."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

"""The fixed clock of the tests that book appointments."""

from __future__ import annotations

TEST_NOW = "2026-11-25T09:00:00"  # a Wednesday morning in Santo Domingo

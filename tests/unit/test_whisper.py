"""Whisper adapter helpers that need no model."""

from __future__ import annotations

from adapters.whisper_stt import collapse_repeats


def test_whisper_loops_are_collapsed() -> None:
    assert collapse_repeats("Necesito una cita. Necesito una cita. Necesito una cita") == "Necesito una cita."
    assert collapse_repeats("hace hace hace hace hace") == "hace"
    assert collapse_repeats("Sí, sí, claro. Gracias.") == "Sí, sí, claro. Gracias."

from __future__ import annotations

import pytest

from engine.options import SettingsError
from taina.settings import Settings, describe


def test_defaults_and_environment() -> None:
    settings = Settings.from_env({"TAINA_DATA_DIR": "/tmp/x", "TAINA_ENDPOINT_SILENCE_MS": "600",
                                  "TAINA_WEBRTC_ICE_ADDRESSES": "127.0.0.1, ::1"})  # fmt: skip
    assert str(settings.data_dir) == "/tmp/x"
    assert settings.endpoint.silence_ms == 600
    assert settings.webrtc.ice_addresses == ("127.0.0.1", "::1")
    assert settings.vad.aggressiveness == 2


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TAINA_VAD_AGGRESSIVENESS", "7", "TAINA_VAD_AGGRESSIVENESS must be 0-3"),
        ("TAINA_HTTP_PORT", "eighty", "TAINA_HTTP_PORT must be an integer"),
        ("TAINA_ENDPOINT_PAUSE_MS", "900", "below TAINA_ENDPOINT_SILENCE_MS"),
        ("TAINA_WEBRTC_ICE_ADDRESSES", "localhost", "is not an IP address"),
        ("TAINA_AUDIO_FRAME_MS", "25", "10, 20 or 30"),
        ("TAINA_ENDPOINT_SILENCE_COMPLETE_MS", "600", "at most TAINA_ENDPOINT_SILENCE_MS"),
        ("TAINA_ENDPOINT_SILENCE_INCOMPLETE_MS", "100", "between TAINA_ENDPOINT_SILENCE_MS and 5000"),
        ("TAINA_TURN_MIN_INTERRUPTION_MS", "20", "TAINA_TURN_MIN_INTERRUPTION_MS must be 100-3000"),
        ("TAINA_TURN_INTERRUPTIBLE", "maybe", "TAINA_TURN_INTERRUPTIBLE"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({name: value})


def test_every_setting_is_documented() -> None:
    rows = describe(Settings.from_env({}))
    names = [name for name, _value, _help in rows]
    assert len(names) == len(set(names)) > 20
    assert all(help_text for _name, _value, help_text in rows)

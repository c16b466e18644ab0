"""Headless Chromium for the browser tests: what it hears through its fake microphone, and its flags."""

from __future__ import annotations

from pathlib import Path

# espeak-ng's robotic voice through Opus is hard for Whisper base; this sentence survives it reliably.
QUESTION = "Buenos días, necesito información sobre los precios."


def chromium_flags(microphone: Path) -> list[str]:
    return [
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
        "--allow-loopback-in-peer-connection",
        "--autoplay-policy=no-user-gesture-required",
    ]

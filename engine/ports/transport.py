"""Where a call's audio comes from and goes to, and the page's events.

A transport is three small parts: the caller's audio in, the assistant's audio out (paced, pausable, tapped by
the recorder), and events for the caller's screen. Session takes one object that is all three.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from engine.audio import AudioFrame


class AudioInput(Protocol):
    def inbound(self) -> AsyncIterator[AudioFrame]:
        """The user's audio as it arrives; ends when the user hangs up."""


class AudioOutput(Protocol):
    output_rate: int

    async def play(self, frame: AudioFrame, on_sent: Callable[[float], None] | None = None) -> None:
        """Queue one output frame (``output_rate``, mono, one frame long); ``on_sent(t)`` when it leaves."""

    async def drained(self) -> None:
        """Return once every queued frame has left."""

    def pause_output(self) -> None:
        """Silence from the next frame on, keeping the queued frames (a possible interruption)."""

    def resume_output(self) -> None:
        """Go on playing the queued frames."""

    def clear_output(self) -> int:
        """Drop every queued frame (an interrupted reply); returns how many were dropped."""

    def tap_output(self, tap: Callable[[NDArray[np.int16], int, float], None]) -> None:
        """Have ``tap(samples, rate, sent_at)`` called with every frame that leaves, silence included."""


class PageEvents(Protocol):
    def send_event(self, event: dict[str, Any]) -> None:
        """A state or transcript event for the user's screen; dropped if there is no screen."""


class Transport(AudioInput, AudioOutput, PageEvents, Protocol):
    """Where the conversation's audio comes from and goes to (a browser over WebRTC, a file, ...)."""

    async def aclose(self) -> None: ...

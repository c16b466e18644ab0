"""The fake Deepgram and ElevenLabs served from their own event loop on a thread, so that subprocesses (the
server, `taina converse`) can talk to them while the test changes their fault modes."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from tests.support.fake_deepgram import KEY as DEEPGRAM_KEY
from tests.support.fake_deepgram import FakeDeepgram
from tests.support.fake_elevenlabs import KEY as ELEVENLABS_KEY
from tests.support.fake_elevenlabs import FakeElevenLabs


class Fakes:
    """Both fakes, served from their own event loop on a thread, for subprocesses to talk to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.deepgram = self.run(FakeDeepgram().start())
        self.elevenlabs = self.run(FakeElevenLabs().start())

    def run(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(30)

    def reset(self, transcript: str, deepgram_fault: str = "", elevenlabs_fault: str = "") -> None:
        """The faults to show from now on (sticky), and what the fake Deepgram 'hears' in every utterance."""
        self.deepgram.fault, self.deepgram.sticky = deepgram_fault, True
        self.deepgram.transcripts[:] = [transcript] * 50
        self.elevenlabs.fault, self.elevenlabs.sticky = elevenlabs_fault, True
        self.deepgram.violations.clear()
        self.elevenlabs.violations.clear()

    def env(self) -> dict[str, str]:
        """Settings that point both cloud adapters at the fakes, with short deadlines."""
        return {
            "DEEPGRAM_API_KEY": DEEPGRAM_KEY, "DEEPGRAM_URL": self.deepgram.url,
            "ELEVENLABS_API_KEY": ELEVENLABS_KEY, "ELEVENLABS_URL": self.elevenlabs.url,
            "TAINA_DEEPGRAM_FINALIZE_TIMEOUT_S": "0.8", "TAINA_ELEVENLABS_FIRST_AUDIO_TIMEOUT_S": "0.8",
        }  # fmt: skip

    def close(self) -> None:
        self.run(self.deepgram.stop())
        self.run(self.elevenlabs.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

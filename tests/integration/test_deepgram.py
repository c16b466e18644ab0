"""The Deepgram adapter against a local fake that speaks Deepgram's live protocol, and failover to Whisper-like
local recognition when it fails."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest

from adapters.deepgram_stt import DeepgramSettings, DeepgramSpeechToText, listen_url
from engine.audio import AudioFrame
from engine.failover import FailoverSpeechToText
from engine.ports.speech import ProviderError, Transcript
from taina.settings import Settings
from tests.support.fake_deepgram import KEY, FakeDeepgram

FRAME = 320  # 20 ms at 16 kHz


@pytest.fixture
async def fake() -> AsyncIterator[FakeDeepgram]:
    server = await FakeDeepgram(transcripts=["¿Cuánto cuesta la consulta?", "Gracias."]).start()
    yield server
    await server.stop()


def settings(fake: FakeDeepgram, **extra: str) -> DeepgramSettings:
    env = {
        "DEEPGRAM_API_KEY": KEY,
        "DEEPGRAM_URL": fake.url,
        "TAINA_DEEPGRAM_FINALIZE_TIMEOUT_S": "0.5",
        **extra,
    }
    return Settings.from_env(env).deepgram


def frames(seconds: float) -> list[AudioFrame]:
    rng = np.random.default_rng(1)
    audio = (rng.normal(0, 3000, int(seconds * 16_000))).astype(np.int16)
    return [AudioFrame(audio[i : i + FRAME], 16_000) for i in range(0, len(audio) - FRAME + 1, FRAME)]


async def utterance(
    stt: DeepgramSpeechToText | FailoverSpeechToText, seconds: float = 1.0, interims: list[str] | None = None
) -> Transcript:
    stream = stt.open(on_interim=(interims.append if interims is not None else None))
    for frame in frames(seconds):
        await stream.send(frame)
        await asyncio.sleep(0)  # let the sender run, as the 20 ms pacing of a real call does
    await asyncio.sleep(0.05)
    return await stream.finish()


class LocalRecognizer:
    """Stands in for Whisper behind the failover: it says how much audio it was given."""

    name = "local"

    def __init__(self) -> None:
        self.frames = 0

    def start(self) -> None: ...

    def open(self, on_interim: object = None) -> LocalRecognizer:
        return self

    async def send(self, frame: AudioFrame) -> None:
        self.frames += 1

    def speech_paused(self) -> None: ...

    def speech_resumed(self) -> None: ...

    async def finish(self) -> Transcript:
        return Transcript(f"local:{self.frames}")

    async def aclose(self) -> None: ...


def test_the_listen_url_carries_every_option() -> None:
    url = listen_url(DeepgramSettings(keyterms=("Tavárez", "Piantini")))
    assert url.startswith(
        "wss://api.deepgram.com/v1/listen?model=nova-3&language=es&encoding=linear16&sample_rate=16000"
    )
    assert "interim_results=true" in url and "vad_events=true" in url and "utterance_end_ms=1000" in url
    assert "keyterm=Tav%C3%A1rez&keyterm=Piantini" in url


async def test_turns_are_finalized_with_interims_keepalive_and_closestream(fake: FakeDeepgram) -> None:
    fake.idle_timeout_s = 1.5  # the fake hangs up an idle socket after 1.5 s, as Deepgram does after ~10 s
    # The clinic's keyterms are the app's default (taina/settings.py fills them in); the adapter sends what it is given.
    stt = DeepgramSpeechToText(
        settings(fake, TAINA_DEEPGRAM_KEEPALIVE_S="0.5").model_copy(
            update={"keyterms": ("Tavárez", "Piantini")}
        )
    )
    stt.start()
    async with asyncio.timeout(5):
        await stt.connected.wait()
    assert stt.connections == 1  # connected ahead of the first utterance
    interims: list[str] = []
    first = await utterance(stt, 1.0, interims)
    assert first.text == "¿Cuánto cuesta la consulta?" and interims and interims[0].startswith("¿Cuánto")
    await asyncio.sleep(2.5)  # silence: KeepAlive keeps the socket open past the idle timeout
    assert fake.keepalives >= 2
    assert (await utterance(stt, 0.5)).text == "Gracias."
    await stt.aclose()
    assert stt.connections == 1 and fake.connections == 1 and fake.finalizes == 2 and fake.closestreams == 1
    assert fake.violations == []
    query = fake.queries[0]
    assert query["model"] == ["nova-3"] and query["language"] == ["es"] and "Tavárez" in query["keyterm"]


async def test_a_socket_closed_mid_utterance_reconnects_and_replays_the_audio(fake: FakeDeepgram) -> None:
    fake.fault = "close_mid_utterance"
    stt = DeepgramSpeechToText(settings(fake))
    stt.start()
    assert (await utterance(stt, 1.0)).text == "¿Cuánto cuesta la consulta?"
    assert fake.connections == 2
    assert fake.audio_per_connection[1] == 50 * FRAME * 2  # the whole utterance was sent again
    await stt.aclose()


@pytest.mark.parametrize("fault", ["refuse", "stall", "malformed"])
async def test_a_failing_deepgram_raises_provider_error_and_recovers_next_turn(
    fake: FakeDeepgram, fault: str
) -> None:
    fake.fault = fault
    fake.sticky = fault == "refuse"
    stt = DeepgramSpeechToText(settings(fake, TAINA_DEEPGRAM_RECONNECTS="1"))
    stt.start()
    with pytest.raises(ProviderError):
        await utterance(stt, 0.6)
    fake.fault, fake.sticky = "", False
    # The cloud is tried again on the next turn (the failed turn's words were never finalized).
    assert (await utterance(stt, 0.6)).text == "¿Cuánto cuesta la consulta?"
    await stt.aclose()


@pytest.mark.parametrize("fault", ["refuse", "close_mid_utterance", "stall", "malformed"])
async def test_failover_finishes_the_turn_locally(fake: FakeDeepgram, fault: str) -> None:
    fake.fault = fault
    fake.sticky = True
    local = LocalRecognizer()
    stt = FailoverSpeechToText(DeepgramSpeechToText(settings(fake, TAINA_DEEPGRAM_RECONNECTS="1")), local)
    stt.start()
    assert (
        await utterance(stt, 1.0)
    ).text == "local:50"  # every frame of the utterance reached the local adapter
    assert stt.failovers == 1
    fake.fault = ""
    assert (await utterance(stt, 0.6)).text == "¿Cuánto cuesta la consulta?"  # back on the cloud
    await stt.aclose()


async def speak_then_wait(
    stt: DeepgramSpeechToText | FailoverSpeechToText, speech_s: float = 0.6, hangover_s: float = 0.44
) -> tuple[Transcript, float]:
    """Speech, then the silence the engine's endpointer waits for (440 ms) before it ends the turn, paced in
    real time as a call is: the transcript, and how long after the end of speech it came."""
    stream = stt.open()
    silence = np.zeros(FRAME, dtype=np.int16)
    start = time.monotonic()
    speech = frames(speech_s)
    for i, frame in enumerate(speech):
        await stream.send(frame)
        await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - time.monotonic()))
    ended = time.monotonic()
    for i in range(round(hangover_s / 0.02)):
        await stream.send(AudioFrame(silence, 16_000))
        await asyncio.sleep(max(0.0, ended + (i + 1) * 0.02 - time.monotonic()))
    transcript = await stream.finish()
    return transcript, time.monotonic() - ended


@pytest.mark.parametrize("answers_empty_finalize", [False, True])
async def test_a_turn_deepgram_finalized_by_itself_does_not_wait_for_the_fallback(
    fake: FakeDeepgram, answers_empty_finalize: bool
) -> None:
    """The real service's endpointing (300 ms) finalizes before the engine's (440 ms), and it does not answer a
    Finalize with nothing buffered: the transcript is ready when the engine ends the turn (it used to wait
    finalize_timeout, 1.5 s, and fall back to Whisper)."""
    fake.finalizes_first, fake.answers_empty_finalize = True, answers_empty_finalize
    stt = DeepgramSpeechToText(settings(fake, TAINA_DEEPGRAM_FINALIZE_TIMEOUT_S="1.5"))
    stt.start()
    for said in ("¿Cuánto cuesta la consulta?", "Gracias."):
        transcript, latency = await speak_then_wait(stt)
        assert transcript.text == said
        assert latency < 0.6, f"transcript {latency * 1000:.0f} ms after the end of speech"
    assert fake.self_finals == 2 and fake.finalizes == 0  # nothing buffered: no Finalize to go unanswered
    await stt.aclose()
    assert fake.violations == []


async def test_words_after_deepgrams_own_final_are_finalized_and_utterance_end_is_understood(
    fake: FakeDeepgram,
) -> None:
    fake.finalizes_first = True
    fake.transcripts[:] = ["Quiero una cita", "con pediatría."]
    stt = DeepgramSpeechToText(settings(fake, TAINA_DEEPGRAM_FINALIZE_TIMEOUT_S="1.5"))
    stream = stt.open()
    silence = AudioFrame(np.zeros(FRAME, dtype=np.int16), 16_000)
    for frame in [*frames(0.6), *[silence] * 55]:  # a pause of 1.1 s: its own final, then UtteranceEnd
        await stream.send(frame)
        await asyncio.sleep(0.005)
    for _ in range(500):  # polled, with a deadline of 5 s
        if fake.utterance_ends:
            break
        await asyncio.sleep(0.01)
    assert fake.utterance_ends == 1 and fake.self_finals == 1
    for frame in frames(0.6):  # the caller goes on: these words are not final yet
        await stream.send(frame)
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.1)
    transcript = await stream.finish()
    assert transcript.text == "Quiero una cita con pediatría." and fake.finalizes == 1
    await stt.aclose()


async def test_rate_limited_inside_an_open_stream_fails_over_with_the_reason(fake: FakeDeepgram) -> None:
    fake.fault, fake.sticky = "rate_limit", True
    stt = DeepgramSpeechToText(settings(fake, TAINA_DEEPGRAM_RECONNECTS="1"))
    with pytest.raises(ProviderError, match=r"HTTP 429 \(rate limited"):
        await utterance(stt, 1.0)
    local = LocalRecognizer()
    failover = FailoverSpeechToText(stt, local)
    assert (await utterance(failover, 1.0)).text == "local:50"
    await stt.aclose()

"""The ElevenLabs adapter against a local fake that speaks the stream-input protocol, and failover to the
local voice for whatever the cloud did not say."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import cast

import numpy as np
import pytest

from adapters.elevenlabs_tts import (
    ElevenLabsSettings,
    ElevenLabsTextToSpeech,
    VoicedError,
    clauses,
    stream_url,
)
from engine.audio import AudioChunk, AudioFrame
from engine.failover import FailoverTextToSpeech, remainder
from engine.ports.speech import ProviderError
from engine.ports.transport import Transport
from engine.speaker import Speaker
from engine.waterfall import Waterfall
from taina.settings import Settings
from tests.support.fake_elevenlabs import (
    CHARS_PER_MESSAGE,
    KEY,
    MS_PER_CHAR,
    QUOTA_MESSAGE,
    SERVER_ERROR_REASON,
    WRONG_KEY_REASON,
    FakeElevenLabs,
)
from tests.support.polling import until

SENTENCE = "Tengo el jueves a las tres, con la doctora Tavárez."


@pytest.fixture
async def fake() -> AsyncIterator[FakeElevenLabs]:
    server = await FakeElevenLabs().start()
    yield server
    await server.stop()


def settings(fake: FakeElevenLabs, **extra: str) -> ElevenLabsSettings:
    env = {"ELEVENLABS_API_KEY": KEY, "ELEVENLABS_URL": fake.url, "TAINA_ELEVENLABS_FIRST_AUDIO_TIMEOUT_S": "0.5",
           **extra}  # fmt: skip
    return Settings.from_env(env).elevenlabs


async def say(tts: ElevenLabsTextToSpeech | FailoverTextToSpeech, text: str = SENTENCE) -> list[AudioChunk]:
    return [chunk async for chunk in tts.synthesize(text)]


class LocalVoice:
    name = "local"

    def __init__(self) -> None:
        self.said: list[str] = []

    def start(self) -> None: ...

    async def aclose(self) -> None: ...

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        self.said.append(text)
        yield AudioChunk(np.zeros(160, np.int16), 16_000)


def test_url_and_clauses() -> None:
    url = stream_url(ElevenLabsSettings(voice_id="v1"))
    assert url.startswith(
        "wss://api.elevenlabs.io/v1/text-to-speech/v1/stream-input?model_id=eleven_flash_v2_5"
    )
    assert "output_format=pcm_24000" in url and "language_code=es" in url and "enable_logging=false" in url
    assert clauses("Hola, ¿cómo está? Bien; gracias.") == ["Hola, ", "¿cómo está? Bien; ", "gracias. "]
    assert (
        remainder("Tengo el jueves a las tres.", 12) == "jueves a las tres." and remainder("Hola.", 5) == ""
    )


async def test_a_sentence_is_spoken_on_a_connection_opened_ahead(fake: FakeElevenLabs) -> None:
    tts = ElevenLabsTextToSpeech(settings(fake))
    tts.start()
    await until(lambda: fake.connections == 1, what="the connection opened ahead")  # before anything to say
    assert tts.connections == 1
    chunks = await say(tts)
    samples = np.concatenate([c.samples for c in chunks])
    assert {c.sample_rate for c in chunks} == {24_000}
    assert abs(len(samples) / 24_000 - len(SENTENCE) * MS_PER_CHAR / 1000) < 0.01
    assert chunks[-1].voiced_chars == len(SENTENCE)
    assert fake.sentences == [SENTENCE] and fake.violations == []
    await until(lambda: fake.connections == 2, what="the next sentence's connection")  # opened ahead
    again = await say(tts, "Gracias.")
    assert [c.sample_rate for c in again] == [24_000, 24_000] and again[-1].voiced_chars == len("Gracias.")
    assert fake.sentences == [SENTENCE, "Gracias."]
    await until(lambda: fake.connections == 3, what="the third sentence's connection")
    await tts.aclose()


async def test_an_idle_connection_is_kept_alive(fake: FakeElevenLabs) -> None:
    tts = ElevenLabsTextToSpeech(settings(fake, TAINA_ELEVENLABS_INACTIVITY_TIMEOUT_S="5"))
    tts.start()
    await asyncio.sleep(6)  # past the server's inactivity timeout
    assert fake.keepalives >= 2 and fake.connections == 1
    chunks = await say(tts, "Hola.")
    assert chunks[-1].voiced_chars == len("Hola.") and fake.sentences == ["Hola."]
    await until(lambda: fake.connections == 2, what="the next connection")  # the kept-alive one spoke
    await tts.aclose()


async def test_cancelling_a_sentence_closes_its_socket_and_the_next_one_speaks(fake: FakeElevenLabs) -> None:
    tts = ElevenLabsTextToSpeech(settings(fake))
    tts.start()
    stream = tts.synthesize("Una frase larga que nadie va a escuchar entera porque el paciente interrumpe.")
    first = await anext(stream)
    await stream.aclose()  # barge-in
    assert first.voiced_chars == 4
    chunks = await say(tts, "Dígame.")
    assert chunks[-1].voiced_chars == len("Dígame.") and fake.sentences[-1] == "Dígame."
    await tts.aclose()


# What each fault must be reported as: the service's own words where it gives them.
FAULTS = {
    "refuse": "refused the connection: HTTP 503",
    "close_mid_sentence": "ElevenLabs closed the connection without a close frame",
    "stall": "no audio for 0.5 s",
    "malformed": "not JSON",
    "odd_audio": "an odd length",
    "quota": re.escape(f"ElevenLabs reported quota_exceeded: {QUOTA_MESSAGE} (code 1008)"),
    "server_error": re.escape(f"ElevenLabs closed the connection (1008: {SERVER_ERROR_REASON})"),
}
AFTER_TWO_MESSAGES = ("close_mid_sentence", "quota", "server_error")  # the cloud said "Tengo el" first


@pytest.mark.parametrize("fault", FAULTS)
async def test_faults_raise_provider_error_and_the_next_sentence_tries_again(
    fake: FakeElevenLabs, fault: str
) -> None:
    fake.fault = fault
    tts = ElevenLabsTextToSpeech(settings(fake))
    tts.start()
    with pytest.raises(ProviderError, match=FAULTS[fault]) as failure:
        await say(tts)
    if fault in AFTER_TWO_MESSAGES:
        assert isinstance(failure.value, VoicedError) and failure.value.voiced_chars == 2 * CHARS_PER_MESSAGE
    chunks = await say(tts, "Sigo aquí.")
    assert chunks[-1].voiced_chars == len("Sigo aquí.") and fake.sentences[-1] == "Sigo aquí."
    await tts.aclose()


@pytest.mark.parametrize("fault", FAULTS)
async def test_failover_says_the_rest_with_the_local_voice(fake: FakeElevenLabs, fault: str) -> None:
    fake.fault, fake.sticky = fault, True
    local = LocalVoice()
    tts = FailoverTextToSpeech(ElevenLabsTextToSpeech(settings(fake)), local)
    tts.start()
    chunks = await say(tts)
    assert tts.failovers == 1
    if fault in AFTER_TWO_MESSAGES:  # the cloud said "Tengo el"; the rest is local
        assert local.said == ["jueves a las tres, con la doctora Tavárez."]
        assert len(chunks) == 3 and chunks[1].voiced_chars == len("Tengo el")  # two cloud, one local
    else:
        assert local.said == [SENTENCE] and len(chunks) == 1  # all of it local
    await tts.aclose()


async def test_a_wrong_key_is_accepted_then_closed_with_1008_and_fails_over(fake: FakeElevenLabs) -> None:
    # The service does not refuse a wrong key at the handshake (no HTTP 401): it opens the WebSocket and
    # closes it with 1008 (policy violation) and a reason, which is what the caller must be told.
    tts = ElevenLabsTextToSpeech(settings(fake, ELEVENLABS_API_KEY="wrong"))
    with pytest.raises(
        ProviderError, match=re.escape(f"ElevenLabs closed the connection (1008: {WRONG_KEY_REASON})")
    ):
        await say(tts)
    await tts.aclose()
    local = LocalVoice()
    failover = FailoverTextToSpeech(ElevenLabsTextToSpeech(settings(fake, ELEVENLABS_API_KEY="wrong")), local)
    failover.start()
    chunks = await say(failover)
    assert failover.failovers == 1 and local.said == [SENTENCE] and len(chunks) == 1
    assert fake.sentences == []  # nothing was spoken with a wrong key
    await failover.aclose()
    assert VoicedError("x", 3).voiced_chars == 3


async def test_alignment_is_per_message_and_voiced_counts_its_characters(fake: FakeElevenLabs) -> None:
    tts = ElevenLabsTextToSpeech(settings(fake))
    chunks = await say(tts)
    await tts.aclose()
    assert len(chunks) == len(fake.sent_alignments) > 2
    for alignment in fake.sent_alignments:  # the service's times run from each message's own start
        assert alignment["charStartTimesMs"][0] == 0
    spoken = ""
    for chunk, alignment in zip(chunks, fake.sent_alignments, strict=True):
        spoken += "".join(str(c) for c in alignment["chars"])
        # what the audio so far covers is the text its messages' alignments spell, whatever their times say
        assert SENTENCE[: chunk.voiced_chars] == spoken
        duration_ms = sum(int(str(d)) for d in alignment["charDurationsMs"])
        assert len(chunk.samples) == 24_000 * duration_ms // 1000
    assert chunks[-1].voiced_chars == len(SENTENCE)


async def test_an_interrupted_reply_knows_the_words_heard_with_per_message_alignment(
    fake: FakeElevenLabs,
) -> None:
    speaker = Speaker(ElevenLabsTextToSpeech(settings(fake)), cast(Transport, Output()), 20,
                      Waterfall(speech_ended_at=0.0), lambda _t: None)  # fmt: skip
    await speaker.say(SENTENCE)
    frames_per_message = CHARS_PER_MESSAGE * MS_PER_CHAR // 20
    # three messages: "Tengo el jue" (the word cut half-way was not heard); four: "Tengo el jueves "
    assert speaker.heard(3 * frames_per_message) == "Tengo el"
    assert speaker.heard(4 * frames_per_message) == "Tengo el jueves"
    assert speaker.heard(speaker.frames_queued) == SENTENCE


LONG = (
    "Tengo el jueves a las tres con la doctora Tavárez, el viernes a las diez con el doctor Peña, "
    "y el lunes por la mañana con la doctora Rosario; dígame cuál le conviene más y se lo reservo ahora."
)


async def test_audio_sent_before_the_end_of_input_is_all_played_in_order(fake: FakeElevenLabs) -> None:
    assert len(LONG) > 120  # past the first length of the chunk length schedule
    tts = ElevenLabsTextToSpeech(settings(fake))
    chunks = await say(tts, LONG)
    await tts.aclose()
    # the service answered as soon as its buffer reached 120 characters, before the end of input
    assert fake.events.index("audio") < fake.events.index("eos")
    assert fake.events.count("audio") == len(chunks)
    # nothing lost, nothing reordered: the samples are the ones sent, in the order sent
    received = np.concatenate([c.samples for c in chunks]).astype("<i2").tobytes()
    assert received == b"".join(fake.sent_audio)
    voiced = [c.voiced_chars for c in chunks]
    assert voiced == sorted(set(voiced)) and voiced[-1] == len(LONG)
    assert fake.sentences == [LONG] and fake.violations == []


class Output:
    output_rate = 24_000

    def __init__(self) -> None:
        self.frames = 0

    async def play(self, frame: AudioFrame, on_sent: Callable[[float], None] | None = None) -> None:
        self.frames += 1

    async def drained(self) -> None: ...

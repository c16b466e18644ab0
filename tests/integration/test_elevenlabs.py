"""The ElevenLabs adapter against a local fake that speaks the stream-input protocol, and failover to the
local voice for whatever the cloud did not say."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest

from adapters.elevenlabs_tts import (
    ElevenLabsSettings,
    ElevenLabsTextToSpeech,
    VoicedError,
    clauses,
    stream_url,
)
from engine.audio import AudioChunk
from engine.failover import FailoverTextToSpeech, remainder
from engine.ports.speech import ProviderError
from taina.settings import Settings
from tests.support.fake_elevenlabs import KEY, MS_PER_CHAR, FakeElevenLabs

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
    await asyncio.sleep(0.2)
    assert fake.connections == 1  # open before there is anything to say
    chunks = await say(tts)
    samples = np.concatenate([c.samples for c in chunks])
    assert {c.sample_rate for c in chunks} == {24_000}
    assert abs(len(samples) / 24_000 - len(SENTENCE) * MS_PER_CHAR / 1000) < 0.01
    assert chunks[-1].voiced_chars == len(SENTENCE)
    assert fake.sentences == [SENTENCE] and fake.violations == []
    await asyncio.sleep(0.1)
    assert fake.connections == 2  # the next sentence's connection is already open
    assert [c.sample_rate for c in await say(tts, "Gracias.")] == [24_000, 24_000]
    await tts.aclose()


async def test_an_idle_connection_is_kept_alive(fake: FakeElevenLabs) -> None:
    tts = ElevenLabsTextToSpeech(settings(fake, TAINA_ELEVENLABS_INACTIVITY_TIMEOUT_S="5"))
    tts.start()
    await asyncio.sleep(6)  # past the server's inactivity timeout
    assert fake.keepalives >= 2 and fake.connections == 1
    assert await say(tts, "Hola.")
    await tts.aclose()


async def test_cancelling_a_sentence_closes_its_socket_and_the_next_one_speaks(fake: FakeElevenLabs) -> None:
    tts = ElevenLabsTextToSpeech(settings(fake))
    tts.start()
    stream = tts.synthesize("Una frase larga que nadie va a escuchar entera porque el paciente interrumpe.")
    first = await anext(stream)
    await stream.aclose()  # barge-in
    assert first.voiced_chars == 4
    assert await say(tts, "Dígame.")
    await tts.aclose()


@pytest.mark.parametrize("fault", ["refuse", "close_mid_sentence", "stall", "malformed", "odd_audio"])
async def test_faults_raise_provider_error_and_the_next_sentence_tries_again(
    fake: FakeElevenLabs, fault: str
) -> None:
    fake.fault = fault
    tts = ElevenLabsTextToSpeech(settings(fake))
    tts.start()
    with pytest.raises(ProviderError):
        await say(tts)
    assert await say(tts, "Sigo aquí.")
    await tts.aclose()


@pytest.mark.parametrize("fault", ["refuse", "close_mid_sentence", "stall", "malformed", "odd_audio"])
async def test_failover_says_the_rest_with_the_local_voice(fake: FakeElevenLabs, fault: str) -> None:
    fake.fault, fake.sticky = fault, True
    local = LocalVoice()
    tts = FailoverTextToSpeech(ElevenLabsTextToSpeech(settings(fake)), local)
    tts.start()
    chunks = await say(tts)
    assert tts.failovers == 1 and chunks
    if fault == "close_mid_sentence":  # the cloud said "Tengo el"; the rest is local
        assert local.said == ["jueves a las tres, con la doctora Tavárez."]
    else:
        assert local.said == [SENTENCE]
    await tts.aclose()


async def test_a_wrong_key_is_refused(fake: FakeElevenLabs) -> None:
    tts = ElevenLabsTextToSpeech(settings(fake, ELEVENLABS_API_KEY="wrong"))
    with pytest.raises(ProviderError, match="HTTP 401"):
        await say(tts)
    await tts.aclose()
    assert VoicedError("x", 3).voiced_chars == 3

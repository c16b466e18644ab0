from __future__ import annotations

import numpy as np
import pytest

from engine.audio import Pcm
from engine.endpointing import (
    Endpointer,
    EndpointEvent,
    EndpointSettings,
    SpeechPaused,
    SpeechResumed,
    UtteranceDiscarded,
    UtteranceEnded,
    UtteranceStarted,
    sounds_finished,
)
from engine.vad import VadSettings
from tests.support.frames import frames_of
from tests.support.speech import noise, silence, speech

START = 100.0


def run(pcm: Pcm, endpoint: EndpointSettings | None = None) -> list[EndpointEvent]:
    endpointer = Endpointer(VadSettings(), endpoint or EndpointSettings(), 16_000, 20)
    events = []
    for frame in frames_of(pcm, start=START):
        event = endpointer.push(frame)
        if event is not None:
            events.append(event)
    return events


@pytest.fixture(scope="module")
def question() -> Pcm:
    return speech("¿A qué hora abren los sábados en Santiago?")


def speech_end(pcm: Pcm) -> float:
    """Where the audio's last loud sample is, in seconds."""
    loud = np.flatnonzero(np.abs(pcm) > 1000)
    return float(loud[-1]) / 16_000


def test_an_utterance_ends_after_the_configured_silence(question: Pcm) -> None:
    audio = np.concatenate([silence(0.5), question, silence(1.5)])
    events = run(audio, EndpointSettings(silence_ms=450, pause_ms=200))
    kinds = [type(e) for e in events]
    assert kinds[0] is UtteranceStarted and kinds[-1] is UtteranceEnded
    assert SpeechPaused in kinds
    ended = events[-1]
    assert isinstance(ended, UtteranceEnded)
    true_end = START + 0.5 + speech_end(question)
    assert ended.end_of_speech == pytest.approx(true_end, abs=0.1)
    assert ended.detected_at - ended.end_of_speech == pytest.approx(0.45, abs=0.021)
    started = events[0]
    assert isinstance(started, UtteranceStarted)
    assert started.started_at == pytest.approx(START + 0.5, abs=0.1)
    # The pre-roll reaches back before the first voiced frame.
    assert started.preroll[0].timestamp < started.started_at


def test_noise_bursts_in_the_silence_do_not_hold_the_turn_open(question: Pcm) -> None:
    burst = question[8000:8320]  # 20 ms of loud speech: one or two voiced frames, short of a voiced run
    gap = silence(0.1)
    tail = np.concatenate([gap, burst, gap, burst, gap, burst, silence(1.5)])
    audio = np.concatenate([silence(0.3), question, tail])
    quiet = run(np.concatenate([silence(0.3), question, silence(1.5)]))
    noisy = run(audio)
    ended_quiet = [e for e in quiet if isinstance(e, UtteranceEnded)]
    ended_noisy = [e for e in noisy if isinstance(e, UtteranceEnded)]
    assert len(ended_noisy) == 1
    assert ended_noisy[0].end_of_speech == pytest.approx(ended_quiet[0].end_of_speech, abs=0.001)
    assert not any(isinstance(e, SpeechResumed) for e in noisy)


def test_a_pause_inside_the_turn_is_resumed_not_ended(question: Pcm) -> None:
    audio = np.concatenate([silence(0.3), question, silence(0.3), question, silence(1.0)])
    kinds = [type(e) for e in run(audio, EndpointSettings(silence_ms=600, pause_ms=200))]
    assert kinds.count(UtteranceStarted) == 1 and kinds.count(UtteranceEnded) == 1
    assert SpeechResumed in kinds


def test_a_cough_is_not_a_turn(question: Pcm) -> None:
    cough = question[8000:10400]  # 150 ms
    events = run(np.concatenate([silence(0.5), cough, silence(1.0)]), EndpointSettings(min_utterance_ms=200))
    assert [type(e) for e in events][-1] is UtteranceDiscarded
    assert not any(isinstance(e, UtteranceEnded) for e in events)


def test_a_loud_steady_noise_is_cut_at_the_maximum_length() -> None:
    events = run(noise(3.0, amplitude=0.5), EndpointSettings(max_utterance_ms=1000))
    ended = [e for e in events if isinstance(e, UtteranceEnded)]
    # The noise is seeded and the VAD deterministic: it is voiced, every run, so this never has a reason to
    # skip; if the VAD ever called it unvoiced, the test must say so by failing, not pass by skipping.
    assert events and isinstance(events[0], UtteranceStarted), events
    assert ended and all(e.forced for e in ended)
    assert ended[0].end_of_speech - ended[0].started_at == pytest.approx(1.0, abs=0.05)


def test_silence_alone_gives_no_events() -> None:
    assert run(silence(2.0)) == []


@pytest.mark.parametrize(
    ("said", "finished"),
    [
        ("¿A qué hora abren los sábados?", True),
        ("Quiero una cita para mañana.", True),
        ("¡Gracias!", True),
        ("Quiero una cita y", False),
        ("Quiero una cita, este", False),
        ("para el lunes...", False),
        ("con la doctora,", False),
        ("necesito ver a la doctora de", False),
        ("quiero una cita", None),
        ("", None),
        # A number being dictated: its full stop does not count (the phone was cut after "809." once).
        ("Mi número es 809.", False),
        ("Mi número es ocho cero nueve", False),
        ("Es el 809-555.", False),
        ("Mi número es 809-555-1234.", None),
        ("Para las 10.", None),
        ("Sí.", True),
        # Fillers, and "este" as Whisper hears it alone.
        ("estén", False),
        ("Bueno, o sea", False),
    ],
)
def test_what_a_transcript_says_about_the_turn(said: str, finished: bool | None) -> None:
    assert sounds_finished(said) is finished


def ended_after(hint: str | None, question: Pcm) -> float:
    """Seconds of silence after which the endpointer ended the turn, with ``hint`` given at the first pause."""
    endpointer = Endpointer(VadSettings(), EndpointSettings(), 16_000, 20)
    audio = np.concatenate([silence(0.5), question, silence(2.0)])
    for frame in frames_of(audio, start=START):
        event = endpointer.push(frame)
        if isinstance(event, SpeechPaused) and hint is not None:
            endpointer.hint(hint)
        if isinstance(event, UtteranceEnded):
            return event.detected_at - event.end_of_speech
    raise AssertionError("the utterance never ended")


def test_the_silence_adapts_to_a_complete_or_trailing_transcript(question: Pcm) -> None:
    settings = EndpointSettings()
    assert ended_after(None, question) == pytest.approx(settings.silence_ms / 1000, abs=0.021)
    assert ended_after("¿A qué hora abren los sábados en Santiago?", question) == pytest.approx(
        settings.silence_complete_ms / 1000, abs=0.021
    )
    assert ended_after("A qué hora abren los sábados y", question) == pytest.approx(
        settings.silence_incomplete_ms / 1000, abs=0.021
    )
    assert ended_after("a qué hora abren", question) == pytest.approx(settings.silence_ms / 1000, abs=0.021)
    assert ended_after("A qué hora abren los sábados, este...", question) == pytest.approx(
        settings.silence_filler_ms / 1000, abs=0.021
    )


def test_a_hint_outside_an_utterance_changes_nothing() -> None:
    endpointer = Endpointer(VadSettings(), EndpointSettings(), 16_000, 20)
    endpointer.hint("Hola.")
    assert endpointer.silence_needed == EndpointSettings().silence_ms / 1000

"""Usage per turn, per call and per period, by provider: the language model's tokens (prompt, of them cached,
completion), speech-to-text's audio seconds and text-to-speech's characters; and what they cost at a price table.

A turn's usage is a small JSON object kept with the turn::

    {"language_model": {"openai:gpt-4o-mini": {"prompt": 812, "cached": 512, "completion": 41}},
     "speech_to_text": {"deepgram": 2.4}, "text_to_speech": {"elevenlabs": 96}}

Providers that run on the machine (whisper, espeak, the policy) are counted too, and cost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.ports.language import TokenUsage

LANGUAGE_MODEL, SPEECH_TO_TEXT, TEXT_TO_SPEECH = "language_model", "speech_to_text", "text_to_speech"


def turn_usage(
    language_model: tuple[str, Sequence[TokenUsage]],
    speech_to_text: tuple[str, float],
    text_to_speech: tuple[str, int],
) -> dict[str, Any]:
    """One turn's usage from what its providers reported and what the engine measured."""
    lm_name, tokens = language_model
    usage: dict[str, Any] = {
        SPEECH_TO_TEXT: {speech_to_text[0]: round(speech_to_text[1], 3)},
        TEXT_TO_SPEECH: {text_to_speech[0]: text_to_speech[1]},
    }
    if tokens:
        usage[LANGUAGE_MODEL] = {
            lm_name: {
                "prompt": sum(t.prompt for t in tokens),
                "cached": sum(t.cached for t in tokens),
                "completion": sum(t.completion for t in tokens),
            }
        }
    return usage


def add_usage(usages: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The sum of several turns' (or calls') usage."""
    total: dict[str, Any] = {}
    for usage in usages:
        for kind, providers in usage.items():
            into = total.setdefault(kind, {})
            for provider, amount in providers.items():
                if isinstance(amount, Mapping):
                    counts = into.setdefault(provider, {})
                    for name, value in amount.items():
                        counts[name] = counts.get(name, 0) + value
                else:
                    into[provider] = round(into.get(provider, 0) + amount, 3)
    return total

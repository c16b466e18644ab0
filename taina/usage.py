"""What calls cost: the price table (settings) applied to the usage kept per turn (engine/usage.py), per call and
summed per day or month. Providers that run on this machine (whisper, espeak-ng, the policy) cost nothing: the
embedded default's calls cost 0 and say so.

A provider's price is looked up by the first word of its name ("openai:gpt-4o-mini" -> openai, "deepgram
(fallback whisper)" -> deepgram: a turn the local fallback finished is priced as the cloud's, which was paid
for the audio it had received)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from adapters.postgres import Database
from engine.options import Section, knob
from engine.usage import LANGUAGE_MODEL, SPEECH_TO_TEXT, TEXT_TO_SPEECH, add_usage

LOCAL = ("whisper", "espeak-ng", "policy", "echo")


class PriceSettings(Section):
    """List prices (pay as you go, USD) of the models the settings use by default, looked up on 2026-11-26:
    - OpenAI gpt-4o-mini (OPENAI_MODEL): $0.15 input, $0.075 cached input, $0.60 output per million tokens,
      from OpenAI's pricing page (developers.openai.com/api/docs/pricing) as quoted in Kin Lane's "OpenAI API
      Pricing" (API Evangelist, 2026-11-06, read 2026-11-05) and in aimodelcalc.pages.dev (June 2026).
    - Deepgram nova-3 streaming, monolingual (TAINA_DEEPGRAM_LANGUAGE=es): $0.0048 per audio minute, from
      deepgram.com/pricing as recorded in open-gauntlet-leaderboard data/asr.json ("verified 1 Aug 2026") and
      hail-hq costs/stt.json (verified 2026-05-05). Multilingual (TAINA_DEEPGRAM_LANGUAGE=multi): $0.0058.
    - ElevenLabs eleven_flash_v2_5: $0.05 per thousand characters, elevenlabs.io/pricing/api as quoted by
      developer.puter.com's "ElevenLabs API Pricing" (June 2026); another review quotes $0.06 as the Business
      tier's starting price, and subscription plans bundle characters: check your plan (README, Usage and cost).
    """

    prefix: ClassVar[str] = "TAINA_PRICE"
    currency: str = knob("USD", "Currency of the prices below.", form=(r"^[A-Z]{3}$", "be a currency code"))
    openai_prompt_per_million: float = knob(0.15, "Language model: price per million prompt tokens.", ge=0)
    openai_cached_per_million: float = knob(
        0.075, "Language model: price per million prompt tokens served from the provider's cache.", ge=0
    )
    openai_completion_per_million: float = knob(
        0.60, "Language model: price per million completion tokens.", ge=0
    )
    deepgram_per_minute: float = knob(
        0.0048, "Speech-to-text (Deepgram streaming): price per audio minute.", ge=0
    )
    elevenlabs_per_thousand_characters: float = knob(
        0.05, "Text-to-speech (ElevenLabs): price per thousand characters.", ge=0
    )


def _vendor(provider: str) -> str:
    return provider.split(" ", 1)[0].split(":", 1)[0]


def cost(usage: Mapping[str, Any], prices: PriceSettings) -> dict[str, Any]:
    """``usage`` priced: the total, and each provider's share; local providers at 0."""
    by_provider: dict[str, float] = {}
    for provider, counts in (usage.get(LANGUAGE_MODEL) or {}).items():
        paid = _vendor(provider) == "openai"
        cached = counts.get("cached", 0)
        amount = (
            (counts.get("prompt", 0) - cached) * prices.openai_prompt_per_million
            + cached * prices.openai_cached_per_million
            + counts.get("completion", 0) * prices.openai_completion_per_million
        ) / 1e6
        by_provider[provider] = by_provider.get(provider, 0.0) + (amount if paid else 0.0)
    for provider, seconds in (usage.get(SPEECH_TO_TEXT) or {}).items():
        paid = _vendor(provider) == "deepgram"
        by_provider[provider] = by_provider.get(provider, 0.0) + (
            seconds / 60 * prices.deepgram_per_minute if paid else 0.0
        )
    for provider, characters in (usage.get(TEXT_TO_SPEECH) or {}).items():
        paid = _vendor(provider) == "elevenlabs"
        rate = prices.elevenlabs_per_thousand_characters
        by_provider[provider] = by_provider.get(provider, 0.0) + (characters / 1000 * rate if paid else 0.0)
    total = round(sum(by_provider.values()), 6)
    return {
        "currency": prices.currency,
        "total": total,
        "by_provider": {k: round(v, 6) for k, v in by_provider.items()},
        "note": "every provider runs on this machine: no cost"
        if total == 0 and all(_vendor(p) in LOCAL for p in by_provider)
        else "",
    }


async def call_usage(
    database: Database, conversation_id: str, prices: PriceSettings
) -> dict[str, Any] | None:
    """One call's usage and cost, turn by turn and in total; None if there is no such call."""
    found = await database.fetch("SELECT 1 FROM conversations WHERE id = $1", conversation_id)
    if not found:
        return None
    rows = await database.fetch(
        "SELECT turn_id, usage FROM turns WHERE conversation_id = $1 ORDER BY turn_id", conversation_id
    )
    turns = [{"turn": r["turn_id"], "usage": json.loads(r["usage"])} for r in rows]
    for turn in turns:
        turn["cost"] = cost(turn["usage"], prices)
    total = add_usage(t["usage"] for t in turns)
    return {"id": conversation_id, "usage": total, "cost": cost(total, prices), "turns": turns}


async def usage_by_period(
    database: Database,
    period: Literal["day", "month"],
    periods: int,
    prices: PriceSettings,
    timezone: str = "UTC",
) -> list[dict[str, Any]]:
    """Usage and cost summed per day or month (in ``timezone``), the newest ``periods`` of them, newest first."""
    rows = await database.fetch(
        "SELECT date_trunc($1, t.at AT TIME ZONE $4) AS period, count(DISTINCT t.conversation_id) AS calls,"
        " count(*) AS turns, array_agg(t.usage) AS usages FROM turns t"
        " WHERE t.at >= (date_trunc($1, now() AT TIME ZONE $4) - make_interval(days => $2, months => $3))"
        "   AT TIME ZONE $4"
        " GROUP BY 1 ORDER BY 1 DESC",
        period,
        periods - 1 if period == "day" else 0,
        periods - 1 if period == "month" else 0,
        timezone,
    )
    out = []
    for row in rows:
        total = add_usage(json.loads(u) for u in row["usages"])
        out.append(
            {
                "period": row["period"].date().isoformat()[: 7 if period == "month" else 10],
                "calls": row["calls"],
                "turns": row["turns"],
                "usage": total,
                "cost": cost(total, prices),
            }
        )
    return out

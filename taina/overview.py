"""The dashboard's landing page, computed from the database: calls today and this week and how they ended,
first-audio latency over time, what they cost, the providers in use and how they are doing, and the last
backup. Days are the clinic's (America/Santo_Domingo); a week starts on Monday.

A call's outcome follows the conversations list (adapters/conversation_journal.py): failed, else booked (a
book_appointment that booked), else handed off (hand_off_to_staff), else answered (it had a turn), else
silent. tests/integration/test_overview.py checks the two agree.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from prometheus_client import REGISTRY

from adapters.postgres import Database
from engine.failover import FailoverSpeechToText, FailoverTextToSpeech
from engine.usage import add_usage
from taina.clinic.clock import CLINIC_TIMEZONE
from taina.usage import LOCAL, PriceSettings, cost

if TYPE_CHECKING:
    from taina.app import App
    from taina.settings import Settings

DAYS = 14  # the charts' span
RECENT_TURNS = 200  # the latency chart's points
OUTCOMES = ("answered", "booked", "handed_off", "failed", "silent")
TIMEZONE = CLINIC_TIMEZONE.key

_CALLS_PER_DAY = """
SELECT (c.started_at AT TIME ZONE $1)::date AS day,
  CASE WHEN c.failed THEN 'failed'
       WHEN EXISTS (SELECT 1 FROM turns t WHERE t.conversation_id = c.id
                    AND t.actions @> '[{"tool": "book_appointment", "result": {"booked": {}}}]') THEN 'booked'
       WHEN EXISTS (SELECT 1 FROM turns t WHERE t.conversation_id = c.id
                    AND t.actions @> '[{"tool": "hand_off_to_staff"}]') THEN 'handed_off'
       WHEN EXISTS (SELECT 1 FROM turns t WHERE t.conversation_id = c.id) THEN 'answered'
       ELSE 'silent' END AS outcome,
  count(*) AS calls
FROM conversations c WHERE c.started_at >= $2
GROUP BY 1, 2
"""

_LATENCY_PER_DAY = """
SELECT (t.at AT TIME ZONE $1)::date AS day, count(*) AS turns,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY (t.timings_ms->>'first_audio')::float8) AS p50,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY (t.timings_ms->>'first_audio')::float8) AS p95
FROM turns t WHERE t.at >= $2 AND t.timings_ms ? 'first_audio'
GROUP BY 1
"""

_LATENCY_SINCE = """
SELECT count(*) AS turns,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY (t.timings_ms->>'first_audio')::float8) AS p50,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY (t.timings_ms->>'first_audio')::float8) AS p95
FROM turns t WHERE t.at >= $1 AND t.timings_ms ? 'first_audio'
"""

_RECENT_TURNS = """
SELECT t.at, (t.timings_ms->>'first_audio')::float8 AS ms, t.conversation_id FROM turns t
WHERE t.timings_ms ? 'first_audio' ORDER BY t.at DESC LIMIT $1
"""

_USAGE_PER_DAY = """
SELECT (t.at AT TIME ZONE $1)::date AS day, array_agg(t.usage) AS usages FROM turns t
WHERE t.at >= $2 GROUP BY 1
"""

_LAST_BACKUP = """
SELECT at, action, target, detail FROM audit_log
WHERE action IN ('backup_created', 'backup_failed') {only} ORDER BY at DESC, id DESC LIMIT 1
"""


def clinic_today(now: dt.datetime) -> dt.date:
    return now.astimezone(CLINIC_TIMEZONE).date()


def _start(day: dt.date) -> dt.datetime:
    """Midnight at the clinic on ``day``, as an aware datetime."""
    return dt.datetime.combine(day, dt.time(), CLINIC_TIMEZONE)


async def overview(
    database: Database, prices: PriceSettings, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Everything the overview shows that the database knows (providers and health come from the runtime)."""
    now = now or dt.datetime.now(dt.UTC)
    today = clinic_today(now)
    week_start = today - dt.timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    first_day = today - dt.timedelta(days=DAYS - 1)
    days = [first_day + dt.timedelta(days=n) for n in range(DAYS)]
    since = _start(min(first_day, week_start))

    per_day: dict[dt.date, dict[str, int]] = {}
    for row in await database.fetch(_CALLS_PER_DAY, TIMEZONE, since):
        per_day.setdefault(row["day"], dict.fromkeys(OUTCOMES, 0))[row["outcome"]] = row["calls"]

    def outcomes(first: dt.date) -> dict[str, int]:
        total = dict.fromkeys(OUTCOMES, 0)
        for day, counts in per_day.items():
            if first <= day <= today:
                for outcome, n in counts.items():
                    total[outcome] += n
        return total

    today_outcomes, week_outcomes = outcomes(today), outcomes(week_start)
    latency_days = {r["day"]: r for r in await database.fetch(_LATENCY_PER_DAY, TIMEZONE, _start(first_day))}
    week_latency = (await database.fetch(_LATENCY_SINCE, _start(week_start)))[0]
    recent = await database.fetch(_RECENT_TURNS, RECENT_TURNS)

    usage_days = {
        r["day"]: add_usage(json.loads(u) for u in r["usages"])
        for r in await database.fetch(_USAGE_PER_DAY, TIMEZONE, _start(min(first_day, month_start)))
    }
    month_usage = add_usage(u for day, u in usage_days.items() if day >= month_start)

    return {
        "now": now.isoformat(),
        "today": today.isoformat(),
        "week_start": week_start.isoformat(),
        "timezone": TIMEZONE,
        "calls": {
            "today": sum(today_outcomes.values()),
            "week": sum(week_outcomes.values()),
            "outcomes_today": today_outcomes,
            "outcomes_week": week_outcomes,
            "per_day": [{"day": d.isoformat(), **per_day.get(d, dict.fromkeys(OUTCOMES, 0))} for d in days],
        },
        "latency": {
            "stage": "first_audio",
            "week": _percentiles(week_latency),
            "per_day": [{"day": d.isoformat(), **_percentiles(latency_days.get(d))} for d in days],
            "recent": [
                {"at": r["at"].isoformat(), "ms": round(r["ms"], 1), "conversation": r["conversation_id"]}
                for r in reversed(recent)
            ],
        },
        "cost": {
            "currency": prices.currency,
            "today": cost(usage_days.get(today, {}), prices),
            "month": cost(month_usage, prices),
            "per_day": [
                {"day": d.isoformat(), "total": cost(usage_days.get(d, {}), prices)["total"]} for d in days
            ],
        },
        "backup": await last_backup(database),
    }


def _percentiles(row: Mapping[str, Any] | None) -> dict[str, Any]:
    if row is None or not row["turns"]:
        return {"turns": 0, "p50_ms": None, "p95_ms": None}
    return {"turns": row["turns"], "p50_ms": round(row["p50"], 1), "p95_ms": round(row["p95"], 1)}


async def last_backup(database: Database) -> dict[str, Any] | None:
    """The newest backup the audit log knows (the daily job's), and the newest good one if that one failed."""
    rows = await database.fetch(_LAST_BACKUP.format(only=""))
    if not rows:
        return None
    last = _backup(rows[0])
    if last["result"] == "failure":
        good = await database.fetch(_LAST_BACKUP.format(only="AND action = 'backup_created'"))
        last["last_success"] = _backup(good[0]) if good else None
    return last


def _backup(row: Mapping[str, Any]) -> dict[str, Any]:
    detail = json.loads(row["detail"])
    return {
        "at": row["at"].isoformat(),
        "result": "success" if row["action"] == "backup_created" else "failure",
        "destination": row["target"],
        "added_bytes": detail.get("added_bytes"),
        "database_bytes": detail.get("database_bytes"),
        "objects_bytes": detail.get("objects_bytes"),
        "seconds": detail.get("seconds"),
        "error": detail.get("error"),
    }


def providers(runtime: App) -> list[dict[str, Any]]:
    """The providers new calls use, each with the local one behind it (if any) and the turns or sentences it
    handed to that local one since this server started (taina_provider_failovers)."""
    model = runtime.assistant.language_model
    out = [
        _provider("speech_to_text", *_speech_names(runtime, "speech_to_text")),
        _provider("language_model", model, None),
        _provider("text_to_speech", *_speech_names(runtime, "text_to_speech")),
    ]
    return out


def _speech_names(runtime: App, port: str) -> tuple[str, str | None]:
    """(primary, fallback) of the port's provider; from the settings when the models are not loaded here."""
    from taina.app import NoSpeech

    try:
        provider = runtime.speech_to_text() if port == "speech_to_text" else runtime.text_to_speech()
    except NoSpeech:
        settings = runtime.settings
        if port == "speech_to_text":
            return ("deepgram", "whisper") if settings.deepgram.api_key else ("whisper", None)
        return ("elevenlabs", "espeak-ng") if settings.elevenlabs.api_key else ("espeak-ng", None)
    if isinstance(provider, FailoverSpeechToText | FailoverTextToSpeech):
        return provider.primary.name, provider.fallback.name
    return provider.name, None


def _provider(port: str, name: str, fallback: str | None) -> dict[str, Any]:
    failovers = int(
        REGISTRY.get_sample_value("taina_provider_failovers_total", {"port": port, "provider": name}) or 0
    )
    return {
        "port": port,
        "name": name,
        "fallback": fallback,
        "local": name.split(" ", 1)[0].split(":", 1)[0] in LOCAL,
        "failovers": failovers,
        "status": "degraded" if failovers else "ok",
    }


def backup_schedule(settings: Settings) -> dict[str, Any]:
    """Whether this server takes the daily backup, when, how many are kept, and the newest backup finished in
    the destination (however it was taken: the daily job or `taina backup create`), with its size when the
    key opens its manifest. Reads the destination: call it off the event loop."""
    from taina.backup import backup_ids, backup_time, read_manifest
    from taina.backup_archive import backup_key, default_destination, destination

    backup = settings.backup
    where = default_destination(settings)
    schedule: dict[str, Any] = {
        "daily": backup.daily,
        "at": backup.at,
        "keep": backup.keep,
        "destination": where,
        "newest": None,
        "error": None,
    }
    try:
        dest = destination(where)
        ids = backup_ids(dest)
        if not ids:
            return schedule
        newest: dict[str, Any] = {
            "id": ids[-1],
            "at": dt.datetime.fromtimestamp(backup_time(ids[-1]), dt.UTC).isoformat(),
            "count": len(ids),
        }
        schedule["newest"] = newest
        manifest = read_manifest(dest, AESGCM(backup_key(settings)), ids[-1])
        newest["database_bytes"] = manifest["database"]["size"]
        newest["objects"] = len(manifest["objects"])
        newest["objects_bytes"] = sum(o["size"] for o in manifest["objects"])
    except Exception as exc:  # shown on the page: the destination or the key is the operator's to fix
        schedule["error"] = str(exc) or type(exc).__name__
    return schedule

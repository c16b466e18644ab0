"""Every setting of the assistant, with its default, in one typed place.

Each field is read from an environment variable named ``TAINA_<SECTION>_<FIELD>`` (upper case), except
where a field names its own variable (``env=``). ``taina settings`` prints them all with their current values.
Values are checked when they are read: a wrong value stops start-up with one line naming the variable.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, get_type_hints

from taina.clinic.keyterms import SAMPLE_KEYTERMS

# The engine's fixed processing format: webrtcvad and Whisper both take 16 kHz mono.
PROCESSING_RATE = 16_000


class SettingsError(ValueError):
    """A setting has a value the assistant cannot use."""


def knob(default: Any, help: str, env: str | None = None, secret: bool = False) -> Any:
    """A settings field with its documentation and, optionally, its own variable name."""
    return field(default=default, metadata={"help": help, "env": env, "secret": secret})


@dataclass(frozen=True)
class AudioSettings:
    prefix: ClassVar[str] = "TAINA_AUDIO"
    frame_ms: int = knob(20, "Length of one audio frame on the engine's paths, in ms (10, 20 or 30).")
    output_rate: int = knob(48_000, "Sample rate of the audio the assistant sends out, in Hz.")
    playout_queue_ms: int = knob(
        30_000, "Most reply audio queued ahead of the paced output, in ms (back-pressure beyond)."
    )

    def check(self) -> None:
        _require(self.frame_ms in (10, 20, 30), "TAINA_AUDIO_FRAME_MS must be 10, 20 or 30")
        _require(8_000 <= self.output_rate <= 48_000, "TAINA_AUDIO_OUTPUT_RATE must be 8000-48000")
        _require(self.playout_queue_ms >= 1_000, "TAINA_AUDIO_PLAYOUT_QUEUE_MS must be at least 1000")


@dataclass(frozen=True)
class VadSettings:
    prefix: ClassVar[str] = "TAINA_VAD"
    aggressiveness: int = knob(
        2, "webrtcvad mode, 0 (least) to 3 (most aggressive at calling audio non-speech)."
    )
    min_energy_dbfs: float = knob(
        -50.0, "Frames quieter than this (dBFS) count as silence whatever webrtcvad says."
    )
    start_ms: int = knob(
        60,
        "Voiced run that starts speech, in ms. A shorter voiced run inside a pause (a click, a noise burst) "
        "does not reset the pause either.",
    )

    def check(self) -> None:
        _require(0 <= self.aggressiveness <= 3, "TAINA_VAD_AGGRESSIVENESS must be 0-3")
        _require(-90 <= self.min_energy_dbfs <= 0, "TAINA_VAD_MIN_ENERGY_DBFS must be between -90 and 0")
        _require(20 <= self.start_ms <= 1_000, "TAINA_VAD_START_MS must be 20-1000")


@dataclass(frozen=True)
class EndpointSettings:
    prefix: ClassVar[str] = "TAINA_ENDPOINT"
    silence_ms: int = knob(
        440,
        "Silence after speech that ends the user's turn, in ms (counted in whole frames: keep it a multiple).",
    )
    pause_ms: int = knob(
        200, "Silence after which speech-to-text starts on the audio so far, in case the turn is over (ms)."
    )
    min_utterance_ms: int = knob(200, "Speech shorter than this (a cough, a click) is not a turn, in ms.")
    max_utterance_ms: int = knob(20_000, "A turn is ended after this much speech, in ms.")
    preroll_ms: int = knob(300, "Audio kept from before speech starts and sent along with it, in ms.")
    silence_complete_ms: int = knob(
        300,
        "Silence that ends the turn once the transcript so far is a complete sentence or question, in ms.",
    )
    silence_incomplete_ms: int = knob(
        1_000,
        'Silence that ends the turn when the transcript so far trails off ("y...", "este..."), in ms.',
    )

    def check(self) -> None:
        _require(100 <= self.silence_ms <= 5_000, "TAINA_ENDPOINT_SILENCE_MS must be 100-5000")
        _require(
            0 < self.pause_ms < self.silence_ms,
            "TAINA_ENDPOINT_PAUSE_MS must be above 0 and below TAINA_ENDPOINT_SILENCE_MS",
        )
        _require(0 <= self.min_utterance_ms <= 5_000, "TAINA_ENDPOINT_MIN_UTTERANCE_MS must be 0-5000")
        _require(
            1_000 <= self.max_utterance_ms <= 120_000, "TAINA_ENDPOINT_MAX_UTTERANCE_MS must be 1000-120000"
        )
        _require(0 <= self.preroll_ms <= 2_000, "TAINA_ENDPOINT_PREROLL_MS must be 0-2000")
        _require(
            self.pause_ms < self.silence_complete_ms <= self.silence_ms,
            "TAINA_ENDPOINT_SILENCE_COMPLETE_MS must be above TAINA_ENDPOINT_PAUSE_MS and at most "
            "TAINA_ENDPOINT_SILENCE_MS",
        )
        _require(
            self.silence_ms <= self.silence_incomplete_ms <= 5_000,
            "TAINA_ENDPOINT_SILENCE_INCOMPLETE_MS must be between TAINA_ENDPOINT_SILENCE_MS and 5000",
        )


@dataclass(frozen=True)
class TurnSettings:
    prefix: ClassVar[str] = "TAINA_TURN"
    min_interruption_ms: int = knob(
        500,
        "Speech while the assistant has the floor that interrupts it (its audio pauses at once), in ms. "
        'Shorter speech (a cough, "ajá") does not.',
    )
    interruptible: bool = knob(True, "Whether the caller can interrupt the assistant by speaking.")
    preemptive_generation: bool = knob(
        False,
        "Start the reply on the transcript heard at the first pause, before the turn is sure to be over; "
        "thrown away if the final transcript differs. Needs a speech-to-text that gives interim results.",
    )

    def check(self) -> None:
        _require(100 <= self.min_interruption_ms <= 3_000, "TAINA_TURN_MIN_INTERRUPTION_MS must be 100-3000")


@dataclass(frozen=True)
class HttpSettings:
    prefix: ClassVar[str] = "TAINA_HTTP"
    host: str = knob("127.0.0.1", "Address the HTTP server listens on.")
    port: int = knob(8080, "Port the HTTP server listens on.")
    max_signalling_bytes: int = knob(
        65_536, "Largest signalling (SDP offer) request body accepted, in bytes."
    )

    def check(self) -> None:
        _require(0 <= self.port <= 65_535, "TAINA_HTTP_PORT must be 0-65535")
        _require(
            1_024 <= self.max_signalling_bytes <= 1_048_576,
            "TAINA_HTTP_MAX_SIGNALLING_BYTES must be 1024-1048576",
        )


@dataclass(frozen=True)
class WebRtcSettings:
    prefix: ClassVar[str] = "TAINA_WEBRTC"
    ice_addresses: tuple[str, ...] = knob(
        (),
        "Comma-separated local IP addresses offered as ICE host candidates; empty means every non-loopback "
        "address of the machine. When set, remote candidates on other addresses are ignored too "
        "(tests use 127.0.0.1).",
    )
    max_sessions: int = knob(50, "Most voice sessions served at once; further offers get 503.")
    media_timeout_s: float = knob(
        10.0, "A call that delivers no audio for this long (including while connecting) is hung up, in s."
    )

    access_token: str = knob(
        "",
        "When set, a call needs it: the page is opened as /?token=<it> (the voice page is public otherwise).",
        secret=True,
    )
    offers_per_minute: int = knob(20, "Calls one address may start in a minute; then 429.")

    def check(self) -> None:
        _require(1 <= self.max_sessions <= 10_000, "TAINA_WEBRTC_MAX_SESSIONS must be 1-10000")
        _require(1 <= self.offers_per_minute <= 10_000, "TAINA_WEBRTC_OFFERS_PER_MINUTE must be 1-10000")
        _require(1 <= self.media_timeout_s <= 300, "TAINA_WEBRTC_MEDIA_TIMEOUT_S must be 1-300")
        for address in self.ice_addresses:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise SettingsError(f"TAINA_WEBRTC_ICE_ADDRESSES: {address!r} is not an IP address") from None


@dataclass(frozen=True)
class WhisperSettings:
    prefix: ClassVar[str] = "TAINA_WHISPER"
    model_dir: str = knob(
        "",
        "Folder of a CTranslate2 Whisper model to use instead of the bundled Whisper base "
        "(its files are trusted as they are).",
    )
    language: str = knob("es", "Language spoken to the assistant (ISO 639-1).")
    beam_size: int = knob(1, "Beam width of the Whisper decoder (1 is greedy and fastest).")
    cpu_threads: int = knob(2, "CPU threads Whisper may use.")
    no_speech_threshold: float = knob(
        0.6, "Utterances Whisper rates as no speech above this probability are dropped."
    )

    def check(self) -> None:
        _require(1 <= self.beam_size <= 10, "TAINA_WHISPER_BEAM_SIZE must be 1-10")
        _require(1 <= self.cpu_threads <= 64, "TAINA_WHISPER_CPU_THREADS must be 1-64")
        _require(0 < self.no_speech_threshold <= 1, "TAINA_WHISPER_NO_SPEECH_THRESHOLD must be in (0, 1]")


@dataclass(frozen=True)
class EspeakSettings:
    prefix: ClassVar[str] = "TAINA_ESPEAK"
    voice: str = knob("es-419", "espeak-ng voice (es-419 is Latin American Spanish).")
    rate: int = knob(165, "Speaking rate in words per minute (80-450).")
    pitch: int = knob(50, "Voice pitch, 0-99.")

    def check(self) -> None:
        _require(80 <= self.rate <= 450, "TAINA_ESPEAK_RATE must be 80-450")
        _require(0 <= self.pitch <= 99, "TAINA_ESPEAK_PITCH must be 0-99")


@dataclass(frozen=True)
class LogSettings:
    prefix: ClassVar[str] = "TAINA_LOG"
    level: str = knob("info", "Log level: debug, info, warning or error.")
    format: str = knob("auto", "Log format: json, console, or auto (console on a terminal, JSON otherwise).")

    def check(self) -> None:
        _require(
            self.level in ("debug", "info", "warning", "error"),
            "TAINA_LOG_LEVEL must be debug|info|warning|error",
        )
        _require(self.format in ("json", "console", "auto"), "TAINA_LOG_FORMAT must be json|console|auto")


@dataclass(frozen=True)
class DatabaseSettings:
    prefix: ClassVar[str] = "TAINA_DATABASE"
    url: str = knob(
        "",
        "PostgreSQL (with pgvector) to use, e.g. postgresql://user:pass@host/db; empty starts an embedded "
        "server under the data folder.",
        env="DATABASE_URL",
        secret=True,
    )
    pool_size: int = knob(10, "Most connections the engine holds open.")
    connect_timeout_s: float = knob(10.0, "How long to wait for the database at start, in s.")

    def check(self) -> None:
        _require(1 <= self.pool_size <= 200, "TAINA_DATABASE_POOL_SIZE must be 1-200")
        _require(0.5 <= self.connect_timeout_s <= 120, "TAINA_DATABASE_CONNECT_TIMEOUT_S must be 0.5-120")
        _require(
            self.url == "" or self.url.startswith(("postgresql://", "postgres://")),
            "DATABASE_URL must start with postgresql://",
        )


@dataclass(frozen=True)
class StorageSettings:
    prefix: ClassVar[str] = "TAINA_STORAGE"
    url: str = knob(
        "",
        "Where originals and recordings are kept: file:///path, or s3://bucket/prefix (credentials, region and "
        "AWS_ENDPOINT_URL from the standard AWS variables); empty means file://<data dir>/objects.",
        env="TAINA_STORAGE",
    )
    sse: str = knob("", "S3 server-side encryption: empty, AES256 or aws:kms.")
    kms_key_id: str = knob("", "KMS key for aws:kms server-side encryption (empty: the bucket's default).")

    def check(self) -> None:
        _require(
            self.url == "" or self.url.startswith(("file://", "s3://")),
            "TAINA_STORAGE must be file:///path or s3://bucket/prefix",
        )
        _require(self.sse in ("", "AES256", "aws:kms"), "TAINA_STORAGE_SSE must be empty, AES256 or aws:kms")


@dataclass(frozen=True)
class EmbeddingSettings:
    prefix: ClassVar[str] = "TAINA_EMBEDDINGS"
    provider: str = knob(
        "auto", "e5 (local multilingual-e5-small), openai, or auto (openai when OPENAI_API_KEY is set)."
    )
    openai_api_key: str = knob(
        "", "OpenAI API key; also selects OpenAI embeddings under auto.", env="OPENAI_API_KEY", secret=True
    )
    openai_base_url: str = knob(
        "https://api.openai.com/v1", "Any OpenAI-compatible server's /v1 URL.", env="OPENAI_BASE_URL"
    )
    openai_model: str = knob("text-embedding-3-small", "OpenAI embedding model (asked for 384 dimensions).")
    timeout_s: float = knob(20.0, "Time limit of one embeddings request, in s.")

    def check(self) -> None:
        _require(
            self.provider in ("auto", "e5", "openai"), "TAINA_EMBEDDINGS_PROVIDER must be auto, e5 or openai"
        )
        _require(
            self.provider != "openai" or bool(self.openai_api_key),
            "TAINA_EMBEDDINGS_PROVIDER=openai needs OPENAI_API_KEY",
        )
        _require(
            self.openai_base_url.startswith(("http://", "https://")), "OPENAI_BASE_URL must be an http(s) URL"
        )

    @property
    def use_openai(self) -> bool:
        return self.provider == "openai" or (self.provider == "auto" and bool(self.openai_api_key))


@dataclass(frozen=True)
class IngestSettings:
    prefix: ClassVar[str] = "TAINA_INGEST"
    max_bytes: int = knob(50_000_000, "Largest document accepted, in bytes.")
    max_unpacked_bytes: int = knob(
        200_000_000, "Most a DOCX may unpack to (zip bombs are refused), in bytes."
    )
    chunk_words: int = knob(90, "Target length of a passage, in words.")
    overlap_sentences: int = knob(1, "Sentences repeated at the start of the next passage.")
    sample_kb: bool = knob(
        True, "Ingest the sample medical centre on first start when there are no documents."
    )

    def check(self) -> None:
        _require(1_000 <= self.max_bytes <= 2_000_000_000, "TAINA_INGEST_MAX_BYTES must be 1000-2000000000")
        _require(
            self.max_unpacked_bytes >= self.max_bytes, "TAINA_INGEST_MAX_UNPACKED_BYTES must be >= MAX_BYTES"
        )
        _require(20 <= self.chunk_words <= 400, "TAINA_INGEST_CHUNK_WORDS must be 20-400")
        _require(0 <= self.overlap_sentences <= 5, "TAINA_INGEST_OVERLAP_SENTENCES must be 0-5")


@dataclass(frozen=True)
class RetrievalSettings:
    prefix: ClassVar[str] = "TAINA_RETRIEVAL"
    candidates: int = knob(40, "Passages each of vector and full-text search put forward before fusion.")
    rrf_k: int = knob(60, "Reciprocal rank fusion constant (higher flattens the ranks).")
    ef_search: int = knob(100, "HNSW search breadth (pgvector hnsw.ef_search).")
    text_budget: int = knob(
        2_000,
        "Most passages full-text search ranks for one question: the question's rarest words are used while the "
        "passages they appear in add up to no more than this.",
    )
    max_terms: int = knob(8, "Most words of a question used for full-text search, rarest first.")

    def check(self) -> None:
        _require(5 <= self.candidates <= 1_000, "TAINA_RETRIEVAL_CANDIDATES must be 5-1000")
        _require(1 <= self.rrf_k <= 1_000, "TAINA_RETRIEVAL_RRF_K must be 1-1000")
        _require(10 <= self.ef_search <= 1_000, "TAINA_RETRIEVAL_EF_SEARCH must be 10-1000")
        _require(10 <= self.text_budget <= 1_000_000, "TAINA_RETRIEVAL_TEXT_BUDGET must be 10-1000000")
        _require(1 <= self.max_terms <= 32, "TAINA_RETRIEVAL_MAX_TERMS must be 1-32")


@dataclass(frozen=True)
class DialogueSettings:
    prefix: ClassVar[str] = "TAINA_DIALOGUE"
    language_model: str = knob(
        "auto",
        "policy (the embedded Spanish dialogue policy), openai, or auto (openai when OPENAI_API_KEY is set).",
    )
    assistant_name: str = knob("TAINA", "The assistant's name, as it introduces itself.")
    greeting: str = knob(
        "", "What the assistant says when a call starts, before the caller speaks; empty: it waits for them."
    )
    system_prompt: str = knob(
        "",
        "The language model's instructions; empty: the built-in Spanish prompt. {assistant} and {organisation} "
        "are filled in.",
    )
    organisation: str = knob(
        "Centro Médico Caribe Salud", "Whose assistant it is (said in the system prompt)."
    )
    now: str = knob(
        "",
        "Fixes the clinic's clock (ISO 8601, e.g. 2026-11-25T09:00); empty means the real time. For tests and demos.",
        env="TAINA_NOW",
    )
    passages: int = knob(4, "Passages retrieved per user turn and given to the model.")
    min_similarity: float = knob(
        0.0, "Passages less similar than this to what was said are not given to the model (0 gives them all)."
    )
    max_steps: int = knob(8, "Most model calls in one turn (each tool round trip is one more).")
    memory: int = knob(40, "Most messages of the conversation kept for the model (tool results included).")

    def check(self) -> None:
        _require(
            self.language_model in ("auto", "policy", "openai"),
            "TAINA_DIALOGUE_LANGUAGE_MODEL must be auto, policy or openai",
        )
        if self.now:
            try:
                datetime.fromisoformat(self.now)
            except ValueError:
                raise SettingsError(
                    f"TAINA_NOW must be an ISO 8601 date and time, got {self.now!r}"
                ) from None
        _require(1 <= self.passages <= 20, "TAINA_DIALOGUE_PASSAGES must be 1-20")
        _require(-1 <= self.min_similarity <= 1, "TAINA_DIALOGUE_MIN_SIMILARITY must be between -1 and 1")
        _require(2 <= self.max_steps <= 20, "TAINA_DIALOGUE_MAX_STEPS must be 2-20")
        _require(4 <= self.memory <= 400, "TAINA_DIALOGUE_MEMORY must be 4-400")


@dataclass(frozen=True)
class OpenAISettings:
    prefix: ClassVar[str] = "TAINA_OPENAI"
    api_key: str = knob(
        "", "OpenAI API key: the chat model is OpenAI's when it is set.", env="OPENAI_API_KEY", secret=True
    )
    base_url: str = knob(
        "https://api.openai.com/v1", "Any OpenAI-compatible server's /v1 URL.", env="OPENAI_BASE_URL"
    )
    model: str = knob("gpt-4o-mini", "Chat model.", env="OPENAI_MODEL")
    temperature: float = knob(0.3, "Sampling temperature.")
    max_tokens: int = knob(300, "Most tokens in one reply (spoken replies are short).")
    connect_timeout_s: float = knob(5.0, "Time to connect to the server, in s.")
    first_token_timeout_s: float = knob(10.0, "Time from the request to the first streamed chunk, in s.")
    stall_timeout_s: float = knob(10.0, "Longest gap between two streamed chunks, in s.")
    retries: int = knob(
        2, "Retries after a 429, a 5xx or a failed connection (before anything was streamed)."
    )

    def check(self) -> None:
        _require(self.base_url.startswith(("http://", "https://")), "OPENAI_BASE_URL must be an http(s) URL")
        _require(0 <= self.temperature <= 2, "TAINA_OPENAI_TEMPERATURE must be 0-2")
        _require(16 <= self.max_tokens <= 4_096, "TAINA_OPENAI_MAX_TOKENS must be 16-4096")
        for name in ("connect_timeout_s", "first_token_timeout_s", "stall_timeout_s"):
            _require(
                0 < getattr(self, name) <= 300, f"TAINA_OPENAI_{name.upper()} must be above 0 and at most 300"
            )
        _require(0 <= self.retries <= 10, "TAINA_OPENAI_RETRIES must be 0-10")


@dataclass(frozen=True)
class RecordingSettings:
    prefix: ClassVar[str] = "TAINA_RECORDINGS"
    enabled: bool = knob(True, "Record every call (caller left, assistant right) into the object store.")
    retention_days: int = knob(
        90, "Calls older than this are deleted, recording and rows, by an hourly job; 0 keeps them forever."
    )

    def check(self) -> None:
        _require(0 <= self.retention_days <= 36_500, "TAINA_RECORDINGS_RETENTION_DAYS must be 0-36500")


@dataclass(frozen=True)
class AuthSettings:
    prefix: ClassVar[str] = "TAINA_AUTH"
    secret: str = knob(
        "",
        "Key that signs access and refresh tokens (HS256), 32 characters or more; empty: one is made and kept "
        "in <data dir>/auth_secret.",
        secret=True,
    )
    access_ttl_s: int = knob(900, "How long an access token lasts, in s.")
    refresh_ttl_s: int = knob(7 * 24 * 3600, "How long a refresh token lasts (unless logged out), in s.")
    login_attempts: int = knob(5, "Failed logins allowed per e-mail and per address in a minute; then 429.")

    def check(self) -> None:
        _require(not self.secret or len(self.secret) >= 32, "TAINA_AUTH_SECRET must be 32 characters or more")
        _require(60 <= self.access_ttl_s <= 86_400, "TAINA_AUTH_ACCESS_TTL_S must be 60-86400")
        _require(
            self.access_ttl_s < self.refresh_ttl_s <= 90 * 86_400,
            "TAINA_AUTH_REFRESH_TTL_S must be above the access token's and at most 90 days",
        )
        _require(1 <= self.login_attempts <= 100, "TAINA_AUTH_LOGIN_ATTEMPTS must be 1-100")


@dataclass(frozen=True)
class AppointmentsSettings:
    prefix: ClassVar[str] = "TAINA_APPOINTMENTS"
    url: str = knob(
        "",
        "An external booking system speaking TAINA's appointments API; empty means the built-in service.",
        env="APPOINTMENTS_URL",
    )
    token: str = knob("", "Bearer token sent to APPOINTMENTS_URL.", env="APPOINTMENTS_TOKEN", secret=True)
    timeout_s: float = knob(5.0, "Time limit of one request to the booking system, in s.")
    retries: int = knob(2, "Retries after a failed connection, a timeout or a 5xx (bookings carry a key).")
    api_token: str = knob(
        "",
        "When set, this server's /api/appointments routes need 'Authorization: Bearer <token>'.",
        secret=True,
    )
    seed_sample: bool = knob(
        True, "Load the sample centre's services, doctors and hours into an empty built-in service."
    )

    def check(self) -> None:
        _require(
            not self.url or self.url.startswith(("http://", "https://")),
            "APPOINTMENTS_URL must be an http(s) URL",
        )
        _require(0 < self.timeout_s <= 120, "TAINA_APPOINTMENTS_TIMEOUT_S must be above 0 and at most 120")
        _require(0 <= self.retries <= 10, "TAINA_APPOINTMENTS_RETRIES must be 0-10")


@dataclass(frozen=True)
class DeepgramSettings:
    prefix: ClassVar[str] = "TAINA_DEEPGRAM"
    api_key: str = knob(
        "",
        "Deepgram API key: speech-to-text is Deepgram's when it is set.",
        env="DEEPGRAM_API_KEY",
        secret=True,
    )
    url: str = knob(
        "wss://api.deepgram.com/v1/listen", "Deepgram's live transcription WebSocket.", env="DEEPGRAM_URL"
    )
    model: str = knob("nova-3", "Deepgram model.")
    language: str = knob("es", "es, es-419 or multi.")
    endpointing_ms: int = knob(
        300, "Deepgram's own endpointing, in ms (the engine's endpointer finalizes first)."
    )
    utterance_end_ms: int = knob(1_000, "Deepgram's UtteranceEnd gap, in ms (at least 1000).")
    smart_format: bool = knob(True, "Numbers, dates and punctuation formatted by Deepgram.")
    keyterms: tuple[str, ...] = knob(
        SAMPLE_KEYTERMS,
        "Comma-separated names Deepgram should expect: doctors, sites, insurers (nova-3 keyterm).",
    )
    keepalive_s: float = knob(
        4.0, "KeepAlive sent after this long without audio, in s (Deepgram closes after ~10 s)."
    )
    finalize_timeout_s: float = knob(
        1.5,
        "Longest wait for the final transcript after Finalize, in s; then the turn fails over to Whisper.",
    )
    connect_timeout_s: float = knob(3.0, "Longest wait for the WebSocket handshake, in s.")
    reconnects: int = knob(2, "Reconnections tried within one utterance (its audio is sent again).")

    def check(self) -> None:
        _require(self.url.startswith(("ws://", "wss://")), "DEEPGRAM_URL must be a ws:// or wss:// URL")
        _require(
            self.language in ("es", "es-419", "multi"), "TAINA_DEEPGRAM_LANGUAGE must be es, es-419 or multi"
        )
        _require(10 <= self.endpointing_ms <= 5_000, "TAINA_DEEPGRAM_ENDPOINTING_MS must be 10-5000")
        _require(1_000 <= self.utterance_end_ms <= 5_000, "TAINA_DEEPGRAM_UTTERANCE_END_MS must be 1000-5000")
        _require(0.5 <= self.keepalive_s <= 9, "TAINA_DEEPGRAM_KEEPALIVE_S must be 0.5-9")
        _require(0.1 <= self.finalize_timeout_s <= 10, "TAINA_DEEPGRAM_FINALIZE_TIMEOUT_S must be 0.1-10")
        _require(0.1 <= self.connect_timeout_s <= 30, "TAINA_DEEPGRAM_CONNECT_TIMEOUT_S must be 0.1-30")
        _require(0 <= self.reconnects <= 10, "TAINA_DEEPGRAM_RECONNECTS must be 0-10")


@dataclass(frozen=True)
class ElevenLabsSettings:
    prefix: ClassVar[str] = "TAINA_ELEVENLABS"
    api_key: str = knob(
        "",
        "ElevenLabs API key: text-to-speech is ElevenLabs' when it is set.",
        env="ELEVENLABS_API_KEY",
        secret=True,
    )
    url: str = knob("wss://api.elevenlabs.io", "ElevenLabs' WebSocket origin.", env="ELEVENLABS_URL")
    voice_id: str = knob("21m00Tcm4TlvDq8ikWAM", "The voice.", env="ELEVENLABS_VOICE_ID")
    model: str = knob("eleven_flash_v2_5", "The model.", env="ELEVENLABS_MODEL")
    output_format: str = knob(
        "pcm_24000", "pcm_16000 or pcm_24000: raw 16-bit audio, decoded straight into frames."
    )
    stability: float = knob(0.5, "Voice stability, 0-1.")
    similarity_boost: float = knob(0.75, "Voice similarity boost, 0-1.")
    speed: float = knob(1.0, "Speaking speed, 0.7-1.2.")
    chunk_length_schedule: tuple[str, ...] = knob(
        ("120", "160", "250", "290"), "Characters buffered before each generation (50-500 each)."
    )
    inactivity_timeout_s: int = knob(20, "Server-side inactivity timeout of a connection, in s (up to 180).")
    first_audio_timeout_s: float = knob(
        2.0, "Longest wait for a sentence's first audio, in s; then the sentence fails over to espeak-ng."
    )
    stall_timeout_s: float = knob(2.0, "Longest gap between two audio messages of one sentence, in s.")
    connect_timeout_s: float = knob(3.0, "Longest wait for the WebSocket handshake, in s.")

    def check(self) -> None:
        _require(self.url.startswith(("ws://", "wss://")), "ELEVENLABS_URL must be a ws:// or wss:// URL")
        _require(
            self.output_format in ("pcm_16000", "pcm_24000"),
            "TAINA_ELEVENLABS_OUTPUT_FORMAT must be pcm_16000 or pcm_24000",
        )
        for name in ("stability", "similarity_boost"):
            _require(0 <= getattr(self, name) <= 1, f"TAINA_ELEVENLABS_{name.upper()} must be 0-1")
        _require(0.7 <= self.speed <= 1.2, "TAINA_ELEVENLABS_SPEED must be 0.7-1.2")
        _require(
            bool(self.chunk_length_schedule)
            and all(v.isdigit() and 50 <= int(v) <= 500 for v in self.chunk_length_schedule),
            "TAINA_ELEVENLABS_CHUNK_LENGTH_SCHEDULE must be numbers from 50 to 500",
        )
        _require(5 <= self.inactivity_timeout_s <= 180, "TAINA_ELEVENLABS_INACTIVITY_TIMEOUT_S must be 5-180")
        for name in ("first_audio_timeout_s", "stall_timeout_s", "connect_timeout_s"):
            _require(0.1 <= getattr(self, name) <= 30, f"TAINA_ELEVENLABS_{name.upper()} must be 0.1-30")

    @property
    def sample_rate(self) -> int:
        return int(self.output_format.removeprefix("pcm_"))


def _default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "taina")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    audio: AudioSettings = field(default_factory=AudioSettings)
    vad: VadSettings = field(default_factory=VadSettings)
    endpoint: EndpointSettings = field(default_factory=EndpointSettings)
    turn: TurnSettings = field(default_factory=TurnSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    webrtc: WebRtcSettings = field(default_factory=WebRtcSettings)
    whisper: WhisperSettings = field(default_factory=WhisperSettings)
    espeak: EspeakSettings = field(default_factory=EspeakSettings)
    log: LogSettings = field(default_factory=LogSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    embeddings: EmbeddingSettings = field(default_factory=EmbeddingSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    dialogue: DialogueSettings = field(default_factory=DialogueSettings)
    openai: OpenAISettings = field(default_factory=OpenAISettings)
    appointments: AppointmentsSettings = field(default_factory=AppointmentsSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    recordings: RecordingSettings = field(default_factory=RecordingSettings)
    deepgram: DeepgramSettings = field(default_factory=DeepgramSettings)
    elevenlabs: ElevenLabsSettings = field(default_factory=ElevenLabsSettings)

    DATA_DIR_HELP: ClassVar[str] = (
        "TAINA_DATA_DIR: the one folder holding all state (models, database, recordings); "
        "default $XDG_DATA_HOME/taina, i.e. ~/.local/share/taina."
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        sections = {
            f.name: _load_section(f.default_factory, env)
            for f in dataclasses.fields(cls)
            if f.name != "data_dir"
        }
        data_dir = Path(env.get("TAINA_DATA_DIR") or _default_data_dir()).expanduser()
        return cls(data_dir=data_dir, **sections)

    def sections(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "data_dir"}


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(variable, current value, help) for every setting, in order."""
    rows = [("TAINA_DATA_DIR", str(settings.data_dir), Settings.DATA_DIR_HELP.split(": ", 1)[1])]
    seen = set()
    for section in settings.sections().values():
        for f in dataclasses.fields(section):
            if _env_name(section, f) in seen:  # one variable read by two sections (OPENAI_API_KEY)
                continue
            seen.add(_env_name(section, f))
            value = getattr(section, f.name)
            shown = ",".join(value) if isinstance(value, tuple) else str(value)
            if f.metadata["secret"] and shown:
                shown = "(set, not shown)"
            rows.append((_env_name(section, f), shown, f.metadata["help"]))
    return rows


def _env_name(section: Any, f: dataclasses.Field[Any]) -> str:
    return f.metadata.get("env") or f"{section.prefix}_{f.name.upper()}"


def _load_section(cls: Any, env: Mapping[str, str]) -> Any:
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        name = _env_name(cls, f)
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        values[f.name] = _parse(name, raw, hints[f.name])
    section = cls(**values)
    section.check()
    return section


def _parse(name: str, raw: str, kind: Any) -> Any:
    try:
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is bool:
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind == tuple[str, ...]:
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        return raw
    except ValueError:
        type_name = getattr(kind, "__name__", str(kind))
        raise SettingsError(f"{name} must be a {type_name}, got {raw!r}") from None


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise SettingsError(message)

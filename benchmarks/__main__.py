"""`python -m benchmarks NAME [--json]`: speed figures, measured side by side in one run, as medians."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

BENCHMARKS = {
    "frames": "CPU per 20 ms inbound frame on the listening path (48 kHz stereo -> 16 kHz mono -> VAD -> buffer)",
    "converse": "end of speech to first reply audio frame, embedded default, over many spoken turns",
    "endofturn": "the smart-turn model on labelled Spanish audio: accuracy, turns cut off early with and without it",
    "retrieval": "hybrid search latency p50/p95 at 10k and 100k passages, query embedding apart",
    "ingest": "pages per second for text PDFs with local embeddings",
    "dialogue": "policy turn time p50/p95 with retrieval and the appointment tools, embedded default",
    "finalize": "end of speech to Deepgram transcript when Deepgram finalizes by itself first (the usual case)",
    "adapters": "engine-side overhead of the Deepgram and ElevenLabs adapters per audio chunk, in microseconds",
    "latency": "engine-added latency per turn at 1, 10 and 50 concurrent sessions, scripted provider latencies",
    "bargein": "first voiced frame of an interruption to the last reply frame sent, p95",
    "capacity": "real WebRTC sessions over loopback: sessions per core at real time, memory per session",
    "pipecat": "the same audio and scripted providers through Pipecat and this engine: CPU and added latency",
    "soak": "30 real WebRTC calls for 10 minutes: the engine's memory, descriptors and asyncio tasks stay flat",
    "livekit": "calls through LiveKit (SDK + test server, in a netns) against the direct aiortc path: CPU, memory, "
    "engine-added latency, calls per core",
    "backup": "backup, verify and restore times and sizes: the sample clinic, and 10,000 documents + 1,000 hours",
}
RESULTS = Path(__file__).parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "name", choices=sorted(BENCHMARKS), help="; ".join(f"{k}: {v}" for k, v in BENCHMARKS.items())
    )
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument(
        "--runs", type=int, default=None, help="repetitions (each benchmark has its own default)"
    )
    parser.add_argument("--calls", type=int, default=None, help="soak: concurrent calls (default 30)")
    parser.add_argument(
        "--seconds", type=float, default=None, help="soak: how long the calls run (default 600)"
    )
    args = parser.parse_args(argv)
    import logging

    import structlog

    structlog.configure(  # the engine's logs: warnings only, on stderr (the JSON result goes to stdout)
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    module = importlib.import_module(f"benchmarks.{args.name}")
    options = {k: v for k in ("calls", "seconds") if (v := getattr(args, k)) is not None}
    if options and args.name != "soak":
        parser.error("--calls and --seconds are the soak benchmark's")
    result: dict[str, Any] = module.run(args.runs, **options)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

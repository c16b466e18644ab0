"""The `taina` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from engine.settings import Settings, SettingsError, describe

EXIT_USAGE = 2


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"taina: error: {message}", file=sys.stderr)
    return code


def _settings() -> Settings:
    from taina.logs import configure_logging

    settings = Settings.from_env()
    configure_logging(settings.log)
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from taina.runtime import Runtime
    from taina.server import create_app

    settings = _settings()
    host = args.host or settings.http.host
    port = settings.http.port if args.port is None else args.port
    runtime = Runtime.build(settings)
    print(f"TAINA Voice: abre http://{host}:{port}/ y pulsa «Hablar».", file=sys.stderr, flush=True)
    try:
        uvicorn.run(create_app(runtime), host=host, port=port, log_level="warning", access_log=False)
    finally:
        runtime.close()
    return 0


def cmd_converse(args: argparse.Namespace) -> int:
    from adapters.wavfile import WavError, read_wav
    from taina.converse import NoTurnError, converse
    from taina.runtime import Runtime

    source, out = Path(args.input), Path(args.out)
    try:
        audio = read_wav(source)  # check the input before loading any model
    except WavError as exc:
        return _fail(str(exc))
    if not out.parent.is_dir():
        return _fail(f"{out.parent}: the folder for --out does not exist")
    settings = _settings()
    runtime = Runtime.build(settings)
    try:
        result = asyncio.run(converse(runtime, audio, out, name=str(source)))
    except NoTurnError as exc:
        return _fail(str(exc), code=1)
    finally:
        runtime.close()
    print(json.dumps(result.as_json(), ensure_ascii=False))
    return 0


def cmd_settings(_args: argparse.Namespace) -> int:
    for name, value, help_text in describe(Settings.from_env()):
        print(f"{name}={value}\n    {help_text}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="taina", description="TAINA Voice: a real-time Spanish voice assistant."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the voice page and the API")
    serve.add_argument("--host", help="address to listen on (default TAINA_HTTP_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (default TAINA_HTTP_PORT)")
    serve.set_defaults(run=cmd_serve)

    talk = commands.add_parser(
        "converse", help="one spoken turn from a WAV file, reply written to a WAV file"
    )
    talk.add_argument("input", help="the user's speech: a WAV file, any rate, mono or stereo")
    talk.add_argument("--out", required=True, help="where to write the spoken reply (WAV)")
    talk.set_defaults(run=cmd_converse)

    show = commands.add_parser("settings", help="list every setting with its current value")
    show.set_defaults(run=cmd_settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except SettingsError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())

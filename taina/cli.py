"""The `taina` command."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import json
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from engine.options import SettingsError
from taina.settings import Settings, describe

if TYPE_CHECKING:
    from engine.ports.knowledge import DocumentRow
    from taina.app import App
    from taina.eval.run import Report
    from taina.knowledge.ingest import Library

EXIT_USAGE = 2


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"taina: error: {message}", file=sys.stderr)
    return code


def _settings(quiet: bool = False) -> Settings:
    """Settings from the environment; ``quiet`` commands log warnings only, unless TAINA_LOG_LEVEL says otherwise."""
    from taina.logs import configure_logging
    from taina.telemetry import configure_tracing

    settings = Settings.from_env()
    log = settings.log
    if quiet and "TAINA_LOG_LEVEL" not in os.environ:
        log = log.model_copy(update={"level": "warning"})
    configure_logging(log)
    tracing = configure_tracing()  # only with OTEL_EXPORTER_OTLP_ENDPOINT set
    if tracing is not None:
        atexit.register(tracing.close)
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings()
    host = args.host or settings.http.host
    port = settings.http.port if args.port is None else args.port
    from taina.workers import supervise, worker_count

    asked = settings.http.workers if args.workers is None else args.workers
    workers = worker_count(asked)
    if workers > 1:  # a supervisor and its worker processes (taina/workers.py)
        return supervise(settings, host, port, workers)

    async def work(app: App) -> int:

        from taina.http.app import server_config
        from taina.http.drain import DrainingServer

        web = app.http()
        config = server_config(web, host, port, log_level="warning", access_log=False)
        # SIGTERM drains: new calls refused, the ones in progress finish (TAINA_HTTP_DRAIN_S at most).
        server = DrainingServer(config, web.state.sessions, settings.http.drain_s)
        print(f"TAINA Voice: abre http://{host}:{port}/ y pulsa «Hablar».", file=sys.stderr, flush=True)
        await server.serve()
        return 0

    return asyncio.run(_with_app(settings, work, speech=True))


def cmd_converse(args: argparse.Namespace) -> int:
    from adapters.wavfile import WavError, read_wav

    source, out = Path(args.input), Path(args.out)
    try:
        audio = read_wav(source)  # check the input before loading any model
    except WavError as exc:
        return _fail(str(exc))
    if not out.parent.is_dir():
        return _fail(f"{out.parent}: the folder for --out does not exist")

    async def work(app: App) -> int:
        from taina.converse import NoTurnError, converse

        try:
            result = await converse(app, audio, out, name=str(source))
        except NoTurnError as exc:
            return _fail(str(exc), code=1)
        print(json.dumps(result.as_json(), ensure_ascii=False))
        return 0

    return asyncio.run(_with_app(_settings(), work, speech=True))


def _expand(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            files.append(path)
    return files


async def _with_knowledge(settings: Settings, work: Callable[[Library], Awaitable[int]]) -> int:
    from adapters.postgres import DatabaseError
    from engine.ports.storage import StorageError
    from taina.app import App

    try:
        async with App.library(settings) as library:
            return await work(library)
    except (DatabaseError, StorageError) as exc:
        return _fail(str(exc), code=1)


async def _with_app(
    settings: Settings, work: Callable[[App], Awaitable[int]], speech: bool = False, samples: bool = True
) -> int:
    """``work`` with the whole app open; a database, store, booking system or model that cannot be used exits 1
    with its reason."""
    from adapters.appointments_http import AppointmentsUnavailable
    from adapters.postgres import DatabaseError
    from adapters.whisper_model import ModelError
    from engine.ports.storage import StorageError
    from taina.app import App

    try:
        async with contextlib.AsyncExitStack() as stack:
            app = await stack.enter_async_context(App.open(settings, speech=speech, samples=samples))
            return await work(app)
    except (DatabaseError, StorageError, AppointmentsUnavailable, ModelError) as exc:
        return _fail(str(exc), code=1)


def cmd_chat(args: argparse.Namespace) -> int:
    """Text conversation through the same dialogue the voice session uses: one utterance per input line."""

    async def work(app: App) -> int:
        from taina.app import new_session_id

        dialogue = app.assistant.dialogue(new_session_id())
        interactive = sys.stdin.isatty() and not args.json
        while True:
            if interactive:
                print("usted> ", end="", file=sys.stderr, flush=True)
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                return 0
            said = line.strip()
            if not said:
                continue
            reply = dialogue.reply(said)
            pieces = [piece async for piece in reply]
            if args.json:
                print(json.dumps(reply.as_json(), ensure_ascii=False), flush=True)
            else:
                print(f"{app.settings.dialogue.assistant_name}: {''.join(pieces).strip()}", flush=True)

    return asyncio.run(_with_app(_settings(quiet=True), work))


def cmd_eval(args: argparse.Namespace) -> int:
    """`taina eval SUITE.yaml`: a suite of questions and scripted callers, checked, with a table and reports."""
    import dataclasses

    from taina.eval.suite import SuiteError, load_suite

    try:
        suite = load_suite(Path(args.suite))
    except SuiteError as exc:
        return _fail(str(exc))
    for out in (args.json, args.html):
        if out and not Path(out).parent.is_dir():
            return _fail(f"{out}: its folder does not exist")
    settings = _settings(quiet=True)
    if args.model:
        chosen = settings.dialogue.model_copy(update={"language_model": args.model})
        settings = dataclasses.replace(settings, dialogue=chosen)
    if suite.now:  # the suite's dates are written for its clock
        settings = dataclasses.replace(
            settings, dialogue=settings.dialogue.model_copy(update={"now": suite.now})
        )

    reports: list[Report] = []

    async def work(app: App) -> int:
        from taina.eval.run import run_suite

        report = await run_suite(app, suite, audio=args.audio)
        print(report.table(), flush=True)
        reports.append(report)
        return 0 if report.ok else 1

    code = asyncio.run(_with_app(settings, work, speech=args.audio))
    for report in reports:
        if args.json:
            Path(args.json).write_text(json.dumps(report.as_json(), ensure_ascii=False, indent=2) + "\n")
        if args.html:
            Path(args.html).write_text(report.html())
    return code


def cmd_appointments(args: argparse.Namespace) -> int:
    from adapters.appointments_db import BuiltInAppointments
    from adapters.appointments_http import appointment_json
    from engine.spoken import written_moment
    from taina.clinic.clock import CLINIC_TIMEZONE

    async def work(app: App) -> int:
        assert app.backend is not None
        appointments = app.backend.appointments
        if args.phone:
            try:
                upcoming = await appointments.find_by_patient(args.phone)
            except ValueError as exc:
                return _fail(str(exc))
        elif isinstance(appointments, BuiltInAppointments):
            upcoming = await appointments.upcoming()
        else:
            return _fail("listing every appointment needs the built-in service; give --phone")
        if args.json:
            print(json.dumps([appointment_json(a) for a in upcoming], ensure_ascii=False))
        elif not upcoming:
            print("No upcoming appointments.")
        for a in [] if args.json else upcoming:
            when = written_moment(a.starts_at.astimezone(CLINIC_TIMEZONE))
            print(f"{a.id}  {when:42} {a.doctor_name:28} {a.site_id:14} {a.patient_name} ({a.patient_phone})")
        return 0

    return asyncio.run(_with_app(_settings(quiet=True), work, samples=False))


def cmd_admin(args: argparse.Namespace) -> int:
    """`taina admin create --email E --password-stdin [--role R]`: an account, the first administrator first.
    `taina admin password --email E --password-stdin`: a new password for an account (its sessions all end)."""
    import re

    from adapters.accounts_db import Accounts, UserExists
    from adapters.postgres import Database, DatabaseError
    from taina.auth import hash_password

    email = args.email.strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        return _fail(f"--email {args.email!r} is not an e-mail address")
    if not args.password_stdin:
        return _fail("give the password on standard input with --password-stdin (never on the command line)")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        password_hash = hash_password(password, email)
    except ValueError as exc:
        return _fail(str(exc))
    settings = _settings(quiet=True)

    async def work() -> int:
        try:
            database = await Database.open(settings.database, settings.data_dir)
        except DatabaseError as exc:
            return _fail(str(exc))
        try:
            accounts = Accounts(database)
            if args.action == "password":
                found = await accounts.by_email(email)
                if found is None:
                    return _fail(f"there is no account for {email}", code=1)
                await accounts.set_password(found.id, password_hash)
                await accounts.audit("password_reset", found.id, target=found.email, detail={"by": "cli"})
                print(f"new password for {found.email}; its sessions have ended")
                return 0
            user = await accounts.create_user(email, password_hash, args.role)
            await accounts.audit(
                "user_created", user.id, target=user.email, detail={"role": user.role, "by": "cli"}
            )
        except UserExists as exc:
            return _fail(str(exc), code=1)
        finally:
            await database.aclose()
        print(f"created {user.role} {user.email} ({user.id})")
        return 0

    return asyncio.run(work())


def cmd_ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    files = _expand(args.paths)
    if not files:
        return _fail("no files to ingest")

    async def work(kb: Library) -> int:
        show_bar = not args.json and sys.stderr.isatty()
        failures = 0
        with tqdm(total=len(files), unit="doc", desc="Ingiriendo", disable=not show_bar) as bar:
            for path in files:
                result = await kb.ingest_path(path)
                failures += result.status in ("failed", "refused")
                if args.json:
                    print(json.dumps(result.as_json(), ensure_ascii=False), flush=True)
                else:
                    detail = result.error or f"{result.passages} passages"
                    bar.write(f"{result.status:9} {path}  {detail}")
                bar.update()
        return 1 if failures else 0

    return asyncio.run(_with_knowledge(_settings(quiet=True), work))


def cmd_search(args: argparse.Namespace) -> int:
    if not args.query.strip():
        return _fail("the question is empty")

    async def work(kb: Library) -> int:
        passages = await kb.search(args.query, args.k)
        if args.json:
            print(json.dumps([asdict(p) for p in passages], ensure_ascii=False))
        elif not passages:
            print("No passages found.")
        for rank, p in enumerate([] if args.json else passages, 1):
            print(f"{rank}. [{p.document_id}] {p.heading}  (score {p.score:.4f})\n   {p.text}\n")
        return 0

    return asyncio.run(_with_knowledge(_settings(quiet=True), work))


def cmd_documents(args: argparse.Namespace) -> int:
    async def work(kb: Library) -> int:
        if args.action == "list":
            rows = await kb.store.documents()
            if args.json:
                print(json.dumps([_document_json(r) for r in rows], ensure_ascii=False))
            for r in [] if args.json else rows:
                state = r.status if r.status == "ready" else f"failed: {r.error}"
                print(f"{r.id}  {r.name:40} {r.chunk_count:4} passages  {state}")
            return 0
        missing = [doc for doc in args.ids if not await kb.delete(doc)]
        for doc in missing:
            print(f"taina: error: no document with id {doc}", file=sys.stderr)
        return 1 if missing else 0

    if args.action == "delete" and not args.ids:
        return _fail("documents delete needs at least one document id")
    return asyncio.run(_with_knowledge(_settings(quiet=True), work))


def _document_json(row: DocumentRow) -> dict[str, object]:
    data = asdict(row)
    data["updated_at"] = row.updated_at.isoformat()
    return data


def cmd_livekit(args: argparse.Namespace) -> int:
    """``taina livekit dispatch ROOM``: this process joins the LiveKit room and serves its caller until the call
    ends (the running server does the same through POST /api/livekit/dispatch)."""
    settings = _settings(quiet=args.json)
    if not settings.livekit.enabled:
        return _fail("LiveKit is not configured: set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET")

    async def work(app: App) -> int:
        from taina.livekit_agent import NoSuchRoom, join

        try:
            call = await join(app, args.room)
        except NoSuchRoom as exc:
            return _fail(str(exc), code=1)
        except Exception as exc:
            return _fail(f"could not join the room on the LiveKit server: {exc}", code=1)
        assert call.task is not None
        session = await call.task
        summary = {
            "room": call.room,
            "session_id": call.session_id,
            "caller": None if call.transport.caller is None else call.transport.caller.identity,
            "turns": 0 if session is None else len(session.records),
            "failed": session is not None and session.error is not None,
        }
        print(json.dumps(summary, ensure_ascii=False) if args.json else
              f"{summary['room']}: {summary['turns']} turns with {summary['caller'] or 'no caller'}")  # fmt: skip
        return 1 if summary["failed"] else 0

    return asyncio.run(_with_app(settings, work, speech=True))


def cmd_migrate(_args: argparse.Namespace) -> int:
    """`taina migrate`: apply the schema migrations and exit (a Kubernetes Job before an upgrade's pods start)."""
    from adapters.postgres import DatabaseError, migrate, migrations

    settings = _settings(quiet=True)
    try:
        applied = asyncio.run(migrate(settings.database, settings.data_dir))
    except DatabaseError as exc:
        return _fail(str(exc), code=1)
    for name in applied:
        print(f"applied {name}")
    print(f"the database schema is up to date ({len(migrations())} migrations, {len(applied)} applied now)")
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
    serve.add_argument(
        "--workers", type=int, help="worker processes, 0: one per core (default TAINA_HTTP_WORKERS)"
    )
    serve.set_defaults(run=cmd_serve)

    talk = commands.add_parser(
        "converse", help="one spoken turn from a WAV file, reply written to a WAV file"
    )
    talk.add_argument("input", help="the user's speech: a WAV file, any rate, mono or stereo")
    talk.add_argument("--out", required=True, help="where to write the spoken reply (WAV)")
    talk.set_defaults(run=cmd_converse)

    ingest = commands.add_parser(
        "ingest", help="add or update documents (files or folders) in the knowledge base"
    )
    ingest.add_argument(
        "paths", nargs="+", help="Markdown, text, HTML, PDF or DOCX files, or folders of them"
    )
    ingest.add_argument("--json", action="store_true", help="one JSON line per document")
    ingest.set_defaults(run=cmd_ingest)

    search = commands.add_parser("search", help="the passages the assistant would answer a question from")
    search.add_argument("query", help="the question, as a person would ask it")
    search.add_argument("--k", type=int, default=5, choices=range(1, 51), metavar="K", help="passages (1-50)")
    search.add_argument("--json", action="store_true", help="print a JSON list")
    search.set_defaults(run=cmd_search)

    documents = commands.add_parser("documents", help="list or delete documents")
    documents.add_argument("action", choices=["list", "delete"])
    documents.add_argument("ids", nargs="*", help="document ids (delete)")
    documents.add_argument("--json", action="store_true", help="print JSON")
    documents.set_defaults(run=cmd_documents)

    chat = commands.add_parser(
        "chat", help="talk to the assistant in text: one utterance per line on standard input"
    )
    chat.add_argument(
        "--json", action="store_true", help='one JSON line per turn: {"reply", "actions", "sources"}'
    )
    chat.set_defaults(run=cmd_chat)

    evaluate = commands.add_parser(
        "eval", help="run an evaluation suite (YAML): questions, scripted callers, grounding, latency"
    )
    evaluate.add_argument("suite", help="the suite, e.g. taina/eval/sample_clinic.yaml")
    evaluate.add_argument(
        "--model",
        choices=["policy", "openai"],
        help="the language model (default TAINA_DIALOGUE_LANGUAGE_MODEL)",
    )
    evaluate.add_argument(
        "--audio", action="store_true", help="speak each question (espeak-ng) through the voice pipeline"
    )
    evaluate.add_argument("--json", metavar="OUT", help="write the report as JSON")
    evaluate.add_argument("--html", metavar="OUT", help="write the report as HTML")
    evaluate.set_defaults(run=cmd_eval)

    booked = commands.add_parser("appointments", help="list upcoming appointments")
    booked.add_argument("action", choices=["list"])
    booked.add_argument("--phone", help="only this patient's (any phone format)")
    booked.add_argument("--json", action="store_true", help="print a JSON list")
    booked.set_defaults(run=cmd_appointments)

    admin = commands.add_parser("admin", help="accounts for the dashboard and the API")
    admin.add_argument(
        "action", choices=["create", "password"], help="create an account, or set a new password for one"
    )
    admin.add_argument("--email", required=True, help="the person's e-mail, their login")
    admin.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password (10 characters or more) from standard input",
    )
    admin.add_argument(
        "--role", choices=["admin", "editor", "viewer"], default="admin", help="default: admin"
    )
    admin.set_defaults(run=cmd_admin)

    livekit = commands.add_parser("livekit", help="serve calls in LiveKit rooms (LIVEKIT_URL and its keys)")
    livekit.add_argument("action", choices=["dispatch"])
    livekit.add_argument("room", help="the room to join; the engine answers the first caller there")
    livekit.add_argument("--json", action="store_true", help="print the call's summary as JSON")
    livekit.set_defaults(run=cmd_livekit)

    migrate = commands.add_parser(
        "migrate", help="apply the database schema migrations and exit (see TAINA_DATABASE_MIGRATE)"
    )
    migrate.set_defaults(run=cmd_migrate)

    show = commands.add_parser("settings", help="list every setting with its current value")
    show.set_defaults(run=cmd_settings)

    from taina import backup_cli

    backup_cli.add_parser(commands)
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

"""`taina backup create|restore|verify`: the command-line face of taina/backup.py.

Exit codes: 0 done; 1 the backup could not be made, read or restored (a wrong key, a corrupt or truncated
backup, an unreachable destination, a non-empty target), with one line saying why and nothing changed;
2 a usage error."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

EXIT_FAILED = 1


def _say(summary: dict[str, Any], as_json: bool, verb: str) -> None:
    if as_json:
        print(json.dumps(summary, ensure_ascii=False), flush=True)
        return
    sizes = ", ".join(f"{k} {v}" for k, v in summary.items() if k not in ("rows", "id"))
    tables = sum(summary.get("rows", {}).values())
    print(f"{verb} {summary['id']}: {sizes}, {tables} rows", flush=True)


def cmd_backup(args: argparse.Namespace) -> int:
    from taina.backup import create_backup, database_url, restore_backup, verify_backup
    from taina.backup_archive import BackupError, backup_key, default_destination, destination
    from taina.cli import _fail, _settings
    from taina.knowledge.open import object_store

    settings = _settings(quiet=True)
    key_file = Path(args.key_file) if args.key_file else None
    progress = not args.json

    async def create() -> dict[str, Any]:
        dest = destination(args.to or default_destination(settings))
        key = backup_key(settings, key_file, create=key_file is None and not settings.backup.key)
        store = object_store(settings)
        try:
            async with database_url(settings) as url:
                return await create_backup(settings, store, url, dest, key, keep=args.keep, progress=progress)
        finally:
            await store.aclose()

    async def restore() -> dict[str, Any]:
        key = backup_key(settings, key_file)
        return await restore_backup(
            settings, args.source, key, backup_id=args.backup, force=args.force, progress=progress
        )

    async def verify() -> dict[str, Any]:
        return await verify_backup(args.source, backup_key(settings, key_file), args.backup, progress)

    work = {"create": create, "restore": restore, "verify": verify}[args.action]
    try:
        summary = asyncio.run(work())
    except BackupError as exc:
        return _fail(str(exc), code=EXIT_FAILED)
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}", code=EXIT_FAILED)
    _say(
        summary, args.json, {"create": "backed up", "restore": "restored", "verify": "verified"}[args.action]
    )
    return 0


def add_parser(commands: Any) -> None:
    backup = commands.add_parser(
        "backup", help="back up, verify or restore the database and the object store"
    )
    actions = backup.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="a backup now (incremental for the objects), encrypted")
    create.add_argument("--to", help="a folder or s3://bucket/prefix (default TAINA_BACKUP_TO)")
    create.add_argument("--keep", type=int, help="backups kept there (default TAINA_BACKUP_KEEP)")
    restore = actions.add_parser("restore", help="restore a backup into an empty data folder or database")
    restore.add_argument(
        "source", help="the backups' folder or s3:// prefix, or one backup in it (…/backups/ID)"
    )
    restore.add_argument("--backup", help="which backup (default the newest)")
    restore.add_argument(
        "--force", action="store_true", help="restore over a database or store that is not empty"
    )
    verify = actions.add_parser("verify", help="open every file of a backup and check its checksum")
    verify.add_argument(
        "source", help="the backups' folder or s3:// prefix, or one backup in it (…/backups/ID)"
    )
    verify.add_argument("--backup", help="which backup (default the newest)")
    for sub in (create, restore, verify):
        sub.add_argument("--key-file", help="the backup key (base64) in a file (default TAINA_BACKUP_KEY)")
        sub.add_argument("--json", action="store_true", help="print the summary as JSON, no progress bar")
        sub.set_defaults(run=cmd_backup)

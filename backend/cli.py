"""The `fieldcheck` command: serve, db upgrade, seed --demo, keys rotate, audit verify."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from backend.settings import Settings

log = logging.getLogger("fieldcheck.cli")


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def cmd_db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    from backend.migrations.runner import upgrade

    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    _out("database is at the latest revision")
    return 0


async def _seed(settings: Settings, demo: bool) -> tuple[int, list[str]]:
    from backend.core.clock import Clock
    from backend.core.db import make_engine, make_sessionmaker, transaction
    from backend.seed import seed_agencies, seed_demo

    engine = make_engine(settings.resolved_database_url)
    try:
        now = Clock().now()
        async with transaction(make_sessionmaker(engine)) as session:
            agencies = await seed_agencies(session, now)
            people = await seed_demo(session, now) if demo else []
        return agencies, people
    finally:
        await engine.dispose()


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    agencies, people = asyncio.run(_seed(settings, args.demo))
    _out(f"agencies added: {agencies}; demo accounts added: {len(people)}")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from backend.core.signing import Keys

    Keys(Path(settings.data_dir)).load()  # create keys once, before workers race to do it
    uvicorn.run("backend.asgi:make_app", factory=True, host=args.host, port=args.port, workers=args.workers,
                proxy_headers=False, log_level="info")
    return 0


def cmd_keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    from backend.core.signing import Keys

    keys = Keys(Path(settings.data_dir)).load()
    purposes = [args.purpose] if args.purpose else ["access", "credential", "seal"]
    for purpose in purposes:
        key = keys.ring(purpose).rotate()
        _out(f"{purpose}: new key {key.kid} (older keys stay published for verification)")
    return 0


async def _audit_verify(settings: Settings) -> int:
    from backend.audit.service import verify_chain
    from backend.core.db import make_engine, make_sessionmaker

    engine = make_engine(settings.resolved_database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            result = await verify_chain(session)
    finally:
        await engine.dispose()
    if result.ok:
        _out(f"audit chain ok: {result.length} entries, head {result.head}")
        return 0
    _out(f"audit chain BROKEN: {len(result.problems)} problem(s) in {result.length} entries")
    for problem in result.problems[:20]:
        _out(f"  seq {problem['seq']}: {problem['problem']}")
    return 1


def cmd_audit_verify(settings: Settings, _args: argparse.Namespace) -> int:
    return asyncio.run(_audit_verify(settings))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fieldcheck", description="Fieldcheck backend")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="create or migrate the database (idempotent)").set_defaults(func=cmd_db_upgrade)

    seed = sub.add_parser("seed", help="load reference data (and demo data with --demo)")
    seed.add_argument("--demo", action="store_true", help="also load the demo accounts")
    seed.set_defaults(func=cmd_seed)

    serve = sub.add_parser("serve", help="run the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)

    keys = sub.add_parser("keys", help="signing keys").add_subparsers(dest="keys_command", required=True)
    rotate = keys.add_parser("rotate", help="new signing key; old public keys stay published")
    rotate.add_argument("--purpose", choices=["access", "credential", "seal"])
    rotate.set_defaults(func=cmd_keys_rotate)

    audit = sub.add_parser("audit", help="audit log").add_subparsers(dest="audit_command", required=True)
    audit.add_parser("verify", help="recheck the whole audit chain").set_defaults(func=cmd_audit_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("FIELDCHECK_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    return int(args.func(settings, args))


if __name__ == "__main__":
    raise SystemExit(main())

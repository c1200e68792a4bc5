"""The `fieldcheck` command: serve, db upgrade, seed --demo, keys rotate, audit verify.

Each command imports what it uses inside its own function, so that a short command run by cron
(`expire-terms`, `overdue`) or `--help` does not load what the others need (uvicorn, the seed, the
audit verifier, the migrations). No cycle hides behind these imports."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from backend.core.signing import PURPOSES
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
    from backend.core.signing import Keys
    from backend.seed import seed_agencies, seed_demo, seed_demo_credentials

    engine = make_engine(settings.resolved_database_url)
    try:
        now = Clock().now()
        async with transaction(make_sessionmaker(engine)) as session:
            agencies = await seed_agencies(session, now)
            people = await seed_demo(session, now) if demo else []
            if demo:
                keys = Keys(Path(settings.data_dir)).load()
                await seed_demo_credentials(session, keys, settings, now)
        # Integrate what the seed recorded: a fresh database starts with a signed checkpoint.
        from backend.audit.sequencer import integrate_all

        seal = Keys(Path(settings.data_dir)).load().seal
        await integrate_all(make_sessionmaker(engine), seal=seal, settings=settings, clock=Clock())
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

    # Create keys once, before workers race to do it.
    if settings.secret_key:
        asyncio.run(_shared_keys(settings, None))
    else:
        Keys(Path(settings.data_dir)).load()
    # Photos a crashed server left half-written: temp files and files without a row. At once
    # when the process that wrote them is gone; otherwise once older than an hour (younger ones
    # may belong to uploads still in flight elsewhere).
    try:
        asyncio.run(_evidence_sweep(settings, 3600))
    except Exception:
        log.warning("evidence sweep at start failed; run `fieldcheck evidence sweep`", exc_info=True)
    # SIGTERM: stop accepting, let requests in flight finish for at most shutdown_timeout_s, then
    # cancel what is left (an upload cut that way removes its temp file) and exit.
    # Request headers that stall are cut after header_timeout_s (uvicorn has no such timeout):
    # its httptools protocol with one timer more, backend/core/http_protocol.py.
    uvicorn.run("backend.asgi:make_app", factory=True, host=args.host, port=args.port, workers=args.workers,
                proxy_headers=False, log_level="info", timeout_graceful_shutdown=settings.shutdown_timeout_s,
                http="backend.core.http_protocol:HeaderTimeoutProtocol")
    return 0


async def _shared_keys(settings: Settings, purposes: list[str] | None) -> list[tuple[str, str]]:
    """Make sure the shared keys exist (importing the data directory's), then rotate `purposes`."""
    from backend.core import keystore
    from backend.core.db import make_engine

    engine = make_engine(settings.resolved_database_url)
    try:
        await keystore.ensure_keys(engine, settings.secret_key, Path(settings.data_dir))
        return [(p, (await keystore.rotate(engine, settings.secret_key, p)).kid) for p in purposes or []]
    finally:
        await engine.dispose()


def cmd_keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    from backend.core.signing import Keys

    purposes = [args.purpose] if args.purpose else list(PURPOSES)
    if settings.secret_key:
        rotated = asyncio.run(_shared_keys(settings, purposes))
    else:
        keys = Keys(Path(settings.data_dir)).load()
        rotated = [(purpose, keys.ring(purpose).rotate().kid) for purpose in purposes]
    for purpose, kid in rotated:
        _out(f"{purpose}: new key {kid} (older keys stay published for verification)")
    return 0


async def _audit_verify(settings: Settings, since: bool, checkpoint_files: list[Path]) -> int:
    """Recheck the record: every entry's hashes and links, the tiles, the Merkle tree, every
    checkpoint the server ever signed (root and signature, against the seal keys in the data
    directory), and the witnesses outside the database (the data directory's checkpoint file and any
    checkpoint a client kept). Streams in constant memory. Exit 1 on any problem."""
    from backend.audit import witness
    from backend.audit.verify import VerifiedState, verify_chain
    from backend.core.db import make_engine, make_sessionmaker
    from backend.core.signing import KeyRing

    engine = make_engine(settings.resolved_database_url)
    seal: KeyRing | None
    if settings.secret_key:  # keys shared by every node live in the database
        from backend.core import keystore

        seal = KeyRing(Path(settings.data_dir) / "keys", "seal", shared=True)
        seal.replace((await keystore.read_keys(engine, settings.secret_key))["seal"])
    else:
        seal = KeyRing(Path(settings.data_dir) / "keys", "seal").load(create=False)
    if seal is not None and not seal.all():
        _out(f"note: no seal keys in {settings.data_dir}; checkpoint signatures are not checked, only their roots")
        seal = None
    notes = [text for text in [witness.read(settings.witness_path)] if text]
    for path in checkpoint_files:
        try:
            notes.append(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            _out(f"cannot read checkpoint {path}: {exc}")
            await engine.dispose()
            return 2
    state = VerifiedState.load(settings.witness_path) if since else None
    if since and state is None:
        _out("note: no earlier verification recorded; checking everything")
    try:
        async with make_sessionmaker(engine, read_only=True)() as session:
            result, new_state = await verify_chain(session, seal=seal, key_name=settings.origin, witnesses=notes,
                                                   since=state)
    finally:
        await engine.dispose()
    scope = f"from tree size {result.resumed_from}" if result.resumed_from else "everything"
    tree = f"tree size {result.tree_size}, root {result.root_hash}"
    checked = (f"{result.checkpoints_checked} checkpoint(s), {result.tiles_checked} tile(s), "
               f"{result.witnesses_checked} witness(es) rechecked")
    if result.ok:
        new_state.save(settings.witness_path)
        _out(f"audit log ok ({scope}): {result.length} entries read, head {result.head}; {tree}; {checked}")
        return 0
    _out(f"audit log BROKEN ({scope}): {len(result.problems)} problem(s) in {result.length} entries; {tree}; {checked}")
    for problem in result.problems[:20]:
        if problem.get("seq") is not None:
            where = f"seq {problem['seq']}"
        elif problem.get("tile") is not None:
            where = f"tile {problem['tile']}"
        else:
            where = f"checkpoint {problem.get('tree_size')}"
        _out(f"  {where}: {problem['problem']}")
    return 1


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_audit_verify(settings, args.since, list(args.checkpoint or [])))


async def _audit_integrate(settings: Settings) -> int:
    from backend.audit.sequencer import integrate_all
    from backend.core.clock import Clock
    from backend.core.db import make_engine, make_sessionmaker
    from backend.core.signing import Keys

    seal = Keys(Path(settings.data_dir)).load().seal
    engine = make_engine(settings.resolved_database_url)
    try:
        count = await integrate_all(make_sessionmaker(engine), seal=seal, settings=settings, clock=Clock())
    finally:
        await engine.dispose()
    _out(f"audit entries integrated: {count}")
    return 0


def cmd_audit_integrate(settings: Settings, _args: argparse.Namespace) -> int:
    return asyncio.run(_audit_integrate(settings))


async def _expire_terms(settings: Settings, today_text: str | None) -> int:
    from datetime import date

    from backend.core.clock import Clock
    from backend.core.db import make_engine, make_sessionmaker, transaction
    from backend.personnel.dismissal.service import expire_terms

    clock = Clock()
    # "Today" is a Liaoning calendar date (Asia/Shanghai), whatever the server's time zone.
    today = date.fromisoformat(today_text) if today_text else clock.today()
    engine = make_engine(settings.resolved_database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            results = await expire_terms(session, today, clock.now())
    finally:
        await engine.dispose()
    for r in results:
        _out(f"appointment {r.appointment_id} (person {r.person_id}) ended {r.end_date.isoformat()}: {r.outcome}")
    dismissed = sum(1 for r in results if r.outcome == "dismissed")
    _out(f"terms expired before {today.isoformat()}: {len(results)}; people dismissed: {dismissed}")
    return 0


def cmd_expire_terms(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_expire_terms(settings, args.today))


def _iso_instant(text: str) -> str:
    from datetime import datetime

    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 time: {text!r}") from exc
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a UTC offset (e.g. 2026-12-01T08:00:00Z): {text!r}")
    return text


async def _overdue(settings: Settings, now_text: str | None) -> int:
    from datetime import datetime

    from backend.core.clock import Clock, iso_utc
    from backend.core.db import make_engine, make_sessionmaker, transaction
    from backend.notifications.overdue import sweep

    now = datetime.fromisoformat(now_text) if now_text else Clock().now()
    engine = make_engine(settings.resolved_database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            report = await sweep(session, now)
    finally:
        await engine.dispose()
    for i in report.incidents:
        _out(f"incident {i.id} art.{i.article} {i.kind} ({i.agency_code}) status {i.status} "
             f"due {iso_utc(i.due_at)}{' NEW' if i.newly else ''}")
    for s in report.submissions:
        _out(f"submission {s.id} {s.kind} ({s.agency_code}) due {iso_utc(s.due_at)}{' NEW' if s.newly else ''}")
    _out(f"overdue at {iso_utc(now)}: incidents {len(report.incidents)}, submissions {len(report.submissions)}; "
         f"newly overdue (staff notified): {report.newly}")
    return 0


def cmd_overdue(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_overdue(settings, args.now))


async def _evidence_sweep(settings: Settings, min_age_s: float) -> int:
    from backend.core.db import make_engine, make_sessionmaker
    from backend.evidence.service import sweep

    engine = make_engine(settings.resolved_database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            report = await sweep(session, settings.data_dir, min_age_s=min_age_s, settings=settings)
            await session.commit()
    finally:
        await engine.dispose()
    for path in report.temp_removed:
        _out(f"removed temp file {path}")
    for path in report.orphans_removed:
        _out(f"removed orphan {path}")
    for sha in report.missing:
        _out(f"MISSING file for evidence sha256 {sha}")
    _out(f"evidence sweep: {len(report.temp_removed)} temp, {len(report.orphans_removed)} orphan file(s) removed; "
         f"{report.kept_young} younger than {min_age_s:g} s kept; {len(report.missing)} missing")
    return 1 if report.missing else 0


def cmd_evidence_sweep(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_evidence_sweep(settings, args.min_age))


def _iso_date(text: str) -> str:
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from exc
    return text


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
    rotate.add_argument("--purpose", choices=list(PURPOSES))
    rotate.set_defaults(func=cmd_keys_rotate)

    audit = sub.add_parser("audit", help="audit log").add_subparsers(dest="audit_command", required=True)
    verify = audit.add_parser("verify", help="recheck the audit log (everything, in constant memory)")
    verify.add_argument("--since", action="store_true",
                        help="resume from the last checkpoint a previous successful run verified")
    verify.add_argument("--checkpoint", type=Path, action="append",
                        help="a signed checkpoint kept outside the database (repeatable): the log must reach it")
    verify.set_defaults(func=cmd_audit_verify)
    audit.add_parser("integrate", help="integrate every committed pending entry now (the sequencer's "
                                       "work; safe while servers run)").set_defaults(func=cmd_audit_integrate)

    expire = sub.add_parser("expire-terms", help="dismiss appointments whose term ended (Art. 25)")
    expire.add_argument("--today", type=_iso_date, help="YYYY-MM-DD (default: today in Asia/Shanghai)")
    expire.set_defaults(func=cmd_expire_terms)

    overdue = sub.add_parser("overdue", help="list overdue incidents and supervision submissions; notify staff")
    overdue.add_argument("--now", type=_iso_instant, help="RFC 3339 time with offset (default: now)")
    overdue.set_defaults(func=cmd_overdue)

    evidence = sub.add_parser("evidence", help="evidence photo storage").add_subparsers(
        dest="evidence_command", required=True)
    ev_sweep = evidence.add_parser("sweep", help="remove interrupted uploads and files no evidence row refers to; "
                                                 "non-zero exit if a row's file is missing")
    ev_sweep.add_argument("--min-age", type=float, default=3600.0,
                          help="only files older than this many seconds (default 3600: younger ones may be "
                               "uploads still in flight)")
    ev_sweep.set_defaults(func=cmd_evidence_sweep)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return int(args.func(settings, args))


if __name__ == "__main__":
    raise SystemExit(main())

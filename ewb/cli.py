"""The `ewb` command line: database, areas, users, serving, audit and CAP."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from config import providers
from config.settings import Settings, SettingsError, load_settings
from ewb import admin, backup, broadcast_status, demo_job, doctor, people, report, watch
from ewb.bootstrap import configure_logging, make_app
from subscribers import accounts
from warning.errors import InvalidInput

Command = Callable[[Settings, argparse.Namespace], Awaitable[int]]


def _require_live(settings: Settings) -> None:
    """Refuse to start while a channel `require_live_channels` names would be sandboxed."""
    refused = providers.refused_sandboxes(settings)
    if refused:
        raise admin.AdminError(
            f"require_live_channels names {', '.join(refused)}, but"
            f" {'they' if len(refused) > 1 else 'it'} would send to the local simulator:"
            " set the provider's credentials (README, Settings), or leave the channel out"
            " of require_live_channels"
        )


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from aiohttp import web

    _require_live(settings)
    asyncio.run(admin.require_migrated(settings))
    configure_logging(settings)
    host, port = args.host or settings.host, args.port or settings.port
    print(f"ewb serving on http://{host}:{port}  (database: {settings.public()['database_url']})")
    sandboxed = providers.sandboxed(settings)
    if sandboxed:
        banner = (
            f"SANDBOX MODE: {', '.join(sandboxed)} send to the local simulators, not to"
            " real people (run `ewb sim`; set the provider credentials to go live)"
        )
        print(f"\n{'!' * len(banner)}\n{banner}\n{'!' * len(banner)}\n", flush=True)
        logging.getLogger("ewb").warning(banner)
    if settings.distributed:
        broker = settings.public()["broker_url"]
        print(f"distributed mode: `ewb worker` processes send (broker {broker})")
    web.run_app(make_app(settings), host=host, port=port, print=None)
    return 0


def _distributed(settings: Settings) -> None:
    if not settings.distributed:
        raise admin.AdminError(
            "no broker: set EWB_BROKER_URL (e.g. redis://127.0.0.1:6379/0) for the"
            " distributed mode; without one `ewb serve` sends by itself"
        )
    if settings.db_url.startswith("sqlite"):
        raise admin.AdminError(
            "the distributed mode needs PostgreSQL (EWB_DATABASE_URL=postgresql+asyncpg://…):"
            " several processes cannot share one SQLite file safely"
        )
    asyncio.run(admin.require_migrated(settings))
    configure_logging(settings)


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from delivery import lanes, worker
    from delivery.celery_app import configure

    try:
        chosen = lanes.parse_lanes(args.lanes)
    except ValueError as e:
        print(f"ewb worker: {e}", file=sys.stderr)
        return 2
    _require_live(settings)
    _distributed(settings)
    worker.use(settings, chosen)
    # Solo: one task at a time, and (concurrency 1) one message reserved at a time, so the
    # next task taken is the most urgent waiting then, not one prefetched before it came.
    pool = [f"--concurrency={args.concurrency}"]
    if args.concurrency == 1:
        pool.insert(0, "--pool=solo")
    configure(settings).worker_main(
        [
            "worker",
            *pool,
            f"--loglevel={settings.log_level}",
            "--without-gossip",
            "--without-mingle",
            "--queues",
            ",".join(lanes.queue_name(lane) for lane in chosen),
            *(["--hostname", args.name] if args.name else []),
        ]
    )
    return 0


def _scheduler(settings: Settings, args: argparse.Namespace) -> int:
    from ewb.jobs import run_scheduler

    _distributed(settings)
    asyncio.run(run_scheduler(settings))  # until Ctrl-C (main answers 130)
    return 0


def _sim(settings: Settings, args: argparse.Namespace) -> int:
    from sim.run import serve_forever

    configure_logging(settings)
    asyncio.run(serve_forever(settings))  # until Ctrl-C (main answers 130)
    return 0


def _keygen(settings: Settings, args: argparse.Namespace) -> int:
    from ewb.broadcast_keys import keygen

    return keygen(settings, args)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise admin.AdminError("the passwords differ")
    try:
        accounts.check_password(password)
    except InvalidInput as e:
        raise admin.AdminError(e.message) from e
    return password


async def _user_add(settings: Settings, args: argparse.Namespace) -> int:
    return await admin.user_add(settings, args, _password(args))


async def _user_password(settings: Settings, args: argparse.Namespace) -> int:
    return await admin.user_password(settings, args, _password(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ewb", description="ewb early-warning broadcast service")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply all migrations").set_defaults(run=admin.db_upgrade)
    db.add_parser("status", help="show the schema revision").set_defaults(run=admin.db_status)
    saved = sub.add_parser(
        "backup",
        help="copy the whole database to a new FILE (SQLite online backup, or pg_dump)",
    )
    saved.add_argument("file", type=Path, metavar="FILE")
    saved.set_defaults(run=backup.backup)
    restored = sub.add_parser(
        "restore",
        help="replace the database with a backup FILE, then verify the audit chain",
    )
    restored.add_argument("file", type=Path, metavar="FILE")
    restored.add_argument(
        "--force", action="store_true", help="replace a database that holds records"
    )
    restored.set_defaults(run=backup.restore)

    areas = sub.add_parser("areas", help="administrative areas").add_subparsers(
        dest="areas", required=True
    )
    load = areas.add_parser("load", help="load or update areas from a divisions CSV")
    load.add_argument("csv", type=Path, help="CSV with columns code,name,parent_code,level")
    load.set_defaults(run=people.areas_load)
    population = areas.add_parser("population", help="set population figures from a CSV")
    population.add_argument(
        "csv", type=Path, help="CSV with columns code,population,households,source"
    )
    population.set_defaults(run=people.areas_population)

    residents = sub.add_parser("residents", help="residents (subscribers)").add_subparsers(
        dest="residents", required=True
    )
    imp_residents = residents.add_parser("import", help="import or update residents from a CSV")
    imp_residents.add_argument("csv", type=Path)
    imp_residents.add_argument(
        "--report",
        type=Path,
        help="write every refused row here (default when there are many:"
        " CSV.errors.csv beside the file)",
    )
    imp_residents.add_argument("--quiet", action="store_true", help="no progress bar")
    imp_residents.set_defaults(run=people.residents_import)

    officers = sub.add_parser("officers", help="disaster information officers").add_subparsers(
        dest="officers", required=True
    )
    officers_load = officers.add_parser("load", help="create or update officers from a CSV")
    officers_load.add_argument(
        "csv", type=Path, help="CSV with columns username,name,phone,wecom_id,areas"
    )
    officers_load.set_defaults(run=people.officers_load)
    officers.add_parser("gaps", help="list villages with no officer (exit 1 if any)").set_defaults(
        run=people.officers_gaps
    )

    terminals = sub.add_parser("terminals", help="broadcast terminals").add_subparsers(
        dest="terminals", required=True
    )
    terminals_load = terminals.add_parser("load", help="create or update terminals from a CSV")
    terminals_load.add_argument("csv", type=Path)
    terminals_load.set_defaults(run=people.terminals_load)

    user = sub.add_parser("user", help="users").add_subparsers(dest="user", required=True)
    add = user.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument(
        "--role",
        required=True,
        choices=["forecaster", "duty_chief", "leader", "info_officer", "admin"],
    )
    add.add_argument("--org", required=True, help="organisation id from config/policy.toml")
    add.add_argument(
        "--areas", required=True, help="area codes of the user's scope, comma-separated"
    )
    add.add_argument("--full-name", help="the person's name (shown to colleagues)")
    add.add_argument("--phone", help="phone number (required for info_officer)")
    add.add_argument("--wecom-id", help="WeCom (企业微信) user id, for officers")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    add.set_defaults(run=_user_add)

    password = user.add_parser("password", help="set a user's password")
    password.add_argument("name")
    password.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    password.set_defaults(run=_user_password)

    unlock = user.add_parser(
        "unlock", help="lift the sign-in throttle of a user (every client address)"
    )
    unlock.add_argument("name")
    unlock.set_defaults(run=admin.user_unlock)

    demo = sub.add_parser(
        "demo",
        help="the main job end to end: a red typhoon warning for the coastal towns, its"
        " fan-out to the simulators, the coverage per town and the HTML report",
    )
    demo.add_argument(
        "--residents",
        type=int,
        default=50_000,
        help="sample residents to generate when there are none (default 50000)",
    )
    demo.add_argument(
        "--database-url",
        help="the demo's database (default: var/demo.db, a SQLite file of its own)",
    )
    demo.add_argument("--html", type=Path, metavar="FILE", help="where to write the HTML report")
    demo.add_argument(
        "--setup-only",
        action="store_true",
        help="only create the demo users and sample residents in the configured database"
        " (what `make run` does), idempotent",
    )
    demo.set_defaults(run=_demo)

    serve = sub.add_parser("serve", help="run the web server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(sync=_serve)

    work = sub.add_parser(
        "worker", help="send deliveries as a Celery worker (distributed mode, EWB_BROKER_URL)"
    )
    work.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="worker processes (default 1: one process, one event loop; or run more workers)",
    )
    work.add_argument("--name", help="Celery node name (default celery@HOST)")
    work.add_argument(
        "--lanes",
        default="broadcast,officer,resident",
        help="urgency lanes to work (default all three; a worker with broadcast also plans,"
        " e.g. --lanes broadcast,officer for a worker kept for urgent work)",
    )
    work.set_defaults(sync=_worker)

    sub.add_parser(
        "scheduler",
        help="run the timers and the sweep (distributed mode; one active instance)",
    ).set_defaults(sync=_scheduler)

    audit = sub.add_parser("audit", help="audit log").add_subparsers(dest="audit", required=True)
    audit.add_parser("verify", help="check the hash chain").set_defaults(run=admin.audit_verify)

    cap = sub.add_parser("cap", help="CAP 1.2 export and import").add_subparsers(
        dest="cap", required=True
    )
    export = cap.add_parser("export", help="print the CAP XML of an issued version")
    export.add_argument("warning_id", type=int)
    export.add_argument("version", type=int, nargs="?")
    export.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    export.set_defaults(run=admin.cap_export)
    imp = cap.add_parser("import", help="turn a CAP alert into a draft warning")
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--as",
        dest="as_user",
        help="author the draft as this user (checked against their permissions)",
    )
    imp.set_defaults(run=admin.cap_import)

    follow = sub.add_parser("watch", help="show a warning's fan-out as a live progress bar")
    follow.add_argument("warning_id", type=int)
    follow.add_argument(
        "--version", type=int, help="this version (default: the latest issued, followed)"
    )
    follow.add_argument(
        "--interval", type=float, default=1.0, help="seconds between polls (default 1)"
    )
    follow.add_argument(
        "--json", action="store_true", help="print the progress as one JSON line per poll"
    )
    follow.set_defaults(run=watch.watch)

    cover = sub.add_parser(
        "report", help="a warning's coverage per town against 95 %%, optionally as HTML"
    )
    cover.add_argument("warning_id", type=int)
    cover.add_argument(
        "--version", type=int, help="this version (default: the latest issued, not an all-clear)"
    )
    cover.add_argument(
        "--html", type=Path, metavar="FILE", help="also write the full report to FILE"
    )
    cover.set_defaults(run=report.report)

    sub.add_parser("sim", help="run the provider simulators (sandbox mode)").set_defaults(sync=_sim)
    sub.add_parser(
        "doctor",
        help="check the configuration and what ewb depends on; exit 1 on any failure",
    ).set_defaults(run=doctor.doctor)

    keys = sub.add_parser("broadcast", help="emergency-broadcast platform").add_subparsers(
        dest="broadcast", required=True
    )
    keygen = keys.add_parser(
        "keygen",
        help="make an SM2 key pair for signing EBD packages (tests and sandbox)",
        description="Print a new SM2 key pair and a random certificate serial number as TOML"
        " lines (broadcast_private_key, broadcast_public_key, broadcast_cert_sn) for the"
        " EWB_CONFIG file. The private key is a secret: with --out FILE they go to a new"
        " file readable only by you (an existing file is never overwritten).",
    )
    keygen.add_argument("--out", type=Path, metavar="FILE", help="write to this new file")
    keygen.add_argument(
        "--simulator",
        action="store_true",
        help="the simulator's pair instead: sim_broadcast_private_key and the matching"
        " broadcast_platform_public_key",
    )
    keygen.set_defaults(sync=_keygen)
    keys.add_parser(
        "status",
        help="is the platform answering heartbeats; terminals online and offline",
        description="Print the broadcast platform's heartbeat link (down after 3 unanswered"
        " ConnectionChecks) and the terminals per status. Exit status 1 while it is down.",
    ).set_defaults(run=broadcast_status.status)

    sub.add_parser("settings", help="print the settings in force").set_defaults(
        run=admin.show_settings
    )
    return parser


async def _demo(settings: Settings, args: argparse.Namespace) -> int:
    if args.residents < 0:
        raise admin.AdminError("--residents must be 0 or more")
    if args.setup_only:
        return await admin.demo(settings, args)
    return await demo_job.run(settings, args)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        if hasattr(args, "sync"):
            code: int = args.sync(settings, args)
            return code
        return asyncio.run(args.run(settings, args))
    except (admin.AdminError, SettingsError) as e:
        print(f"ewb: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130

"""The `hedgerow` command: serve | worker | init | keys | projects | migrate.

`init`, `keys` and `projects` touch only the metadata store, so they work while a server runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from hedgerow.db.migrate import upgrade
from hedgerow.db.session import make_engine, make_sessionmaker, transaction
from hedgerow.domain.dashboard_templates.service import ensure_global_templates
from hedgerow.domain.projects import service as projects
from hedgerow.errors import DomainError
from hedgerow.logs import configure_logging
from hedgerow.settings import Settings


def _settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = str(first.get("msg", "invalid setting")).removeprefix("Value error, ")
        sys.stderr.write(f"hedgerow: invalid configuration{' (' + where + ')' if where else ''}: {message}\n")
        raise SystemExit(2) from None
    configure_logging(settings.log_level)
    return settings


def _prepare(settings: Settings) -> Callable[[], Any]:
    """Data dir, migrations and shipped templates; returns a unit-of-work factory."""
    settings.ensure_data_dir()
    upgrade(settings.database_url)
    factory = make_sessionmaker(make_engine(settings.database_url))
    with transaction(factory) as session:
        ensure_global_templates(session)
    return lambda: transaction(factory)


def _emit(args: argparse.Namespace, payload: dict[str, Any], human: str) -> None:
    print(json.dumps(payload) if args.json else human)


def _run(work: Callable[[Session], Any]) -> Any:
    unit = _prepare(_settings())
    try:
        with unit() as session:
            return work(session)
    except DomainError as exc:
        sys.stderr.write(f"hedgerow: {exc.detail}\n")
        raise SystemExit(2) from None


def cmd_init(args: argparse.Namespace) -> None:
    result = _run(lambda s: projects.initialise(s, email=args.email))
    _emit(
        args,
        asdict(result),
        f"Project {result.project_id} (capture token {result.project_api_token})\n"
        f"Personal API key for {result.user_email} (shown once): {result.personal_api_key}",
    )


def cmd_keys_create(args: argparse.Namespace) -> None:
    scopes = ["*"] if args.scopes.strip() == "*" else args.scopes.split(",")
    project_ids: list[int] = []
    for raw in filter(None, (p.strip() for p in (args.projects or "").split(","))):
        if not raw.isdigit():
            sys.stderr.write(f"hedgerow: --projects takes project ids, got {raw!r}\n")
            raise SystemExit(2)
        project_ids.append(int(raw))
    issued = _run(
        lambda s: projects.create_key(
            s, email=args.email, scopes=scopes, project_ids=project_ids, label=args.label
        )
    )
    _emit(args, asdict(issued), f"Personal API key {issued.id} (shown once): {issued.key}")


def cmd_projects_create(args: argparse.Namespace) -> None:
    project = _run(lambda s: projects.create_project(s, name=args.name, week_start_day=args.week_start_day))
    _emit(
        args, {"id": project.id, "api_token": project.api_token}, f"Project {project.id}: {project.api_token}"
    )


def cmd_projects_list(args: argparse.Namespace) -> None:
    rows = _run(projects.list_projects)
    listing = [{"id": p.id, "name": p.name, "api_token": p.api_token} for p in rows]
    if args.json:
        print(json.dumps(listing))
    else:
        for p in listing:
            print(f"{p['id']}\t{p['name']}\t{p['api_token']}")


def cmd_migrate(args: argparse.Namespace) -> None:
    settings = _settings()
    _prepare(settings)
    print("Metadata store is up to date.")


SWITCH_INTERVAL_SECONDS = 0.0001


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from hedgerow.app import create_app

    settings = _settings()
    unit = _prepare(settings)
    with unit() as session:
        first = None if projects.has_users(session) else projects.initialise(session)
    if first is not None:
        print(
            "Hedgerow initialised a new data dir.\n"
            f"  project id:        {first.project_id}\n"
            f"  capture token:     {first.project_api_token}\n"
            f"  personal API key:  {first.personal_api_key}  (shown once)\n",
            flush=True,
        )
    print(f"Hedgerow listening on http://{args.host}:{args.port}", flush=True)
    # Capture requests hold the metadata store's write lock across calls that release the
    # interpreter lock (SQLite, the lock file); at the default 5 ms switch interval, getting it
    # back behind a busy thread kept that write lock held several times longer than needed.
    # 0.1 ms measured ~13% more events/s than 0.5 ms in alternating runs of bench/ingest.py.
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=settings.log_level.lower(),
        access_log=settings.log_level == "DEBUG",
    )


def cmd_worker(args: argparse.Namespace) -> None:
    """Scale-out: claim and run background jobs from the shared metadata store until stopped."""
    import signal
    import threading

    from hedgerow.domain.ingestion.replicator import Replicator
    from hedgerow.store.factory import open_store
    from hedgerow.worker.jobs import JobContext
    from hedgerow.worker.runner import WorkerPool

    settings = _settings()
    _prepare(settings)
    try:
        store = open_store(settings.analytics_url)
    except Exception as exc:  # DuckDB files admit one process: the server's embedded workers.
        sys.stderr.write(f"hedgerow: cannot open the analytics store: {exc}\n")
        raise SystemExit(1) from None
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    factory = make_sessionmaker(make_engine(settings.database_url))
    # The worker copies pending captures itself before calculating, rather than waiting on servers.
    catch_up = Replicator(factory, store).drain
    pool = WorkerPool(JobContext(factory, store, settings, catch_up=catch_up), threads=args.threads)
    pool.start()
    print(f"Hedgerow worker running {args.threads} thread(s)", flush=True)
    try:
        stopped.wait()
    finally:
        pool.stop()
        store.close()


def cmd_dead_letters_list(args: argparse.Namespace) -> None:
    from hedgerow.domain.ingestion.queue import list_dead_letters

    letters = _run(list_dead_letters)
    listing = [
        {
            "id": d.id,
            "queue_id": d.queue_id,
            "project_id": d.project_id,
            "event_count": d.event_count,
            "error": d.error,
            "created_at": d.created_at.isoformat(),
        }
        for d in letters
    ]
    if args.json:
        print(json.dumps(listing))
    elif not listing:
        print("No dead letters.")
    else:
        for d in listing:
            where = f"project {d['project_id']}\t{d['event_count']} events"
            print(f"{d['id']}\t{where}\t{d['created_at']}\t{d['error']}")


def cmd_dead_letters_replay(args: argparse.Namespace) -> None:
    from hedgerow.domain.ingestion.queue import requeue_dead_letters

    ids = [int(i) for i in args.ids.split(",") if i.strip()] if args.ids else None
    count = _run(lambda session: requeue_dead_letters(session, ids))
    _emit(args, {"requeued": count}, f"Requeued {count} batch(es); the running server applies them.")


def cmd_apply_ingestion(args: argparse.Namespace) -> None:
    """Started by `hedgerow serve`: apply queued capture batches to persons until stopped."""
    from hedgerow.domain.ingestion.applier import applier_main

    settings = _settings()
    # The server's checkpoint thread copies the log back (db/checkpoints.py): this process's
    # commits, which every reader waits for, never do. A larger page cache keeps the persons it
    # rewrites group after group in memory: the 2 MiB default made most of those rows a read
    # from the file (the UPDATEs of a 20,000-event group took half the time with 64 MiB).
    engine = make_engine(settings.database_url, checkpoints=False, cache_mib=64)
    try:
        applier_main(make_sessionmaker(engine))
    finally:
        engine.dispose()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hedgerow", description="Product analytics that speaks PostHog's API."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP server (initialises a fresh data dir)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)

    init = sub.add_parser("init", help="create the default organization, project and user; issue a key")
    init.add_argument("--email")
    init.add_argument("--json", action="store_true")
    init.set_defaults(func=cmd_init)

    keys = sub.add_parser("keys", help="personal API keys").add_subparsers(dest="keys_command", required=True)
    create = keys.add_parser("create", help="issue a personal API key")
    create.add_argument("--email")
    create.add_argument(
        "--scopes", default="*", help='comma-separated, e.g. "cohort:read,dashboard:write", or "*"'
    )
    create.add_argument("--projects", help="comma-separated project ids the key is limited to")
    create.add_argument("--label", default="")
    create.add_argument("--json", action="store_true")
    create.set_defaults(func=cmd_keys_create)

    proj = sub.add_parser("projects", help="projects").add_subparsers(dest="projects_command", required=True)
    pcreate = proj.add_parser("create", help="create a project")
    pcreate.add_argument("--name", required=True)
    pcreate.add_argument(
        "--week-start-day",
        type=int,
        choices=(0, 1),
        help="first day of the week in trends: 0 Sunday (default), 1 Monday",
    )
    pcreate.add_argument("--json", action="store_true")
    pcreate.set_defaults(func=cmd_projects_create)
    plist = proj.add_parser("list", help="list projects")
    plist.add_argument("--json", action="store_true")
    plist.set_defaults(func=cmd_projects_list)

    worker = sub.add_parser("worker", help="run background jobs (cohort calculations) for scale-out")
    worker.add_argument("--threads", type=int, default=2, help="worker threads in this process")
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="apply metadata store migrations")
    migrate.set_defaults(func=cmd_migrate)

    letters = sub.add_parser(
        "dead-letters", help="capture batches that could not be applied, set aside"
    ).add_subparsers(dest="dead_letters_command", required=True)
    llist = letters.add_parser("list", help="list them with their errors")
    llist.add_argument("--json", action="store_true")
    llist.set_defaults(func=cmd_dead_letters_list)
    lreplay = letters.add_parser("replay", help="put them back in the ingestion queue")
    lreplay.add_argument("--ids", help="comma-separated dead-letter ids (default: all)")
    lreplay.add_argument("--json", action="store_true")
    lreplay.set_defaults(func=cmd_dead_letters_replay)

    # Internal: the ingestion applier process `hedgerow serve` starts beside itself.
    applier = sub.add_parser("apply-ingestion")
    applier.set_defaults(func=cmd_apply_ingestion)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)

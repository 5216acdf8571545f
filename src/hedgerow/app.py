"""The ASGI application: routers, error handlers, and the stores it opens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp

from hedgerow import __version__
from hedgerow.api.envelope import install_error_handlers
from hedgerow.api.middleware import OptionalTrailingSlash
from hedgerow.api.options import HeadAsGet
from hedgerow.api.routes import ROUTERS
from hedgerow.api.routes.capture import CaptureFastPath
from hedgerow.db.checkpoints import Checkpointer
from hedgerow.db.session import make_engine, make_sessionmaker
from hedgerow.domain.cohorts.recovery import start_recovery
from hedgerow.domain.ingestion.applier import ApplierProcess
from hedgerow.domain.ingestion.replicator import Replicator
from hedgerow.settings import Settings
from hedgerow.store.factory import open_store
from hedgerow.worker.jobs import JobContext
from hedgerow.worker.runner import WorkerPool


def create_app(settings: Settings) -> FastAPI:
    # On SQLite, checkpoints run in a thread of their own (db/checkpoints.py), not in commits.
    checkpoints = Checkpointer.wanted(settings.database_url)
    engine = make_engine(settings.database_url, checkpoints=not checkpoints)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.ensure_data_dir()
        checkpointer = Checkpointer(engine) if checkpoints else None
        if checkpointer is not None:
            checkpointer.start()
        # Only the server opens the analytics store: DuckDB allows one writing process per file.
        app.state.store = open_store(settings.analytics_url)
        # Person changes are worked out in a process of their own (another core), by default.
        app.state.applier = None
        if settings.ingestion_applier == "process":
            app.state.applier = ApplierProcess(settings.database_url)
            app.state.applier.start()
        # Replays what an earlier process accepted but had not yet copied, then keeps copying.
        app.state.replicator = Replicator(
            app.state.sessionmaker,
            app.state.store,
            external_applier=app.state.applier.alive if app.state.applier is not None else None,
        )
        app.state.replicator.start()
        # Static cohort members and CSV imports a crash left half-done are finished in the background.
        start_recovery(app.state.sessionmaker, app.state.store, settings.data_dir)
        # Embedded mode: cohort calculations run in threads of this process, sharing its store.
        app.state.workers = None
        if settings.embedded_workers > 0:
            context = JobContext(
                app.state.sessionmaker, app.state.store, settings, catch_up=app.state.replicator.drain
            )
            app.state.workers = WorkerPool(context, threads=settings.embedded_workers)
            app.state.workers.start()
        try:
            yield
        finally:
            if app.state.workers is not None:
                app.state.workers.stop()
            if app.state.applier is not None:
                app.state.applier.stop()
            app.state.replicator.stop()
            app.state.store.close()
            if checkpointer is not None:
                checkpointer.stop()
            engine.dispose()

    app = _App(
        title="Hedgerow",
        version=__version__,
        description="Product analytics that speaks PostHog's API.",
        openapi_url="/api/schema",
        docs_url="/api/schema/swagger-ui",
        redoc_url="/api/schema/redoc",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(HeadAsGet)
    app.add_middleware(OptionalTrailingSlash)
    return app


class _App(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        """Capture requests are served ahead of every middleware, the framework's own included
        (its error page, telemetry and body limit each cost a few lookups per request, and the
        capture handler answers every error itself)."""
        return CaptureFastPath(super().build_middleware_stack())

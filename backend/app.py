"""create_app(settings): the one place where routes, dependencies, error mapping and startup are
wired."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.config.response_cache import ResponseCacheConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Receive, Scope, Send

import backend
from backend.audit.controllers import AuditController
from backend.audit.sequencer import Sequencer
from backend.core import keystore
from backend.core.changes import ChangeFeed
from backend.core.clock import Clock
from backend.core.db import make_engine, make_sessionmaker
from backend.core.deps import (
    provide_clock,
    provide_keys,
    provide_read_session,
    provide_session,
    provide_settings,
)
from backend.core.errors import DomainError
from backend.core.health import healthz, readyz
from backend.core.http import (
    domain_error_handler,
    http_exception_handler,
    internal_error_handler,
    reject_nul_characters,
)
from backend.core.openapi import complete_openapi
from backend.core.ratelimit import make_limiter, make_redis
from backend.core.signing import Keys
from backend.core.timeouts import body_timeout_middleware
from backend.credentials.snapshot import CredentialSnapshot
from backend.documents_pdf.paths import pdf_path_middleware
from backend.evidence import service as evidence
from backend.evidence.imaging import configure_pillow
from backend.incidents import service as incidents
from backend.personnel.people.deps import provide_principal
from backend.personnel.people.login_limits import login_limiters
from backend.settings import Settings

log = logging.getLogger("fieldcheck")
#: Where the interactive docs' own JavaScript and CSS are served from.
DOCS_ASSETS = "/static/swagger-ui"


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id  # type: ignore[typeddict-unknown-key]

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        await app(scope, receive, send_with_id)

    return middleware


def route_handlers() -> list[Any]:
    # The controllers are imported when an app is built, not with this module: they bring in the
    # PDF, imaging and web stacks (about 0.7 s), which a process that only imports `backend.app`
    # (test collection, `fieldcheck` commands other than serve) does not need. No cycle hides here.
    from backend.credentials.controllers import ROUTES as credentials
    from backend.documents_pdf.controllers import ROUTES as documents_pdf
    from backend.evidence.controllers import ROUTES as evidence
    from backend.incidents.controllers import ROUTES as incidents
    from backend.inspections.controllers import ROUTES as inspections
    from backend.notifications.controllers import ROUTES as notifications
    from backend.personnel.routes import ROUTES as personnel
    from backend.supervision.controllers import ROUTES as supervision
    from backend.sync.controllers import ROUTES as sync
    from backend.web.controllers import ROUTES as web
    from backend.web.document_controllers import ROUTES as web_documents

    docs_assets = create_static_files_router(
        path=DOCS_ASSETS, directories=[Path(__file__).resolve().parent / "web" / "static" / "swagger-ui"],
        include_in_schema=False, opt={"exclude_from_auth": True},
        cache_control=CacheControlHeader(max_age=86400, public=True),
    )
    return [
        healthz, readyz, docs_assets, *personnel, AuditController, *credentials, *inspections, *evidence,
        *incidents, *supervision, *notifications, *sync, *web, *documents_pdf, *web_documents,
    ]


def register_evidence_owners() -> None:
    """Who may see the photos of each kind of owner: the owner's own visibility rule. Wired here,
    not by the owners' modules at import time, so the evidence package depends on no owner for
    its registry and the list of owners is in one place."""
    evidence.register_owner_kind("inspection", evidence.inspection_visible)
    evidence.register_owner_kind("incident", incidents.evidence_visible)


def create_app(settings: Settings, *, clock: Clock | None = None) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = make_engine(settings.resolved_database_url, echo=settings.sql_echo, timeout_s=settings.db_timeout_s)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine, lock_on_write=True)
        app.state.read_sessionmaker = make_sessionmaker(engine, read_only=True)
        # What public verification reads, in memory, kept fresh by the change feed (see
        # backend/credentials/snapshot.py); other subscribers join the same feed.
        feed = ChangeFeed(engine, poll_s=settings.change_poll_s)
        if keys.shared:
            # Keys every node shares (backend/core/keystore.py): a rotation anywhere reaches all.
            await keystore.ensure_keys(engine, settings.secret_key, Path(settings.data_dir))
            feed.subscribe("signing_keys", on_reset=partial(keystore.reload, keys, engine, settings.secret_key))
        snapshot = CredentialSnapshot(app.state.read_sessionmaker)
        snapshot.watch(engine)
        feed.subscribe("credentials", on_reset=snapshot.reload, on_item=snapshot.refresh)
        app.state.change_feed = feed
        app.state.credential_snapshot = snapshot
        await feed.start()
        sequencer_task = None
        if settings.audit_sequencer:
            sequencer = Sequencer(engine, app.state.sessionmaker, seal=keys.seal, settings=settings,
                                  clock=state["clock"])
            sequencer_task = asyncio.create_task(sequencer.run(), name="audit-sequencer")
        try:
            yield
        finally:
            if sequencer_task is not None:
                sequencer_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sequencer_task
            await feed.stop()
            if redis is not None:
                await redis.aclose()
            await engine.dispose()

    register_evidence_owners()
    # Process-wide Pillow limits from the settings. Importing backend.evidence.imaging has already
    # set safe defaults (decompression bombs refused, truncated files never padded); this puts the
    # configured pixel limit on every `Image.open`, card photos included.
    configure_pillow(settings.max_image_pixels)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    keys = Keys(Path(settings.data_dir), shared=True) if settings.secret_key else Keys(Path(settings.data_dir)).load()
    redis = make_redis(settings.redis_url) if settings.redis_url else None
    state = State({
        "settings": settings,
        "clock": clock or Clock(),
        "keys": keys,
        "redis": redis,
        "public_limiter": make_limiter(redis, settings.redis_prefix, "public", settings.public_rate_limit,
                                       settings.public_rate_window_s),
        **login_limiters(redis, settings),
    })
    app = Litestar(
        route_handlers=route_handlers(),
        dependencies={
            "session": Provide(provide_session),
            "read_session": Provide(provide_read_session),
            "clock": Provide(provide_clock, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "signing_keys": Provide(provide_keys, sync_to_thread=False),
            "principal": Provide(provide_principal),
        },
        exception_handlers={
            DomainError: domain_error_handler,
            HTTPException: http_exception_handler,
            Exception: internal_error_handler,
        },
        middleware=[request_id_middleware,
                    body_timeout_middleware(settings.body_idle_timeout_s, settings.body_timeout_s)],
        before_request=reject_nul_characters,
        lifespan=[lifespan],
        state=state,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Fieldcheck API",
            version=backend.__version__,
            description="Backend of the Liaoning emergency-management field app: technical inspectors, "
                        "social supervisors, credentials, inspections, evidence.",
            path="/schema",
            # Swagger UI from the app's own files (backend/web/static/swagger-ui): agencies' networks
            # are often closed, and a docs page that loads from a CDN is blank there.
            render_plugins=[SwaggerRenderPlugin(
                path=["/", "/swagger"],
                js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{DOCS_ASSETS}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' type='image/png' href='{DOCS_ASSETS}/favicon-32x32.png'>",
            )],
        ),
        response_cache_config=ResponseCacheConfig(),
        debug=False,
    )
    complete_openapi(app)
    # Before routing (Litestar's `middleware` runs after it): `/api/v1/documents/{id}.pdf`.
    app.asgi_handler = pdf_path_middleware(app.asgi_handler)
    return app



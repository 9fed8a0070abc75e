"""The aiohttp application factory: routes, middlewares, and services in cleanup_ctx."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from delivery.receipts import Receipts
from ewb.services import Services
from web import (
    ack_page,
    acks_api,
    audit_api,
    auth,
    cap_api,
    console_admin,
    console_approvals,
    console_officer,
    console_reports,
    console_signin,
    console_warnings,
    coverage_api,
    headers,
    health,
    pages,
    people_api,
    progress_api,
    public_api,
    public_page,
    reports_api,
    residents_api,
    warnings_api,
    webhooks_broadcast,
    webhooks_platform,
    webhooks_twilio,
)
from web.errors import error_middleware
from web.intake import Intake
from web.keys import INTAKE, SERVICES, wake_app_runner

STATIC = Path(__file__).resolve().parent / "static"


async def callbacks_ctx(app: web.Application) -> AsyncIterator[None]:
    """Status callbacks stored as they arrive (web/intake.py) and applied just after
    (delivery/receipts.py); at shutdown what arrived is stored, the rest applied on the
    next start."""
    services = app[SERVICES]
    receipts = Receipts(services, lambda: wake_app_runner(app))
    settings = services.settings
    intake = Intake(services.store, services.clock, settings.callback_store_seconds, receipts.poke)
    app[INTAKE] = intake
    intake.start()
    receipts.start()
    yield
    await intake.close()
    await receipts.close()


def init_app(build_services: Callable[[], Services]) -> web.Application:
    """The app; services are built at start-up and closed at shutdown."""
    app = web.Application(middlewares=[error_middleware, auth.auth_middleware])
    app.on_response_prepare.append(headers.stamp)

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        services = build_services()
        app[SERVICES] = services
        yield
        await services.store.close()

    app.cleanup_ctx.append(services_ctx)
    app.cleanup_ctx.append(callbacks_ctx)
    pages.setup(app)
    app.router.add_static("/static/", STATIC, name="static")
    app.router.add_post("/api/v1/auth/token", auth.issue_token)
    for module in (
        warnings_api,
        cap_api,
        audit_api,
        residents_api,
        people_api,
        progress_api,
        coverage_api,
        reports_api,
        acks_api,
        webhooks_twilio,
        webhooks_broadcast,
        webhooks_platform,
        ack_page,
        public_api,
        console_signin,
        console_warnings,
        console_approvals,
        console_officer,
        console_admin,
        console_reports,
        public_page,
        health,
    ):
        app.router.add_routes(module.routes)
    return app

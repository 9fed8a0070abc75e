"""Every HTTP error is JSON {"error", "message", "field"?}; domain errors map here."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from config.data import CapSchemaError
from warning.errors import (
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from web.headers import request_id
from web.responses import json_response

log = logging.getLogger("ewb.web")

STATUS = {InvalidInput: 422, PermissionDenied: 403, InvalidTransition: 409, NotFound: 404}


class HttpError(Exception):
    """An error raised by the web layer itself (bad JSON, missing token, …)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def error_response(
    status: int, code: str, message: str, field: str | None = None, **extra: Any
) -> web.Response:
    body: dict[str, Any] = {"error": code, "message": message}
    if field:
        body["field"] = field
    body.update(extra)
    return json_response(body, status=status)


def status_for(error: DomainError) -> int:
    return next((s for cls, s in STATUS.items() if isinstance(error, cls)), 400)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _is_page(request: web.Request) -> bool:
    """Console pages and the public page answer errors in HTML, everything else in JSON."""
    return request.path.startswith("/console") or request.path in ("/", "/public")


async def _respond(
    request: web.Request,
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    **extra: Any,
) -> web.Response:
    if _is_page(request):
        try:
            from web.session import base_context  # the session module needs this one

            context = {"status": status, "code": code, "message": message, "field": field}
            context.update(await base_context(request))
            return aiohttp_jinja2.render_template("error.html.j2", request, context, status=status)
        except Exception:  # the error page itself failed: fall back to JSON
            log.exception("rendering the error page failed")
    return error_response(status, code, message, field, **extra)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HttpError as e:
        return await _respond(request, e.status, e.code, e.message, e.field)
    except DomainError as e:
        status = status_for(e)
        extra = {"rule": e.rule} if isinstance(e, PermissionDenied) else {}
        return await _respond(request, status, e.code, e.message, e.field, **extra)
    except CapSchemaError as e:
        return await _respond(request, 422, "invalid_cap", f"not a valid CAP 1.2 alert: {e}", "cap")
    except web.HTTPException as e:
        if e.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            e.status, "http_error"
        )
        return await _respond(request, e.status, code, e.reason)
    except Exception:
        rid = request_id(request)
        log.exception("unhandled error on %s %s (request %s)", request.method, request.path, rid)
        return await _respond(
            request,
            500,
            "internal",
            f"internal error; the server log has the details under request id {rid}",
            request_id=rid,
        )
